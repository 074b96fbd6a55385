"""contract versions: the day each version is in force from

`contract_versions.effective_from`. Existing rows are filled from what the stored rows tell: version 1
from the contract's start; a version that terminated the contract from its end date (a termination moves
the end back to its date); a version that freed a quantified share from the event date its reason names
("… 待重新分配 (YYYY-MM-DD)"); any other later version from the day it was recorded, in Beijing time.

Revision ID: 0006_contract_effective_from
Revises: 0005_roster_indexes
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from daipin.domain.localtime import as_utc, beijing_date

revision = "0006_contract_effective_from"
down_revision = "0005_roster_indexes"
branch_labels = None
depends_on = None

_EVENT_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)\s*$")

_versions = sa.table(
    "contract_versions",
    sa.column("id", sa.BigInteger()),
    sa.column("contract_id", sa.BigInteger()),
    sa.column("version", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("end_date", sa.Date()),
    sa.column("reason", sa.String()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("effective_from", sa.Date()),
)
_contracts = sa.table("contracts", sa.column("id", sa.BigInteger()), sa.column("start_date", sa.Date()))


def _filled(row: sa.Row[Any], start: date, before_status: str | None) -> date:
    if row.version == 1 or before_status is None:
        return start
    if row.status == "terminated" and before_status != "terminated":
        return row.end_date  # type: ignore[no-any-return]
    if row.status == "pending_reassignment" and before_status != "pending_reassignment":
        found = _EVENT_DATE.search(row.reason or "")
        if found:
            return date.fromisoformat(found.group(1))
    at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(str(row.at))
    return beijing_date(as_utc(at))


def upgrade() -> None:
    op.add_column("contract_versions", sa.Column("effective_from", sa.Date(), nullable=True))
    bind = op.get_bind()
    starts = dict(bind.execute(sa.select(_contracts.c.id, _contracts.c.start_date)).all())
    rows = bind.execute(sa.select(_versions).order_by(_versions.c.contract_id, _versions.c.version)).all()
    before: dict[int, str] = {}
    for row in rows:
        day = _filled(row, starts[row.contract_id], before.get(row.contract_id))
        before[row.contract_id] = row.status
        bind.execute(sa.update(_versions).where(_versions.c.id == row.id).values(effective_from=day))
    with op.batch_alter_table("contract_versions") as batch:
        batch.alter_column("effective_from", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("contract_versions") as batch:
        batch.drop_column("effective_from")
