"""objection privacy: objections' text and answer kept out of the ledger, posted masked; receipts, redaction,
notification and merging

`objections.private_text` (set for objections filed from now on: their text and answer enter the ledger and the
dossier as salted digests), `public_text` / `public_answer` (what the portal shows: masked, or redacted),
`receipt_no` and `check_digest` (the objector's receipt and the salted digest of the check code),
`redaction_reason` / `redacted_at` / `redacted_by`, `notified_via` / `notified_at`, and `merged_into` (a
duplicate merged into another objection). Objections filed before have all of them NULL and keep the row state
they were recorded with.

Revision ID: 0010_objection_privacy
Revises: 0009_village_representatives
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_objection_privacy"
down_revision = "0009_village_representatives"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("objections") as batch:
        batch.add_column(sa.Column("private_text", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("receipt_no", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("check_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("public_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("public_answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("redaction_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("redacted_at", _TZ, nullable=True))
        batch.add_column(sa.Column("redacted_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("notified_via", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("notified_at", _TZ, nullable=True))
        batch.add_column(sa.Column("merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.create_unique_constraint("uq_objections_receipt_no", ["receipt_no"])
        batch.create_foreign_key("fk_objections_merged_into_objections", "objections", ["merged_into"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("objections") as batch:
        batch.drop_constraint("fk_objections_merged_into_objections", type_="foreignkey")
        batch.drop_constraint("uq_objections_receipt_no", type_="unique")
        for name in ("merged_into", "notified_at", "notified_via", "redacted_by", "redacted_at", "redaction_reason",
                     "public_answer", "public_text", "check_digest", "receipt_no", "private_text"):
            batch.drop_column(name)
