"""Reads of stored runs for pages, the API and the command line."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Run
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import NotFound


def latest_settlements(session: Session, subjects: list[str]) -> list[Run]:
    """The latest settlement run of each project and year: a re-run replaces the earlier one, never adds to it."""
    if not subjects:
        return []
    latest: dict[tuple[str, int], Run] = {}
    for run in session.scalars(select(Run).where(Run.kind == "settlement", Run.subject.in_(subjects))
                               .order_by(Run.id)):
        latest[(run.subject, run.year)] = run
    return sorted(latest.values(), key=lambda r: (-r.year, r.subject))



def allocation_plan(session: Session, actor: Actor, village_code: str, year: int) -> dict[str, Any]:
    """A village's plan for a year as its page shows it, and whether the reader may change it (`plan.write`). The
    village is read as its households are (NotFound outside the reader's reach, as if it did not exist)."""
    from daipin.db.models.registry import AllocationPlan, Region

    access.require(actor, "household.read")
    v = session.scalar(select(Region).where(Region.code == village_code, Region.level == "village"))
    if v is None or not access.allowed(actor, "household.read", region=v.code):
        raise NotFound(f"村 {village_code} 不存在", f"village {village_code} not found", "village")
    plan = session.scalar(select(AllocationPlan).where(AllocationPlan.village_code == v.code,
                                                       AllocationPlan.year == year))
    shown = None if plan is None else {
        "year": plan.year, "pool_fen": plan.pool_fen, "cap_per_household_fen": plan.cap_per_household_fen,
        "eligible_statuses": list(plan.eligible_statuses), "buckets": list(plan.buckets), "status": plan.status}
    return {"village": {"code": v.code, "name": v.name}, "year": year, "plan": shown,
            "may_write": access.allowed(actor, "plan.write", region=v.code)}
