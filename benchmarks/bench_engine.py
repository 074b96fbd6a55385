"""Engine throughput: settlement lines per second and allocated households per second, exact to the fen.

Only the engine call is timed: documents are generated (and garbage-collected) before the
clock starts, and results are neither serialised nor freed inside the timed region.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from typing import Any

from daipin.domain.engine import settlement, village_allocation

SETTLEMENT_LINES = 1_000_000
VILLAGE_HOUSEHOLDS = 300_000
RUNS = 5


def settlement_document(lines: int, seed: int = 1) -> dict[str, Any]:
    """One entity, `lines` contracts of every kind over households and villages; cash runs out in class 2.

    Wages (class 1) come to about 313,600 fen per contract line and class 2 to about
    717,400, so `cash_available_fen` = lines × 500,000 pays the wages in full and splits class 2.
    """
    rng = random.Random(seed)
    households = max(1, lines // 20)
    statuses = ["poor", "monitored", "exited", "non_poor"]
    payees: list[dict[str, Any]] = [
        {"id": f"H{i:07d}", "type": "household", "status": statuses[i % 4]} for i in range(households)
    ]
    payees += [{"id": f"V{i:04d}", "type": "village", "poor_village": i % 3 == 0} for i in range(200)]
    rates = ["0.06", "0.08", "0.045", "0.1"]
    contracts: list[dict[str, Any]] = []
    for i in range(lines):
        payee = f"H{rng.randrange(households):07d}" if i % 10 else f"V{rng.randrange(200):04d}"
        k = i % 6
        c: dict[str, Any] = {"id": f"C{i:08d}", "payee": payee}
        if k == 0:
            c.update(
                kind="fixed_interest",
                principal_fen=rng.randrange(100_000, 5_000_000),
                annual_rate=rates[i % 4],
            )
            if i % 12 == 0:
                c["start"] = "2025-04-01"
        elif k == 1:
            c.update(kind="asset_lease", annual_rent_fen=rng.randrange(10_000, 2_000_000))
        elif k == 2:
            c.update(
                kind="trusteeship", units=f"{rng.randrange(1, 400)}.5", unit="mu", annual_fen_per_unit=45_000
            )
        elif k == 3:
            c.update(kind="equity_dividend", profit_share="0.0005", annual_floor_fen=rng.randrange(0, 60_000))
        elif k == 4:
            c.update(kind="employment", wage_fen_per_day=15_000, days_worked=str(rng.randrange(1, 250)))
        else:
            c.update(
                kind="order_purchase",
                quantity=str(rng.randrange(100, 5000)),
                market_price_fen=260,
                floor_price_fen=300,
            )
        contracts.append(c)
    return {
        "version": 1,
        "kind": "settlement",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "entity": {"id": "E-1", "kind": "enterprise"},
        "payees": payees,
        "profit_fen": 900_000_000,
        "cash_available_fen": lines * 500_000,
        "contracts": contracts,
    }


def village_document(households: int, seed: int = 2) -> dict[str, Any]:
    """One village pool over `households` households with work, contributions, four buckets and a cap."""
    rng = random.Random(seed)
    statuses = ["poor", "monitored", "poor", "exited", "non_poor"]
    labors = ["full", "weak", "none"]
    hh = [
        {"id": f"H{i:07d}", "status": statuses[i % 5], "labor": labors[i % 3], "members": 1 + i % 6}
        for i in range(households)
    ]
    work = [
        {
            "household": f"H{i:07d}",
            "kind": "public_welfare_post",
            "post": "保洁",
            "days": rng.randrange(10, 200),
            "daily_wage_fen": 5000,
        }
        for i in range(0, households, 3)
    ]
    contribution = [
        {"household": f"H{i:07d}", "points": str(rng.randrange(0, 300))} for i in range(0, households, 2)
    ]
    return {
        "version": 1,
        "kind": "village_allocation",
        "village": "V-1",
        "pool_fen": households * 150_000,
        "households": hh,
        "work": work,
        "contribution": contribution,
        "buckets": [
            {"name": "公益岗位", "share": "0.5", "rule": "wages"},
            {"name": "兜底保障", "share": "0.2", "rule": "direct_support", "per": "person"},
            {
                "name": "奖励补助",
                "share": "0.2",
                "rule": "tiered",
                "per": "household",
                "tiers": [
                    {"min_points": 0, "weight": "0"},
                    {"min_points": 30, "weight": "1"},
                    {"min_points": 100, "weight": "2"},
                    {"min_points": 200, "weight": "3.5"},
                ],
            },
            {"name": "小型公益事业", "share": "0.1", "rule": "retain"},
        ],
        "cap_per_household_fen": 600_000,
    }


def _median_seconds(run: Any, doc: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """Median wall and CPU seconds of RUNS runs (CPU time is less disturbed by other work on the machine)."""
    walls, cpus = [], []
    result: dict[str, Any] = {}
    for _ in range(RUNS):
        result = {}  # the previous result is freed before the clock starts
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        result = run(doc)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), result


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}"


def main() -> None:
    doc = settlement_document(SETTLEMENT_LINES)
    gc.collect()
    gc.freeze()  # the document lives for the whole run: keep the collector off it between runs
    for label, cash in (
        ("cash covers every due", None),
        ("cash short, split in class 2", SETTLEMENT_LINES * 500_000),
    ):
        if cash is None:
            doc.pop("cash_available_fen", None)
        else:
            doc["cash_available_fen"] = cash
        wall, cpu, result = _median_seconds(settlement, doc)
        t = result["totals"]
        assert t["due_fen"] == t["paid_fen"] + t["arrears_fen"]
        assert sum(ln["paid_fen"] for ln in result["lines"]) == t["paid_fen"]
        if cash is not None:
            short = [c["class"] for c in result["classes"] if c["arrears_fen"]]
            assert short[0] == 2, short  # the scenario is what its label says
        print(
            f"settlement ({label}): {SETTLEMENT_LINES:,} contract lines, median of {RUNS}: "
            f"{wall:.2f} s wall = {_rate(SETTLEMENT_LINES, wall)} lines/s; "
            f"{cpu:.2f} s CPU = {_rate(SETTLEMENT_LINES, cpu)} lines/s; "
            f"due {t['due_fen']:,} fen, paid {t['paid_fen']:,} fen"
        )
        del result, t  # freed before the next scenario runs, outside its clock
    del doc
    gc.unfreeze()
    gc.collect()

    doc = village_document(VILLAGE_HOUSEHOLDS)
    gc.collect()
    gc.freeze()
    wall, cpu, result = _median_seconds(village_allocation, doc)
    lines = sum(ln["amount_fen"] for ln in result["lines"])
    assert lines + result["retained_fen"] + result["undistributed_fen"] == doc["pool_fen"]
    print(
        f"village_allocation: {VILLAGE_HOUSEHOLDS:,} households, median of {RUNS}: "
        f"{wall:.2f} s wall = {_rate(VILLAGE_HOUSEHOLDS, wall)} households/s; "
        f"{cpu:.2f} s CPU = {_rate(VILLAGE_HOUSEHOLDS, cpu)} households/s; "
        f"{len(result['lines']):,} lines; Σ lines + retained + undistributed = pool exactly"
    )
    gc.unfreeze()


if __name__ == "__main__":
    main()
