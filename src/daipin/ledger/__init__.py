"""The verifiable ledger (LEDGER.md): an RFC 6962/9162 Merkle log, SM3 by default, with signed checkpoints.

Services call `append(session, ...)` inside their own transaction; the entry, its
tree nodes and the business rows it describes commit together.
"""
