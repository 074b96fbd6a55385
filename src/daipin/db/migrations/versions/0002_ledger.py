"""verifiable ledger

Revision ID: 0002_ledger
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_ledger"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
