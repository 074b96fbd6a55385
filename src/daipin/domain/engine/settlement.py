"""Settlement: what an implementing entity owes each payee for a period, and who is paid first (ENGINE.md §1)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from daipin.domain.engine.validate import Issues, join, without_cyclic_gc
from daipin.domain.money import format_fen, format_yuan, split
from daipin.domain.numbers import ExactValueError, format_percent, parse_exact
from daipin.domain.vocabulary import (
    BENEFIT_MODEL,
    CASH_CLASS,
    ENTITY_KIND,
    HOUSEHOLD_STATUS,
    PAYEE_TYPE,
    TRUSTEESHIP_UNIT,
)

KIND = "settlement"

# The codes a document may use, with the names its messages give them (dicts: looked up on every line).
CONTRACT_KINDS = BENEFIT_MODEL.subset("settlement_kind", (
    "asset_lease", "fixed_interest", "trusteeship", "equity_dividend", "employment", "order_purchase")).labels()
ENTITY_KINDS = ENTITY_KIND.labels()
# A settlement pays households and villages (an entity is paid only its premium subsidies, services/insurance).
PAYEE_TYPES = {k: v for k, v in PAYEE_TYPE.labels().items() if k != "entity"}
STATUSES = HOUSEHOLD_STATUS.labels()
UNITS = TRUSTEESHIP_UNIT.labels()
CLASS_LABELS = {int(cls): name for cls, name in CASH_CLASS.labels().items()}

ASSET_LEASE = "asset_lease"
FIXED_INTEREST = "fixed_interest"
TRUSTEESHIP = "trusteeship"
EQUITY_DIVIDEND = "equity_dividend"
EMPLOYMENT = "employment"
ORDER_PURCHASE = "order_purchase"

_COMMON_REQUIRED = ("id", "kind", "payee")
_COMMON_OPTIONAL = ("start", "end", "name")
_TERMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ASSET_LEASE: (("annual_rent_fen",), ()),
    FIXED_INTEREST: (("principal_fen", "annual_rate"), ()),
    TRUSTEESHIP: (("units", "annual_fen_per_unit"), ("unit",)),
    EQUITY_DIVIDEND: (("profit_share",), ("annual_floor_fen", "holders")),
    EMPLOYMENT: (("wage_fen_per_day", "days_worked"), ()),
    ORDER_PURCHASE: (("quantity",), ("price_fen", "market_price_fen", "floor_price_fen")),
}
_REQUIRED = {k: frozenset(_COMMON_REQUIRED + req) for k, (req, _) in _TERMS.items()}
_OPTIONAL = {k: frozenset(_COMMON_OPTIONAL + opt) for k, (_, opt) in _TERMS.items()}
_ALLOWED = {k: _REQUIRED[k] | _OPTIONAL[k] for k in _TERMS}
# The fields a contract may carry without dates or a name: the shape most contracts have.
_PLAIN = {k: frozenset(_COMMON_REQUIRED + req + opt) - {"holders"} for k, (req, opt) in _TERMS.items()}
_PRICE_FIELDS = ("price_fen", "market_price_fen", "floor_price_fen")
_HOUSEHOLD_PAYEE = frozenset(("id", "type", "status"))
_VILLAGE_PAYEE = frozenset(("id", "type", "poor_village"))
_HOUSEHOLD_CLASS = {"poor": 2, "monitored": 2, "exited": 5, "non_poor": 5}


@without_cyclic_gc
def settlement(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Dues, payments by priority class and arrears of one entity for one period.

    The whole document is checked first (EngineInputError lists what is wrong); only a
    valid document is computed, so nothing is ever half-computed.
    """
    issues = Issues()
    if not issues.header(doc, KIND):
        issues.check()
    issues.fields(
        doc,
        "",
        ("version", "kind", "period", "entity", "payees", "profit_fen", "contracts"),
        ("cash_available_fen",),
    )

    # period: both ends in one calendar year
    period = doc.get("period")
    p_start = p_end = None
    if "period" in doc and issues.fields(period, "period", ("start", "end")):
        assert isinstance(period, Mapping)
        p_start = issues.day(period["start"], "period.start")
        p_end = issues.day(period["end"], "period.end")
        if p_start is not None and p_end is not None:
            if p_start > p_end:
                issues.add("period.end", "结算期结束日早于开始日", "the period ends before it starts")
            elif date.fromordinal(p_start).year != date.fromordinal(p_end).year:
                issues.add(
                    "period.end",
                    "结算期不能跨年：开始与结束须在同一公历年内",
                    "a settlement period must lie within one calendar year",
                )

    entity = doc.get("entity")
    if "entity" in doc and issues.fields(entity, "entity", ("id", "kind")):
        assert isinstance(entity, Mapping)
        issues.text(entity["id"], "entity.id")
        issues.choice(entity["kind"], "entity.kind", ENTITY_KINDS)

    profit = issues.fen(doc["profit_fen"], "profit_fen", negative=True) if "profit_fen" in doc else None
    cash: int | None = None
    if doc.get("cash_available_fen") is not None:
        cash = issues.fen(doc["cash_available_fen"], "cash_available_fen")

    payee_class = _check_payees(doc, issues)

    if issues or p_start is None or p_end is None:
        # The contracts are still checked so that every problem is reported at once.
        p_start = p_end = 0
    year_days = 366 if _leap(p_start) else 365

    contracts = issues.items_of(doc, "contracts", "")
    caches = _Caches()
    records: list[_Record] | None = None
    if not issues:
        try:
            records = _check_fast(contracts, payee_class, p_start, p_end, caches)
        except (_Unusual, KeyError, TypeError):
            records = None  # something the fast check does not vouch for: look closely
    if records is None:
        records = _check_closely(contracts, issues, payee_class, p_start, p_end, caches)
    issues.check()
    assert profit is not None
    return _compute(doc, records, profit, cash, year_days)


