"""A village's representatives (村民代表), one term a row, and the counts a village meeting is judged on.

`add_representative` and `end_representative` validate first (InputError naming the field, nothing changed),
ask the access policy (`representative.write`: the village's cadre, its township, the district), write the row
and its ledger entry in the caller's transaction, and never commit. `registry_counts` reads, for the decision
path, who may attend a village meeting on its day: the registry's adults (18 or over that day, alive, of the
village's registered households that have not moved away or died out), the households they make up, and the
representatives serving that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, Region, VillageRepresentative
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import as_date, not_future
from daipin.services.shared.rows import row_fact


def village(session: Session, code: Any, field: str = "village") -> Region:
    """The village of `code`, or NotFound naming `field`."""
    region = session.scalar(select(Region).where(Region.code == code)) if isinstance(code, str) else None
    if region is None or region.level != "village":
        raise NotFound(f"村 {code} 不存在", f"village {code} not found", field)
    return region


# ---------------------------------------------------------------- counts for a meeting


def birth_of(p_birth: date | None, id_number: str) -> date | None:
    """The recorded birth date, else the one an 18-digit resident ID number encodes (None when neither)."""
    if p_birth is not None:
        return p_birth
    digits = id_number[6:14] if isinstance(id_number, str) and len(id_number) == 18 else ""
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])) if digits.isdigit() else None
    except ValueError:
        return None


def serving(day: date) -> Any:
    """The SQL condition of a term that covers `day`."""
    r = VillageRepresentative
    return (r.from_date <= day) & or_(r.to_date.is_(None), r.to_date >= day)


@dataclass(frozen=True)
class RegistryCount:
    """Who may attend a village meeting on `day`, from the registry."""

    day: date
    adults: int
    households: int
    representatives: tuple[int, ...]  # the serving terms' row ids
    unknown_birth: int

    def facts(self) -> dict[str, Any]:
        return {"source": "registry", "day": self.day.isoformat(), "adults": self.adults,
                "households": self.households, "representatives": len(self.representatives),
                "representative_terms": list(self.representatives), "unknown_birth_dates": self.unknown_birth}


def registry_counts(session: Session, village_code: str, day: date) -> RegistryCount:
    """The village's eligible adults and households on `day` and its representatives serving that day.

    Living members (`alive`) of households registered in the village that are still there (`alive`: not moved
    away, not died out); a representative counts while serving and still such a member."""
    members = session.execute(
        select(Person.household_id, Person.birth_date, Person.id_number)
        .join(Household, Person.household_id == Household.id)
        .where(Household.village_code == village_code, Household.life_state == "alive",
               Person.life_state == "alive")).all()
    count = wf.count_villagers(((h, birth_of(b, n)) for h, b, n in members), day)
    reps = session.scalars(
        select(VillageRepresentative.id)
        .join(Person, VillageRepresentative.person_id == Person.id)
        .join(Household, Person.household_id == Household.id)
        .where(VillageRepresentative.village_code == village_code, serving(day),
               Person.life_state == "alive", Household.life_state == "alive",
               Household.village_code == village_code)
        .order_by(VillageRepresentative.id)).all()
    return RegistryCount(day, count.adults, count.households, tuple(reps), count.unknown_birth)


# ---------------------------------------------------------------- the list of representatives


def _may_write(actor: Actor, v: Region) -> None:
    """Forbidden for a role that keeps no list; NotFound for a village outside the actor's region."""
    access.require(actor, "representative.write", field="actor",
                   what=("维护村民代表名单", "maintain the village representatives"))
    if not access.allowed(actor, "representative.write", region=v.code):
        raise NotFound(f"村 {v.code} 不存在", f"village {v.code} not found", "village")


def _record(session: Session, actor: Actor, type: str, rep: VillageRepresentative, facts: dict[str, Any],
            at: datetime) -> int:
    return trace.record(session, actor=actor, type=type, subject=f"village:{rep.village_code}",
                        region=rep.village_code, facts={**facts, "row": row_fact(session, rep)}, at=at)


