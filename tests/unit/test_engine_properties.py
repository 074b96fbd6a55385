"""Properties of the engine that must hold for every document, checked on generated ones (hypothesis)."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daipin.domain.engine import (
    EngineInputError,
    calculate,
    district_allocation,
    liquidation,
    settlement,
    village_allocation,
)
from daipin.domain.money import split

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY = st.text(alphabet="aAbB1-兴隆", min_size=1, max_size=4)
DECIMAL = st.builds(
    lambda n, places: f"{n / 10**places:.{places}f}" if places else str(n),
    st.integers(0, 10_000),
    st.integers(0, 3),
)
FEN = st.integers(0, 10**9)


def dumps(result: dict[str, Any]) -> bytes:
    return json.dumps(result, ensure_ascii=False, indent=2).encode("utf-8")


# --- splits -----------------------------------------------------------------------------


@FAST
@given(
    total=st.integers(0, 10**12),
    rows=st.lists(st.tuples(KEY, st.integers(0, 10**6)), min_size=1, max_size=30, unique_by=lambda r: r[0]),
)
def test_every_split_adds_up_exactly_and_each_part_is_its_quota_rounded_down_or_up(
    total: int, rows: list[tuple[str, int]]
) -> None:
    keys = [k for k, _ in rows]
    weights = [w for _, w in rows]
    if sum(weights) == 0:
        weights[0] = 1
    parts = split(total, weights, keys)
    assert sum(parts) == total
    whole = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        quota = Fraction(total * w, whole)
        assert quota - 1 < part < quota + 1
        if w == 0:
            assert part == 0


# --- settlement -------------------------------------------------------------------------


@st.composite
def settlement_docs(draw: st.DrawFn, with_cash: bool = True) -> dict[str, Any]:
    statuses = ["poor", "monitored", "exited", "non_poor"]
    payees: list[dict[str, Any]] = [
        {"id": f"H{i}", "type": "household", "status": draw(st.sampled_from(statuses))} for i in range(4)
    ]
    payees += [{"id": f"V{i}", "type": "village", "poor_village": draw(st.booleans())} for i in range(3)]
    ids = draw(st.lists(KEY, min_size=1, max_size=14, unique=True))
    contracts = []
    for cid in ids:
        c: dict[str, Any] = {"id": cid, "payee": draw(st.sampled_from([p["id"] for p in payees]))}
        kind = draw(
            st.sampled_from(
                [
                    "asset_lease",
                    "fixed_interest",
                    "trusteeship",
                    "equity_dividend",
                    "employment",
                    "order_purchase",
                ]
            )
        )
        if kind == "asset_lease":
            c.update(kind=kind, annual_rent_fen=draw(FEN))
        elif kind == "fixed_interest":
            c.update(
                kind=kind,
                principal_fen=draw(FEN),
                annual_rate=draw(DECIMAL.filter(lambda d: Fraction(d) <= 1)),
            )
        elif kind == "trusteeship":
            c.update(kind=kind, units=draw(DECIMAL), annual_fen_per_unit=draw(st.integers(0, 10**6)))
        elif kind == "equity_dividend":
            c.update(kind=kind, profit_share=draw(DECIMAL.filter(lambda d: Fraction(d) <= 1)))
            if draw(st.booleans()):
                c["annual_floor_fen"] = draw(FEN)
        elif kind == "employment":
            c.update(kind=kind, wage_fen_per_day=draw(st.integers(0, 10**5)), days_worked=draw(DECIMAL))
        else:
            c.update(kind=kind, quantity=draw(DECIMAL), market_price_fen=draw(st.integers(0, 10**4)))
            if draw(st.booleans()):
                c["floor_price_fen"] = draw(st.integers(0, 10**4))
        if draw(st.booleans()):
            start, end = sorted(
                draw(
                    st.lists(
                        st.dates(min_value=_d(2024, 11, 1), max_value=_d(2026, 2, 1)), min_size=2, max_size=2
                    )
                )
            )
            c["start"], c["end"] = start.isoformat(), end.isoformat()
        contracts.append(c)
    doc: dict[str, Any] = {
        "version": 1,
        "kind": "settlement",
        "period": {
            "start": "2025-01-01",
            "end": draw(st.sampled_from(["2025-12-31", "2025-06-30", "2025-01-01"])),
        },
        "entity": {"id": "E", "kind": "enterprise"},
        "payees": payees,
        "profit_fen": draw(st.integers(-(10**9), 10**10)),
        "contracts": contracts,
    }
    if with_cash:
        doc["cash_available_fen"] = draw(st.integers(0, 10**10))
    return doc


def _d(y: int, m: int, d: int) -> Any:
    from datetime import date

    return date(y, m, d)


@FAST
@given(doc=settlement_docs())
def test_a_settlement_never_pays_a_class_while_an_earlier_class_has_arrears(doc: dict[str, Any]) -> None:
    r = settlement(doc)
    by_class: dict[int, list[int]] = {}
    for ln in r["lines"]:
        assert ln["paid_fen"] + ln["arrears_fen"] == ln["due_fen"] and ln["paid_fen"] >= 0
        paid, arrears = by_class.setdefault(ln["class"], [0, 0])
        by_class[ln["class"]] = [paid + ln["paid_fen"], arrears + ln["arrears_fen"]]
    for early, (_, arrears) in by_class.items():
        for late, (paid, _) in by_class.items():
            if late > early and arrears:
                assert paid == 0
    t = r["totals"]
    assert t["paid_fen"] == min(t["due_fen"], doc["cash_available_fen"])


@FAST
@given(doc=settlement_docs(), more=st.integers(1, 10**9))
def test_more_cash_never_pays_a_class_less_nor_a_contract_less_than_one_fen_of_rounding(
    doc: dict[str, Any], more: int
) -> None:
    low = settlement(doc)
    richer = copy.deepcopy(doc)
    richer["cash_available_fen"] += more
    high = settlement(richer)
    for a, b in zip(low["lines"], high["lines"], strict=True):
        # Largest remainder can move a single fen between contracts of the class where cash runs out
        # (the Alabama paradox); a fully paid contract stays fully paid.
        assert b["paid_fen"] >= a["paid_fen"] - 1
        if a["arrears_fen"] == 0:
            assert b["arrears_fen"] == 0
    low_classes = {c["class"]: c["paid_fen"] for c in low["classes"]}
    for c in high["classes"]:
        assert c["paid_fen"] >= low_classes[c["class"]]


def test_more_cash_can_move_one_fen_away_from_a_contract_in_the_class_where_cash_runs_out() -> None:
    """The Alabama paradox of the largest-remainder rule ENGINE.md prescribes, pinned down by hand."""
    doc = {
        "version": 1,
        "kind": "settlement",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "entity": {"id": "E", "kind": "enterprise"},
        "payees": [{"id": "H", "type": "household", "status": "poor"}],
        "profit_fen": 0,
        "contracts": [
            {"id": "a", "kind": "asset_lease", "payee": "H", "annual_rent_fen": 6},
            {"id": "b", "kind": "asset_lease", "payee": "H", "annual_rent_fen": 6},
            {"id": "c", "kind": "asset_lease", "payee": "H", "annual_rent_fen": 2},
        ],
        "cash_available_fen": 10,
    }
    assert [ln["paid_fen"] for ln in settlement(doc)["lines"]] == [4, 4, 2]
    doc["cash_available_fen"] = 11
    assert [ln["paid_fen"] for ln in settlement(doc)["lines"]] == [5, 5, 1]


@FAST
@given(doc=settlement_docs(), seed=st.randoms(use_true_random=False))
def test_reordering_contracts_and_payees_changes_no_settlement_amount(doc: dict[str, Any], seed: Any) -> None:
    shuffled = copy.deepcopy(doc)
    seed.shuffle(shuffled["contracts"])
    seed.shuffle(shuffled["payees"])
    a, b = settlement(doc), settlement(shuffled)

    def amounts(r: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
        return {ln["contract"]: (ln["due_fen"], ln["paid_fen"], ln["arrears_fen"]) for ln in r["lines"]}

    assert amounts(a) == amounts(b)
    assert a["totals"] == b["totals"]


@FAST
@given(doc=settlement_docs())
def test_a_settlement_result_is_the_same_bytes_every_time(doc: dict[str, Any]) -> None:
    assert dumps(calculate(doc)) == dumps(calculate(copy.deepcopy(doc)))


# --- village allocation ---------------------------------------------------------------


@st.composite
def village_docs(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(KEY, min_size=1, max_size=12, unique=True))
    households = [
        {
            "id": hid,
            "status": draw(st.sampled_from(["poor", "monitored", "exited", "non_poor"])),
            "labor": draw(st.sampled_from(["full", "weak", "none"])),
            "members": draw(st.integers(1, 8)),
        }
        for hid in ids
    ]
    work = [
        {
            "household": draw(st.sampled_from(ids)),
            "kind": "public_welfare_post",
            "days": draw(DECIMAL),
            "daily_wage_fen": draw(st.integers(0, 10**4)),
        }
        for _ in range(draw(st.integers(0, 8)))
    ]
    contribution = [
        {"household": draw(st.sampled_from(ids)), "points": draw(DECIMAL)}
        for _ in range(draw(st.integers(0, 8)))
    ]
    rules = draw(
        st.lists(
            st.sampled_from(["direct_support", "wages", "tiered", "equal", "retain"]), min_size=1, max_size=5
        )
    )
    # shares: cut 1 into len(rules) exact parts (thousandths)
    cuts = sorted(draw(st.lists(st.integers(0, 1000), min_size=len(rules) - 1, max_size=len(rules) - 1)))
    bounds = [0, *cuts, 1000]
    buckets = []
    for k, rule in enumerate(rules):
        b: dict[str, Any] = {
            "name": f"项{k}",
            "share": str(Fraction(bounds[k + 1] - bounds[k], 1000).limit_denominator(1000)),
            "rule": rule,
        }
        b["share"] = f"{(bounds[k + 1] - bounds[k]) / 1000:.3f}"
        if rule in ("direct_support", "equal", "tiered"):
            b["per"] = draw(st.sampled_from(["person", "household"]))
        if rule == "tiered":
            mins = draw(st.lists(st.integers(0, 5000), min_size=1, max_size=4, unique=True))
            b["tiers"] = [{"min_points": m, "weight": draw(DECIMAL)} for m in mins]
        buckets.append(b)
    doc: dict[str, Any] = {
        "version": 1,
        "kind": "village_allocation",
        "village": "V",
        "pool_fen": draw(st.integers(0, 10**9)),
        "households": households,
        "work": work,
        "contribution": contribution,
        "buckets": buckets,
    }
    if draw(st.booleans()):
        doc["cap_per_household_fen"] = draw(st.integers(0, 10**8))
    return doc


@FAST
@given(doc=village_docs())
def test_village_lines_retained_and_undistributed_always_add_up_to_the_pool(doc: dict[str, Any]) -> None:
    r = village_allocation(doc)
    assert (
        sum(ln["amount_fen"] for ln in r["lines"]) + r["retained_fen"] + r["undistributed_fen"]
        == doc["pool_fen"]
    )
    assert sum(r["households"].values()) == sum(ln["amount_fen"] for ln in r["lines"])
    assert all(ln["amount_fen"] > 0 for ln in r["lines"])
    cap = doc.get("cap_per_household_fen")
    if cap is not None:
        wages = {b["name"] for b in doc["buckets"] if b["rule"] == "wages"}
        for hid, total in r["households"].items():
            wage = sum(
                ln["amount_fen"] for ln in r["lines"] if ln["household"] == hid and ln["bucket"] in wages
            )
            assert total <= max(cap, wage)


@FAST
@given(doc=village_docs())
def test_an_ineligible_household_never_receives_money(doc: dict[str, Any]) -> None:
    r = village_allocation(doc)
    ineligible = {h["id"] for h in doc["households"] if h["status"] not in ("poor", "monitored")}
    assert {ln["household"] for ln in r["lines"]}.isdisjoint(ineligible)
    assert {e["household"] for e in r["excluded"]} == ineligible


@FAST
@given(doc=village_docs(), cap=st.integers(0, 10**6))
def test_wages_are_never_cut_by_the_cap(doc: dict[str, Any], cap: int) -> None:
    uncapped = copy.deepcopy(doc)
    uncapped.pop("cap_per_household_fen", None)
    capped = copy.deepcopy(doc)
    capped["cap_per_household_fen"] = cap
    wages = {b["name"] for b in doc["buckets"] if b["rule"] == "wages"}

    def wage_lines(r: dict[str, Any]) -> dict[tuple[str, str], int]:
        return {
            (ln["household"], ln["bucket"]): ln["amount_fen"] for ln in r["lines"] if ln["bucket"] in wages
        }

    assert wage_lines(village_allocation(capped)) == wage_lines(village_allocation(uncapped))


@FAST
@given(doc=village_docs(), seed=st.randoms(use_true_random=False))
def test_reordering_households_records_and_buckets_changes_no_village_amount(
    doc: dict[str, Any], seed: Any
) -> None:
    shuffled = copy.deepcopy(doc)
    for key in ("households", "work", "contribution"):
        seed.shuffle(shuffled[key])
    for b in shuffled["buckets"]:
        if "tiers" in b:
            seed.shuffle(b["tiers"])
    if "cap_per_household_fen" not in doc:
        # The cap cuts the last-listed bucket first, so bucket order matters only under a cap.
        seed.shuffle(shuffled["buckets"])
    a, b = village_allocation(doc), village_allocation(shuffled)

    def amounts(r: dict[str, Any]) -> dict[tuple[str, str], int]:
        return {(ln["household"], ln["bucket"]): ln["amount_fen"] for ln in r["lines"]}

    assert amounts(a) == amounts(b)
    assert (a["retained_fen"], a["undistributed_fen"]) == (b["retained_fen"], b["undistributed_fen"])
    assert dumps(calculate(doc)) == dumps(calculate(copy.deepcopy(doc)))


# --- district and liquidation -----------------------------------------------------------


@st.composite
def district_docs(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(KEY, min_size=1, max_size=12, unique=True))
    villages = []
    for vid in ids:
        v: dict[str, Any] = {
            "id": vid,
            "poor_people": draw(st.integers(0, 500)),
            "key_village": draw(st.booleans()),
        }
        if draw(st.booleans()):
            v["performance"] = draw(DECIMAL)
        villages.append(v)
    villages[0]["poor_people"] = max(1, villages[0]["poor_people"])
    villages[0].pop("performance", None)
    return {
        "version": 1,
        "kind": "district_allocation",
        "fund_fen": draw(FEN),
        "key_village_weight": draw(st.sampled_from(["1", "1.5", "2", "1.25"])),
        "villages": villages,
    }


@FAST
@given(doc=district_docs(), seed=st.randoms(use_true_random=False))
def test_district_funds_add_up_and_do_not_depend_on_the_order_of_villages(
    doc: dict[str, Any], seed: Any
) -> None:
    r = district_allocation(doc)
    assert sum(ln["amount_fen"] for ln in r["lines"]) == doc["fund_fen"]
    shuffled = copy.deepcopy(doc)
    seed.shuffle(shuffled["villages"])
    again = district_allocation(shuffled)
    assert {ln["village"]: ln["amount_fen"] for ln in r["lines"]} == {
        ln["village"]: ln["amount_fen"] for ln in again["lines"]
    }


@st.composite
def liquidation_docs(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(KEY, min_size=1, max_size=12, unique=True))
    claims = []
    for cid in ids:
        cls = draw(st.sampled_from(["liquidation_costs", "wages", "taxes", "ordinary_debt", "equity"]))
        c: dict[str, Any] = {"id": cid, "class": cls, "amount_fen": draw(FEN)}
        if cls == "equity":
            holder = draw(st.sampled_from(["household", "village", "other"]))
            c["holder"] = holder
            if holder == "household":
                c["status"] = draw(st.sampled_from(["poor", "monitored", "exited", "non_poor"]))
            elif holder == "village":
                c["poor_village"] = draw(st.booleans())
        claims.append(c)
    return {"version": 1, "kind": "liquidation", "estate_fen": draw(st.integers(0, 10**10)), "claims": claims}


@FAST
@given(doc=liquidation_docs(), seed=st.randoms(use_true_random=False))
def test_liquidation_pays_by_rank_adds_up_and_ignores_input_order(doc: dict[str, Any], seed: Any) -> None:
    r = liquidation(doc)
    assert sum(ln["paid_fen"] for ln in r["lines"]) + r["surplus_fen"] == doc["estate_fen"]
    for a in r["lines"]:
        for b in r["lines"]:
            if a["rank"] < b["rank"] and a["shortfall_fen"]:
                assert b["paid_fen"] == 0
    shuffled = copy.deepcopy(doc)
    seed.shuffle(shuffled["claims"])
    again = liquidation(shuffled)
    assert {ln["claim"]: ln["paid_fen"] for ln in r["lines"]} == {
        ln["claim"]: ln["paid_fen"] for ln in again["lines"]
    }


# --- robustness -------------------------------------------------------------------------

JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.text(max_size=3)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=st.one_of(settlement_docs(), village_docs(), district_docs(), liquidation_docs()),
    pick=st.integers(0, 10**6),
    junk=JUNK,
)
def test_any_corrupted_document_is_either_calculated_or_refused_as_input_error(
    doc: dict[str, Any], pick: int, junk: Any
) -> None:
    paths = _paths(doc)[1:]
    path = paths[pick % len(paths)]
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    try:
        calculate(doc)
    except EngineInputError as err:
        assert err.field and err.issues


# --- shares held in turn (holding periods) -------------------------------------------------


@st.composite
def held_share_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A quantified share held in turn by up to four households in 2024 (a leap year), with gaps pending."""
    cuts = sorted(draw(st.lists(st.integers(1, 366), min_size=0, max_size=8, unique=True)))
    bounds = [0, *cuts, 367]
    holders = []
    statuses = ("poor", "monitored", "exited", "non_poor")
    payees: dict[str, dict[str, Any]] = {"V": {"id": "V", "type": "village", "poor_village": draw(st.booleans())}}
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b - a < 2 or not draw(st.booleans()):
            continue  # a gap: the share is pending reassignment
        who = draw(st.sampled_from(["H-1", "H-2", "H-3", "H-4"]))
        payees.setdefault(who, {"id": who, "type": "household", "status": draw(st.sampled_from(statuses))})
        start, end = a + 1, b - 1
        holders.append({"payee": who, "start": _ordinal_day(2024, start),
                        "end": _ordinal_day(2024, end)})
    if not holders:
        payees["H-1"] = {"id": "H-1", "type": "household", "status": "poor"}
        holders.append({"payee": "H-1"})
    contract: dict[str, Any] = {"id": "C-Q", "kind": "equity_dividend", "payee": "V",
                                "profit_share": draw(st.sampled_from(["0.01", "0.033", "0.5", "1"])),
                                "annual_floor_fen": draw(st.integers(0, 10**7)), "holders": holders}
    doc: dict[str, Any] = {
        "version": 1, "kind": "settlement", "period": {"start": "2024-01-01", "end": "2024-12-31"},
        "entity": {"id": "E", "kind": "enterprise"}, "payees": list(payees.values()),
        "profit_fen": draw(st.integers(-10**8, 10**10)), "contracts": [contract],
    }
    if draw(st.booleans()):
        doc["cash_available_fen"] = draw(st.integers(0, 10**8))
    return doc


