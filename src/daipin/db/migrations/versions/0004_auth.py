"""accounts and sessions

Revision ID: 0004_auth
Revises: 0003_workflow
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_auth"
down_revision = "0003_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