def _leap(ordinal: int) -> bool:
    if ordinal <= 0:
        return False
    y = date.fromordinal(ordinal).year
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


# --- payees ---------------------------------------------------------------------------------


def _check_payees(doc: Mapping[str, Any], issues: Issues) -> dict[str, int]:
    """Payee id -> priority class of a non-wage due; every problem is reported."""
    payee_class: dict[str, int] = {}
    seen: dict[str, int] = {}
    household_class = _HOUSEHOLD_CLASS
    for i, p in enumerate(issues.items_of(doc, "payees", "")):
        if type(p) is dict:
            # The usual clean payee: plain look-ups, no messages to prepare.
            keys = p.keys()
            pid = p.get("id")
            if type(pid) is str and pid and pid not in seen:
                ptype = p.get("type")
                if ptype == "household" and keys == _HOUSEHOLD_PAYEE:
                    status = p["status"]
                    cls = household_class.get(status) if type(status) is str else None
                    if cls is not None:
                        seen[pid] = i
                        payee_class[pid] = cls
                        continue
                elif ptype == "village" and keys == _VILLAGE_PAYEE:
                    poor = p["poor_village"]
                    if type(poor) is bool:
                        seen[pid] = i
                        payee_class[pid] = 3 if poor else 4
                        continue
        _check_payee_closely(issues, i, p, payee_class, seen)
    return payee_class


def _check_payee_closely(
    issues: Issues, i: int, p: Any, payee_class: dict[str, int], seen: dict[str, int]
) -> None:
    path = f"payees[{i}]"
    ptype = p.get("type") if isinstance(p, Mapping) else None
    if isinstance(p, Mapping) and "type" in p and not (type(ptype) is str and ptype in PAYEE_TYPES):
        # An unknown type: report it, not the fields that only some types take.
        issues.choice(ptype, join(path, "type"), PAYEE_TYPES)
        if type(p.get("id")) is str:
            payee_class.setdefault(p["id"], 5)
        return
    extra = ("status",) if ptype == "household" else ("poor_village",) if ptype == "village" else ()
    if not issues.fields(p, path, ("id", "type") + extra):
        if isinstance(p, Mapping) and "id" in p and type(p["id"]) is str:
            payee_class.setdefault(p["id"], 5)  # known, so contracts naming it are not also reported
        return
    pid = issues.text(p["id"], join(path, "id"))
    if issues.choice(ptype, join(path, "type"), PAYEE_TYPES) is None or pid is None:
        return
    issues.unique(seen, pid, join(path, "id"), "payees", i)
    if ptype == "household":
        status = issues.choice(p["status"], join(path, "status"), STATUSES)
        payee_class[pid] = 2 if status in ("poor", "monitored") else 5
    else:
        poor = issues.flag(p["poor_village"], join(path, "poor_village"))
        payee_class[pid] = 3 if poor else 4


# --- contracts ------------------------------------------------------------------------------


class _Unusual(Exception):
    """The fast check met something it does not vouch for; the close check takes over."""


class _Caches:
    """Parsed decimal texts and dates, shared by the fast and the close checks of one document."""

    __slots__ = ("dec", "pct", "day")

    def __init__(self) -> None:
        self.dec: dict[str, tuple[int, int]] = {}  # decimal text ≥ 0 -> (numerator, denominator)
        self.pct: dict[str, tuple[int, int, str]] = {}  # rate text -> (n, d, "8%") as a basis shows it
        self.day: dict[str, int] = {}  # ISO date -> ordinal


# A checked contract, exact integers only, nothing computed yet:
#   (kind, id, payee, class, days, terms...) with terms by kind
#   fixed_interest  principal, (rate_n, rate_d, "8%")
#   asset_lease     annual_rent
#   trusteeship     (units_n, units_d), fen_per_unit, unit label, units text
#   equity_dividend (share_n, share_d, "5%"), annual_floor
#   employment      wage_per_day, (days_n, days_d), days text
#   order_purchase  (quantity_n, quantity_d), (price, market, floor), quantity text
_Record = tuple[Any, ...]


