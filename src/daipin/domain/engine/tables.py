"""Plain-text Chinese tables of engine results, aligned for CJK display width."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from daipin.domain.money import format_yuan
from daipin.domain.vocabulary import ALLOCATION_RULE, BENEFIT_MODEL, RUN_KIND

_KIND_TITLES = RUN_KIND.labels()
_CONTRACT_KINDS = BENEFIT_MODEL.labels()
_RULES = ALLOCATION_RULE.labels()


def width(text: str) -> int:
    """Display width: wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """Columns padded to display width; `numeric` columns are right-aligned."""
    cols = len(headers)
    widths = [width(h) for h in headers]
    for row in rows:
        for k in range(cols):
            widths[k] = max(widths[k], width(row[k]))

    def fmt(row: Sequence[str]) -> str:
        cells = []
        for k in range(cols):
            pad = " " * (widths[k] - width(row[k]))
            cells.append(pad + row[k] if k in numeric else row[k] + pad)
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(headers), rule, *(fmt(r) for r in rows)])


def render(result: Mapping[str, Any]) -> str:
    """A readable report of one result: the table, its totals, warnings and the basis of every line."""
    kind = result.get("kind", "")
    parts: list[str] = []
    if kind == "settlement":
        parts += _settlement(result)
    elif kind == "village_allocation":
        parts += _village(result)
    elif kind == "district_allocation":
        parts += _district(result)
    elif kind == "liquidation":
        parts += _liquidation(result)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    warnings = result.get("warnings") or []
    if warnings:
        parts.append("提示 warnings:")
        parts += [f"  ! [{w['code']}] {w.get('message', '')}" for w in warnings]
    return "\n".join(parts) + "\n"


def _y(fen: int) -> str:
    return format_yuan(fen)


def _settlement(r: Mapping[str, Any]) -> list[str]:
    entity = r["entity"]
    period = r["period"]
    head = f"{_KIND_TITLES['settlement']}  实施主体 {entity['id']}"
    if entity.get("name"):
        head += f"（{entity['name']}）"
    head += f"  结算期 {period['start']} 至 {period['end']}"
    cash = r.get("cash_available_fen")
    sub = f"利润 {_y(r['profit_fen'])} 元；可用现金 " + (
        f"{_y(cash)} 元" if cash is not None else "未限定（应付全额支付）"
    )
    rows = [
        [
            ln["contract"],
            ln["payee"],
            _CONTRACT_KINDS.get(ln["kind"], ln["kind"]),
            str(ln["class"]),
            _y(ln["due_fen"]),
            _y(ln["paid_fen"]),
            _y(ln["arrears_fen"]),
        ]
        for ln in r["lines"]
    ]
    t = r["totals"]
    rows.append(["合计", "", "", "", _y(t["due_fen"]), _y(t["paid_fen"]), _y(t["arrears_fen"])])
    out = [
        head,
        sub,
        "",
        table(
            ["协议", "收款方", "类型", "优先类别", "应付(元)", "实付(元)", "拖欠(元)"],
            rows,
            numeric=(3, 4, 5, 6),
        ),
        "",
    ]
    if r.get("classes"):
        crow = [
            [
                f"{c['class']} {c['label']}",
                str(c["contracts"]),
                _y(c["due_fen"]),
                _y(c["paid_fen"]),
                _y(c["arrears_fen"]),
            ]
            for c in r["classes"]
        ]
        out += [
            table(["优先类别", "协议数", "应付(元)", "实付(元)", "拖欠(元)"], crow, numeric=(1, 2, 3, 4)),
            "",
        ]
    out += _bases([(ln["contract"], ln["basis"]) for ln in r["lines"]])
    return out