def add_representative(session: Session, actor: Actor, village_code: str, *, person_id: int, from_date: date,
                       at: datetime, to_date: date | None = None) -> VillageRepresentative:
    """Record a person of the village as its representative from `from_date` (to `to_date`, when the term's end
    is known). The person must be a living member of a household registered in the village, 18 or over on
    `from_date`, and not already serving in days that overlap."""
    v = village(session, village_code)
    start = as_date(from_date, "from_date", "任期开始日期")
    end = None if to_date is None else as_date(to_date, "to_date", "任期结束日期")
    if end is not None and end < start:
        raise InputError(f"任期结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}",
                         "the term cannot end before it starts", "to_date")
    _may_write(actor, v)
    person = session.get(Person, person_id) if isinstance(person_id, int) else None
    hh = session.get(Household, person.household_id) if person is not None else None
    if person is None or hh is None or hh.village_code != v.code:
        raise InputError(f"人员 {person_id} 不是{v.name}登记在册的村民", f"person {person_id} is not registered "
                         "in this village", "person_id")
    if person.life_state != "alive" or hh.life_state != "alive":
        raise InputError("该村民已不在册（死亡或迁出），不能登记为村民代表", "the person is no longer a living "
                         "member of the village", "person_id")
    birth = birth_of(person.birth_date, person.id_number)
    if birth is not None and not wf.adult_on(birth, start):
        raise InputError(f"任期开始日 {start.isoformat()} 该村民未满{wf.ADULT_AGE}周岁", f"the person is under "
                         f"{wf.ADULT_AGE} on {start.isoformat()}", "from_date")
    # The village's row is locked before the check (PostgreSQL `FOR UPDATE`; SQLite's writers take turns): two
    # processes recording the same person's terms at once check in turn, so overlapping terms cannot both pass.
    lock_village(session, v.code)
    r = VillageRepresentative
    overlap = session.scalar(select(r.id).where(
        r.village_code == v.code, r.person_id == person.id, or_(r.to_date.is_(None), r.to_date >= start),
        *([r.from_date <= end] if end is not None else [])).limit(1))
    if overlap is not None:
        raise Conflict(f"该村民已是村民代表（任期 {overlap}），任期不能重叠", "the person already serves as a "
                       "representative in these days", "person_id", code="representative_overlap")
    rep = VillageRepresentative(village_code=v.code, county_code=v.code[:6], person_id=person.id, from_date=start,
                                to_date=end, end_reason="")
    session.add(rep)
    session.flush()
    _record(session, actor, "village.representative.add", rep,
            {"representative": rep.id, "person": person.id, "from": start.isoformat(),
             "to": end.isoformat() if end else None}, at)
    return rep


def lock_village(session: Session, code: str) -> None:
    """Hold the village's region row until the transaction ends: every change to its representatives' list takes
    this lock first and reads the list inside it."""
    session.execute(select(Region.id).where(Region.code == code).with_for_update())


def get_representative(session: Session, village_code: str, representative_id: int) -> VillageRepresentative:
    rep = session.get(VillageRepresentative, representative_id)
    if rep is None or rep.village_code != village_code:
        raise NotFound(f"村民代表任期 {representative_id} 不存在", f"representative term {representative_id} "
                       "not found", "representative_id")
    return rep


def end_representative(session: Session, actor: Actor, village_code: str, representative_id: int, *,
                       to_date: date, reason: str, at: datetime) -> VillageRepresentative:
    """End a term on `to_date` (the last day served; not after today), with the reason (换届、辞职、迁出…)."""
    v = village(session, village_code)
    end = not_future(as_date(to_date, "to_date", "任期结束日期"), at, "to_date", "任期结束日期")
    why = freetext.text(reason, "reason", "卸任原因", "reason", limit=200) or ""
    _may_write(actor, v)
    lock_village(session, v.code)
    rep = get_representative(session, v.code, representative_id)
    if rep.to_date is not None and rep.to_date <= end:
        raise Conflict(f"该任期已于 {rep.to_date.isoformat()} 结束", f"the term already ended on "
                       f"{rep.to_date.isoformat()}", "representative_id", code="representative_ended")
    if end < rep.from_date:
        raise InputError(f"任期结束日期 {end.isoformat()} 早于开始日期 {rep.from_date.isoformat()}",
                         "the term cannot end before it starts", "to_date")
    rep.to_date, rep.end_reason = end, why
    session.flush()
    _record(session, actor, "village.representative.end", rep,
            {"representative": rep.id, "person": rep.person_id, "to": end.isoformat(), "reason": why}, at)
    return rep
