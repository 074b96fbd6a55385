"""ledger trust: checkpoints witnessed outside the database

`ledger_witness` holds every checkpoint seen outside (printed on a notice, put into a dossier, handed in with
`daipin ledger witness`); `daipin ledger verify` proves the log consistent with each.

Revision ID: 0011_ledger_trust
Revises: 0010_objection_privacy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_ledger_trust"
down_revision = "0010_objection_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_witness",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ledger_witness_size", "ledger_witness", ["size"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes on every engine; its indexes are not dropped first, as MySQL and
    # MariaDB refuse to drop an index a foreign key of the table still needs (error 1553).
    op.drop_table("ledger_witness")
