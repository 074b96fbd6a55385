"""objection clients: who filed an objection from the public, as salted digests, to throttle floods

`objections.client_digest` (the anonymous cookie) and `objections.address_digest` (the address), salted
digests and never the values, with the indexes that count a client's objections to a notice and an
address's recent objections. Objections filed before have neither (NULL) and count for no client.

Revision ID: 0007_objection_clients
Revises: 0006_contract_effective_from
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_objection_clients"
down_revision = "0006_contract_effective_from"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("objections", sa.Column("client_digest", sa.String(length=64), nullable=True))
    op.add_column("objections", sa.Column("address_digest", sa.String(length=64), nullable=True))
    op.create_index("ix_objections_notice_client", "objections", ["notice_id", "client_digest", "filed_at"],
                    unique=False)
    op.create_index("ix_objections_address_filed", "objections", ["address_digest", "filed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_objections_address_filed", table_name="objections")
    op.drop_index("ix_objections_notice_client", table_name="objections")
    with op.batch_alter_table("objections") as batch:
        batch.drop_column("address_digest")
        batch.drop_column("client_digest")
