"""The four calculations, rule by rule, on small hand-computed documents."""

from __future__ import annotations

from typing import Any

import pytest

from daipin.domain.engine import (
    EngineInputError,
    calculate,
    district_allocation,
    liquidation,
    settlement,
    village_allocation,
)


def settle(contracts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "kind": "settlement",
        "period": extra.pop("period", {"start": "2025-01-01", "end": "2025-12-31"}),
        "entity": {"id": "E-1", "kind": "cooperative"},
        "payees": [
            {"id": "H-P", "type": "household", "status": "poor"},
            {"id": "H-N", "type": "household", "status": "non_poor"},
            {"id": "V-P", "type": "village", "poor_village": True},
            {"id": "V-O", "type": "village", "poor_village": False},
        ],
        "profit_fen": extra.pop("profit_fen", 0),
        "contracts": contracts,
    }
    doc.update(extra)
    return settlement(doc)


def by_contract(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {ln["contract"]: (ln["due_fen"], ln["paid_fen"]) for ln in result["lines"]}


def codes(result: dict[str, Any]) -> set[str]:
    return {w["code"] for w in result["warnings"]}


def test_a_leap_year_counts_366_days() -> None:
    r = settle(
        [
            {
                "id": "C",
                "kind": "asset_lease",
                "payee": "V-P",
                "annual_rent_fen": 366_000,
                "start": "2024-07-01",
            }
        ],
        period={"start": "2024-01-01", "end": "2024-12-31"},
    )
    # 1 July to 31 December 2024 is 184 days of 366: 366,000 × 184/366 = 184,000 exactly.
    assert by_contract(r)["C"] == (184_000, 184_000)
    assert "184/366 天" in r["lines"][0]["basis"]


def test_a_contract_outside_the_period_owes_nothing_for_it() -> None:
    r = settle(
        [
            {
                "id": "C",
                "kind": "asset_lease",
                "payee": "V-P",
                "annual_rent_fen": 100_000,
                "start": "2025-07-01",
                "end": "2025-12-31",
            }
        ],
        period={"start": "2025-01-01", "end": "2025-06-30"},
    )
    assert by_contract(r)["C"] == (0, 0)


def test_wages_and_order_purchases_are_not_scaled_by_the_period() -> None:
    r = settle(
        [
            {
                "id": "W",
                "kind": "employment",
                "payee": "H-N",
                "wage_fen_per_day": 12_345,
                "days_worked": "0.5",
                "start": "2025-12-01",
            },
            {
                "id": "O",
                "kind": "order_purchase",
                "payee": "H-P",
                "quantity": "2.5",
                "price_fen": 301,
                "market_price_fen": 999,
            },
            {"id": "M", "kind": "order_purchase", "payee": "H-P", "quantity": 10, "market_price_fen": 260},
        ]
    )
    # 12,345 × 0.5 = 6,172.5 -> 6,173 (half up); 2.5 × 301 = 752.5 -> 753; the agreed price beats the market.
    assert by_contract(r) == {"W": (6_173, 6_173), "O": (753, 753), "M": (2_600, 2_600)}


def test_an_equity_dividend_takes_the_profit_share_when_it_beats_the_floor() -> None:
    r = settle(
        [
            {
                "id": "D",
                "kind": "equity_dividend",
                "payee": "H-P",
                "profit_share": "0.1",
                "annual_floor_fen": 50_000,
            }
        ],
        profit_fen=1_000_000,
    )
    assert by_contract(r)["D"] == (100_000, 100_000)
    assert codes(r) == set()


def test_a_floor_equal_to_the_profit_share_is_not_reported_as_applied() -> None:
    r = settle(
        [
            {
                "id": "D",
                "kind": "equity_dividend",
                "payee": "H-P",
                "profit_share": "0.05",
                "annual_floor_fen": 50_000,
            }
        ],
        profit_fen=1_000_000,
    )
    assert by_contract(r)["D"] == (50_000, 50_000)
    assert "floor_applied" not in codes(r)


def test_without_a_cash_figure_everything_due_is_paid_and_extra_cash_is_not_used() -> None:
    contracts = [{"id": "C", "kind": "asset_lease", "payee": "V-O", "annual_rent_fen": 1_000}]
    assert settle(contracts)["totals"] == {"due_fen": 1_000, "paid_fen": 1_000, "arrears_fen": 0}
    rich = settle(contracts, cash_available_fen=5_000)
    assert rich["totals"]["paid_fen"] == 1_000 and "entity_default" not in codes(rich)


def test_short_cash_pays_wages_then_poor_households_then_poor_villages_then_other_villages_then_the_rest() -> (
    None
):
    contracts = [
        {"id": "5-rest", "kind": "asset_lease", "payee": "H-N", "annual_rent_fen": 100},
        {"id": "4-village", "kind": "asset_lease", "payee": "V-O", "annual_rent_fen": 100},
        {"id": "3-poor-village", "kind": "asset_lease", "payee": "V-P", "annual_rent_fen": 100},
        {"id": "2-poor", "kind": "asset_lease", "payee": "H-P", "annual_rent_fen": 100},
        {"id": "1-wages", "kind": "employment", "payee": "H-N", "wage_fen_per_day": 100, "days_worked": 1},
    ]
    r = settle(contracts, cash_available_fen=350)
    paid = {k: v[1] for k, v in by_contract(r).items()}
    assert paid == {"1-wages": 100, "2-poor": 100, "3-poor-village": 100, "4-village": 50, "5-rest": 0}
    assert {ln["contract"]: ln["class"] for ln in r["lines"]}["1-wages"] == 1
    assert codes(r) == {"entity_default"}
    assert "拖欠" in r["lines"][0]["basis"]


def test_a_profit_below_zero_is_a_loss_year_and_dues_still_stand() -> None:
    r = settle(
        [
            {
                "id": "C",
                "kind": "fixed_interest",
                "payee": "H-P",
                "principal_fen": 100_000,
                "annual_rate": "0.06",
            }
        ],
        profit_fen=-1,
    )
    assert by_contract(r)["C"] == (6_000, 6_000)
    assert codes(r) == {"loss_year"}


def village(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "kind": "village_allocation",
        "village": "V-1",
        "pool_fen": extra.pop("pool_fen", 1_000),
        "households": extra.pop(
            "households",
            [
                {"id": "A", "status": "poor", "labor": "full", "members": 1},
                {"id": "B", "status": "poor", "labor": "weak", "members": 2},
                {"id": "C", "status": "monitored", "labor": "full", "members": 3},
                {"id": "D", "status": "poor", "labor": "none", "members": 4},
                {"id": "E", "status": "exited", "labor": "none", "members": 1},
            ],
        ),
        "buckets": extra.pop("buckets"),
    }
    doc.update(extra)
    return village_allocation(doc)


def amounts(result: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(ln["household"], ln["bucket"]): ln["amount_fen"] for ln in result["lines"]}


def test_an_equal_bucket_reaching_people_able_to_work_is_flagged_as_flat() -> None:
    r = village(buckets=[{"name": "均分", "share": "1", "rule": "equal", "per": "household"}])
    assert amounts(r) == {("A", "均分"): 250, ("B", "均分"): 250, ("C", "均分"): 250, ("D", "均分"): 250}
    assert ("flat_distribution", "均分") in {(w["code"], w.get("bucket")) for w in r["warnings"]}
    assert [e["household"] for e in r["excluded"]] == ["E"]


def test_a_tiered_bucket_where_three_workers_share_one_tier_is_flagged_as_flat() -> None:
    tiers = [
        {"min_points": 0, "weight": "0"},
        {"min_points": 10, "weight": "1"},
        {"min_points": 100, "weight": "2"},
    ]
    bucket = {"name": "奖补", "share": "1", "rule": "tiered", "per": "household", "tiers": tiers}
    same = [{"household": h, "points": "50"} for h in ("A", "B", "C")]
    r = village(buckets=[bucket], contribution=same)
    assert codes(r) == {"flat_distribution"}
    varied = [
        {"household": "A", "points": "50"},
        {"household": "B", "points": "50"},
        {"household": "C", "points": "150"},
    ]
    r = village(buckets=[bucket], contribution=varied)
    assert codes(r) == set()
    assert amounts(r) == {("A", "奖补"): 250, ("B", "奖补"): 250, ("C", "奖补"): 500}


def test_people_able_to_work_with_no_contribution_get_nothing_from_a_tiered_bucket() -> None:
    tiers = [{"min_points": "0.5", "weight": "1"}]
    bucket = {"name": "奖补", "share": "1", "rule": "tiered", "per": "person", "tiers": tiers}
    r = village(buckets=[bucket], contribution=[{"household": "C", "points": "0.5"}])
    assert amounts(r) == {("C", "奖补"): 1_000}


def test_direct_support_goes_only_to_eligible_households_unable_to_work() -> None:
    r = village(buckets=[{"name": "兜底", "share": "1", "rule": "direct_support", "per": "household"}])
    assert amounts(r) == {("D", "兜底"): 1_000}  # E cannot work either but has exited


def test_a_bucket_with_no_recipient_stays_undistributed() -> None:
    r = village(
        households=[{"id": "A", "status": "poor", "labor": "full", "members": 1}],
        buckets=[
            {"name": "兜底", "share": "0.5", "rule": "direct_support", "per": "person"},
            {"name": "工资", "share": "0.5", "rule": "wages"},
        ],
    )
    assert r["lines"] == [] and r["undistributed_fen"] == 1_000


def test_wages_covered_by_the_bucket_are_paid_in_full_and_the_rest_is_undistributed() -> None:
    r = village(
        buckets=[{"name": "工资", "share": "1", "rule": "wages"}],
        work=[
            {
                "household": "A",
                "kind": "public_welfare_post",
                "post": "保洁",
                "days": "0.5",
                "daily_wage_fen": 333,
            },
            {
                "household": "A",
                "kind": "public_welfare_post",
                "post": "护路",
                "days": 1,
                "daily_wage_fen": 100,
            },
            {"household": "E", "kind": "public_welfare_post", "days": 2, "daily_wage_fen": 100},
        ],
    )
    # 0.5 × 333 = 166.5 -> 167, plus 100; E has exited so its record is ignored.
    assert amounts(r) == {("A", "工资"): 267}
    assert r["undistributed_fen"] == 733 and codes(r) == set()


def test_the_cap_cuts_equal_and_tiered_lines_last_listed_first_then_direct_support_never_wages() -> None:
    households = [{"id": "A", "status": "poor", "labor": "none", "members": 1}]
    buckets = [
        {"name": "工资", "share": "0.4", "rule": "wages"},
        {"name": "兜底", "share": "0.2", "rule": "direct_support", "per": "household"},
        {"name": "均分", "share": "0.2", "rule": "equal", "per": "household"},
        {"name": "均分二", "share": "0.2", "rule": "equal", "per": "household"},
    ]
    work = [{"household": "A", "kind": "public_welfare_post", "days": 1, "daily_wage_fen": 400}]
    r = village(households=households, buckets=buckets, work=work, cap_per_household_fen=450)
    # 400 wages + 200 + 200 + 200 = 1,000; 550 over the cap: 200 from 均分二, 200 from 均分, 150 from 兜底.
    assert amounts(r) == {("A", "工资"): 400, ("A", "兜底"): 50}
    assert r["households"] == {"A": 450}
    assert [w for w in r["warnings"] if w["code"] == "cap_applied"][0]["cut_fen"] == 550
    assert r["undistributed_fen"] == 550
    # A cap below the wages leaves the wages whole.
    r = village(households=households, buckets=buckets, work=work, cap_per_household_fen=100)
    assert amounts(r) == {("A", "工资"): 400}


def test_eligible_statuses_can_widen_who_receives() -> None:
    r = village(
        buckets=[{"name": "兜底", "share": "1", "rule": "direct_support", "per": "person"}],
        eligible_statuses=["poor", "monitored", "exited"],
    )
    assert amounts(r) == {("D", "兜底"): 800, ("E", "兜底"): 200}
    assert r["excluded"] == []


def test_a_zero_district_fund_may_have_zero_weights_and_a_zero_performance_gets_nothing() -> None:
    doc = {
        "version": 1,
        "kind": "district_allocation",
        "fund_fen": 0,
        "villages": [{"id": "V-1", "poor_people": 0, "key_village": False}],
    }
    assert district_allocation(doc)["lines"][0]["amount_fen"] == 0
    doc = {
        "version": 1,
        "kind": "district_allocation",
        "fund_fen": 100,
        "villages": [
            {"id": "V-1", "poor_people": 10, "key_village": True, "performance": "0"},
            {"id": "V-2", "poor_people": 1, "key_village": False},
        ],
        "key_village_weight": 2,
    }
    assert [ln["amount_fen"] for ln in district_allocation(doc)["lines"]] == [0, 100]


def test_liquidation_leaves_a_surplus_and_puts_non_poor_households_last() -> None:
    doc = {
        "version": 1,
        "kind": "liquidation",
        "estate_fen": 1_000,
        "claims": [
            {"id": "E-1", "class": "equity", "holder": "household", "status": "non_poor", "amount_fen": 300},
            {"id": "E-2", "class": "equity", "holder": "village", "poor_village": False, "amount_fen": 300},
            {"id": "T", "class": "taxes", "amount_fen": 100},
        ],
    }
    r = liquidation(doc)
    assert r["surplus_fen"] == 300
    assert {ln["claim"]: ln["rank"] for ln in r["lines"]} == {"E-1": 8, "E-2": 7, "T": 3}
    doc["estate_fen"] = 500
    r = liquidation(doc)
    assert {ln["claim"]: ln["paid_fen"] for ln in r["lines"]} == {"E-1": 100, "E-2": 300, "T": 100}


def test_calculate_dispatches_on_kind_and_refuses_what_it_does_not_know() -> None:
    with pytest.raises(EngineInputError) as err:
        calculate({"version": 1, "kind": "lottery"})
    assert err.value.field == "kind" and err.value.status == 422
    with pytest.raises(EngineInputError) as err:
        calculate([])  # type: ignore[arg-type]
    assert err.value.field == "$"


def test_an_input_error_names_the_first_field_and_lists_them_all_in_both_languages() -> None:
    doc = {
        "version": 1,
        "kind": "liquidation",
        "estate_fen": -1,
        "claims": [{"id": "X", "class": "bogus", "amount_fen": 1}],
    }
    with pytest.raises(EngineInputError) as err:
        liquidation(doc)
    assert err.value.field == "estate_fen"
    assert [i.path for i in err.value.issues] == ["estate_fen", "claims[0].class"]
    assert "负数" in err.value.message_zh and "negative" in err.value.message_en
    body = err.value.as_dict()
    assert body["field"] == "estate_fen" and body["code"] == "invalid_input"
    assert [i["field"] for i in body["issues"]] == ["estate_fen", "claims[0].class"]  # type: ignore[union-attr]
