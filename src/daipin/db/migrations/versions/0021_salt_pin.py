"""the personal-data salt pinned to the ledger

`ledger_log.salt_id` holds a keyed check value of the salt in DAIPIN_KEYS_DIR (never the salt): a replaced or
mixed-up salt file would make every later digest of an ID number, phone or account unmatchable with the earlier
ones, so a write that needs the salt is refused while the file's salt is not the pinned one. NULL until the first
write after this migration pins the salt then in use.

Revision ID: 0021_salt_pin
Revises: 0020_payment_lines_hot
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_salt_pin"
down_revision = "0020_payment_lines_hot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_log") as b:
        b.add_column(sa.Column("salt_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_log") as b:
        b.drop_column("salt_id")
