"""Closing a year (`daipin year close`, the district's page): every project of a county settled for the year, then
every village's allocation run from its stored plan, each run stored with its input, output and digests and its
ledger entry (`runs.run_settlement`, `runs.run_village_allocation`: the same functions an official's click runs),
then each allocated village's allocation matter drafted from that plan (`draft`, 起草分配事项).

The drafts (WORKFLOW.md "One decision per pool"): each village allocated by the close gets its allocation matter
drafted by `matters.draft_allocation_from_plan`, the function behind an official's draft from the plan, so the
matter, its event and its `matter.draft` ledger entry are the usual ones. Who drafts: a village allocation is the
village's to draft (`matter.village.decide`), while the close is the county's (`year.close`, district officials and
the operator). The close drafts under `year.close` itself, whose rule names this step, and nothing further: the
matter is recorded as created by the closing actor, its entry and event say `"by": "year_close"`, and it waits in
draft for the village, which calls the meeting that decides it (or withdraws it with reasons). The draft is a
proposal; the villagers' meeting still decides, then the township reviews, as for any village matter.
- A pool that already holds a live matter (any state from draft to archived; `matters.pool_key` is unique) is left
  as it is and counted done: the close never drafts a second matter for a pool, and the database's unique key
  refuses one if a village drafts at the same moment (the close then counts the village done too).
- A village whose roster of the year is not confirmed (`rosters.require_on_roster`: allocations may only pay a
  confirmed roster) cannot be drafted: it is skipped, not counted done, and reported (`CountyStatus.unconfirmed`,
  the command's last lines, the page: "N 个村未确认名册，未起草"); the county counts as closed without it, and a
  close started again once its roster is confirmed drafts it. A village whose confirmed roster leaves out a
  household the plan would pay (`not_on_roster`) is skipped the same way and logged; it stays to do.
The progress row of a draft (its `run_id` the village's allocation run of the close) is written in the draft's
transaction. Both close paths check each draft through the same function (`matters.prepare_draft`, behind the
draft from the plan); the one-by-one close writes each as an official's draft is written, the set-based one
(`bulk`) a batch's at once (`matters.write_drafts`), the same rows and entries. The document is the allocation
run's input, built by the close a moment before from the same plan and registry (so not twice).

Resumable: each subject done writes a `year_close_progress` row (county, year, step, subject: a unique key) in the
transaction of its run, committed every `BATCH` subjects. A close killed midway and started again reads what is done
and continues; a subject is never run twice (the unique key would refuse a second row, and the run with it).

Parallel by county: the command line (`commands/province.close_year`) hands each county to a worker process
(`ProcessPoolExecutor`, one engine per process); the caller follows the progress rows (`status`) for its bar or page. Each county's entries carry its own
regions (villages, townships), so a ledger per county takes them as they come.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import AllocationPlan, ProfitRecord, Project, Region, Run
from daipin.db.models.workflow import Matter
from daipin.db.models.yearclose import YearCloseProgress
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, DaipinError, InputError, NotFound
from daipin.services.runs import service as runs
from daipin.services.shared.rows import utc

STEPS = ("settle", "allocate", "draft")
STEP_LABELS = {"settle": "项目收益结算", "allocate": "村级收益分配", "draft": "起草分配事项"}
BATCH = 20  # subjects per transaction
log = logging.getLogger("daipin.yearclose")


@dataclass
class CountyStatus:
    county: str
    name: str
    done: dict[str, int]
    total: dict[str, int]
    # Villages not drafted because their roster of the year is not confirmed: (code, name), by code.
    unconfirmed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Every subject done, but for the villages that wait for their roster (the close cannot draft them)."""
        return all(self.done[s] + (len(self.unconfirmed) if s == "draft" else 0) >= self.total[s] for s in STEPS)

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
    villages with a plan for the year (allocated, then drafted)."""
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
                                {s: len(subjects(session, r.code, year, s)) for s in STEPS},
                                unconfirmed(session, r.code, year)))
    return out


def confirmed_villages(session: Session, county: str, year: int) -> set[str]:
    """The county's villages with a confirmed roster of the year (`rosters.confirmed_roster`'s states)."""
    from daipin.services.rosters.rules import CONFIRMED

    return set(session.scalars(select(Matter.region_code).where(
        Matter.kind == wf.MatterKind.BENEFICIARY_ROSTER.value, Matter.county_code == county, Matter.year == year,
        Matter.state.in_(CONFIRMED)).distinct()))


def unconfirmed(session: Session, county: str, year: int) -> list[tuple[str, str]]:
    """(code, name) of the villages the draft step has not drafted and cannot: no confirmed roster of the year."""
    left = set(subjects(session, county, year, "draft")) - done(session, county, year, "draft")
    left -= confirmed_villages(session, county, year)
    if not left:
        return []
    names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(sorted(left)))).all())
    return [(c, names.get(c, c)) for c in sorted(left)]


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
        if step == "draft":
            from daipin.services.yearclose import bulk as set_based

            ran[step] = draft_step(session, actor, county, year, todo, at, commit, progress,
                                   batch=set_based.BATCH if bulk else BATCH, set_based=bulk)
            continue
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


def draft_step(session: Session, actor: Actor, county: str, year: int, todo: list[str], at: datetime,
               commit: Callable[[], None], progress: Callable[[int], None] | None = None,
               batch: int = BATCH, set_based: bool = False) -> int:
    """Draft the allocation matter of each village of `todo` (in order) allocated by this close, `batch` villages per
    transaction, each with its progress row. A village whose pool holds a live matter is done without a draft; one
    without a usable roster is skipped (see the module's docstring). Returns the villages done now.

    `set_based`: each batch's drafts checked one by one (`matters.prepare_allocation_from_plan`, what its checks
    read read for the county at once, `matters.draft_reads`) and written at once (`matters.write_drafts`: the same
    rows and entries as drafting them one at a time, a few round trips per batch instead of some twenty per draft);
    else `matters.draft_allocation_from_plan` for each."""
    from daipin.services.matters import service as matters

    runs_of = dict(session.execute(select(YearCloseProgress.subject, YearCloseProgress.run_id).where(
        YearCloseProgress.county_code == county, YearCloseProgress.year == year,
        YearCloseProgress.step == "allocate")).all())
    todo = [v for v in todo if v in runs_of]  # allocated by this close (all of them once `allocate` is done)
    keys = {v: wf.pool_key(wf.MatterKind.VILLAGE_ALLOCATION, v, year) for v in todo}
    held: set[str] = set()
    values = sorted(k for k in keys.values() if k)
    for start in range(0, len(values), 1000):
        held.update(session.scalars(select(Matter.pool_key).where(Matter.pool_key.in_(values[start:start + 1000]))))
    confirmed = confirmed_villages(session, county, year)
    # Each draft's document is its allocation run's input, which the close built a moment ago from the same plan and
    # registry (`runs.village_allocation_document`, as the draft from the plan builds it); execution rebuilds it from
    # the plan and stops if it differs.
    want = [v for v in todo if keys[v] not in held and v in confirmed]
    documents: dict[str, dict[str, Any]] = {}
    for start in range(0, len(want), 500):
        documents.update(session.execute(select(Run.subject, Run.input_json).where(
            Run.id.in_([runs_of[v] for v in want[start:start + 500]]), Run.kind == "village_allocation")).all())
    commit()
    ran = 0
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        finished: list[str] = []  # done, in order: drafted now or the pool held already
        drafts: list[tuple[str, Any]] = []  # prepared for one write (set_based)
        known = matters.draft_reads(session, [v for v in part if v in documents], year) if set_based else None
        for village in part:
            if keys[village] in held:
                finished.append(village)
                continue
            if village not in confirmed:
                continue  # reported by `unconfirmed`
            try:
                if set_based:
                    drafts.append((village, matters.prepare_allocation_from_plan(
                        session, actor, village=village, year=year, at=at, document=documents.get(village),
                        by=matters.BY_YEAR_CLOSE, known=known)))
                else:
                    matters.draft_allocation_from_plan(session, actor, village=village, year=year, at=at,
                                                       document=documents.get(village), by=matters.BY_YEAR_CLOSE)
            except Conflict as exc:
                if exc.code != "pool_taken":
                    raise
                # A village drafted its own meanwhile: its matter holds the pool, the close's part is done.
            except DaipinError as exc:
                if exc.code not in ("not_on_roster", "no_confirmed_roster"):
                    raise
                log.warning("year close %s: village %s not drafted: %s", year, village, exc.message_en)
                continue
            finished.append(village)
        if drafts:
            try:
                matters.write_drafts(session, actor, [d for _, d in drafts])
            except IntegrityError:
                # A pool taken since its draft was prepared: the batch's drafts one at a time instead.
                for village, _ in drafts:
                    try:
                        matters.draft_allocation_from_plan(session, actor, village=village, year=year, at=at,
                                                           document=documents.get(village),
                                                           by=matters.BY_YEAR_CLOSE)
                    except Conflict as exc:
                        if exc.code != "pool_taken":
                            raise
        done_now = set(finished)
        session.add_all([YearCloseProgress(county_code=county, year=year, step="draft", subject=v,
                                           run_id=runs_of[v], at=at) for v in part if v in done_now])
        commit()
        ran += len(done_now)
        if progress is not None:
            progress(len(part))
    return ran


def summary(session: Session, actor: Actor, year: int) -> dict[str, Any]:
    """Totals over the counties the actor may close (the page and the command's last line)."""
    rows = status(session, actor, year)
    return {"year": year, "done": sum(r.done_all for r in rows), "total": sum(r.total_all for r in rows),
            "unconfirmed": sum(len(r.unconfirmed) for r in rows), "counties": rows}
