"""The ledger feature."""
