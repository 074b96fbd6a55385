"""personal data sealed at rest: ID numbers, phones and bank accounts encrypted per field, with blind indexes

Adds `pii_keys` (the keys the database is pinned to: key ids and check values, never keys) and `pii_rotations`
(a key rotation's progress), widens `people.id_number`, `households.phone` and `households.bank_account` for
sealed values, adds the blind-index columns `people.id_number_bidx` (unique, replacing the unique index on the
clear number) and `households.phone_bidx`, and seals every existing row in batches of 5,000 with the keys in
DAIPIN_KEYS_DIR (or DAIPIN_DATA_KEY / DAIPIN_INDEX_KEY; created there when there are none). See db/sealing.py.

Revision ID: 0023_pii_sealed
Revises: 0022_county_ledgers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_pii_sealed"
down_revision = "0022_county_ledgers"
branch_labels = None
depends_on = None

BATCH = 5_000
SEALED_LENGTH = 160


def upgrade() -> None:
    op.create_table(
        "pii_keys",
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("cipher", sa.String(length=16), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_pii_keys")),
    )
    op.create_table(
        "pii_rotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("from_kid", sa.String(length=16), nullable=False),
        sa.Column("to_kid", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("people_done", sa.BigInteger(), nullable=False),
        sa.Column("households_done", sa.BigInteger(), nullable=False),
        sa.Column("resealed", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pii_rotations")),
    )
    op.drop_index("uq_people_id_number", table_name="people")
    with op.batch_alter_table("people") as b:
        b.alter_column("id_number", existing_type=sa.String(length=18), type_=sa.String(length=SEALED_LENGTH),
                       existing_nullable=False)
        b.add_column(sa.Column("id_number_bidx", sa.String(length=32), nullable=True))
    with op.batch_alter_table("households") as b:
        b.alter_column("phone", existing_type=sa.String(length=32), type_=sa.String(length=SEALED_LENGTH))
        b.alter_column("bank_account", existing_type=sa.String(length=40), type_=sa.String(length=SEALED_LENGTH))
        b.add_column(sa.Column("phone_bidx", sa.String(length=32), nullable=True))
    _seal_existing()
    with op.batch_alter_table("people") as b:
        b.alter_column("id_number_bidx", existing_type=sa.String(length=32), nullable=False)
    op.create_index("uq_people_id_number_bidx", "people", ["id_number_bidx"], unique=True,
                    postgresql_ops={"id_number_bidx": "text_pattern_ops"})
    op.create_index(op.f("ix_households_phone_bidx"), "households", ["phone_bidx"], unique=False)


def _seal_existing() -> None:
    from daipin.db import sealing

    conn = op.get_bind()
    t_people = sa.table("people", sa.column("id", sa.BigInteger), sa.column("county_code", sa.String),
                        sa.column("id_number", sa.String), sa.column("id_number_bidx", sa.String))
    t_households = sa.table("households", sa.column("id", sa.BigInteger), sa.column("county_code", sa.String),
                            sa.column("phone", sa.String), sa.column("bank_account", sa.String),
                            sa.column("phone_bidx", sa.String))
    for table, columns in ((t_people, ("id_number",)), (t_households, ("phone", "bank_account"))):
        last = 0
        while True:
            rows = conn.execute(sa.select(table.c.id, table.c.county_code, *(table.c[c] for c in columns))
                                .where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                break
            counties = [r[1] for r in rows]
            values: dict[str, list[str | None]] = {}
            for i, column in enumerate(columns):
                clear = [r[2 + i] if r[2 + i] is None or not sealing.is_sealed(r[2 + i]) else None for r in rows]
                sealed, index = sealing.seal_many(conn, table.name, column, clear, counties)
                values[column] = [s if s is not None else r[2 + i] for s, r in zip(sealed, rows, strict=True)]
                if index is not None:
                    values[f"{column}_bidx"] = index
            names = list(values)
            stmt = (table.update().where(table.c.id == sa.bindparam("_id"))
                    .values({n: sa.bindparam(f"_{n}") for n in names}))
            conn.execute(stmt, [{"_id": r[0], **{f"_{n}": values[n][k] for n in names}} for k, r in enumerate(rows)])
            last = rows[-1][0]


def downgrade() -> None:
    from daipin.db import sealing

    conn = op.get_bind()
    op.drop_index(op.f("ix_households_phone_bidx"), table_name="households")
    op.drop_index("uq_people_id_number_bidx", table_name="people")
    for table, columns in (("people", ("id_number",)), ("households", ("phone", "bank_account"))):
        t = sa.table(table, sa.column("id", sa.BigInteger), *(sa.column(c, sa.String) for c in columns))
        rows = conn.execute(sa.select(t.c.id, *(t.c[c] for c in columns))).all()
        for r in rows:
            clear = {c: (sealing.open_value(table, c, v) if v is not None and sealing.is_sealed(v) else v)
                     for c, v in zip(columns, r[1:], strict=True)}
            conn.execute(t.update().where(t.c.id == r[0]).values(clear))
    with op.batch_alter_table("households") as b:
        b.drop_column("phone_bidx")
        b.alter_column("bank_account", existing_type=sa.String(length=SEALED_LENGTH), type_=sa.String(length=40))
        b.alter_column("phone", existing_type=sa.String(length=SEALED_LENGTH), type_=sa.String(length=32))
    with op.batch_alter_table("people") as b:
        b.drop_column("id_number_bidx")
        b.alter_column("id_number", existing_type=sa.String(length=SEALED_LENGTH), type_=sa.String(length=18),
                       existing_nullable=False)
    op.create_index("uq_people_id_number", "people", ["id_number"], unique=True,
                    postgresql_ops={"id_number": "text_pattern_ops"})
    op.drop_table("pii_rotations")
    op.drop_table("pii_keys")
