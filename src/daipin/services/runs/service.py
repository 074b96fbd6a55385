"""Runs: build ENGINE.md documents from the database, run the engine, store input, output and their digests."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from daipin.db.models.obligations import RetainedDividend
from daipin.db.models.registry import (
    AllocationPlan,
    Contract,
    ContractVersion,
    ContributionRecord,
    Entity,
    Household,
    Person,
    ProfitRecord,
    Region,
    Run,
    WorkRecord,
)
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.canonical import digest
from daipin.domain.contracts import engine_terms
from daipin.domain.errors import InputError, NotFound
from daipin.domain.vocabulary import ALLOCATION_RULE
from daipin.services.registry.service import (
    ELIGIBLE,
    get_project,
    get_region,
    labor_summary,
    status_as_of,
)
from daipin.services.shared import freetext
from daipin.services.shared import trace as trace
from daipin.services.shared.inputs import money as _money
from daipin.services.shared.rows import row_fact

RULES = ALLOCATION_RULE.codes


def _dec(value: Decimal) -> str:
    """An exact decimal as plain text (no exponent, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def _profit_record(session: Session, project_id: int, year: int) -> ProfitRecord:
    rows = session.scalars(select(ProfitRecord).where(ProfitRecord.project_id == project_id,
                                                      ProfitRecord.period_start >= date(year, 1, 1),
                                                      ProfitRecord.period_end <= date(year, 12, 31))
                           .order_by(ProfitRecord.period_start)).all()
    if not rows:
        raise InputError(f"项目 {year} 年度没有经审计的利润记录", f"no audited profit recorded for {year}",
                         field="year", code="no_profit_record")
    # The widest period recorded in the year is the settlement period (usually the whole year).
    return max(rows, key=lambda r: (r.period_end - r.period_start, r.period_start))


class Registry:
    """The registry reads a settlement or an allocation document is built from, one subject at a time (a query per
    read). `services/yearclose/bulk.py` holds the same reads for a whole county, loaded in a few queries; both feed
    the one builder below, so a document is the same whichever way it was read."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def contracts(self, project_id: int) -> list[Any]:
        """The project's contracts (id, code, model) by code."""
        return list(self.session.scalars(select(Contract).where(Contract.project_id == project_id)
                                         .order_by(Contract.code)))

    def versions_in_force(self, project_id: int, day: date) -> dict[int, Any]:
        return _versions_in_force(self.session, project_id, day)

    def versions(self, contract_id: int, day: date) -> list[Any]:
        """A contract's versions in force from `day` or before, by (effective_from, version)."""
        return list(self.session.scalars(select(ContractVersion).where(ContractVersion.contract_id == contract_id,
                                                                       ContractVersion.effective_from <= day)
                                         .order_by(ContractVersion.effective_from, ContractVersion.version)))

    def household(self, household_id: int) -> Any:
        """(household_no, village_code) of a household, as attributes."""
        hh = self.session.get(Household, household_id)
        assert hh is not None
        return hh

    def status(self, household_id: int, day: date) -> str:
        return status_as_of(self.session, household_id, day)

    def village(self, code: str) -> Any:
        """(code, poor_village, name) of a region, as attributes; NotFound when there is none."""
        return get_region(self.session, code)

    def employment_days(self, contract_id: int, ps: date, pe: date) -> list[str]:
        return list(self.session.scalars(select(WorkRecord.days).where(
            WorkRecord.contract_id == contract_id, WorkRecord.kind == "employment", WorkRecord.period_start >= ps,
            WorkRecord.period_end <= pe)))

    def village_households(self, village_code: str) -> list[Any]:
        """(id, household_no, life_state, life_state_date) of the village's households, by household_no."""
        return list(self.session.execute(select(Household.id, Household.household_no, Household.life_state,
                                                Household.life_state_date)
                                         .where(Household.village_code == village_code)
                                         .order_by(Household.household_no)))

    def village_people(self, village_code: str) -> list[Any]:
        """(household_id, life_state, life_state_date, labor) of the village's people."""
        return list(self.session.execute(select(Person.household_id, Person.life_state, Person.life_state_date,
                                                Person.labor).join(Household, Person.household_id == Household.id)
                                         .where(Household.village_code == village_code)))

    def welfare_work(self, village_code: str, year: int) -> list[Any]:
        return list(self.session.scalars(select(WorkRecord).where(
            WorkRecord.village_code == village_code, WorkRecord.kind == "public_welfare_post",
            WorkRecord.period_start >= date(year, 1, 1), WorkRecord.period_start <= date(year, 12, 31))
            .order_by(WorkRecord.id)))

    def contributions(self, village_code: str, year: int) -> list[Any]:
        return list(self.session.scalars(select(ContributionRecord).where(
            ContributionRecord.village_code == village_code, ContributionRecord.year == year)
            .order_by(ContributionRecord.id)))

    def retained(self, village_code: str, year: int) -> list[RetainedDividend]:
        return retained_for(self.session, village_code, year)


def build_settlement_document(session: Session, project_id: int | str, year: int) -> dict[str, Any]:
    """The ENGINE.md settlement document for a project and year, from the registry.

    Payee statuses are as of the period end; contracts are those in force during the period, each as its
    version in force on the period's last day (`_versions_in_force`: that version's terms, dates, payee and
    status; a later amendment, reassignment or freed share does not reach back into the period);
    employment days and wages come from the period's work records.
    """
    project = get_project(session, project_id)
    entity = session.get(Entity, project.entity_id)
    assert entity is not None
    profit = _profit_record(session, project.id, year)
    return settlement_document(Registry(session), project.id, entity, profit)


def settlement_document(reg: Any, project_id: int, entity: Any, profit: Any) -> dict[str, Any]:
    """The settlement document of a project from `reg`'s reads (a `Registry` or the year close's county-wide
    one), its entity (uscc, kind, name) and its profit record of the year."""
    ps, pe = profit.period_start, profit.period_end
    contracts = reg.contracts(project_id)
    in_force = reg.versions_in_force(project_id, pe)
    payees: dict[str, dict[str, Any]] = {}
    docs: list[dict[str, Any]] = []
    for c in contracts:
        v = in_force.get(c.id)
        if v is None or v.start_date > pe or v.end_date < ps:
            continue
        held = _holdings(reg, c, v, ps, pe) if c.model == "shareholding" else None
        if held is None and v.status == "pending_reassignment":
            continue
        mapped = engine_terms(c.model, v.terms)
        if mapped is None:
            continue
        kind, terms = mapped
        if held is not None:
            # Held in turn, or pending for a while: each holder paid by its days, the pending days to the village's
            # retained pool (the contract's payee in the document).
            pool, holders = held
            numbers: dict[int, str] = {}
            for hid, _, _ in holders:
                hh = reg.household(hid)
                numbers[hid] = hh.household_no
                payees.setdefault(hh.household_no, {"id": hh.household_no, "type": "household",
                                                    "status": reg.status(hid, pe)})
            village = reg.village(pool)
            payees.setdefault(village.code, {"id": village.code, "type": "village",
                                             "poor_village": village.poor_village, "name": village.name})
            held_line: dict[str, Any] = {
                "id": c.code, "kind": kind, "payee": village.code, **terms,
                "holders": [{"payee": numbers[h], "start": a.isoformat(), "end": b.isoformat()} for h, a, b in holders]}
            if v.start_date > ps:
                held_line["start"] = v.start_date.isoformat()
            if v.end_date < pe:
                held_line["end"] = v.end_date.isoformat()
            docs.append(held_line)
            continue
        if v.payee_household_id is not None:
            hh = reg.household(v.payee_household_id)
            pid = hh.household_no
            payees.setdefault(pid, {"id": pid, "type": "household", "status": reg.status(v.payee_household_id, pe)})
        else:
            village = reg.village(v.payee_village_code or "")
            pid = village.code
            payees.setdefault(pid, {"id": pid, "type": "village", "poor_village": village.poor_village,
                                    "name": village.name})
        line: dict[str, Any] = {"id": c.code, "kind": kind, "payee": pid, **terms}
        if v.start_date > ps:
            line["start"] = v.start_date.isoformat()
        if v.end_date < pe:
            line["end"] = v.end_date.isoformat()
        if kind == "employment":
            line.update(_employment(reg.employment_days(c.id, ps, pe), v.terms))
        docs.append(line)
    doc: dict[str, Any] = {
        "version": 1,
        "kind": "settlement",
        "period": {"start": ps.isoformat(), "end": pe.isoformat()},
        "entity": {"id": entity.uscc, "kind": entity.kind, "name": entity.name},
        "payees": sorted(payees.values(), key=lambda p: p["id"]),
        "profit_fen": profit.profit_fen,
        "contracts": docs,
    }
    if profit.cash_available_fen is not None:
        doc["cash_available_fen"] = profit.cash_available_fen
    return doc


def _versions_in_force(session: Session, project_id: int, day: date) -> dict[int, ContractVersion]:
    """Each of the project's contracts as it stood on `day`: its latest version in force from that day or
    before; a contract with none then is left out."""
    rows = session.scalars(select(ContractVersion).join(Contract, ContractVersion.contract_id == Contract.id)
                           .where(Contract.project_id == project_id, ContractVersion.effective_from <= day)
                           .order_by(ContractVersion.contract_id, ContractVersion.version)).all()
    return {v.contract_id: v for v in rows}  # the last one of each contract wins


def _holdings(reg: Any, c: Any, in_force: Any, ps: date, pe: date) -> tuple[str, list[tuple[int, date, date]]] | None:
    """A share's holders during [ps, pe] from its versions, each in force from its `effective_from` until the next
    one's: (the village whose retained pool takes the pending days, [(household id, from, to), ...]); None when
    one household held it on every day of the contract in the period (the document is written as before).

    A version pending reassignment holds no one (its days go to the village of the household it was freed
    from); any other version with a payee household is held by that household."""
    rows = reg.versions(c.id, pe)
    lo, hi = max(in_force.start_date, ps), min(in_force.end_date, pe)
    if lo > hi:
        return None
    holders: list[tuple[int, date, date]] = []
    pool: int | None = None
    pending = False
    for i, v in enumerate(rows):
        a = max(v.effective_from, lo)
        b = min(rows[i + 1].effective_from - timedelta(days=1), hi) if i + 1 < len(rows) else hi
        if a > b:
            continue
        if v.status == "pending_reassignment":
            pending = True
            if pool is None and v.payee_household_id is not None:
                pool = v.payee_household_id
            continue
        if v.payee_household_id is None:
            return None  # a village's own share: nothing held in turn
        if holders and holders[-1][0] == v.payee_household_id and holders[-1][2] + timedelta(days=1) == a:
            holders[-1] = (v.payee_household_id, holders[-1][1], b)  # an amendment: the same holding goes on
        else:
            holders.append((v.payee_household_id, a, b))
    if not pending and len({h for h, _, _ in holders}) <= 1:
        return None
    # Pending all period: no holder, the whole dividend goes to the village's retained pool.
    source = pool if pool is not None else (holders[0][0] if holders else in_force.payee_household_id)
    if source is None:
        return None
    return str(reg.household(source).village_code), holders


def _employment(days_worked: list[str], terms: dict[str, Any]) -> dict[str, Any]:
    # The contract's rate, whatever its basis: a work record of an employment contract states what was worked in
    # the contract's unit (days by the day, months by the month, pieces at a piece rate), so due = rate × quantity;
    # a daily wage written on a record never replaces the agreed rate (services/obligations wages, R1.3).
    days = sum((Decimal(d) for d in days_worked), Decimal(0))
    return {"wage_fen_per_day": int(terms["wage_fen"]), "days_worked": _dec(days)}


def build_village_allocation_document(session: Session, village_code: str, year: int) -> dict[str, Any]:
    """The ENGINE.md village_allocation document from the stored plan and the registry (statuses as of year end)."""
    plan = session.scalar(select(AllocationPlan).where(AllocationPlan.village_code == village_code,
                                                       AllocationPlan.year == year))
    if plan is None:
        raise NotFound(f"村 {village_code} 没有 {year} 年度收益分配方案", f"no allocation plan for {village_code} "
                       f"in {year}", field="village")
    return village_allocation_document(Registry(session), plan, year)


def village_allocation_document(reg: Any, plan: Any, year: int) -> dict[str, Any]:
    """The village_allocation document of `plan` (village_code, pool_fen, buckets, eligible_statuses,
    cap_per_household_fen) from `reg`'s reads."""
    village_code = plan.village_code
    year_end = date(year, 12, 31)
    households = reg.village_households(village_code)
    by_household: dict[int, list[Any]] = defaultdict(list)
    for p in reg.village_people(village_code):
        if p.life_state == "alive" or (p.life_state_date is not None and p.life_state_date > year_end):
            by_household[p.household_id].append(p)
    hh_docs = []
    listed: dict[int, str] = {}
    for hh in households:
        living = by_household.get(hh.id, [])
        if not living:
            continue  # died out or moved away before the year ended
        if hh.life_state != "alive" and hh.life_state_date is not None and hh.life_state_date <= year_end:
            continue
        listed[hh.id] = hh.household_no
        hh_docs.append({"id": hh.household_no, "status": reg.status(hh.id, year_end),
                        "labor": labor_summary([p.labor for p in living]), "members": len(living)})
    work = reg.welfare_work(village_code, year)
    contributions = reg.contributions(village_code, year)
    # The village's retained pool (留存待分配): dividends of quantified shares for the days they waited for
    # reassignment, retained by earlier years' settlements, are distributed with this plan's pool.
    retained = sum(r.amount_fen for r in reg.retained(village_code, year))
    doc: dict[str, Any] = {
        "version": 1,
        "kind": "village_allocation",
        "village": village_code,
        "pool_fen": plan.pool_fen + retained,
        "households": hh_docs,
        "eligible_statuses": list(plan.eligible_statuses),
        "work": [{"household": listed[w.household_id], "kind": "public_welfare_post", "post": w.post,
                  "days": w.days, "daily_wage_fen": w.daily_wage_fen} for w in work if w.household_id in listed],
        "contribution": [{"household": listed[r.household_id], "points": r.points}
                         for r in contributions if r.household_id in listed],
        "buckets": list(plan.buckets),
    }
    if plan.cap_per_household_fen is not None:
        doc["cap_per_household_fen"] = plan.cap_per_household_fen
    return doc


def save_allocation_plan(session: Session, actor: Actor, *, village_code: str, year: int, pool_fen: int,
                         buckets: list[dict[str, Any]], at: datetime, cap_per_household_fen: int | None = None,
                         eligible_statuses: list[str] | None = None) -> AllocationPlan:
    """Store (or replace while still a draft) a village's allocation plan for a year."""
    village = get_region(session, village_code)
    if village.level != "village":
        raise InputError(f"{village_code} 不是村", f"{village_code} is not a village", field="village_code")
    _money(pool_fen, "pool_fen", "可分配收益")
    if cap_per_household_fen is not None:
        _money(cap_per_household_fen, "cap_per_household_fen", "每户上限")
    if not isinstance(buckets, list) or not buckets:
        raise InputError("至少需要一个分配科目", "at least one bucket is required", field="buckets")
    total = Decimal(0)
    for i, b in enumerate(buckets):
        if not isinstance(b, dict) or not b.get("name"):
            raise InputError("分配科目缺少名称", "a bucket needs a name", field=f"buckets[{i}].name")
        if b.get("rule") not in RULES:
            raise InputError(f"分配规则应为 {'/'.join(RULES)} 之一", f"rule must be one of {', '.join(RULES)}",
                             field=f"buckets[{i}].rule")
        try:
            total += Decimal(str(b.get("share")))
        except Exception as exc:
            raise InputError("分配比例不是有效数字", "share is not a number", field=f"buckets[{i}].share") from exc
    if total != 1:
        raise InputError(f"各科目比例之和为 {total}，应为 1", f"bucket shares sum to {total}, must be 1",
                         field="buckets")
    freetext.check_fields(**{f"buckets[{i}].name": b.get("name") for i, b in enumerate(buckets)})
    statuses = eligible_statuses or list(ELIGIBLE)
    access.require(actor, "plan.write", region=village_code)
    plan = session.scalar(select(AllocationPlan).where(AllocationPlan.village_code == village_code,
                                                       AllocationPlan.year == year))
    if plan is None:
        plan = AllocationPlan(village_code=village_code, year=year, county_code=village_code[:6], status="draft",
                              pool_fen=pool_fen, buckets=buckets, cap_per_household_fen=cap_per_household_fen,
                              eligible_statuses=statuses)
        session.add(plan)
    else:
        plan.pool_fen, plan.buckets, plan.cap_per_household_fen = pool_fen, buckets, cap_per_household_fen
        plan.eligible_statuses = statuses
    trace.record(session, actor=actor, type="allocation_plan.save", subject=f"village:{village_code}:{year}",
                 region=village_code, facts={"year": year, "pool_fen": pool_fen, "buckets": buckets,
                                             "cap_per_household_fen": cap_per_household_fen,
                                             "eligible_statuses": statuses, "row": row_fact(session, plan)}, at=at)
    return plan


def store_run(session: Session, actor: Actor, *, kind: str, subject: str, region: str, year: int,
              doc: dict[str, Any], at: datetime, out: dict[str, Any] | None = None,
              extra: dict[str, Any] | None = None) -> Run:
    """Keep a run (input, output, their digests, who and when) with its ledger entry; the one place runs are stored.

    `out` is the engine's result when the caller already has it (execution checks it against the approved
    preview first); otherwise the document is run here. `extra` adds facts to the entry (e.g. the matter).
    """
    if out is None:
        from daipin.domain.engine import calculate

        out = calculate(doc)
    run = Run(kind=kind, subject=subject, year=year, input_json=doc, output_json=out, input_digest=digest(doc),
              output_digest=digest(out), actor=f"{actor.role.value}:{actor.id}", at=at, county_code=region[:6])
    session.add(run)
    session.flush()
    facts: dict[str, Any] = {"kind": kind, "year": year, "input_digest": run.input_digest,
                             "output_digest": run.output_digest, **(extra or {}), "row": row_fact(session, run)}
    if "totals" in out:
        facts["totals"] = out["totals"]
    changed: list[Any] = []
    if kind == "settlement":
        changed = _keep_retained(session, run, year)
    elif kind == "village_allocation":
        changed = _claim_retained(session, str(doc.get("village", subject)), year)
    if changed:
        facts["retained_rows"] = [row_fact(session, r) for r in changed]
    run.ledger_index = trace.record(session, actor=actor, type=f"run.{kind}", subject=f"run:{run.id}",
                                    region=region, facts=facts, at=at)
    return run


def _keep_retained(session: Session, run: Run, year: int) -> list[RetainedDividend]:
    """A settlement's retained lines (a share's days pending reassignment) into their villages' retained pools: one
    row per contract and year, replaced by a later run of the same settlement until an allocation has taken it."""
    out = run.output_json
    changed: list[RetainedDividend] = []
    for line in out.get("lines", []):
        if not line.get("retained"):
            continue
        c = session.scalar(select(Contract).where(Contract.code == str(line["contract"])))
        if c is None:
            continue
        row = session.scalar(select(RetainedDividend).where(RetainedDividend.contract_id == c.id,
                                                            RetainedDividend.year == year))
        if row is not None and row.allocation_year is not None:
            continue  # already distributed by an allocation: a later re-run does not move money twice
        if row is None:
            row = RetainedDividend(contract_id=c.id, year=year, project_id=c.project_id)
            session.add(row)
        row.village_code, row.county_code, row.run_id = str(line["payee"]), str(line["payee"])[:6], run.id
        row.days, row.due_fen, row.amount_fen = int(line["held_days"]), int(line["due_fen"]), int(line["paid_fen"])
        changed.append(row)
    return changed


def retained_for(session: Session, village_code: str, year: int) -> list[RetainedDividend]:
    """What the village's retained pool adds to its allocation for `year`: the dividends retained by settlements of
    earlier years not yet taken by another year's allocation (and those this year's allocation took already)."""
    return list(session.scalars(select(RetainedDividend).where(
        RetainedDividend.village_code == village_code,
        or_(RetainedDividend.allocation_year == year,
            (RetainedDividend.allocation_year.is_(None)) & (RetainedDividend.year < year)))
        .order_by(RetainedDividend.year, RetainedDividend.id)))


def _claim_retained(session: Session, village_code: str, year: int) -> list[RetainedDividend]:
    rows = [r for r in retained_for(session, village_code, year) if r.allocation_year is None]
    for r in rows:
        r.allocation_year = year
    return rows


def _check_year(year: object) -> None:
    """The year of a settlement or an allocation: a whole number from 2000 to 2100, checked before anything is
    read (a year 0 once ended in a ValueError from `date`)."""
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InputError(f"年度 {year} 无效（应为 2000 至 2100 之间的年份）",
                         f"year {year} is invalid (a year from 2000 to 2100)", field="year")


def run_settlement(session: Session, actor: Actor, project_id: int | str, year: int, at: datetime) -> Run:
    """Build the settlement document, run the engine, store the run and its ledger entry."""
    _check_year(year)
    project = get_project(session, project_id)
    region = project.village_code or project.township_code
    access.require(actor, "run.write", region=region)
    doc = build_settlement_document(session, project.id, year)
    return store_run(session, actor, kind="settlement", subject=project.code, region=region, year=year, doc=doc, at=at)


def run_village_allocation(session: Session, actor: Actor, village_code: str, year: int, at: datetime) -> Run:
    _check_year(year)
    access.require(actor, "run.write", region=village_code)
    doc = build_village_allocation_document(session, village_code, year)
    return store_run(session, actor, kind="village_allocation", subject=village_code, region=village_code, year=year,
                  doc=doc, at=at)


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"计算记录 {run_id} 不存在", f"run {run_id} not found", field="run_id")
    return run


def list_runs(session: Session, kind: str | None = None, subject: str | None = None) -> list[Run]:
    q = select(Run).order_by(Run.id)
    if kind:
        q = q.where(Run.kind == kind)
    if subject:
        q = q.where(or_(Run.subject == subject))
    return list(session.scalars(q))


def villages(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).where(Region.level == "village").order_by(Region.code)))
