"""one ledger per county

Every ledger table leads its key with `county_code`: `ledger_log` holds one row per county (its origin, key and
hash), entries are keyed (county_code, idx), full-subtree nodes (county_code, level, idx), checkpoints
(county_code, size), and witnessed checkpoints name their county. The existing single log becomes its county's
log: every existing entry, node, checkpoint and witness is given that county, with the same indices and bytes
(nothing is re-hashed or re-signed).

Revision ID: 0022_county_ledgers
Revises: 0021_salt_pin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_county_ledgers"
down_revision = "0021_salt_pin"
branch_labels = None
depends_on = None

_COUNTY = sa.String(length=6)


def _log_county() -> str | None:
    row = op.get_bind().execute(sa.text("SELECT county_code FROM ledger_log")).first()
    return None if row is None else str(row[0])


def _give_county(table: str, county: str | None) -> None:
    """Add `county_code` to `table`, filled with the log's county, then make it required."""
    with op.batch_alter_table(table) as b:
        b.add_column(sa.Column("county_code", _COUNTY, nullable=True))
    if county is not None:
        op.get_bind().execute(sa.text(f"UPDATE {table} SET county_code = :c"), {"c": county})
    with op.batch_alter_table(table) as b:
        b.alter_column("county_code", existing_type=_COUNTY, nullable=False)


def upgrade() -> None:
    county = _log_county()
    sqlite = op.get_bind().dialect.name == "sqlite"
    # The log: keyed by its county; the single-row check and the id go.
    with op.batch_alter_table("ledger_log", recreate="always" if sqlite else "auto") as b:
        b.drop_constraint(op.f("ck_ledger_log_single_log"), type_="check")
        b.drop_constraint(op.f("pk_ledger_log"), type_="primary")
        b.drop_column("id")
        b.create_primary_key(op.f("pk_ledger_log"), ["county_code"])
    # Entries: their county column now names the log they belong to (it named the county of their region,
    # which for the one log there was is the log's county or a region some test data placed elsewhere).
    if county is not None:
        op.get_bind().execute(sa.text("UPDATE ledger_entry SET county_code = :c"), {"c": county})
    with op.batch_alter_table("ledger_entry") as b:
        b.drop_constraint(op.f("pk_ledger_entry"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_entry"), ["county_code", "idx"])
    _give_county("ledger_node", county)
    with op.batch_alter_table("ledger_node", table_kwargs={"sqlite_with_rowid": False}) as b:
        b.drop_constraint(op.f("pk_ledger_node"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_node"), ["county_code", "level", "idx"])
    _give_county("ledger_checkpoint", county)
    with op.batch_alter_table("ledger_checkpoint") as b:
        b.drop_constraint(op.f("pk_ledger_checkpoint"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_checkpoint"), ["county_code", "size"])
    _give_county("ledger_witness", county)
    op.drop_index("ix_ledger_witness_size", table_name="ledger_witness")
    op.create_index("ix_ledger_witness_county_size", "ledger_witness", ["county_code", "size"], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM ledger_log")).scalar_one() > 1:
        raise RuntimeError("more than one county's ledger: they cannot be folded back into one log")
    sqlite = bind.dialect.name == "sqlite"
    op.drop_index("ix_ledger_witness_county_size", table_name="ledger_witness")
    op.create_index("ix_ledger_witness_size", "ledger_witness", ["size"], unique=False)
    with op.batch_alter_table("ledger_witness") as b:
        b.drop_column("county_code")
    with op.batch_alter_table("ledger_checkpoint") as b:
        b.drop_constraint(op.f("pk_ledger_checkpoint"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_checkpoint"), ["size"])
        b.drop_column("county_code")
    with op.batch_alter_table("ledger_node", table_kwargs={"sqlite_with_rowid": False}) as b:
        b.drop_constraint(op.f("pk_ledger_node"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_node"), ["level", "idx"])
        b.drop_column("county_code")
    with op.batch_alter_table("ledger_entry") as b:
        b.drop_constraint(op.f("pk_ledger_entry"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_entry"), ["idx"])
    with op.batch_alter_table("ledger_log") as b:
        b.add_column(sa.Column("id", sa.Integer(), nullable=True))
    bind.execute(sa.text("UPDATE ledger_log SET id = 1"))
    with op.batch_alter_table("ledger_log", recreate="always" if sqlite else "auto") as b:
        b.alter_column("id", existing_type=sa.Integer(), nullable=False)
        b.drop_constraint(op.f("pk_ledger_log"), type_="primary")
        b.create_primary_key(op.f("pk_ledger_log"), ["id"])
        b.create_check_constraint(op.f("ck_ledger_log_single_log"), sa.text("id = 1"))