def _village(r: Mapping[str, Any]) -> list[str]:
    out = [
        f"{_KIND_TITLES['village_allocation']}  村 {r['village']}  资金池 {_y(r['pool_fen'])} 元",
        "",
    ]
    brow = [
        [
            b["name"],
            _RULES.get(b["rule"], b["rule"]),
            b["share"],
            _y(b["amount_fen"]),
            _y(b["distributed_fen"]),
            _y(b["undistributed_fen"] + b.get("cut_by_cap_fen", 0)),
        ]
        for b in r.get("buckets", [])
    ]
    out += [
        table(["分配项", "规则", "比例", "金额(元)", "到户(元)", "未分配(元)"], brow, numeric=(2, 3, 4, 5)),
        "",
    ]
    rows = [[ln["household"], ln["bucket"], _y(ln["amount_fen"])] for ln in r["lines"]]
    distributed = sum(ln["amount_fen"] for ln in r["lines"])
    rows.append(["到户合计", "", _y(distributed)])
    out += [table(["户", "分配项", "金额(元)"], rows, numeric=(2,)), ""]
    hrows = [[h, _y(v)] for h, v in r["households"].items()]
    out += [table(["户", "合计(元)"], hrows, numeric=(1,)), ""]
    out.append(
        f"到户 {_y(distributed)} 元 + 村集体留存 {_y(r['retained_fen'])} 元 + 未分配 {_y(r['undistributed_fen'])} 元"
        f" = 资金池 {_y(distributed + r['retained_fen'] + r['undistributed_fen'])} 元"
    )
    if r.get("excluded"):
        out.append(
            "不在受益范围 excluded: "
            + "；".join(f"{e['household']}（{e.get('basis', e['reason'])}）" for e in r["excluded"])
        )
    out.append("")
    out += _bases([(f"{ln['household']} {ln['bucket']}", ln["basis"]) for ln in r["lines"]])
    return out


def _district(r: Mapping[str, Any]) -> list[str]:
    rows = [
        [
            ln["village"],
            str(ln.get("poor_people", "")),
            "是" if ln.get("key_village") else "否",
            str(ln.get("performance", "")),
            str(ln.get("weight", "")),
            _y(ln["amount_fen"]),
        ]
        for ln in r["lines"]
    ]
    rows.append(
        ["合计", "", "", "", str(r.get("total_weight", "")), _y(sum(ln["amount_fen"] for ln in r["lines"]))]
    )
    out = [
        f"{_KIND_TITLES['district_allocation']}  资金 {_y(r['fund_fen'])} 元  重点村系数 {r.get('key_village_weight', '1')}",
        "",
        table(["村", "贫困人口", "重点村", "绩效", "权重", "金额(元)"], rows, numeric=(1, 3, 4, 5)),
        "",
    ]
    out += _bases([(ln["village"], ln["basis"]) for ln in r["lines"]])
    return out


def _liquidation(r: Mapping[str, Any]) -> list[str]:
    rows = [
        [
            ln["claim"],
            str(ln.get("rank", "")),
            ln.get("claimant", ""),
            _y(ln.get("amount_fen", ln["paid_fen"] + ln["shortfall_fen"])),
            _y(ln["paid_fen"]),
            _y(ln["shortfall_fen"]),
        ]
        for ln in r["lines"]
    ]
    paid = sum(ln["paid_fen"] for ln in r["lines"])
    short = sum(ln["shortfall_fen"] for ln in r["lines"])
    rows.append(["合计", "", "", _y(paid + short), _y(paid), _y(short)])
    out = [
        f"{_KIND_TITLES['liquidation']}  可分配财产 {_y(r['estate_fen'])} 元  剩余 {_y(r['surplus_fen'])} 元",
        "",
        table(["债权", "顺位", "债权人", "债权额(元)", "清偿(元)", "未清偿(元)"], rows, numeric=(1, 3, 4, 5)),
        "",
    ]
    out += _bases([(ln["claim"], ln["basis"]) for ln in r["lines"]])
    return out


def _bases(items: list[tuple[str, str]]) -> list[str]:
    if not items:
        return []
    return ["计算依据 basis:", *(f"  {key}: {basis}" for key, basis in items), ""]