def _decimal(value: str, caches: _Caches) -> tuple[int, int]:
    """A decimal text ≥ 0 seen for the first time (fast check); _Unusual if it is not one."""
    try:
        n, d = parse_exact(value)
    except ExactValueError:
        raise _Unusual from None
    if n < 0:
        raise _Unusual
    caches.dec[value] = (n, d)
    return n, d


def _whole(value: object) -> tuple[int, int]:
    """A decimal term written as a JSON integer (fast check); _Unusual for anything else."""
    if type(value) is not int or value < 0:
        raise _Unusual
    return value, 1


def _whole_rate(value: object) -> tuple[int, int, str]:
    n, d = _whole(value)
    return n, d, _pct(n, d)


def _text(value: str | int) -> str:
    return value if type(value) is str else str(value)


def _rate(value: str, caches: _Caches) -> tuple[int, int, str]:
    """A rate text seen for the first time, with its percentage as a basis shows it."""
    n, d = caches.dec.get(value) or _decimal(value, caches)
    parsed = caches.pct[value] = (n, d, _pct(n, d))
    return parsed


def _check_fast(
    contracts: list[Any], payee_class: dict[str, int], p_start: int, p_end: int, caches: _Caches
) -> list[_Record]:
    """Check a contract list expected to be clean in one tight pass (each contract read once).

    Raises _Unusual (or KeyError/TypeError from a look-up) at the first thing it does not
    vouch for: a missing or unknown field, a wrong type, a duplicate id, an unknown payee, a
    float, a malformed date or decimal, a contract starting after it ends... `_check_closely`
    then checks the whole list again and names every problem precisely. So this check never
    reports; it only says "clean" or "look closely". Decimal texts and dates are parsed once
    per distinct text and remembered in `caches`.

    Most contracts carry exactly the fields their kind needs, so once those are read, the
    field count alone shows there is nothing unknown; anything more (dates, a name) goes
    through `_days`.
    """
    dec = caches.dec
    pct = caches.pct
    day = caches.day
    full_days = p_end - p_start + 1
    seen: set[str] = set()
    add_seen = seen.add
    out: list[_Record] = []
    append = out.append
    for c in contracts:
        kind = c["kind"]  # TypeError for anything but a mapping
        cid = c["id"]
        payee = c["payee"]
        if type(cid) is not str or not cid or type(payee) is not str:
            raise _Unusual
        cls = payee_class[payee]
        add_seen(cid)
        if kind == FIXED_INTEREST:
            principal = c["principal_fen"]
            v = c["annual_rate"]
            if type(principal) is not int or principal < 0:
                raise _Unusual
            rate = (pct.get(v) or _rate(v, caches)) if type(v) is str else _whole_rate(v)
            days = full_days if len(c) == 5 else _days(c, FIXED_INTEREST, 5, day, p_start, p_end)
            append((FIXED_INTEREST, cid, payee, cls, days, principal, rate))
        elif kind == ASSET_LEASE:
            rent = c["annual_rent_fen"]
            if type(rent) is not int or rent < 0:
                raise _Unusual
            days = full_days if len(c) == 4 else _days(c, ASSET_LEASE, 4, day, p_start, p_end)
            append((ASSET_LEASE, cid, payee, cls, days, rent))
        elif kind == TRUSTEESHIP:
            v = c["units"]
            per = c["annual_fen_per_unit"]
            if type(per) is not int or per < 0:
                raise _Unusual
            units = (dec.get(v) or _decimal(v, caches)) if type(v) is str else _whole(v)
            unit = c.get("unit")
            if unit is None:
                unit_label = "单位"
                base = 5
            else:
                unit_label = UNITS[unit]
                base = 6
            days = full_days if len(c) == base else _days(c, TRUSTEESHIP, base, day, p_start, p_end)
            append((TRUSTEESHIP, cid, payee, cls, days, units, per, unit_label, _text(v)))
        elif kind == EQUITY_DIVIDEND:
            v = c["profit_share"]
            floor = c.get("annual_floor_fen")
            if floor is None:
                floor = 0
                base = 4
            elif type(floor) is not int or floor < 0:
                raise _Unusual
            else:
                base = 5
            share = (pct.get(v) or _rate(v, caches)) if type(v) is str else _whole_rate(v)
            if share[0] > share[1]:
                raise _Unusual
            days = full_days if len(c) == base else _days(c, EQUITY_DIVIDEND, base, day, p_start, p_end)
            append((EQUITY_DIVIDEND, cid, payee, cls, days, share, floor))
        elif kind == EMPLOYMENT:
            wage = c["wage_fen_per_day"]
            v = c["days_worked"]
            if type(wage) is not int or wage < 0:
                raise _Unusual
            worked = (dec.get(v) or _decimal(v, caches)) if type(v) is str else _whole(v)
            # dates are checked, though wages do not depend on them
            days = full_days if len(c) == 5 else _days(c, EMPLOYMENT, 5, day, p_start, p_end)
            # wages come first (class 1), whoever the payee
            append((EMPLOYMENT, cid, payee, 1, days, wage, worked, _text(v)))
        elif kind == ORDER_PURCHASE:
            v = c["quantity"]
            qty = (dec.get(v) or _decimal(v, caches)) if type(v) is str else _whole(v)
            base = 4
            price = c.get("price_fen")
            if price is not None:
                if type(price) is not int or price < 0:
                    raise _Unusual
                base += 1
            market = c.get("market_price_fen")
            if market is not None:
                if type(market) is not int or market < 0:
                    raise _Unusual
                base += 1
            floor_price = c.get("floor_price_fen")
            if floor_price is not None:
                if type(floor_price) is not int or floor_price < 0:
                    raise _Unusual
                base += 1
            if base == 4:
                raise _Unusual
            days = full_days if len(c) == base else _days(c, ORDER_PURCHASE, base, day, p_start, p_end)
            append((ORDER_PURCHASE, cid, payee, cls, days, qty, (price, market, floor_price), _text(v)))
        else:
            raise _Unusual
    if len(seen) != len(out):
        raise _Unusual  # a duplicate id
    return out


