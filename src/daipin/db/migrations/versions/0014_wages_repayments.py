"""wages paid, fund-support repayments, retained dividends of shares pending reassignment

`wage_payments` (wages an entity paid a worker under an employment contract), `fund_repayments` (repayments of a
revolving fund-support contract against its schedule) and `retained_dividends` (a quantified share's dividend for
the days it waited for reassignment, in its village's retained pool until a later allocation distributes it).

Revision ID: 0014_wages_repayments
Revises: 0013_payment_files
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014_wages_repayments"
down_revision = "0013_payment_files"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for table, comment in (("wage_payments", "实发工资（分） / wages paid in fen"),
                           ("fund_repayments", "还款金额（分） / amount repaid in fen")):
        cols: list[Any] = [
            sa.Column("id", _ID, nullable=False),
            sa.Column("contract_id", _ID, nullable=False),
        ]
        if table == "wage_payments":
            cols.append(sa.Column("household_id", _ID, nullable=False))
        cols += [
            sa.Column("county_code", sa.String(length=6), nullable=False),
            sa.Column("paid_on", sa.Date(), nullable=False),
            sa.Column("amount_fen", _ID, nullable=False, comment=comment),
            sa.Column("note", sa.String(length=200), nullable=False),
            sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=120), nullable=False),
            sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"]),
            sa.PrimaryKeyConstraint("id"),
        ]
        if table == "wage_payments":
            cols.append(sa.ForeignKeyConstraint(["household_id"], ["households.id"]))
        op.create_table(table, *cols)
        op.create_index(f"ix_{table}_contract_id", table, ["contract_id"], unique=False)
        op.create_index(f"ix_{table}_county_code", table, ["county_code"], unique=False)
    op.create_table(
        "retained_dividends",
        sa.Column("id", _ID, nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("contract_id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("due_fen", _ID, nullable=False,
                  comment="待重新分配期间应得分红（分） / dividend of the pending days"),
        sa.Column("amount_fen", _ID, nullable=False,
                  comment="实付计入留存（分） / paid into the retained pool"),
        sa.Column("allocation_year", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract_id", "year"),
    )
    op.create_index("ix_retained_dividends_village_code", "retained_dividends", ["village_code"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes on every engine; its indexes are not dropped first, as MySQL and
    # MariaDB refuse to drop an index a foreign key of the table still needs (error 1553).
    op.drop_table("retained_dividends")
    for table in ("fund_repayments", "wage_payments"):
        op.drop_table(table)
