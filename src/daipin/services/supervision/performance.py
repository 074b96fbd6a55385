"""The district allocation's performance coefficients from the villages' indicators (POLICY.md R3.2, ENGINE.md §3):
the county's setting as it stands (typed by hand or computed, with the formula's parameters; set by
`service.set_performance`) and the filling of a district allocation's document with each village's coefficient
and the basis it rests on (the indicators of the year before the allocation year, as of the draft date)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from daipin.db.models.supervision import SupervisionSettings
from daipin.domain import performance as perf
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.services.supervision import indicators

BASIS_KEY = "performance_basis"


def county_settings(session: Session, county: str) -> dict[str, str]:
    row = session.get(SupervisionSettings, county)
    return perf.settings(row.thresholds if row else None)


def settings_rows(values: dict[str, str]) -> list[dict[str, str]]:
    """The setting as people read it: label, value (the mode by its label), default."""
    def shown(k: str, v: str) -> str:
        return perf.MODE_LABELS.get(v, v) if k == "performance_mode" else v

    return [{"key": k, "label": perf.LABELS[k], "value": shown(k, values[k]), "default": shown(k, d)}
            for k, d in perf.DEFAULTS.items()]


def village_indicators(session: Session, actor: Actor, county: str, year: int,
                       today: date) -> list[perf.VillageIndicators]:
    """The county's villages' indicators of `year` as they stand on `today`."""
    rows = indicators.villages(session, actor, year=year, today=today)
    return [perf.VillageIndicators(village=r["village"], dues=r["dues"], dues_on_time=r["dues_on_time"],
                                   households=r["households"], per_household_fen=r["per_household_fen"],
                                   open_findings=r["open_findings"])
            for r in rows if str(r["village"]).startswith(county)]


def computed(session: Session, actor: Actor, county: str, allocation_year: int, today: date) -> dict[str, Any]:
    """The basis of every village's coefficient for an allocation of `allocation_year`: the indicators of the year
    before, the parameters, the county's medians and each village's coefficient."""
    p = perf.parameters(county_settings(session, county))
    year = allocation_year - 1
    villages = village_indicators(session, actor, county, year, today)
    result = perf.coefficients(p, villages)
    params = p.as_strings()
    params.pop("mode")
    return {
        "mode": "indicators", "indicator_year": year, "as_of": today.isoformat(), "parameters": params,
        "median_on_time_share": perf.fraction_text(result.median_share),
        "median_per_household_fen": int(result.median_income) if result.median_income is not None else None,
        "villages": {v.village: {"dues": v.dues, "dues_on_time": v.dues_on_time,
                                 "on_time_share": perf.fraction_text(v.on_time_share),
                                 "households": v.households, "per_household_fen": v.per_household_fen,
                                 "open_findings": v.open_findings,
                                 "computed": str(result.coefficients[v.village])} for v in villages},
    }


def _same(typed: Any, value: str) -> bool:
    try:
        return Decimal(str(typed)) == Decimal(value)
    except InvalidOperation:
        return False


def fill(session: Session, actor: Actor, county: str, document: Any, allocation_year: int | None,
         at: datetime) -> Any:
    """The district allocation's document with each village's coefficient from the indicators when the county
    derives them so: a village with no coefficient gets the computed one; a coefficient typed that differs from
    it is kept as the district's own (the basis says so). The basis goes in `performance_basis`; under `manual`
    the document is kept as typed and a basis it carries is refused (the system writes it)."""
    from daipin.domain.localtime import beijing_date

    if not isinstance(document, dict):
        return document
    mode = county_settings(session, county)["performance_mode"]
    if mode != "indicators":
        if BASIS_KEY in document:
            raise InputError("绩效系数计算依据由系统生成，不能填写", "performance_basis is written by the system",
                             f"document.{BASIS_KEY}")
        return document
    if allocation_year is None:
        return document
    basis = computed(session, actor, county, allocation_year, beijing_date(at))
    out = {k: v for k, v in document.items() if k != BASIS_KEY}
    per_village: dict[str, Any] = {}
    villages = []
    for v in document.get("villages", []) if isinstance(document.get("villages"), list) else []:
        if not isinstance(v, dict) or not isinstance(v.get("id"), str):
            villages.append(v)
            continue
        facts = dict(basis["villages"].get(v["id"]) or {  # a village outside the county's registry: no record
            "dues": 0, "dues_on_time": 0, "on_time_share": "", "households": 0, "per_household_fen": 0,
            "open_findings": 0, "computed": "1.00"})
        v = dict(v)
        typed = v.get("performance")
        if typed is None or _same(typed, facts["computed"]):
            v["performance"] = facts["computed"]
            facts["overridden"] = False
        else:
            facts["overridden"] = True
        facts["performance"] = str(v["performance"])
        per_village[v["id"]] = facts
        villages.append(v)
    if "villages" in document:
        out["villages"] = villages
    out[BASIS_KEY] = {**basis, "villages": per_village}
    return out


def form_lines(session: Session, actor: Actor, county: str, lines: str, allocation_year: int,
               at: datetime) -> tuple[str, dict[str, Any] | None]:
    """The district form's village lines with each village's computed coefficient appended (a line that has one
    keeps it), and the basis to show beside them; unchanged under `manual`."""
    from daipin.domain.localtime import beijing_date

    if county_settings(session, county)["performance_mode"] != "indicators":
        return lines, None
    basis = computed(session, actor, county, allocation_year, beijing_date(at))
    out = []
    for line in lines.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in basis["villages"]:
            line = f"{line} {basis['villages'][parts[0]]['computed']}"
        out.append(line)
    for facts in basis["villages"].values():
        facts.update(performance=facts["computed"], overridden=False)
    return "\n".join(out), basis