def _days(c: Mapping[str, Any], kind: str, base: int, day: dict[str, int], p_start: int, p_end: int) -> int:
    """Days inside the period of a contract with more than its `base` fields (dates, a name)."""
    keys = c.keys()
    if not keys <= _ALLOWED[kind]:
        raise _Unusual
    extra = 0
    if "name" in keys:
        if type(c["name"]) is not str:
            raise _Unusual
        extra += 1
    start = p_start
    end = p_end
    if "start" in keys:
        start = _day(c["start"], day)
        extra += 1
    if "end" in keys:
        end = _day(c["end"], day)
        extra += 1
    if len(keys) != base + extra or start > end:
        raise _Unusual  # e.g. an optional term given as null
    lo = start if start > p_start else p_start
    hi = end if end < p_end else p_end
    return hi - lo + 1 if hi >= lo else 0


def _day(value: object, day: dict[str, int]) -> int:
    if type(value) is not str:
        raise _Unusual
    ordinal = day.get(value)
    if ordinal is None:
        ordinal = Issues().day(value, "", day)
        if ordinal is None:
            raise _Unusual
    return ordinal


# A share's holding periods (ENGINE.md §1, `holders`): ((payee, class, days), ...) merged by payee in the order
# first listed, then the days no holder held the share (they go to the contract's payee, a village's retained pool).
_Holdings = tuple[tuple[tuple[str, int, int], ...], int]
_HOLDER_FIELDS = frozenset(("payee", "start", "end"))


def _check_holders(
    issues: Issues,
    holders: object,
    path: str,
    pool: object,
    pool_class: int,
    payee_class: dict[str, int],
    lo: int,
    hi: int,
    days: int,
    day_cache: dict[str, int],
) -> _Holdings:
    """Check a share's holding periods; each is clipped to the contract's days in the period [lo, hi]."""
    if type(holders) is not list:
        issues.add(path, "holders 应为列表（每项 {payee, start, end}；空列表表示本期无人持有）",
                   "holders must be a list of {payee, start, end} (empty: nobody held the share)")
        return ((), days)
    if pool_class not in (3, 4):
        issues.add(
            path.rsplit(".", 1)[0] + ".payee",
            "列出持有期（holders）的股份，payee 须为村（待重新分配期间的分红计入该村留存待分配）",
            "a share with holders names a village as payee (its retained pool gets the days no holder held it)",
        )
    spans: list[tuple[int, int, int]] = []  # (start, end, index) as written
    merged: dict[str, list[int]] = {}  # payee -> [class, days]
    for j, h in enumerate(holders):
        where = f"{path}[{j}]"
        if not issues.fields(h, where, ("payee",), ("start", "end")):
            continue
        assert isinstance(h, Mapping)
        who = h["payee"]
        cls = payee_class.get(who) if type(who) is str else None
        if cls is None:
            shown = f'"{who}"' if isinstance(who, str) else str(who)
            issues.add(f"{where}.payee", f"持有人 {shown} 不在 payees 列表中", f"holder {shown} is not listed in payees")
            continue
        if who == pool:
            issues.add(f"{where}.payee", "持有人不能同时是留存村（协议的 payee）",
                       "a holder cannot be the contract's payee (the retained pool)")
            continue
        start = issues.day(h["start"], f"{where}.start", day_cache) if "start" in h else lo
        end = issues.day(h["end"], f"{where}.end", day_cache) if "end" in h else hi
        if start is None or end is None:
            continue
        if start > end:
            issues.add(f"{where}.start", "持有期开始日晚于结束日", "the holding starts after it ends")
            continue
        for s0, e0, k in spans:
            if start <= e0 and s0 <= end:
                issues.add(f"{where}.start", f"持有期与 {path}[{k}] 重叠", f"the holding overlaps {path}[{k}]")
                break
        spans.append((start, end, j))
        a = start if start > lo else lo
        b = end if end < hi else hi
        held = b - a + 1 if b >= a else 0
        got = merged.setdefault(who, [cls, 0])
        got[1] += held
    parts = tuple((who, cls, held) for who, (cls, held) in merged.items())
    return parts, max(days - sum(held for _, _, held in parts), 0)


