"""payment lines indexed by their household

A household's page lists what it was paid (`matters.views.household_income`: its payment lines with their
batches and matters). Without an index on `payment_lines.household_id` the database reads every line to find a
household's ten: on the synthetic province (3,000,000 lines of paid history) the household page took 35 s and
held a core the while. MariaDB already had an index here (InnoDB makes one for every foreign key, and drops it
silently once this one can serve the key); OceanBase keeps its own beside this one.

Revision ID: 0029_payment_lines_household
Revises: 0028_premium_subsidy_batches
"""

from __future__ import annotations

from alembic import op

revision = "0029_payment_lines_household"
down_revision = "0028_premium_subsidy_batches"
branch_labels = None
depends_on = None

_FK = "fk_payment_lines_household_id_households"


def upgrade() -> None:
    op.create_index("ix_payment_lines_household_id", "payment_lines", ["household_id"])


def downgrade() -> None:
    mysql = op.get_bind().dialect.name in ("mysql", "mariadb")
    if mysql:  # the index now serves the foreign key: the key is recreated (with an index of its own) around it
        op.drop_constraint(_FK, "payment_lines", type_="foreignkey")
    op.drop_index("ix_payment_lines_household_id", table_name="payment_lines")
    if mysql:
        op.create_foreign_key(_FK, "payment_lines", "households", ["household_id"], ["id"])
