"""Closing a year set-based: a county's settlements and allocations from a few queries, written in bulk.

The one-by-one close (`service.close_county(..., bulk=False)`) builds each document with a query per payee, contract
and status, and stores each run with its own insert and ledger append. Here every read a step needs for the whole
county is made once (`CountyRegistry`: projects, entities, profit records, contracts, their versions, payee
households and their status histories, villages, work records; or plans, households, people, work, contributions
and retained pools), the same document builders run on it (`runs.settlement_document`,
`runs.village_allocation_document`), the pure engine computes every output in memory, and a batch of runs goes in
at once: ids drawn from the sequence and the rows sent by COPY on PostgreSQL (the ORM's batched insert elsewhere),
the ledger entries by one `append_many`, the progress rows by one executemany, all in one transaction per batch.

The result is the one-by-one close's, byte for byte: the same documents, outputs and digests, the same run ids in
the same order, the same ledger entries (tests/integration/test_year_close_bulk.py). A subject whose run moves a
retained pool (a settlement with days pending reassignment, an allocation taking a pool) is stored by
`runs.store_run` itself, in its turn, as the one-by-one close does.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_, select, text
from sqlalchemy.orm import Session

from daipin.db.models.obligations import RetainedDividend
from daipin.db.models.registry import (
    AllocationPlan,
    Contract,
    ContractVersion,
    ContributionRecord,
    Entity,
    Household,
    HouseholdStatus,
    Person,
    ProfitRecord,
    Project,
    Region,
    Run,
    WorkRecord,
)
from daipin.db.models.yearclose import YearCloseProgress
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.canonical import canonical_json
from daipin.domain.engine import calculate
from daipin.domain.errors import InputError, NotFound
from daipin.ledger import store
from daipin.services.runs import service as runs
from daipin.services.shared.rows import row_state

BATCH = 400  # subjects per transaction
IN_CHUNK = 2000  # ids per IN list


def _chunks(values: Sequence[Any], n: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), n):
        yield values[i:i + n]


class CountyRegistry:
    """`runs.Registry`'s reads, answered from rows loaded for a whole county and step at once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._households: dict[int, Any] = {}
        self._statuses: dict[int, list[tuple[str, date]]] = {}
        self._villages: dict[str, Any] = {}
        self._contracts: dict[int, list[Any]] = defaultdict(list)
        self._versions: dict[int, list[Any]] = defaultdict(list)  # by (contract, version)
        self._employment: dict[int, list[Any]] = defaultdict(list)
        self._by_village: dict[str, list[Any]] = defaultdict(list)
        self._people: dict[str, list[Any]] = defaultdict(list)
        self._work: dict[str, list[Any]] = defaultdict(list)
        self._contrib: dict[str, list[Any]] = defaultdict(list)
        self._retained: dict[str, list[RetainedDividend]] = defaultdict(list)

    # ---- loading
    def _rows(self, query: Any) -> Any:
        """Plain rows through the session's connection (no ORM row processing: a county reads a million)."""
        return self.session.connection().execute(query).all()

    def _load_households(self, ids: Iterable[int]) -> None:
        need = sorted({i for i in ids if i not in self._households})
        for part in _chunks(need):
            for row in self._rows(select(Household.id, Household.household_no, Household.village_code,
                                                   Household.status).where(Household.id.in_(part))):
                self._households[row.id] = row
            for hid, status, since in self._rows(
                    select(HouseholdStatus.household_id, HouseholdStatus.status, HouseholdStatus.from_date)
                    .where(HouseholdStatus.household_id.in_(part))
                    .order_by(HouseholdStatus.household_id, HouseholdStatus.from_date, HouseholdStatus.id)):
                self._statuses.setdefault(hid, []).append((status, since))

    def _load_villages(self, codes: Iterable[str]) -> None:
        need = sorted({c for c in codes if c not in self._villages})
        for part in _chunks(need):
            for row in self._rows(select(Region.code, Region.poor_village, Region.name)
                                            .where(Region.code.in_(part))):
                self._villages[row.code] = row

    def load_settlements(self, county: str, year: int) -> None:
        first, last = date(year, 1, 1), date(year, 12, 31)
        contracts = (select(Contract.id, Contract.code, Contract.model, Contract.project_id)
                     .join(Project, Contract.project_id == Project.id).where(Project.county_code == county)
                     .order_by(Contract.project_id, Contract.code))
        for row in self._rows(contracts):
            self._contracts[row.project_id].append(row)
        versions = (select(ContractVersion.contract_id, ContractVersion.version, ContractVersion.effective_from,
                           ContractVersion.start_date, ContractVersion.end_date, ContractVersion.status,
                           ContractVersion.payee_household_id, ContractVersion.payee_village_code,
                           ContractVersion.terms)
                    .join(Contract, ContractVersion.contract_id == Contract.id)
                    .join(Project, Contract.project_id == Project.id)
                    .where(Project.county_code == county, ContractVersion.effective_from <= last)
                    .order_by(ContractVersion.contract_id, ContractVersion.version))
        for row in self._rows(versions):
            self._versions[row.contract_id].append(row)
        work = (select(WorkRecord.contract_id, WorkRecord.days, WorkRecord.period_start, WorkRecord.period_end)
                .join(Contract, WorkRecord.contract_id == Contract.id)
                .join(Project, Contract.project_id == Project.id)
                .where(Project.county_code == county, WorkRecord.kind == "employment",
                       WorkRecord.period_start >= first, WorkRecord.period_end <= last)
                .order_by(WorkRecord.id))
        for row in self._rows(work):
            self._employment[row.contract_id].append(row)
        payees = {v.payee_household_id for vs in self._versions.values() for v in vs
                  if v.payee_household_id is not None}
        self._load_households(payees)
        self._load_villages({v.payee_village_code for vs in self._versions.values() for v in vs
                             if v.payee_village_code} | {h.village_code for h in self._households.values()})

    def load_allocations(self, villages: Sequence[str], year: int) -> None:
        first, last = date(year, 1, 1), date(year, 12, 31)
        ids: list[int] = []
        for part in _chunks(list(villages), 500):
            for row in self._rows(
                    select(Household.id, Household.household_no, Household.village_code, Household.status,
                           Household.life_state, Household.life_state_date)
                    .where(Household.village_code.in_(part)).order_by(Household.household_no)):
                self._by_village[row.village_code].append(row)
                self._households[row.id] = row
                ids.append(row.id)
            for row in self._rows(
                    select(Household.village_code, Person.household_id, Person.life_state, Person.life_state_date,
                           Person.labor).join(Household, Person.household_id == Household.id)
                    .where(Household.village_code.in_(part))):
                self._people[row.village_code].append(row)
            for w in self.session.scalars(select(WorkRecord).where(
                    WorkRecord.village_code.in_(part), WorkRecord.kind == "public_welfare_post",
                    WorkRecord.period_start >= first, WorkRecord.period_start <= last).order_by(WorkRecord.id)):
                self._work[w.village_code].append(w)
            for r in self.session.scalars(select(ContributionRecord).where(
                    ContributionRecord.village_code.in_(part), ContributionRecord.year == year)
                    .order_by(ContributionRecord.id)):
                self._contrib[r.village_code].append(r)
            for d in self.session.scalars(select(RetainedDividend).where(
                    RetainedDividend.village_code.in_(part),
                    or_(RetainedDividend.allocation_year == year,
                        (RetainedDividend.allocation_year.is_(None)) & (RetainedDividend.year < year)))
                    .order_by(RetainedDividend.year, RetainedDividend.id)):
                self._retained[d.village_code].append(d)
        for part in _chunks(ids):
            for hid, status, since in self._rows(
                    select(HouseholdStatus.household_id, HouseholdStatus.status, HouseholdStatus.from_date)
                    .where(HouseholdStatus.household_id.in_(part))
                    .order_by(HouseholdStatus.household_id, HouseholdStatus.from_date, HouseholdStatus.id)):
                self._statuses.setdefault(hid, []).append((status, since))

    # ---- the reads (as runs.Registry answers them)
    def contracts(self, project_id: int) -> list[Any]:
        return self._contracts.get(project_id, [])

    def versions_in_force(self, project_id: int, day: date) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for c in self._contracts.get(project_id, []):
            for v in self._versions.get(c.id, []):
                if v.effective_from <= day:
                    out[c.id] = v  # by version: the last one wins
        return out

    def versions(self, contract_id: int, day: date) -> list[Any]:
        return sorted((v for v in self._versions.get(contract_id, []) if v.effective_from <= day),
                      key=lambda v: (v.effective_from, v.version))

    def household(self, household_id: int) -> Any:
        if household_id not in self._households:
            self._load_households([household_id])
        return self._households[household_id]

    def status(self, household_id: int, day: date) -> str:
        rows = self._statuses.get(household_id)
        if not rows:
            return str(self.household(household_id).status)
        current = rows[0][0]
        for status, since in rows:
            if since <= day:
                current = status
        return str(current)

    def village(self, code: str) -> Any:
        if code not in self._villages:
            self._load_villages([code])
        found = self._villages.get(code)
        if found is None:
            raise NotFound(f"行政区划 {code} 不存在", f"unknown region {code}", field="region")
        return found

    def employment_days(self, contract_id: int, ps: date, pe: date) -> list[str]:
        return [w.days for w in self._employment.get(contract_id, [])
                if w.period_start >= ps and w.period_end <= pe]

    def village_households(self, village_code: str) -> list[Any]:
        return self._by_village.get(village_code, [])

    def village_people(self, village_code: str) -> list[Any]:
        return self._people.get(village_code, [])

    def welfare_work(self, village_code: str, year: int) -> list[Any]:
        return self._work.get(village_code, [])

    def contributions(self, village_code: str, year: int) -> list[Any]:
        return self._contrib.get(village_code, [])

    def retained(self, village_code: str, year: int) -> list[RetainedDividend]:
        return self._retained.get(village_code, [])