def _check_closely(
    contracts: list[Any],
    issues: Issues,
    payee_class: dict[str, int],
    p_start: int,
    p_end: int,
    caches: _Caches,
) -> list[_Record]:
    """Check every contract field by field, naming every problem; the records of those that can be read."""
    out: list[_Record] = []
    seen: set[str] = set()
    for i, c in enumerate(contracts):
        got = _check_one(issues, contracts, i, c, payee_class, p_start, p_end, caches, seen)
        if got is not None:
            out.append(got)
    return out


def _exact(
    issues: Issues,
    value: object,
    path: str,
    cache: dict[str, tuple[int, int]],
) -> tuple[int, int]:
    """A decimal term (first sight of a text, or an error); (0, 1) stands in after an error."""
    return issues.exact(value, path, cache=cache) or (0, 1)


def _percent(caches: _Caches, value: object, parsed: tuple[int, int]) -> tuple[int, int, str]:
    """A rate with its percentage as a basis shows it, remembered per valid text for the fast check."""
    rate = (parsed[0], parsed[1], _pct(*parsed))
    if type(value) is str and value in caches.dec:
        caches.pct[value] = rate
    return rate


def _first_index(contracts: list[Any], cid: str, before: int) -> int:
    for j in range(before):
        c = contracts[j]
        if isinstance(c, Mapping) and c.get("id") == cid:
            return j
    return before


