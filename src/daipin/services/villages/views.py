"""Typed reads of a village's representatives for the page, the API and the command line; they ask the access
policy (`household.read` of the village: representatives are its registered people)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, VillageRepresentative
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import NotFound
from daipin.services.villages import service


def _seen(session: Session, actor: Actor, code: str) -> Any:
    access.require(actor, "household.read", field="actor")
    if not isinstance(code, str) or not access.allowed(actor, "household.read", region=code):
        raise NotFound(f"村 {code} 不存在", f"village {code} not found", "village")
    return service.village(session, code)


def representatives(session: Session, actor: Actor, village_code: str, *, on: date) -> dict[str, Any]:
    """The village's terms of representatives, newest first, each marked serving or not on `on`, and the number
    a 村民代表会议 sitting on `on` would count (serving, and still a living member of the village)."""
    v = _seen(session, actor, village_code)
    r = VillageRepresentative
    rows = session.execute(
        select(r, Person.name, Person.life_state, Household.household_no, Household.village_code,
               Household.life_state.label("household_state"))
        .join(Person, r.person_id == Person.id).join(Household, Person.household_id == Household.id)
        .where(r.village_code == v.code).order_by(r.from_date.desc(), r.id.desc())).all()
    counted = set(service.registry_counts(session, v.code, on).representatives)
    terms = [{"id": t.id, "person_id": t.person_id, "name": name, "household_no": no,
              "from": t.from_date.isoformat(), "to": t.to_date.isoformat() if t.to_date else None,
              "end_reason": t.end_reason, "serving": t.id in counted,
              "in_term": t.from_date <= on and (t.to_date is None or on <= t.to_date),
              "member": life == "alive" and hh_state == "alive" and hh_village == v.code}
             for t, name, life, no, hh_village, hh_state in rows]
    return {"village": {"code": v.code, "name": v.name}, "on": on.isoformat(), "serving": len(counted),
            "terms": terms, "may_write": access.allowed(actor, "representative.write", region=v.code)}


def candidates(session: Session, actor: Actor, village_code: str, *, on: date) -> list[dict[str, Any]]:
    """The village's living members 18 or over on `on`, for the page's choice of a new representative."""
    v = _seen(session, actor, village_code)
    rows = session.execute(
        select(Person.id, Person.name, Person.birth_date, Person.id_number, Household.household_no)
        .join(Household, Person.household_id == Household.id)
        .where(Household.village_code == v.code, Household.life_state == "alive", Person.life_state == "alive")
        .order_by(Household.household_no, Person.id)).all()
    out = []
    for pid, name, birth, number, no in rows:
        b = service.birth_of(birth, number)
        if b is None or wf.adult_on(b, on):
            out.append({"id": pid, "name": name, "household_no": no})
    return out
