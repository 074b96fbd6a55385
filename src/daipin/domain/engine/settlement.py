"""Settlement: what an implementing entity owes each payee for a period, and who is paid first (ENGINE.md §1)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from daipin.domain.engine.validate import Issues, join, without_cyclic_gc
from daipin.domain.money import format_fen, format_yuan, split
from daipin.domain.numbers import format_percent

KIND = "settlement"

CONTRACT_KINDS = {
    "asset_lease": "资产租赁",
    "fixed_interest": "利息分红",
    "trusteeship": "土地托管/牲畜托养",
    "equity_dividend": "入股分红",
    "employment": "务工",
    "order_purchase": "订单收购",
}
ENTITY_KINDS = {
    "enterprise": "企业",
    "cooperative": "合作社",
    "family_farm": "家庭农场",
    "village_collective": "村集体经济组织",
}
PAYEE_TYPES = {"household": "农户", "village": "村"}
STATUSES = {"poor": "贫困户", "monitored": "监测户", "exited": "脱贫户", "non_poor": "非贫困户"}
UNITS = {"mu": "亩", "head": "头"}
CLASS_LABELS = {
    1: "务工工资",
    2: "贫困户、监测户",
    3: "贫困村",
    4: "其他村",
    5: "其他",
}

_COMMON_REQUIRED = ("id", "kind", "payee")
_COMMON_OPTIONAL = ("start", "end", "name")
_TERMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "asset_lease": (("annual_rent_fen",), ()),
    "fixed_interest": (("principal_fen", "annual_rate"), ()),
    "trusteeship": (("units", "annual_fen_per_unit"), ("unit",)),
    "equity_dividend": (("profit_share",), ("annual_floor_fen",)),
    "employment": (("wage_fen_per_day", "days_worked"), ()),
    "order_purchase": (("quantity",), ("price_fen", "market_price_fen", "floor_price_fen")),
}
_REQUIRED = {k: frozenset(_COMMON_REQUIRED + req) for k, (req, _) in _TERMS.items()}
_OPTIONAL = {k: frozenset(_COMMON_OPTIONAL + opt) for k, (_, opt) in _TERMS.items()}
_ALLOWED = {k: _REQUIRED[k] | _OPTIONAL[k] for k in _TERMS}
_TERMS_REQUIRED = {k: req for k, (req, _) in _TERMS.items()}
_ONE = (1, 1)


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

    # payees: id -> priority class of a non-wage due
    payee_class: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, p in enumerate(issues.items_of(doc, "payees", "")):
        path = f"payees[{i}]"
        ptype = p.get("type") if isinstance(p, Mapping) else None
        if isinstance(p, Mapping) and "type" in p and not (type(ptype) is str and ptype in PAYEE_TYPES):
            # An unknown type: report it, not the fields that only some types take.
            issues.choice(ptype, join(path, "type"), PAYEE_TYPES)
            if type(p.get("id")) is str:
                payee_class.setdefault(p["id"], 5)
            continue
        extra = ("status",) if ptype == "household" else ("poor_village",) if ptype == "village" else ()
        if not issues.fields(p, path, ("id", "type") + extra):
            if isinstance(p, Mapping) and "id" in p and type(p["id"]) is str:
                payee_class.setdefault(p["id"], 5)  # known, so contracts naming it are not also reported
            continue
        pid = issues.text(p["id"], join(path, "id"))
        if issues.choice(ptype, join(path, "type"), PAYEE_TYPES) is None or pid is None:
            continue
        issues.unique(seen, pid, join(path, "id"), "payees", i)
        if ptype == "household":
            status = issues.choice(p["status"], join(path, "status"), STATUSES)
            payee_class[pid] = 2 if status in ("poor", "monitored") else 5
        else:
            poor = issues.flag(p["poor_village"], join(path, "poor_village"))
            payee_class[pid] = 3 if poor else 4

    if issues or p_start is None or p_end is None:
        # The contracts are still checked so that every problem is reported at once.
        p_start = p_end = 0
    year_days = 366 if _leap(p_start) else 365

    parsed = _parse_contracts(doc, issues, payee_class, p_start, p_end)
    issues.check()
    assert profit is not None
    return _compute(doc, parsed, profit, cash, p_start, p_end, year_days)


def _leap(ordinal: int) -> bool:
    if ordinal <= 0:
        return False
    y = date.fromordinal(ordinal).year
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


# A parsed contract: (id, payee, kind, class, days, terms...) with exact ints only; decimals keep their text.
_Parsed = tuple[Any, ...]


def _exact(
    issues: Issues,
    value: object,
    path: str,
    cache: dict[str, tuple[int, int]],
) -> tuple[int, int]:
    """Slow path of a decimal term (first sight of a text, or an error); (0, 1) stands in after an error."""
    return issues.exact(value, path, cache=cache) or (0, 1)


def _first_index(contracts: list[Any], cid: str, before: int) -> int:
    for j in range(before):
        c = contracts[j]
        if isinstance(c, Mapping) and c.get("id") == cid:
            return j
    return before


def _parse_contracts(
    doc: Mapping[str, Any], issues: Issues, payee_class: dict[str, int], p_start: int, p_end: int
) -> list[_Parsed]:
    """Check every contract and reduce it to exact integers; nothing is computed here."""
    dec_cache: dict[str, tuple[int, int]] = {}
    get_dec = dec_cache.get
    pct_cache: dict[str, str] = {}  # rate text -> "8%", shown in every basis
    pct_get = pct_cache.get
    day_cache: dict[str, int] = {}
    seen: set[str] = set()
    add_seen = seen.add
    get_class = payee_class.get
    out: list[_Parsed] = []
    append = out.append
    full_days = p_end - p_start + 1 if p_end >= p_start else 0
    contracts = issues.items_of(doc, "contracts", "")
    for i, c in enumerate(contracts):
        raw_kind = c.get("kind") if type(c) is dict or isinstance(c, Mapping) else None
        kind: str = raw_kind if type(raw_kind) is str else ""
        allowed = _ALLOWED.get(kind)
        if allowed is None:
            path = f"contracts[{i}]"
            if isinstance(c, Mapping) and "kind" in c:
                issues.choice(raw_kind, join(path, "kind"), CONTRACT_KINDS)
            else:
                issues.fields(c, path, _COMMON_REQUIRED)
            continue
        keys = c.keys()
        try:
            if not keys <= allowed:
                raise KeyError(kind)
            cid = c["id"]
            payee = c["payee"]
            for field in _TERMS_REQUIRED[kind]:
                if field not in keys:
                    raise KeyError(field)
        except KeyError:
            # Missing or unknown fields: the slow path names each one.
            issues.fields(c, f"contracts[{i}]", _REQUIRED[kind], _OPTIONAL[kind])
            continue
        if "name" in keys and type(c["name"]) is not str:
            issues.add(f"contracts[{i}].name", "名称应为字符串", "name must be a string")

        if type(cid) is not str or not cid:
            issues.text(cid, f"contracts[{i}].id")
            continue
        if cid in seen:
            first = _first_index(contracts, cid, i)
            issues.add(
                f"contracts[{i}].id",
                f'协议编号 "{cid}" 重复（已见于 contracts[{first}]）',
                f'duplicate contract id "{cid}" (first at contracts[{first}])',
            )
        else:
            add_seen(cid)
        cls = get_class(payee) if type(payee) is str else None
        if cls is None:
            shown = f'"{payee}"' if isinstance(payee, str) else str(payee)
            issues.add(
                f"contracts[{i}].payee",
                f"收款方 {shown} 不在 payees 列表中",
                f"payee {shown} is not listed in payees",
            )
            cls = 5
        if kind == "employment":
            cls = 1

        # days of [start, end] inside the period
        days = full_days
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
                issues.add(
                    f"contracts[{i}].start", "合同开始日晚于结束日", "the contract starts after it ends"
                )
            lo = start if start > p_start else p_start
            hi = end if end < p_end else p_end
            days = hi - lo + 1 if hi >= lo else 0

        if kind == "fixed_interest":
            principal = c["principal_fen"]
            if type(principal) is not int or principal < 0:
                principal = issues.fen(principal, f"contracts[{i}].principal_fen")
            v = c["annual_rate"]
            rate = get_dec(v) if type(v) is str else None
            if rate is None:
                rate = _exact(issues, v, f"contracts[{i}].annual_rate", dec_cache)
            rate_text = pct_get(v) if type(v) is str else None
            if rate_text is None:
                rate_text = pct_cache[str(v)] = _pct(*rate)
            append((cid, payee, kind, cls, days, principal, rate, rate_text))
        elif kind == "asset_lease":
            rent = c["annual_rent_fen"]
            if type(rent) is not int or rent < 0:
                rent = issues.fen(rent, f"contracts[{i}].annual_rent_fen")
            append((cid, payee, kind, cls, days, rent))
        elif kind == "trusteeship":
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
            append((cid, payee, kind, cls, days, units, per, unit, v if type(v) is str else str(v)))
        elif kind == "equity_dividend":
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
            share_text = pct_get(v) if type(v) is str else None
            if share_text is None:
                share_text = pct_cache[str(v)] = _pct(*share)
            append((cid, payee, kind, cls, days, share, floor, share_text))
        elif kind == "employment":
            wage = c["wage_fen_per_day"]
            if type(wage) is not int or wage < 0:
                wage = issues.fen(wage, f"contracts[{i}].wage_fen_per_day")
            v = c["days_worked"]
            worked = get_dec(v) if type(v) is str else None
            if worked is None:
                worked = _exact(issues, v, f"contracts[{i}].days_worked", dec_cache)
            append((cid, payee, kind, cls, days, wage, worked, v if type(v) is str else str(v)))
        else:  # order_purchase
            v = c["quantity"]
            qty = get_dec(v) if type(v) is str else None
            if qty is None:
                qty = _exact(issues, v, f"contracts[{i}].quantity", dec_cache)
            prices: dict[str, int | None] = {}
            for field in ("price_fen", "market_price_fen", "floor_price_fen"):
                if field in keys:
                    prices[field] = issues.fen(c[field], f"contracts[{i}].{field}")
            if not prices:
                issues.add(
                    f"contracts[{i}].price_fen",
                    "订单收购须给出 price_fen，或 market_price_fen / floor_price_fen",
                    "an order purchase needs price_fen, or market_price_fen and/or floor_price_fen",
                )
            append((cid, payee, kind, cls, days, qty, prices, v if type(v) is str else str(v)))
    return out


def _order_price(prices: dict[str, int]) -> tuple[int, str]:
    """Unit price of an order purchase and how it was chosen."""
    if "price_fen" in prices:
        price = prices["price_fen"]
        return price, f"约定单价 {format_yuan(price)} 元"
    market = prices.get("market_price_fen")
    floor_price = prices.get("floor_price_fen")
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
    doc: Mapping[str, Any],
    parsed: list[_Parsed],
    profit: int,
    cash: int | None,
    p_start: int,
    p_end: int,
    year_days: int,
) -> dict[str, Any]:
    gain = profit if profit > 0 else 0
    y = year_days
    lines: list[dict[str, Any]] = []
    add_line = lines.append
    floor_hits: list[str] = []
    class_due = [0] * 6
    class_count = [0] * 6
    fy = format_yuan
    for rec in parsed:
        kind = rec[2]
        # Each due is one exact rational n/d rounded half-up once: (2n + d) // 2d.
        if kind == "fixed_interest":
            cid, payee, _, cls, days, principal, (rn, rd), rate_text = rec
            den = rd * y
            due = (2 * principal * rn * days + den) // (2 * den)
            basis = f"本金 {fy(principal)} 元 × 年利率 {rate_text} × {days}/{y} 天 = {fy(due)} 元"
        elif kind == "asset_lease":
            cid, payee, _, cls, days, rent = rec
            due = (2 * rent * days + y) // (2 * y)
            basis = f"年租金 {fy(rent)} 元 × {days}/{y} 天 = {fy(due)} 元"
        elif kind == "trusteeship":
            cid, payee, _, cls, days, (un, ud), per, unit, units_text = rec
            den = ud * y
            due = (2 * un * per * days + den) // (2 * den)
            basis = f"{units_text} {unit} × 每{unit}每年 {fy(per)} 元 × {days}/{y} 天 = {fy(due)} 元"
        elif kind == "employment":
            cid, payee, _, cls, days, wage, (wn, wd), worked_text = rec
            due = (2 * wage * wn + wd) // (2 * wd)
            basis = f"日工资 {fy(wage)} 元 × {worked_text} 天 = {fy(due)} 元"
        elif kind == "equity_dividend":
            cid, payee, _, cls, days, (sn, sd), floor, share_text = rec
            share_part = f"利润 {fy(gain)} 元 × 分红比例 {share_text} × {days}/{y} 天"
            if profit < 0:
                share_part = f"利润 {fy(profit)} 元（亏损按 0 计）× 分红比例 {share_text} × {days}/{y} 天"
            floor_part = f"保底 {fy(floor)} 元 × {days}/{y} 天"
            # profit·share·f against floor·f, exactly; the common factor f ≥ 0 cancels out.
            if gain * sn >= floor * sd:
                den = sd * y
                due = (2 * gain * sn * days + den) // (2 * den)
                basis = f"{share_part} = {fy(due)} 元"
                if floor:
                    basis += f"（不低于{floor_part}）"
            else:
                due = (2 * floor * days + y) // (2 * y)
                basis = f"{floor_part} = {fy(due)} 元（高于{share_part}，按保底支付）"
                if days:
                    floor_hits.append(cid)
        else:  # order_purchase
            cid, payee, _, cls, days, (qn, qd), prices, qty_text = rec
            price, how = _order_price(prices)
            due = (2 * qn * price + qd) // (2 * qd)
            basis = f"收购量 {qty_text} × {how} = {fy(due)} 元"
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

    classes = [
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
        "classes": classes,
        "totals": {"due_fen": total_due, "paid_fen": total_paid, "arrears_fen": arrears},
        "warnings": warnings,
    }


def _pay_by_class(
    lines: list[dict[str, Any]], class_due: list[int], class_paid: list[int], cash: int
) -> None:
    """Cash short of the total: classes in order, in full while cash lasts, pro rata where it runs out."""
    left = cash
    short = 6
    for cls in range(1, 6):
        if class_due[cls] <= left:
            left -= class_due[cls]
            continue
        short = cls
        break
    members = [ln for ln in lines if ln["class"] == short]
    parts = split(left, [ln["due_fen"] for ln in members], [ln["contract"] for ln in members])
    for ln, part in zip(members, parts, strict=True):
        ln["paid_fen"] = part
    class_paid[short] = left
    label = CLASS_LABELS.get(short, "")
    for cls in range(short + 1, 6):
        class_paid[cls] = 0
    for ln in lines:
        cls = ln["class"]
        if cls < short:
            continue
        if cls > short:
            ln["paid_fen"] = 0
        due = ln["due_fen"]
        got = ln["paid_fen"]
        ln["arrears_fen"] = due - got
        if got >= due:
            continue
        if cls == short:
            ln["basis"] += (
                f"；现金不足，第 {cls} 类（{label}）按应付比例支付 {format_yuan(got)} 元，拖欠 {format_yuan(due - got)} 元"
            )
        else:
            ln["basis"] += f"；现金不足，优先类别未付清，本项未获支付，拖欠 {format_yuan(due)} 元"


_pct_cache: dict[tuple[int, int], str] = {}


def _pct(n: int, d: int) -> str:
    key = (n, d)
    text = _pct_cache.get(key)
    if text is None:
        text = format_percent(n, d)
        if len(_pct_cache) < 4096:
            _pct_cache[key] = text
    return text