def _check_one(
    issues: Issues,
    contracts: list[Any],
    i: int,
    c: Any,
    payee_class: dict[str, int],
    p_start: int,
    p_end: int,
    caches: _Caches,
    seen: set[str],
) -> _Record | None:
    """Check one contract, reporting every problem; its record if it can be read at all."""
    dec_cache = caches.dec
    get_dec = dec_cache.get
    day_cache = caches.day
    full_days = p_end - p_start + 1 if p_end >= p_start else 0
    raw_kind = c.get("kind") if isinstance(c, Mapping) else None
    kind: str = raw_kind if type(raw_kind) is str else ""
    allowed = _ALLOWED.get(kind)
    if allowed is None:
        path = f"contracts[{i}]"
        if isinstance(c, Mapping) and "kind" in c:
            issues.choice(raw_kind, join(path, "kind"), CONTRACT_KINDS)
        else:
            issues.fields(c, path, _COMMON_REQUIRED)
        return None
    keys = c.keys()
    if not keys <= allowed or not _REQUIRED[kind] <= keys:
        # Missing or unknown fields: name each one.
        issues.fields(c, f"contracts[{i}]", _REQUIRED[kind], _OPTIONAL[kind])
        return None
    cid = c["id"]
    payee = c["payee"]
    if "name" in keys and type(c["name"]) is not str:
        issues.add(f"contracts[{i}].name", "名称应为字符串", "name must be a string")

    if type(cid) is not str or not cid:
        issues.text(cid, f"contracts[{i}].id")
        return None
    if cid in seen:
        first = _first_index(contracts, cid, i)
        issues.add(
            f"contracts[{i}].id",
            f'协议编号 "{cid}" 重复（已见于 contracts[{first}]）',
            f'duplicate contract id "{cid}" (first at contracts[{first}])',
        )
    else:
        seen.add(cid)
    cls = payee_class.get(payee) if type(payee) is str else None
    if cls is None:
        shown = f'"{payee}"' if isinstance(payee, str) else str(payee)
        issues.add(
            f"contracts[{i}].payee",
            f"收款方 {shown} 不在 payees 列表中",
            f"payee {shown} is not listed in payees",
        )
        cls = 5
    if kind == EMPLOYMENT:
        cls = 1

    # days of [start, end] inside the period
    days = full_days
    start_of, end_of = p_start, p_end
    if "start" in keys or "end" in keys:
        start = p_start
        end = p_end
        if "start" in keys:
            v = c["start"]
            got = day_cache.get(v) if type(v) is str else None
            start = got if got is not None else issues.day(v, f"contracts[{i}].start", day_cache) or 0
        if "end" in keys:
            v = c["end"]
            got = day_cache.get(v) if type(v) is str else None
            end = got if got is not None else issues.day(v, f"contracts[{i}].end", day_cache) or 0
        if start > end and start and end:
            issues.add(f"contracts[{i}].start", "协议开始日晚于结束日", "the contract starts after it ends")
        lo = start if start > p_start else p_start
        hi = end if end < p_end else p_end
        days = hi - lo + 1 if hi >= lo else 0
        start_of, end_of = start, end

    if kind == FIXED_INTEREST:
        principal = c["principal_fen"]
        if type(principal) is not int or principal < 0:
            principal = issues.fen(principal, f"contracts[{i}].principal_fen")
        v = c["annual_rate"]
        rate = get_dec(v) if type(v) is str else None
        if rate is None:
            rate = _exact(issues, v, f"contracts[{i}].annual_rate", dec_cache)
        return (FIXED_INTEREST, cid, payee, cls, days, principal, _percent(caches, v, rate))
    if kind == ASSET_LEASE:
        rent = c["annual_rent_fen"]
        if type(rent) is not int or rent < 0:
            rent = issues.fen(rent, f"contracts[{i}].annual_rent_fen")
        return (ASSET_LEASE, cid, payee, cls, days, rent)
    if kind == TRUSTEESHIP:
        v = c["units"]
        units = get_dec(v) if type(v) is str else None
        if units is None:
            units = _exact(issues, v, f"contracts[{i}].units", dec_cache)
        per = c["annual_fen_per_unit"]
        if type(per) is not int or per < 0:
            per = issues.fen(per, f"contracts[{i}].annual_fen_per_unit")
        unit = "单位"
        if "unit" in keys:
            unit = UNITS.get(issues.choice(c["unit"], f"contracts[{i}].unit", UNITS) or "", "单位")
        return (TRUSTEESHIP, cid, payee, cls, days, units, per, unit, v if type(v) is str else str(v))
    if kind == EQUITY_DIVIDEND:
        v = c["profit_share"]
        share = get_dec(v) if type(v) is str else None
        if share is None:
            share = _exact(issues, v, f"contracts[{i}].profit_share", dec_cache)
        if share[0] > share[1]:
            issues.add(
                f"contracts[{i}].profit_share",
                "分红比例不能大于 1",
                "profit_share must not be greater than 1",
            )
        floor = c.get("annual_floor_fen", 0)
        if type(floor) is not int or floor < 0:
            floor = issues.fen(floor, f"contracts[{i}].annual_floor_fen")
        rec: _Record = (EQUITY_DIVIDEND, cid, payee, cls, days, _percent(caches, v, share), floor)
        if "holders" in keys:
            lo = max(start_of, p_start)
            hi = min(end_of, p_end)
            rec += (_check_holders(issues, c["holders"], f"contracts[{i}].holders", payee, cls, payee_class,
                                   lo, hi, days, day_cache),)
        return rec
    if kind == EMPLOYMENT:
        wage = c["wage_fen_per_day"]
        if type(wage) is not int or wage < 0:
            wage = issues.fen(wage, f"contracts[{i}].wage_fen_per_day")
        v = c["days_worked"]
        worked = get_dec(v) if type(v) is str else None
        if worked is None:
            worked = _exact(issues, v, f"contracts[{i}].days_worked", dec_cache)
        return (EMPLOYMENT, cid, payee, cls, days, wage, worked, v if type(v) is str else str(v))
    # order_purchase
    v = c["quantity"]
    qty = get_dec(v) if type(v) is str else None
    if qty is None:
        qty = _exact(issues, v, f"contracts[{i}].quantity", dec_cache)
    prices = tuple(
        issues.fen(c[field], f"contracts[{i}].{field}") if field in keys else None for field in _PRICE_FIELDS
    )
    if not any(field in keys for field in _PRICE_FIELDS):
        issues.add(
            f"contracts[{i}].price_fen",
            "订单收购须给出 price_fen，或 market_price_fen / floor_price_fen",
            "an order purchase needs price_fen, or market_price_fen and/or floor_price_fen",
        )
    return (ORDER_PURCHASE, cid, payee, cls, days, qty, prices, v if type(v) is str else str(v))


# --- computing ------------------------------------------------------------------------------


def _order_price(prices: tuple[int | None, int | None, int | None]) -> tuple[int, str]:
    """Unit price of an order purchase and how it was chosen, from (price, market, floor) as given."""
    price, market, floor_price = prices
    if price is not None:
        return price, f"约定单价 {format_yuan(price)} 元"
    if market is not None and floor_price is not None:
        chosen = "保护价" if floor_price >= market else "市场价"
        price = max(market, floor_price)
        return price, (
            f"单价 {format_yuan(price)} 元（市场价 {format_yuan(market)} 元、"
            f"保护价 {format_yuan(floor_price)} 元取高者：{chosen}）"
        )
    if market is not None:
        return market, f"市场价 {format_yuan(market)} 元"
    assert floor_price is not None
    return floor_price, f"保护价 {format_yuan(floor_price)} 元"


