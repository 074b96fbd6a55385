"""The lean checks that let clean documents through quickly agree exactly with the close checks."""

from __future__ import annotations

import copy
import json
import sys
from datetime import date
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given

from daipin.domain.engine import EngineInputError, settlement, village_allocation
from daipin.domain.engine.validate import Issues
from daipin.domain.numbers import FloatLiteral
from tests.unit.test_engine_properties import FAST, settlement_docs, village_docs

# The package re-exports the functions under the modules' names, so reach the modules themselves.
settlement_module = sys.modules["daipin.domain.engine.settlement"]
village_module = sys.modules["daipin.domain.engine.village"]


def dumps(result: dict[str, Any]) -> bytes:
    return json.dumps(result, ensure_ascii=False, indent=2).encode("utf-8")


def _period(doc: dict[str, Any]) -> tuple[int, int]:
    return (
        date.fromisoformat(doc["period"]["start"]).toordinal(),
        date.fromisoformat(doc["period"]["end"]).toordinal(),
    )


@FAST
@given(doc=settlement_docs())
def test_the_fast_contract_check_accepts_clean_contracts_and_reads_them_as_the_close_check_does(
    doc: dict[str, Any],
) -> None:
    payee_class = settlement_module._check_payees(doc, Issues())
    p_start, p_end = _period(doc)
    fast = settlement_module._check_fast(
        doc["contracts"], payee_class, p_start, p_end, settlement_module._Caches()
    )
    issues = Issues()
    close = settlement_module._check_closely(
        doc["contracts"], issues, payee_class, p_start, p_end, settlement_module._Caches()
    )
    assert not issues
    assert fast == close


@FAST
@given(doc=village_docs())
def test_the_fast_household_work_and_contribution_checks_read_them_as_the_close_checks_do(
    doc: dict[str, Any],
) -> None:
    fast = village_module._households_fast(doc["households"])
    issues = Issues()
    close = village_module._households_closely(doc["households"], issues)
    assert fast == close
    eligible = [s in ("poor", "monitored") for s in fast[1]]
    index = fast[4]
    assert village_module._work_fast(doc["work"], index, eligible, {}) == village_module._work_closely(
        doc["work"], index, eligible, {}, issues
    )
    assert village_module._contribution_fast(
        doc["contribution"], index, eligible, {}
    ) == village_module._contribution_closely(doc["contribution"], index, eligible, {}, issues)
    assert not issues


def _settlement_doc() -> dict[str, Any]:
    return {
        "version": 1,
        "kind": "settlement",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "entity": {"id": "E", "kind": "cooperative"},
        "payees": [
            {"id": "H1", "type": "household", "status": "poor"},
            {"id": "V1", "type": "village", "poor_village": True},
        ],
        "profit_fen": 1_000_000,
        "contracts": [
            {"id": "C1", "kind": "trusteeship", "payee": "H1", "units": "3", "annual_fen_per_unit": 45_000},
            {
                "id": "C2",
                "kind": "fixed_interest",
                "payee": "V1",
                "principal_fen": 100_000,
                "annual_rate": "1",
            },
            {
                "id": "C3",
                "kind": "employment",
                "payee": "H1",
                "wage_fen_per_day": 15_000,
                "days_worked": "12",
            },
            {
                "id": "C4",
                "kind": "equity_dividend",
                "payee": "V1",
                "profit_share": "0",
                "annual_floor_fen": 500,
            },
            {"id": "C5", "kind": "order_purchase", "payee": "H1", "quantity": "7", "floor_price_fen": 300},
        ],
    }


@pytest.mark.parametrize(
    "field", ["units", "annual_rate", "days_worked", "profit_share", "quantity"], ids=lambda f: f
)
def test_a_decimal_written_as_a_json_integer_gives_the_same_result_as_its_text(field: str) -> None:
    plain = _settlement_doc()
    unusual = copy.deepcopy(plain)
    for c in unusual["contracts"]:
        if field in c:
            c[field] = int(c[field])
    assert dumps(settlement(unusual)) == dumps(settlement(plain))


def test_contracts_given_as_read_only_mappings_give_the_same_result_as_dicts() -> None:
    plain = _settlement_doc()
    unusual = copy.deepcopy(plain)
    unusual["contracts"] = [MappingProxyType(c) for c in unusual["contracts"]]
    assert dumps(settlement(unusual)) == dumps(settlement(plain))


def test_a_name_and_dates_on_a_contract_take_the_same_arithmetic_as_a_plain_contract() -> None:
    plain = _settlement_doc()
    dated = copy.deepcopy(plain)
    for c in dated["contracts"]:
        c.update(name="协议", start="2025-01-01", end="2025-12-31")
    assert dumps(settlement(dated)) == dumps(settlement(plain))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unit", None),
        ("annual_floor_fen", None),
        ("floor_price_fen", None),
        ("name", 3),
        ("payee", FloatLiteral("1.5")),  # JSON 1.5, equal to the text "1.5" but not an id
    ],
    ids=lambda v: str(v),
)
def test_an_optional_term_given_as_null_or_a_wrong_type_is_still_refused(field: str, value: Any) -> None:
    doc = _settlement_doc()
    doc["payees"].append({"id": "1.5", "type": "village", "poor_village": False})
    target = {"unit": 0, "annual_floor_fen": 3, "floor_price_fen": 4, "name": 1, "payee": 0}[field]
    doc["contracts"][target][field] = value
    with pytest.raises(EngineInputError) as caught:
        settlement(doc)
    assert caught.value.field == f"contracts[{target}].{field}"


def test_a_duplicate_contract_id_is_refused_with_the_first_position_named() -> None:
    doc = _settlement_doc()
    doc["contracts"][4]["id"] = "C2"
    with pytest.raises(EngineInputError) as caught:
        settlement(doc)
    assert caught.value.field == "contracts[4].id"
    assert "contracts[1]" in caught.value.message_en


def _village_doc() -> dict[str, Any]:
    return {
        "version": 1,
        "kind": "village_allocation",
        "village": "V",
        "pool_fen": 1_000_000,
        "households": [
            {"id": "A", "status": "poor", "labor": "none", "members": 2},
            {"id": "B", "status": "monitored", "labor": "full", "members": 3},
            {"id": "C", "status": "exited", "labor": "full", "members": 1},
        ],
        "work": [
            {
                "household": "B",
                "kind": "public_welfare_post",
                "post": "保洁",
                "days": "10.5",
                "daily_wage_fen": 5000,
            }
        ],
        "contribution": [{"household": "B", "points": 40}],
        "buckets": [
            {"name": "工资", "share": "0.5", "rule": "wages"},
            {"name": "兜底", "share": "0.5", "rule": "direct_support", "per": "person"},
        ],
    }


def test_a_named_household_takes_the_same_arithmetic_as_an_unnamed_one() -> None:
    plain = _village_doc()
    unusual = copy.deepcopy(plain)
    unusual["households"][0]["name"] = "一户"
    r_plain = village_allocation(plain)
    r_unusual = village_allocation(unusual)
    assert dumps(r_unusual) == dumps(r_plain)


def test_a_work_record_naming_a_household_by_a_number_is_refused() -> None:
    doc = _village_doc()
    doc["households"][2]["id"] = "1.5"
    doc["work"][0]["household"] = FloatLiteral("1.5")  # JSON 1.5
    with pytest.raises(EngineInputError) as caught:
        village_allocation(doc)
    assert caught.value.field == "work[0].household"
