"""verifiable ledger

Revision ID: 0002_ledger
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from daipin.db.base import BigInt

revision = "0002_ledger"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("hash_name", sa.String(length=16), nullable=False),
        sa.Column("verifier_key", sa.String(length=300), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_log_single_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_log")),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("idx", BigInt, autoincrement=False, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_ledger_entry")),
    )
    op.create_index(op.f("ix_ledger_entry_type"), "ledger_entry", ["type"], unique=False)
    op.create_index(op.f("ix_ledger_entry_subject"), "ledger_entry", ["subject"], unique=False)
    op.create_table(
        "ledger_node",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", BigInt, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_node")),
        sqlite_with_rowid=False,  # proof lookups probe the key B-tree only
    )
    op.create_table(
        "ledger_checkpoint",
        sa.Column("size", BigInt, autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_ledger_checkpoint")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes on every engine; its indexes are not dropped first, as MySQL and
    # MariaDB refuse to drop an index a foreign key of the table still needs (error 1553).
    op.drop_table("ledger_checkpoint")
    op.drop_table("ledger_node")
    op.drop_table("ledger_entry")
    op.drop_table("ledger_log")