def _compute(
    doc: Mapping[str, Any], records: list[_Record], profit: int, cash: int | None, year_days: int
) -> dict[str, Any]:
    y = year_days
    gain = profit if profit > 0 else 0
    fy = format_yuan
    # The pieces of a basis that repeat from line to line are written once.
    span = [f"{d}/{y} 天" for d in range(y + 1)]  # a contract's days never exceed its year's
    if profit >= 0:
        share_of = f"利润 {fy(gain)} 元 × 分红比例 "
    else:
        share_of = f"利润 {fy(profit)} 元（亏损按 0 计）× 分红比例 "
    order_prices: dict[tuple[int | None, int | None, int | None], tuple[int, str]] = {}
    repeated: dict[int, str] = {}  # per-unit prices and daily wages, often the same on many lines
    class_due = [0] * 6
    class_count = [0] * 6
    floor_hits: list[str] = []
    retained_total: int | None = None
    if any(len(rec) > 7 for rec in records if rec[0] is EQUITY_DIVIDEND):
        retained_total = 0
    lines: list[dict[str, Any]] = []
    add_line = lines.append
    # Each due is one exact rational n/d rounded half-up once: (2n + d) // 2d.
    for rec in records:
        kind = rec[0]
        if kind is FIXED_INTEREST:
            _, cid, payee, cls, days, principal, (rn, rd, rate_text) = rec
            den = rd * y
            due = (2 * principal * rn * days + den) // (2 * den)
            basis = f"本金 {fy(principal)} 元 × 年利率 {rate_text} × {span[days]} = {fy(due)} 元"
        elif kind is ASSET_LEASE:
            _, cid, payee, cls, days, rent = rec
            due = (2 * rent * days + y) // (2 * y)
            basis = f"年租金 {fy(rent)} 元 × {span[days]} = {fy(due)} 元"
        elif kind is TRUSTEESHIP:
            _, cid, payee, cls, days, (un, ud), per, unit, units_text = rec
            den = ud * y
            due = (2 * un * per * days + den) // (2 * den)
            per_text = repeated.get(per) or _remember(repeated, per)
            basis = f"{units_text} {unit} × 每{unit}每年 {per_text} 元 × {span[days]} = {fy(due)} 元"
        elif kind is EMPLOYMENT:
            _, cid, payee, cls, _, wage, (wn, wd), worked_text = rec
            due = (2 * wage * wn + wd) // (2 * wd)
            wage_text = repeated.get(wage) or _remember(repeated, wage)
            basis = f"日工资 {wage_text} 元 × {worked_text} 天 = {fy(due)} 元"
        elif kind is EQUITY_DIVIDEND:
            _, cid, payee, cls, days, (sn, sd, share_text), floor = rec[:7]
            share_part = f"{share_of}{share_text} × {span[days]}"
            # profit·share·f against floor·f, exactly; the common factor f ≥ 0 cancels out.
            if gain * sn >= floor * sd:
                den = sd * y
                due = (2 * gain * sn * days + den) // (2 * den)
                if floor:
                    basis = f"{share_part} = {fy(due)} 元（不低于保底 {fy(floor)} 元 × {span[days]}）"
                else:
                    basis = f"{share_part} = {fy(due)} 元"
            else:
                due = (2 * floor * days + y) // (2 * y)
                basis = f"保底 {fy(floor)} 元 × {span[days]} = {fy(due)} 元（高于{share_part}，按保底支付）"
                if days:
                    floor_hits.append(cid)
        else:  # order_purchase
            _, cid, payee, cls, _, (qn, qd), prices, qty_text = rec
            chosen = order_prices.get(prices) or _remember_price(order_prices, prices)
            due = (2 * qn * chosen[0] + qd) // (2 * qd)
            basis = f"收购量 {qty_text} × {chosen[1]} = {fy(due)} 元"
        if kind is EQUITY_DIVIDEND and len(rec) > 7:
            _held_lines(lines, rec, due, basis, class_due, class_count, y)
            continue
        class_due[cls] += due
        class_count[cls] += 1
        add_line(
            {
                "contract": cid,
                "payee": payee,
                "kind": kind,
                "class": cls,
                "due_fen": due,
                "paid_fen": due,
                "arrears_fen": 0,
                "basis": basis,
            }
        )

    total_due = sum(class_due)
    class_paid = list(class_due)
    if cash is not None and cash < total_due:
        _pay_by_class(lines, class_due, class_paid, cash)
    total_paid = sum(class_paid)

    summary = [
        {
            "class": cls,
            "label": CLASS_LABELS[cls],
            "contracts": class_count[cls],
            "due_fen": class_due[cls],
            "paid_fen": class_paid[cls],
            "arrears_fen": class_due[cls] - class_paid[cls],
        }
        for cls in range(1, 6)
        if class_count[cls]
    ]
    warnings: list[dict[str, Any]] = []
    if profit < 0:
        warnings.append(
            {
                "code": "loss_year",
                "profit_fen": profit,
                "message": f"本期亏损 {format_fen(-profit)}；经营风险由实施主体承担，各项应付照常结算",
            }
        )
    for cid in floor_hits:
        warnings.append({"code": "floor_applied", "contract": cid, "message": f"协议 {cid} 按保底收益结算"})
    arrears = total_due - total_paid
    if arrears > 0:
        warnings.append(
            {
                "code": "entity_default",
                "arrears_fen": arrears,
                "message": f"实施主体现金不足，拖欠 {format_fen(arrears)}",
            }
        )

    if retained_total is not None:
        # Paid into the villages' retained pools (what cash reached those lines), for their next allocation.
        retained_total = sum(ln["paid_fen"] for ln in lines if ln.get("retained"))
    period = doc["period"]
    entity = doc["entity"]
    echo_entity = {"id": entity["id"], "kind": entity["kind"]}
    if "name" in entity:
        echo_entity["name"] = entity["name"]
    return {
        "kind": KIND,
        "version": 1,
        "period": {"start": period["start"], "end": period["end"], "days_in_year": year_days},
        "entity": echo_entity,
        "profit_fen": profit,
        "cash_available_fen": cash,
        "lines": lines,
        "classes": summary,
        "totals": {"due_fen": total_due, "paid_fen": total_paid, "arrears_fen": arrears},
        "warnings": warnings,
        **({"retained_fen": retained_total} if retained_total is not None else {}),
    }


