"""Closing a year (`daipin year close`, the district's page): every project of a county settled for the year, then
every village's allocation run from its stored plan, each run stored with its input, output and digests and its
ledger entry (`runs.run_settlement`, `runs.run_village_allocation`: the same functions an official's click runs).

Resumable: each subject done writes a `year_close_progress` row (county, year, step, subject: a unique key) in the
transaction of its run, committed every `BATCH` subjects. A close killed midway and started again reads what is done
and continues; a subject is never run twice (the unique key would refuse a second row, and the run with it).

Parallel by county: the command line (`commands/province.close_year`) hands each county to a worker process
(`ProcessPoolExecutor`, one engine per process); the caller follows the progress rows (`status`) for its bar or page. Each county's entries carry its own
regions (villages, townships), so a ledger per county takes them as they come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import AllocationPlan, ProfitRecord, Project, Region
from daipin.db.models.yearclose import YearCloseProgress
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.services.runs import service as runs
from daipin.services.shared.rows import utc

STEPS = ("settle", "allocate")
STEP_LABELS = {"settle": "项目收益结算", "allocate": "村级收益分配"}
BATCH = 20  # subjects per transaction


@dataclass
class CountyStatus:
    county: str
    name: str
    done: dict[str, int]
    total: dict[str, int]

    @property
    def finished(self) -> bool:
        return all(self.done[s] >= self.total[s] for s in STEPS)

    @property
    def done_all(self) -> int:
        return sum(self.done.values())

    @property
    def total_all(self) -> int:
        return sum(self.total.values())


def check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InputError(f"年度 {year} 无效（应为 2000 至 2100 之间的年份）",
                         f"year {year} is invalid (a year from 2000 to 2100)", field="year")
    return year


def counties(session: Session, actor: Actor, county: str | None = None) -> list[Region]:
    """The counties `actor` may close a year of (`county` alone if given); NotFound for a county that is not one,
    Forbidden for one outside the actor's reach."""
    q = select(Region).where(Region.level == "district").order_by(Region.code)
    if county is not None:
        found = session.scalar(q.where(Region.code == county))
        if found is None:
            raise NotFound(f"区县 {county} 不存在", f"county {county} not found", field="county")
        access.require(actor, "year.close", region=county, field="county")
        return [found]
    access.require(actor, "year.close", field="county")
    return [r for r in session.scalars(q) if access.allowed(actor, "year.close", region=r.code)]


def subjects(session: Session, county: str, year: int, step: str) -> list[str]:
    """What `step` does for the county and year: the projects with a profit record of the year (by code), or the
    villages with a plan for the year."""
    if step == "settle":
        q = (select(Project.code).join(ProfitRecord, ProfitRecord.project_id == Project.id)
             .where(Project.county_code == county, ProfitRecord.period_end >= date(year, 1, 1),
                    ProfitRecord.period_end <= date(year, 12, 31)).distinct().order_by(Project.code))
    else:
        q = (select(AllocationPlan.village_code).where(AllocationPlan.county_code == county, AllocationPlan.year == year)
             .order_by(AllocationPlan.village_code))
    return list(session.scalars(q))


def done(session: Session, county: str, year: int, step: str) -> set[str]:
    return set(session.scalars(select(YearCloseProgress.subject).where(
        YearCloseProgress.county_code == county, YearCloseProgress.year == year, YearCloseProgress.step == step)))


def status(session: Session, actor: Actor, year: int, county: str | None = None) -> list[CountyStatus]:
    """Each county's progress: subjects done and to do per step."""
    check_year(year)
    out = []
    counts = {(c, s): n for c, s, n in session.execute(
        select(YearCloseProgress.county_code, YearCloseProgress.step, func.count())
        .where(YearCloseProgress.year == year).group_by(YearCloseProgress.county_code, YearCloseProgress.step))}
    for r in counties(session, actor, county):
        out.append(CountyStatus(r.code, r.name, {s: counts.get((r.code, s), 0) for s in STEPS},
                                {s: len(subjects(session, r.code, year, s)) for s in STEPS}))
    return out


def close_county(session: Session, actor: Actor, county: str, year: int, at: datetime,
                 progress: Callable[[int], None] | None = None,
                 commit: Callable[[], None] | None = None, bulk: bool = True) -> dict[str, int]:
    """Close `year` for one county, committing every batch of subjects (this function owns the session's
    transactions: it is the whole job of a worker or a command; `commit` replaces `session.commit` where the caller
    owns them). Returns the subjects run now per step.

    `bulk` (the default): each step read for the whole county in a few queries and written in bulk
    (`yearclose.bulk`); without it, one subject at a time through `runs.run_settlement` and
    `runs.run_village_allocation`, `BATCH` subjects per transaction. Both give the same runs and ledger entries."""
    commit = commit or session.commit
    check_year(year)
    counties(session, actor, county)  # the county exists and the actor may close it
    at = utc(at)
    ran = dict.fromkeys(STEPS, 0)
    for step in STEPS:
        todo = [s for s in subjects(session, county, year, step) if s not in done(session, county, year, step)]
        commit()
        if bulk:
            from daipin.services.yearclose import bulk as set_based

            ran[step] = set_based.close_step(session, actor, county, year, step, todo, at, commit, progress)
            continue
        for start in range(0, len(todo), BATCH):
            for subject in todo[start:start + BATCH]:
                if step == "settle":
                    run = runs.run_settlement(session, actor, subject, year, at)
                else:
                    run = runs.run_village_allocation(session, actor, subject, year, at)
                session.add(YearCloseProgress(county_code=county, year=year, step=step, subject=subject,
                                              run_id=run.id, at=at))
                ran[step] += 1
            commit()
            if progress is not None:
                progress(len(todo[start:start + BATCH]))
    return ran


def summary(session: Session, actor: Actor, year: int) -> dict[str, Any]:
    """Totals over the counties the actor may close (the page and the command's last line)."""
    rows = status(session, actor, year)
    return {"year": year, "done": sum(r.done_all for r in rows), "total": sum(r.total_all for r in rows),
            "counties": rows}