def _ordinal_day(year: int, n: int) -> str:
    from datetime import date, timedelta

    return (date(year, 1, 1) + timedelta(days=n - 1)).isoformat()


@FAST
@given(doc=held_share_docs())
def test_the_holders_parts_and_the_retained_part_add_up_to_the_shares_dividend(doc: dict[str, Any]) -> None:
    """However a share changed hands, its parts sum to the dividend the share earns as one contract, and each
    holder's part is its days' quota rounded down or up."""
    result = settlement(doc)
    whole = copy.deepcopy(doc)
    del whole["contracts"][0]["holders"]
    one = settlement(whole)["lines"][0]
    lines = result["lines"]
    assert sum(ln["due_fen"] for ln in lines) == one["due_fen"] == result["totals"]["due_fen"]
    assert sum(ln["held_days"] for ln in lines) == 366
    for ln in lines:
        quota = Fraction(one["due_fen"] * ln["held_days"], 366)
        assert quota - 1 < ln["due_fen"] < quota + 1
        assert ln["paid_fen"] + ln["arrears_fen"] == ln["due_fen"]
    assert result["retained_fen"] == sum(ln["paid_fen"] for ln in lines if ln.get("retained"))
    assert result["totals"]["paid_fen"] == sum(ln["paid_fen"] for ln in lines)