class _Pending:
    """Runs built but not yet written: (kind, subject, region, doc, out)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = []


def _run_ids(session: Session, n: int) -> list[int] | None:
    """`n` run ids from PostgreSQL's sequence, in order; None elsewhere (the ORM's insert numbers them)."""
    if session.get_bind().dialect.name != "postgresql" or n == 0:
        return None
    rows = session.execute(text("SELECT nextval(pg_get_serial_sequence('runs', 'id')) FROM generate_series(1, :n)"),
                           {"n": n}).scalars()
    return sorted(int(r) for r in rows)


RUN_DOCUMENTS = ("input_json", "output_json")
_IN, _OUT = "\x00input_json\x00", "\x00output_json\x00"  # stand-ins no value of a run's own columns holds


def _canonical_text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _run_row_digest(session: Session, run: Run, doc_text: str, out_text: str) -> str:
    """`store.row_digest(row_state(run))`, with the canonical texts of the input and output documents (already made
    for their own digests) set into the canonical text of the row's other columns instead of made twice. The
    documents hold JSON values only (`canonical_json` took them), which `row_state` leaves as they are."""
    shadow = Run(**{c.key: getattr(run, c.key) for c in Run.__table__.columns if c.key not in RUN_DOCUMENTS},
                 input_json=_IN, output_json=_OUT)
    state = row_state(session, shadow)
    text_ = _canonical_text(store._jsonable(state))
    for stand_in, value in ((_IN, doc_text), (_OUT, out_text)):
        quoted = _canonical_text(stand_in)
        assert text_.count(quoted) == 1
        text_ = text_.replace(quoted, value)
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def _write(session: Session, actor: Actor, year: int, at: datetime,
           items: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]) -> list[Run]:
    """Store `items` as `runs.store_run` stores each (same row, same ledger entry), in bulk."""
    if not items:
        return []
    who = f"{actor.role.value}:{actor.id}"
    made: list[Run] = []
    texts: list[tuple[str, str]] = []
    for kind, subject, region, doc, out in items:
        doc_bytes, out_bytes = canonical_json(doc), canonical_json(out)
        made.append(Run(kind=kind, subject=subject, year=year, input_json=doc, output_json=out,
                        input_digest=hashlib.sha256(doc_bytes).hexdigest(),
                        output_digest=hashlib.sha256(out_bytes).hexdigest(), actor=who, at=at, county_code=region[:6]))
        texts.append((doc_bytes.decode("utf-8"), out_bytes.decode("utf-8")))
    ids = _run_ids(session, len(made))
    if ids is None:
        session.add_all(made)
        session.flush()
    else:
        for run, rid in zip(made, ids, strict=True):
            run.id = rid
    entries = []
    for run, (kind, _subject, region, _doc, out), (doc_text, out_text) in zip(made, items, texts, strict=True):
        facts: dict[str, Any] = {"kind": kind, "year": year, "input_digest": run.input_digest,
                                 "output_digest": run.output_digest,
                                 "row": {"table": "runs", "id": str(run.id),
                                         "digest": _run_row_digest(session, run, doc_text, out_text)}}
        if "totals" in out:
            facts["totals"] = out["totals"]
        entries.append({"type": f"run.{kind}", "actor": who, "region": region, "subject": f"run:{run.id}",
                        "facts": facts, "at": at})
    indices = store.append_many(session, entries)
    if ids is None:
        for run, idx in zip(made, indices, strict=True):
            run.ledger_index = idx
        session.flush()
        return made
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(
            "COPY runs (id, kind, subject, year, input_json, output_json, input_digest, output_digest, actor, at, "
            "ledger_index, county_code) FROM STDIN") as cp:
        for run, idx, (doc_text, out_text) in zip(made, indices, texts, strict=True):
            run.ledger_index = idx
            cp.write_row((run.id, run.kind, run.subject, run.year, doc_text, out_text, run.input_digest,
                          run.output_digest, run.actor, at, idx, run.county_code))
    return made


def _moves_retained(kind: str, out: dict[str, Any], reg: CountyRegistry, subject: str) -> bool:
    if kind == "settlement":
        return any(line.get("retained") for line in out.get("lines", []))
    return any(r.allocation_year is None for r in reg.retained(subject, 0))


def close_step(session: Session, actor: Actor, county: str, year: int, step: str, todo: list[str], at: datetime,
               commit: Callable[[], None], progress: Callable[[int], None] | None = None) -> int:
    """Run `step` for the `todo` subjects of `county` (in order), `BATCH` subjects per transaction, each batch's runs,
    ledger entries and progress rows written together. Returns the subjects run."""
    if not todo:
        return 0
    reg = CountyRegistry(session)
    kind = "settlement" if step == "settle" else "village_allocation"
    if step == "settle":
        reg.load_settlements(county, year)
        projects = {p.code: p for p in session.execute(
            select(Project.id, Project.code, Project.entity_id, Project.village_code, Project.township_code)
            .where(Project.county_code == county))}
        entities = {e.id: e for e in session.execute(
            select(Entity.id, Entity.uscc, Entity.kind, Entity.name)
            .where(Entity.id.in_({p.entity_id for p in projects.values()})))} if projects else {}
        profits: dict[int, list[Any]] = defaultdict(list)
        for r in session.execute(
                select(ProfitRecord.project_id, ProfitRecord.period_start, ProfitRecord.period_end,
                       ProfitRecord.profit_fen, ProfitRecord.cash_available_fen)
                .join(Project, ProfitRecord.project_id == Project.id)
                .where(Project.county_code == county, ProfitRecord.period_start >= date(year, 1, 1),
                       ProfitRecord.period_end <= date(year, 12, 31))
                .order_by(ProfitRecord.project_id, ProfitRecord.period_start)):
            profits[r.project_id].append(r)
    else:
        reg.load_allocations(todo, year)
        plans = {p.village_code: p for p in session.scalars(
            select(AllocationPlan).where(AllocationPlan.county_code == county, AllocationPlan.year == year))}
    commit()
    ran = 0
    for start in range(0, len(todo), BATCH):
        part = todo[start:start + BATCH]
        pending: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = []
        done: list[dict[str, Any]] = []
        for subject in part:
            if step == "settle":
                p = projects.get(subject)
                if p is None:
                    raise NotFound(f"项目 {subject} 不存在", f"project {subject} not found", field="project")
                region = p.village_code or p.township_code
                access.require(actor, "run.write", region=region)
                rows = profits.get(p.id)
                if not rows:
                    raise InputError(f"项目 {year} 年度没有经审计的利润记录", f"no audited profit recorded for {year}",
                                     field="year", code="no_profit_record")
                profit = max(rows, key=lambda r: (r.period_end - r.period_start, r.period_start))
                doc = runs.settlement_document(reg, p.id, entities[p.entity_id], profit)
            else:
                region = subject
                access.require(actor, "run.write", region=subject)
                plan = plans.get(subject)
                if plan is None:
                    raise NotFound(f"村 {subject} 没有 {year} 年度收益分配方案",
                                   f"no allocation plan for {subject} in {year}", field="village")
                doc = runs.village_allocation_document(reg, plan, year)
            out = calculate(doc)
            if _moves_retained(kind, out, reg, subject):
                # The rare run that moves a retained pool: stored by the one-by-one path, in its turn.
                written = _write(session, actor, year, at, pending)
                done.extend(_progress_rows(county, year, step, pending, written, at))
                pending = []
                run = runs.store_run(session, actor, kind=kind, subject=subject, region=region, year=year, doc=doc,
                                     at=at, out=out)
                done.append({"county_code": county, "year": year, "step": step, "subject": subject,
                             "run_id": run.id, "at": at})
            else:
                pending.append((kind, subject, region, doc, out))
        written = _write(session, actor, year, at, pending)
        done.extend(_progress_rows(county, year, step, pending, written, at))
        session.execute(insert(YearCloseProgress), done)
        commit()
        ran += len(part)
        if progress is not None:
            progress(len(part))
    return ran


def _progress_rows(county: str, year: int, step: str, items: list[Any], written: list[Run],
                   at: datetime) -> list[dict[str, Any]]:
    return [{"county_code": county, "year": year, "step": step, "subject": it[1], "run_id": run.id, "at": at}
            for it, run in zip(items, written, strict=True)]
