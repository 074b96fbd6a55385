"""contract versions: the day each version is in force from

`contract_versions.effective_from`. Existing rows are filled from what is stored: version 1 from the
contract's start; a later version from the date the ledger entry that made it records (a reassignment, a
termination, a freed quantified share record their `on`); failing that, a version that terminated
the contract from its end date (a termination moves the end back to its date), one that freed a share
from the event date its reason names ("… 待重新分配 (YYYY-MM-DD)"); any other from the day it was
recorded, in Beijing time.

Revision ID: 0006_contract_effective_from
Revises: 0005_roster_indexes
"""

from __future__ import annotations

import json
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
_contracts = sa.table("contracts", sa.column("id", sa.BigInteger()), sa.column("code", sa.String()),
                      sa.column("start_date", sa.Date()))
_entries = sa.table("ledger_entry", sa.column("type", sa.String()), sa.column("subject", sa.String()),
                    sa.column("body", sa.LargeBinary()))
_DATED = ("contract.reassign", "contract.terminate", "contract.pending_reassignment", "contract.inherit",
          "contract.amend")


def _dated_versions(bind: sa.Connection) -> dict[tuple[str, int], date]:
    """(contract code, version) -> the date its ledger entry records (`on`, or an amendment's `effective_from`)."""
    out: dict[tuple[str, int], date] = {}
    for subject, body in bind.execute(sa.select(_entries.c.subject, _entries.c.body)
                                      .where(_entries.c.type.in_(_DATED))):
        try:
            facts = json.loads(bytes(body)).get("facts", {})
            day = facts.get("on") or facts.get("effective_from")
            if day:
                out[(subject.removeprefix("contract:"), int(facts["version"]))] = date.fromisoformat(day)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return out


def _filled(row: sa.Row[Any], start: date, before_status: str | None, recorded_on: date | None) -> date:
    if row.version == 1 or before_status is None:
        return start
    if recorded_on is not None:
        return recorded_on
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
    contracts = {r.id: r for r in bind.execute(sa.select(_contracts)).all()}
    dated = _dated_versions(bind)
    rows = bind.execute(sa.select(_versions).order_by(_versions.c.contract_id, _versions.c.version)).all()
    before: dict[int, str] = {}
    for row in rows:
        c = contracts[row.contract_id]
        day = _filled(row, c.start_date, before.get(row.contract_id), dated.get((c.code, row.version)))
        before[row.contract_id] = row.status
        bind.execute(sa.update(_versions).where(_versions.c.id == row.id).values(effective_from=day))
    with op.batch_alter_table("contract_versions") as batch:
        batch.alter_column("effective_from", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("contract_versions") as batch:
        batch.drop_column("effective_from")
