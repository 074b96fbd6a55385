"""Yearly beneficiary rosters (收益扶贫对象确认): a village matter drafted from the registry; its rules are in
`rules.py`, which the decision workflow also checks allocations against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter
from daipin.domain.actors import Actor
from daipin.domain.localtime import beijing_date
from daipin.domain.workflow import MatterKind
from daipin.services.matters import service as workflow
from daipin.services.rosters.rules import (
    CONFIRMED,
    DEFAULT_ELIGIBLE,
    ROSTER_STATUSES,
    check_roster_document,
    confirmed_households,
    confirmed_roster,
    require_on_roster,
    roster_document,
)

__all__ = ["CONFIRMED", "DEFAULT_ELIGIBLE", "ROSTER_STATUSES", "check_roster_document", "confirmed_households",
           "confirmed_roster", "draft_roster", "require_on_roster", "roster_document"]


def draft_roster(session: Session, actor: Actor, *, village_code: str, year: int, at: datetime,
                 households: list[dict[str, Any]] | None = None, title: str | None = None) -> Matter:
    """Draft the year's roster as a village matter, from the registry unless the households are given."""
    doc = roster_document(session, village_code, year, beijing_date(at))
    if households is not None:
        doc["households"] = households
    return workflow.draft_matter(session, actor, kind=MatterKind.BENEFICIARY_ROSTER.value, region=village_code,
                                 title=title or f"{year}年度收益扶贫对象确认", document=doc, year=year, at=at)
