"""premium subsidies paid through payment batches: an entity's bank account (sealed), and each subsidy's payout

`entities.bank_account` holds the account the district pays an entity's premium subsidies into, sealed at rest
as a household's is (db/sealing.py). `premium_subsidy_payouts` records the batch an approved subsidy was put in
by the district's premium-subsidy matter; its unique `subsidy_id` keeps a subsidy in one batch at most.

Revision ID: 0028_premium_subsidy_batches
Revises: 0027_list_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_premium_subsidy_batches"
down_revision = "0027_list_indexes"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bank_account", sa.String(length=160), nullable=True))
    op.create_table(
        "premium_subsidy_payouts",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("subsidy_id", BIG, nullable=False),
        sa.Column("batch_id", BIG, nullable=False),
        sa.Column("matter_id", BIG, nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("payee_ref", sa.String(length=40), nullable=False),
        sa.Column("line_id", BIG, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subsidy_id"], ["premium_subsidies.id"],
                                name=op.f("fk_premium_subsidy_payouts_subsidy_id_premium_subsidies")),
        sa.ForeignKeyConstraint(["batch_id"], ["payment_batches.id"],
                                name=op.f("fk_premium_subsidy_payouts_batch_id_payment_batches")),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_premium_subsidy_payouts_matter_id_matters")),
        sa.ForeignKeyConstraint(["line_id"], ["payment_lines.id"],
                                name=op.f("fk_premium_subsidy_payouts_line_id_payment_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_subsidy_payouts")),
        sa.UniqueConstraint("subsidy_id", name=op.f("uq_premium_subsidy_payouts_subsidy_id")),
    )
    op.create_index(op.f("ix_premium_subsidy_payouts_batch_id"), "premium_subsidy_payouts", ["batch_id"],
                    unique=False)


def downgrade() -> None:
    # The table's indexes go with it (MariaDB refuses to drop an index a foreign key needs on its own).
    op.drop_table("premium_subsidy_payouts")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_column("bank_account")
