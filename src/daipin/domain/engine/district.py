"""District allocation: district income funds to villages by poor people, key-village weight and performance (ENGINE.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daipin.domain.engine.validate import Issues, join, without_cyclic_gc
from daipin.domain.money import format_yuan, split
from daipin.domain.numbers import format_decimal

KIND = "district_allocation"
_VILLAGE_REQUIRED = ("id", "poor_people", "key_village")
_ONE = (1, 1)


@without_cyclic_gc
def district_allocation(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Weight = poor_people × key-village weight (key villages only) × performance; largest remainder by village id."""
    issues = Issues()
    if not issues.header(doc, KIND):
        issues.check()
    issues.fields(doc, "", ("version", "kind", "fund_fen", "villages"), ("key_village_weight", "performance_basis"))
    # Informative: how each village's performance arose (the district's indicators, or typed by hand); not read by
    # the calculation beyond naming the source in each line's basis.
    perf_basis = doc.get("performance_basis")
    sources: Mapping[str, Any] = {}
    if perf_basis is not None:
        if not isinstance(perf_basis, Mapping):
            issues.add("performance_basis", "应为对象", "must be an object")
        elif isinstance(perf_basis.get("villages"), Mapping):
            sources = perf_basis["villages"]
    fund = issues.fen(doc["fund_fen"], "fund_fen") if "fund_fen" in doc else None
    key_weight: tuple[int, int] | None = _ONE
    if doc.get("key_village_weight") is not None:
        key_weight = issues.exact(doc["key_village_weight"], "key_village_weight", minimum=_ONE)

    seen: dict[str, int] = {}
    rows: list[tuple[str, int, bool, tuple[int, int], bool]] = []
    villages = issues.items_of(doc, "villages", "")
    for i, v in enumerate(villages):
        path = f"villages[{i}]"
        if not issues.fields(v, path, _VILLAGE_REQUIRED, ("performance",)):
            continue
        vid = issues.text(v["id"], join(path, "id"))
        people = issues.count(v["poor_people"], join(path, "poor_people"))
        key = issues.flag(v["key_village"], join(path, "key_village"))
        perf: tuple[int, int] | None = _ONE
        if v.get("performance") is not None:
            perf = issues.exact(v["performance"], join(path, "performance"))
        if vid is not None:
            issues.unique(seen, vid, join(path, "id"), "villages", i)
        if vid is None or people is None or key is None or perf is None:
            continue
        rows.append((vid, people, key, perf, v.get("performance") is not None))
    if "villages" in doc and isinstance(villages, list) and not villages:
        issues.add("villages", "至少需要一个村", "at least one village is needed")
    if issues:
        issues.check()
    assert fund is not None and key_weight is not None

    # Exact weights at one common power-of-ten scale: kw and performance are decimals.
    kn, kd = key_weight
    perf_scale = max(r[3][1] for r in rows)
    scale = kd * perf_scale
    weights = []
    for _, people, key, (pn, pd), _given in rows:
        weights.append(people * (kn if key else kd) * pn * (perf_scale // pd))
    whole = sum(weights)
    if fund > 0 and whole == 0:
        issues.add(
            "villages",
            "资金大于 0，但所有村的权重都为 0（贫困人口或绩效均为 0），无法分配",
            "the fund is above zero but every village's weight is zero, so it cannot be allocated",
        )
        issues.check()
    amounts = split(fund, weights, [r[0] for r in rows])
    whole_text = format_decimal(whole, scale)
    lines = []
    for (vid, people, key, perf, perf_given), w, amt in zip(rows, weights, amounts, strict=True):
        parts = [f"贫困人口 {people} 人"]
        if key:
            parts.append(f"重点村系数 {format_decimal(kn, kd)}")
        if perf_given:
            source = sources.get(vid)
            how = ""
            if isinstance(source, Mapping):
                how = (f"（人工调整，按指标计算为 {source.get('computed')}）" if source.get("overridden")
                       else f"（按 {perf_basis.get('indicator_year')} 年绩效指标计算）"
                       if isinstance(perf_basis, Mapping) else "")
            parts.append(f"绩效 {format_decimal(*perf)}{how}")
        weight_text = format_decimal(w, scale)
        basis = f"权重 = {' × '.join(parts)} = {weight_text}"
        basis += f"；资金 {format_yuan(fund)} 元 × {weight_text}/{whole_text} → {format_yuan(amt)} 元（最大余数法取整到分）"
        lines.append(
            {
                "village": vid,
                "poor_people": people,
                "key_village": key,
                "performance": format_decimal(*perf),
                "weight": weight_text,
                "amount_fen": amt,
                "basis": basis,
            }
        )
    return {
        "kind": KIND,
        "version": 1,
        "fund_fen": fund,
        "key_village_weight": format_decimal(kn, kd),
        "total_weight": whole_text,
        "lines": lines,
        "totals": {"amount_fen": sum(amounts)},
    }
