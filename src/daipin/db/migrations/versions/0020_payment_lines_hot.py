"""payment lines settled in place without touching their indexes; serials unique in a table of their own

A bank file marks every line of a batch `sent`, and its return marks them `paid` or `failed`: 100,000 rows changed
in one statement. On PostgreSQL a row changed only in columns no index covers is rewritten within its own page (a
heap-only tuple: no new entry in any of the table's indexes) when the page has room. So:
- the table keeps 70 % of each page free for a line's later versions (`fillfactor = 30`: room for its pending,
  sent and settled versions);
- a serial's uniqueness in its county moves from a partial unique index on `payment_lines (county_code,
  payment_ref)` to `payment_receipts` (primary key county and serial; one serial per line), written by the step
  that settles the line, so settling changes no indexed column;
- the index on `batch_id` alone goes: the unique keys (batch_id, seq) and (batch_id, payee, attempt) lead with it.
Only lines written after this migration are spread out (existing pages are not rewritten here; `VACUUM FULL
payment_lines` does that in a maintenance window).

Revision ID: 0020_payment_lines_hot
Revises: 0015_supervision
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_payment_lines_hot"
down_revision = "0015_supervision"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_receipts",
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("payment_ref", sa.String(length=100), nullable=False),
        sa.Column("line_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("county_code", "payment_ref"),
        sa.UniqueConstraint("line_id", name=op.f("uq_payment_receipts_line_id")),
    )
    op.execute("INSERT INTO payment_receipts (county_code, payment_ref, line_id) "
               "SELECT county_code, payment_ref, id FROM payment_lines WHERE payment_ref <> ''")
    op.drop_index("uq_payment_lines_county_ref", table_name="payment_lines")
    mysql = op.get_bind().dialect.name in ("mysql", "mariadb")
    if mysql:  # OceanBase keeps the index a foreign key was created with: the key is recreated without it
        op.drop_constraint("fk_payment_lines_batch_id_payment_batches", "payment_lines", type_="foreignkey")
    op.drop_index("ix_payment_lines_batch_id", table_name="payment_lines")
    if mysql:
        op.create_foreign_key("fk_payment_lines_batch_id_payment_batches", "payment_lines", "payment_batches",
                              ["batch_id"], ["id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE payment_lines SET (fillfactor = 30)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE payment_lines RESET (fillfactor)")
    op.create_index("ix_payment_lines_batch_id", "payment_lines", ["batch_id"], unique=False)
    op.create_index("uq_payment_lines_county_ref", "payment_lines", ["county_code", "payment_ref"], unique=True,
                    postgresql_where=sa.text("payment_ref <> ''"), sqlite_where=sa.text("payment_ref <> ''"))
    op.drop_table("payment_receipts")
