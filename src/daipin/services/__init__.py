"""Services: one function per use case. They load, call the core, write the ledger entry, and never commit."""
