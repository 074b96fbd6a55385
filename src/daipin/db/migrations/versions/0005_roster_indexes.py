"""roster indexes: codes compared as bytes, initials indexed for household heads only

Household numbers and village codes are identifiers: on PostgreSQL they now use the "C" collation, so
one index on `household_no` serves equality, number order and LIKE 'prefix%' (the text_pattern_ops
copy is dropped), and building or comparing them does not go through the locale. Pinyin-initials
search looks at household heads only, so its index holds heads only. Both make a bulk import's
index rebuild cheaper (services/imports.py).

Revision ID: 0005_roster_indexes
Revises: 0004_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_roster_indexes"
down_revision = "0004_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_households_household_no_pattern", table_name="households")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("households", "household_no", type_=sa.String(length=40, collation="C"),
                        existing_nullable=False)
        op.alter_column("households", "village_code", type_=sa.String(length=12, collation="C"),
                        existing_nullable=False)
    op.drop_index("ix_people_name_initials", table_name="people")
    op.create_index("ix_people_name_initials", "people", ["name_initials"], unique=False,
                    postgresql_ops={"name_initials": "text_pattern_ops"},
                    postgresql_where=sa.text("relation = '户主'"), sqlite_where=sa.text("relation = '户主'"))


def downgrade() -> None:
    op.drop_index("ix_people_name_initials", table_name="people")
    op.create_index("ix_people_name_initials", "people", ["name_initials"], unique=False,
                    postgresql_ops={"name_initials": "text_pattern_ops"})
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("households", "village_code", type_=sa.String(length=12), existing_nullable=False)
        op.alter_column("households", "household_no", type_=sa.String(length=40), existing_nullable=False)
    op.create_index("ix_households_household_no_pattern", "households", ["household_no"], unique=False,
                    postgresql_ops={"household_no": "text_pattern_ops"})