def _held_lines(
    lines: list[dict[str, Any]],
    rec: _Record,
    due: int,
    basis: str,
    class_due: list[int],
    class_count: list[int],
    y: int,
) -> int:
    """A share with holding periods: its dividend `due` split by the days each holder held it (largest
    remainder, key = payee), the days nobody held it going to the contract's payee as retained (留存待分配).
    Adds one line per holder and one for the retained days (if any); returns the retained part."""
    _, cid, pool, pool_class, days, _, _, (parts, pending) = rec
    weights = [held for _, _, held in parts]
    keys = [who for who, _, _ in parts]
    if pending:
        weights.append(pending)
        keys.append(pool)
    amounts = split(due, weights, keys) if sum(weights) else [0] * len(weights)
    fy = format_yuan
    for (who, cls, held), amount in zip(parts, amounts, strict=False):
        class_due[cls] += amount
        class_count[cls] += 1
        lines.append({
            "contract": cid, "payee": who, "kind": EQUITY_DIVIDEND, "class": cls, "due_fen": amount,
            "paid_fen": amount, "arrears_fen": 0, "held_days": held,
            "basis": f"{basis}；按持有天数分配：持有 {held}/{days} 天，得 {fy(amount)} 元",
        })
    if not pending:
        return 0
    amount = amounts[-1]
    class_due[pool_class] += amount
    class_count[pool_class] += 1
    lines.append({
        "contract": cid, "payee": pool, "kind": EQUITY_DIVIDEND, "class": pool_class, "due_fen": amount,
        "paid_fen": amount, "arrears_fen": 0, "held_days": pending, "retained": True,
        "basis": f"{basis}；待重新分配 {pending}/{days} 天无人持有，{fy(amount)} 元计入村集体留存待分配",
    })
    return amount


def _pay_by_class(
    lines: list[dict[str, Any]], class_due: list[int], class_paid: list[int], cash: int
) -> None:
    """Cash short of the total: classes in order, in full while cash lasts, pro rata where it runs out.

    Class `short` is split by largest remainder (key = contract id), later classes get
    nothing; every line left in arrears says why in its basis.
    """
    left = cash
    short = 6
    for cls in range(1, 6):
        if class_due[cls] > left:
            short = cls
            break
        left -= class_due[cls]
    class_paid[short] = left
    for cls in range(short + 1, 6):
        class_paid[cls] = 0
    fy = format_yuan
    members: list[dict[str, Any]] = []
    add_member = members.append
    for ln in lines:  # one pass: class `short` shares what is left, later classes get nothing
        cls = ln["class"]
        if cls < short:
            continue
        if cls == short:
            add_member(ln)
            continue
        due = ln["due_fen"]
        if due:
            ln["paid_fen"] = 0
            ln["arrears_fen"] = due
            ln["basis"] = f"{ln['basis']}；现金不足，优先类别未付清，本项未获支付，拖欠 {fy(due)} 元"
    # key = contract id; the parts of a share with holders are told apart by their payee
    parts = split(left, [ln["due_fen"] for ln in members],
                  [ln["contract"] if "held_days" not in ln else f"{ln['contract']}/{ln['payee']}" for ln in members])
    pro_rata = f"；现金不足，第 {short} 类（{CLASS_LABELS.get(short, '')}）按应付比例支付 "
    for ln, got in zip(members, parts, strict=True):
        due = ln["due_fen"]
        if got < due:
            ln["paid_fen"] = got
            ln["arrears_fen"] = due - got
            ln["basis"] = f"{ln['basis']}{pro_rata}{fy(got)} 元，拖欠 {fy(due - got)} 元"


def _remember_price(
    texts: dict[tuple[int | None, int | None, int | None], tuple[int, str]],
    prices: tuple[int | None, int | None, int | None],
) -> tuple[int, str]:
    chosen = texts[prices] = _order_price(prices)
    return chosen


def _remember(texts: dict[int, str], fen: int) -> str:
    text = texts[fen] = format_yuan(fen)
    return text


_pct_cache: dict[tuple[int, int], str] = {}


def _pct(n: int, d: int) -> str:
    key = (n, d)
    text = _pct_cache.get(key)
    if text is None:
        text = format_percent(n, d)
        if len(_pct_cache) < 4096:
            _pct_cache[key] = text
    return text
