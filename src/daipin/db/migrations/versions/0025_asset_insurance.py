"""insurance per asset: a policy's asset (none: all its entity operates), kind and insured sum

Revision ID: 0025_asset_insurance
Revises: 0024_year_close
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_asset_insurance"
down_revision = "0024_year_close"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("insurance_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                      nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("insured_sum_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                      nullable=True, comment="保险金额（分） / insured sum in fen"))
        batch_op.create_index(batch_op.f("ix_insurance_policies_asset_id"), ["asset_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_insurance_policies_asset_id_assets"), "assets", ["asset_id"],
                                    ["id"])


def downgrade() -> None:
    with op.batch_alter_table("insurance_policies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_insurance_policies_asset_id_assets"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_insurance_policies_asset_id"))
        batch_op.drop_column("insured_sum_fen")
        batch_op.drop_column("kind")
        batch_op.drop_column("asset_id")
