"""The composition root: what every process wires before it serves a request or runs a command.

The web server (`daipin.server.create_app`), the command line (`daipin.cli`), the benchmarks and the tests call
`configure()` first, so each process checks the same ledger rows whatever modules it happened to import: the
ledger learns here, and only here, how to read the current state of every table its entries record.
"""

from __future__ import annotations

from daipin.ledger import store

_configured = False


def configure() -> None:
    """Wire this process (idempotent): every feature's ledger row and batch checks."""
    global _configured
    if _configured:
        return
    from daipin.services.imports import service as imports
    from daipin.services.shared import rows
    from daipin.services.supervision import service as supervision

    rows.register_ledger_checks()  # every registry and workflow table
    imports.register_ledger_checks()  # the import's batches
    supervision.register_ledger_checks()  # findings, inspections, credit, and what the rules read
    store.mark_wired()
    _configured = True
