"""Dynamic management (动态管理, R1.4): a household's status, deaths and moves, and what they do to the household's
benefit rights (quantified shares marked for reassignment)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Household, HouseholdStatus, Person
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.services.contracts.service import _record_contract, new_version
from daipin.services.registry.service import (
    ELIGIBLE,
    STATUSES,
    _record,
    _refresh_labor,
    get_household,
    members,
)
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import as_date as _date
from daipin.services.shared.inputs import choice as _choice
from daipin.services.shared.inputs import not_future as _not_future
from daipin.services.shared.inputs import year as _year
from daipin.services.shared.rows import row_fact


def change_household_status(session: Session, actor: Actor, household_id: int, status: str, from_date: date,
                            reason: str, at: datetime, exit_year: int | None = None) -> Household:
    """Dynamic management (R1.4): the new status holds from `from_date`; leaving eligibility frees quantified shares.

    Refused: a date after the day of `at` (Beijing time), a date before the household's latest status history
    entry (history does not go backwards), the status the household already has, `exited` without its exit
    year (as the import requires 脱贫年度) or with an exit year after the change's year."""
    hh = get_household(session, household_id)
    status = _choice(status, STATUSES, "status", "户类型")
    from_date = _not_future(_date(from_date, "from_date", "变更日期"), at, "from_date", "变更日期")
    reason = freetext.text(reason, "reason", "变更原因", "reason") or ""
    _year(exit_year, "exit_year", "脱贫年度", latest=at.year)
    if status == "exited":
        if exit_year is None:
            raise InputError("脱贫户须填写脱贫年度", "an exited household needs its exit year", field="exit_year")
        if exit_year > from_date.year:
            raise InputError(f"脱贫年度 {exit_year} 晚于变更日期所在年度 {from_date.year}",
                             f"exit year {exit_year} is after the year of the change ({from_date.year})",
                             field="exit_year")
    latest = session.execute(select(HouseholdStatus.status, HouseholdStatus.from_date)
                             .where(HouseholdStatus.household_id == hh.id)
                             .order_by(HouseholdStatus.from_date.desc(), HouseholdStatus.id.desc()).limit(1)).first()
    current, since = (latest[0], latest[1]) if latest is not None else (hh.status, hh.status_since)
    if since is not None and from_date < since:
        raise InputError(f"变更日期 {from_date.isoformat()} 早于该户最近一次身份记录的日期 {since.isoformat()}",
                         f"from_date {from_date.isoformat()} is before the household's latest status record "
                         f"({since.isoformat()})", field="from_date")
    access.require(actor, "household.write", region=hh.village_code)
    if status in (current, hh.status):
        raise Conflict(f"户 {hh.household_no} 已是{STATUSES[status]}（自 {since.isoformat() if since else '登记'} 起）",
                       "the household already has this status", field="status", code="unchanged")
    hh.status, hh.status_since = status, from_date
    if status == "exited":
        hh.exit_year = exit_year
    hist = HouseholdStatus(household_id=hh.id, county_code=hh.county_code, status=status, from_date=from_date,
                           reason=reason)
    session.add(hist)
    session.flush()
    freed = _free_quantified_shares(session, actor, hh, from_date, at) if status not in ELIGIBLE else []
    _record(session, actor, "household.status", f"household:{hh.household_no}", hh.village_code,
            {"status": status, "from": from_date.isoformat(), "reason": reason, "exit_year": hh.exit_year,
             "shares_pending_reassignment": freed, "row": row_fact(session, hh), "history": row_fact(session, hist)},
            at)
    return hh


def record_death(session: Session, actor: Actor, person_id: int, on: date, at: datetime) -> Person:
    """A member died: they stop counting from that date; when nobody is left the household has died out."""
    p = session.get(Person, person_id)
    if p is None:
        raise NotFound(f"人员 {person_id} 不存在", f"person {person_id} not found", field="person_id")
    on = _not_future(_date(on, "on", "死亡日期"), at, "on", "死亡日期")
    if p.birth_date is not None and on < p.birth_date:
        raise InputError(f"死亡日期 {on.isoformat()} 早于该成员的出生日期", "the date of death is before the person's "
                         "birth date", field="on")
    if p.life_state != "alive":
        raise Conflict("该成员已不在册", "the person is no longer a living member", field="person_id")
    hh = get_household(session, p.household_id)
    access.require(actor, "household.write", region=hh.village_code)
    p.life_state, p.life_state_date = "deceased", on
    session.flush()
    _refresh_labor(session, hh)
    alive = session.scalar(select(func.count()).select_from(Person).where(Person.household_id == hh.id,
                                                                            Person.life_state == "alive"))
    freed: list[str] = []
    if not alive:
        hh.life_state, hh.life_state_date = "died_out", on
        freed = _free_quantified_shares(session, actor, hh, on, at)
    _record(session, actor, "person.death", f"household:{hh.household_no}", hh.village_code,
            {"person": trace.pii(session, p.id_number), "on": on.isoformat(), "household_died_out": not alive,
             "shares_pending_reassignment": freed, "row": row_fact(session, p), "household": row_fact(session, hh)},
            at)
    return p


def record_move(session: Session, actor: Actor, household_id: int, on: date, at: datetime,
                destination: str = "") -> Household:
    """The whole household moved away: no longer eligible here from that date."""
    hh = get_household(session, household_id)
    on = _not_future(_date(on, "on", "迁出日期"), at, "on", "迁出日期")
    destination = freetext.text(destination, "destination", "迁往地", "destination", 200, required=False) or ""
    if hh.life_state != "alive":
        raise Conflict("该户已不在册", "the household is no longer registered here", field="household_id")
    access.require(actor, "household.write", region=hh.village_code)
    hh.life_state, hh.life_state_date = "moved", on
    moved = [p for p in members(session, hh.id) if p.life_state == "alive"]
    for p in moved:
        p.life_state, p.life_state_date = "moved", on
    session.flush()
    freed = _free_quantified_shares(session, actor, hh, on, at)
    _record(session, actor, "household.move", f"household:{hh.household_no}", hh.village_code,
            {"on": on.isoformat(), "destination": destination, "shares_pending_reassignment": freed,
             "row": row_fact(session, hh), "rows": [row_fact(session, p) for p in moved]}, at)
    return hh




def _free_quantified_shares(session: Session, actor: Actor, hh: Household, on: date, at: datetime) -> list[str]:
    """Quantified-fund and poverty-loan shares are benefit rights while eligible: mark them for reassignment."""
    contracts = session.scalars(select(Contract).where(Contract.payee_household_id == hh.id,
                                                       Contract.model == "shareholding",
                                                       Contract.status == "active")).all()
    freed = []
    for c in contracts:
        if c.terms.get("contribution_kind") in ("quantified_fund", "poverty_loan"):
            c.status = "pending_reassignment"
            reason = f"户 {hh.household_no} 不再符合条件，待重新分配 ({on.isoformat()})"
            v = new_version(session, actor, c, reason=reason, at=at, effective_from=on)
            # The contract's own entry, as for any other change of a contract (its row as it now stands).
            _record_contract(session, actor, "contract.pending_reassignment", c, hh.village_code,
                             {"version": v.version, "reason": reason, "on": on.isoformat()}, at)
            freed.append(c.code)
    return freed
