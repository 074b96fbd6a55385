"""The rules of yearly beneficiary rosters (收益扶贫对象确认): the registry's proposal, the checks of a roster document,
and the confirmed roster that allocations may use only."""

from __future__ import annotations

from datetime import date
from types import EllipsisType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household
from daipin.db.models.workflow import Matter
from daipin.domain.errors import Conflict, DaipinError, InputError
from daipin.domain.workflow import MatterKind, State

ROSTER_STATUSES = ("poor", "monitored")
CONFIRMED = (State.EXECUTED.value, State.ARCHIVED.value)
DEFAULT_ELIGIBLE = ["poor", "monitored"]


def roster_document(session: Session, village_code: str, year: int, today: date) -> dict[str, Any]:
    """The roster proposed from the registry: the village's poor and monitored households as of `today`."""
    from daipin.services.registry.service import status_as_of

    rows = session.scalars(select(Household).where(Household.village_code == village_code,
                                                   Household.life_state == "alive")
                           .order_by(Household.household_no)).all()
    households = []
    for hh in rows:
        status = status_as_of(session, hh.id, today)
        if status in ROSTER_STATUSES:
            households.append({"id": hh.household_no, "status": status})
    return {"version": 1, "kind": "beneficiary_roster", "village": village_code, "year": year,
            "households": households}


def check_roster_document(session: Session, doc: dict[str, Any], region: str, year: int | None) -> dict[str, Any]:
    """Validate a roster document; its preview is the list of household numbers with their status."""
    allowed = {"version", "kind", "village", "year", "households"}
    for key in doc:
        if key not in allowed:
            raise InputError(f"名单不收集“{key}”", f"unknown field {key!r}", f"document.{key}")
    if doc.get("version") != 1:
        raise InputError("version 应为 1", "version must be 1", "document.version")
    if doc.get("village") != region:
        raise InputError(f"名单所属村应为 {region}", f"the roster must be for village {region}", "document.village")
    if doc.get("year") != year:
        raise InputError(f"名单年度应为 {year}", f"the roster year must be {year}", "document.year")
    hhs = doc.get("households")
    if not isinstance(hhs, list):
        raise InputError("households 应为列表", "households must be a list", "document.households")
    seen: set[str] = set()
    out = []
    for i, h in enumerate(hhs):
        where = f"document.households[{i}]"
        if not isinstance(h, dict):
            raise InputError("每户应为对象", "each household must be an object", where)
        extra = set(h) - {"id", "status", "name"}
        if extra:
            raise InputError(f"名单不收集“{sorted(extra)[0]}”", "unknown household field", f"{where}.{sorted(extra)[0]}")
        hid = h.get("id")
        if not isinstance(hid, str) or not hid:
            raise InputError("缺少户编号", "missing household id", f"{where}.id")
        if hid in seen:
            raise InputError(f"户 {hid} 重复", f"household {hid} listed twice", f"{where}.id")
        seen.add(hid)
        if h.get("status") not in ROSTER_STATUSES:
            raise InputError("户类型应为 poor（贫困户）或 monitored（监测户）", "status must be poor or monitored",
                             f"{where}.status")
        hh = session.scalar(select(Household).where(Household.household_no == hid))
        if hh is not None and hh.village_code != region:
            raise InputError(f"户 {hid} 不属于本村", f"household {hid} is not in this village", f"{where}.id")
        out.append({"id": hid, "status": h["status"]})
    return {"kind": "beneficiary_roster", "village": region, "year": year, "households": out, "count": len(out)}


def monitoring_only(session: Session, doc: dict[str, Any] | None, day: date) -> bool:
    """Whether a roster lists monitoring households (防返贫监测对象) alone, so its notice may run 5 days: every
    household marked `monitored` in the document is a registered household of that status on `day` (one the
    registry does not know, or knows otherwise, makes it an ordinary roster of 10 days)."""
    from daipin.services.registry.service import status_as_of

    hhs = [h for h in (doc or {}).get("households") or [] if isinstance(h, dict)]
    if not hhs or any(h.get("status") != "monitored" for h in hhs):
        return False
    for h in hhs:
        hh = session.scalar(select(Household).where(Household.household_no == str(h.get("id"))))
        if hh is None or status_as_of(session, hh.id, day) != "monitored":
            return False
    return True


def confirmed_roster(session: Session, village_code: str, year: int) -> Matter | None:
    """The village's confirmed (executed or archived) roster matter for the year, the latest if several."""
    return session.scalar(select(Matter).where(Matter.kind == MatterKind.BENEFICIARY_ROSTER.value,
                                               Matter.region_code == village_code, Matter.year == year,
                                               Matter.state.in_(CONFIRMED)).order_by(Matter.id.desc()).limit(1))


def confirmed_households(session: Session, village_code: str, year: int) -> set[str] | None:
    m = confirmed_roster(session, village_code, year)
    if m is None:
        return None
    return {str(h["id"]) for h in (m.document or {}).get("households", [])}


def require_on_roster(session: Session, village_code: str, year: int | None, document: dict[str, Any], *,
                      error: type[DaipinError] = Conflict, on_roster: set[str] | None | EllipsisType = ...) -> None:
    """Every household an allocation may pay (eligible status) must be on the year's confirmed roster
    (`on_roster`: `confirmed_households` as the caller read it in this transaction)."""
    if year is None:
        raise error("须填写年度", "the year is required", "year")
    if on_roster is ...:
        on_roster = confirmed_households(session, village_code, year)
    if on_roster is None:
        raise error(f"本村 {year} 年度收益扶贫对象名单尚未确认（须经会议、审核、公示）",
                    f"no confirmed beneficiary roster for {year}", "year", code="no_confirmed_roster")
    eligible = document.get("eligible_statuses") or DEFAULT_ELIGIBLE
    for i, h in enumerate(document.get("households") or []):
        if not isinstance(h, dict) or h.get("status") not in eligible:
            continue
        if str(h.get("id")) not in on_roster:
            raise error(f"户 {h.get('id')} 不在本村 {year} 年度已确认的收益扶贫对象名单上",
                        f"household {h.get('id')} is not on the confirmed {year} roster",
                        f"document.households[{i}].id", code="not_on_roster")


#END
