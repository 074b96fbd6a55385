"""Reads of stored runs for pages, the API and the command line."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Run


def latest_settlements(session: Session, subjects: list[str]) -> list[Run]:
    """The latest settlement run of each project and year: a re-run replaces the earlier one, never adds to it."""
    if not subjects:
        return []
    latest: dict[tuple[str, int], Run] = {}
    for run in session.scalars(select(Run).where(Run.kind == "settlement", Run.subject.in_(subjects))
                               .order_by(Run.id)):
        latest[(run.subject, run.year)] = run
    return sorted(latest.values(), key=lambda r: (-r.year, r.subject))
