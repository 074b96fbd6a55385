"""payment lines with room for two later versions in their page; ledger bodies compressed with lz4

A line's `sent` version is larger than its `pending` one (the account's digest, the file and the time) and its
`paid` version larger again (the serial), so with 30 % of a page filled at first about half of a 100,000-line
return's rows no longer fitted their page beside the `sent` versions: rewritten elsewhere, with a new entry in
every index of the table. At `fillfactor = 20` the pending, sent and settled versions of each line fit its page,
and marking lines sent, paid or failed stays a heap-only rewrite.

A bank file's ledger entry states every line's row (about 11 MB for 100,000 lines); PostgreSQL's default
compression of large values (pglz) took seconds over it, lz4 (PostgreSQL 14 and later, when the server was built
with it) a tenth of that. The stored bytes read back the same either way: nothing hashed changes.
Only rows written after this migration are affected.

Revision ID: 0026_payment_speed
Revises: 0025_asset_insurance
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0026_payment_speed"
down_revision = "0025_asset_insurance"
branch_labels = None
depends_on = None


def _lz4() -> bool:
    """Whether this PostgreSQL server can compress values with lz4."""
    row = op.get_bind().execute(text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
    return "lz4" in (row.scalar() or [])


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE payment_lines SET (fillfactor = 20)")
    if _lz4():
        op.execute("ALTER TABLE ledger_entry ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE payment_lines SET (fillfactor = 30)")
    if _lz4():
        op.execute("ALTER TABLE ledger_entry ALTER COLUMN body SET COMPRESSION default")
