"""village representatives: each village's recorded list of representatives (村民代表), one row per term

`village_representatives` (village, person, from and to dates, the reason a term ended early): a 村民代表会议's
number of representatives is counted from it when the meeting is called, no longer typed in.

Revision ID: 0009_village_representatives
Revises: 0008_pools
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_village_representatives"
down_revision = "0008_pools"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "village_representatives",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_village_representatives_person_id", "village_representatives", ["person_id"], unique=False)
    op.create_index("ix_village_representatives_village_from", "village_representatives",
                    ["village_code", "from_date"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes on every engine; its indexes are not dropped first, as MySQL and
    # MariaDB refuse to drop an index a foreign key of the table still needs (error 1553).
    op.drop_table("village_representatives")
