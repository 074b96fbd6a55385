"""pools: one live matter per pool, one payment batch per pool

`matters.pool_key` (unique, NULL for kinds that decide no pool and for matters whose vote failed) and
`payment_batches.pool_key` (unique, not null). Existing rows are filled in order of their ids: the first live
matter of a pool takes its key and a later one of the same pool keeps none (the older decision stands; the
later is listed by `daipin matter list` for the county to withdraw); a batch takes its matter's pool key, or
`matter:<id>`, and a second batch of a pool already paid keeps `<key>#batch<id>` so the duplicate stays visible
instead of stopping the upgrade.

Revision ID: 0008_pools
Revises: 0007_objection_clients
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from daipin.domain import workflow as wf

revision = "0008_pools"
down_revision = "0007_objection_clients"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matters", sa.Column("pool_key", sa.String(length=80), nullable=True))
    op.add_column("payment_batches", sa.Column("pool_key", sa.String(length=80), nullable=True))
    conn = op.get_bind()
    taken: set[str] = set()
    keys: dict[int, str | None] = {}
    for mid, kind, region, year, state in conn.execute(sa.text(
            "SELECT id, kind, region_code, year, state FROM matters ORDER BY id")):
        key = None
        if state not in {s.value for s in wf.POOL_RELEASED} and year is not None:
            key = wf.pool_key(kind, region, year)
        if key is not None and key in taken:
            key = None
        if key is not None:
            taken.add(key)
            conn.execute(sa.text("UPDATE matters SET pool_key = :k WHERE id = :i"), {"k": key, "i": mid})
        keys[mid] = key
    paid: set[str] = set()
    for bid, mid in conn.execute(sa.text("SELECT id, matter_id FROM payment_batches ORDER BY id")):
        key = keys.get(mid) or f"matter:{mid}"
        if key in paid:
            key = f"{key}#batch{bid}"
        paid.add(key)
        conn.execute(sa.text("UPDATE payment_batches SET pool_key = :k WHERE id = :i"), {"k": key, "i": bid})
    with op.batch_alter_table("matters") as batch:
        batch.create_unique_constraint("uq_matters_pool_key", ["pool_key"])
    with op.batch_alter_table("payment_batches") as batch:
        batch.alter_column("pool_key", existing_type=sa.String(length=80), nullable=False)
        batch.create_unique_constraint("uq_payment_batches_pool_key", ["pool_key"])


def downgrade() -> None:
    with op.batch_alter_table("payment_batches") as batch:
        batch.drop_constraint("uq_payment_batches_pool_key", type_="unique")
        batch.drop_column("pool_key")
    with op.batch_alter_table("matters") as batch:
        batch.drop_constraint("uq_matters_pool_key", type_="unique")
        batch.drop_column("pool_key")
