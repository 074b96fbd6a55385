"""a year's close: what it has done, one row per county, year, step and subject

Revision ID: 0024_year_close
Revises: 0023_pii_sealed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_year_close"
down_revision = "0023_pii_sealed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "year_close_progress",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_year_close_progress"),
        sa.UniqueConstraint("county_code", "year", "step", "subject", name="uq_year_close_progress"),
    )


def downgrade() -> None:
    op.drop_table("year_close_progress")
