"""`daipin calc` end to end: results on stdout, and every kind of bad input refused with its field path, exit 2."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daipin.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
runner = CliRunner()


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def run(text: str, *args: str) -> Any:
    return runner.invoke(app, ["calc", *args, "-"], input=text)


def mutated(name: str, change: Callable[[dict[str, Any]], object]) -> str:
    doc = copy.deepcopy(example(name))
    change(doc)
    return json.dumps(doc, ensure_ascii=False)


def test_calc_prints_the_result_as_json_on_stdout() -> None:
    result = runner.invoke(app, ["calc", str(EXAMPLES / "settlement-loss-year.json")])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["kind"] == "settlement"
    assert out["totals"] == {"due_fen": 3350274, "paid_fen": 1800000, "arrears_fen": 1550274}
    assert "本金 10,000.00 元 × 年利率 8% × 275/365 天 = 602.74 元" in out["lines"][1]["basis"]
    assert result.stderr == ""


def test_calc_output_is_identical_byte_for_byte_on_every_run() -> None:
    path = str(EXAMPLES / "village-allocation-pv.json")
    first = runner.invoke(app, ["calc", path]).stdout_bytes
    second = runner.invoke(app, ["calc", path]).stdout_bytes
    assert first == second and len(first) > 100


def test_calc_reads_yaml_with_exact_numbers_and_dates_kept_as_text(tmp_path: Path) -> None:
    text = """
version: 1
kind: settlement
period: {start: 2025-01-01, end: 2025-12-31}
entity: {id: E-1, kind: cooperative}
payees:
  - {id: H-1, type: household, status: poor}
profit_fen: 0
contracts:
  - {id: C-1, kind: fixed_interest, payee: H-1, principal_fen: 1000000, annual_rate: "0.08", start: 2025-04-01}
"""
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["calc", str(path)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["lines"][0]["due_fen"] == 60274


def test_calc_refuses_a_yaml_float_like_a_json_float(tmp_path: Path) -> None:
    path = tmp_path / "doc.yml"
    path.write_text(
        "version: 1\nkind: district_allocation\nfund_fen: 100\nkey_village_weight: 1.5\n"
        "villages:\n  - {id: V-1, poor_people: 3, key_village: true}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["calc", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "key_village_weight" in result.stderr and '"1.5"' in result.stderr


def test_calc_table_format_prints_a_chinese_table_with_totals() -> None:
    result = runner.invoke(app, ["calc", "--format", "table", str(EXAMPLES / "liquidation.json")])
    assert result.exit_code == 0, result.stderr
    assert "清算分配" in result.stdout and "合计" in result.stdout
    assert "71,500.00" in result.stdout and "40,000.00" in result.stdout  # claims and paid totals


def test_examples_command_prints_a_table_for_every_worked_example() -> None:
    result = runner.invoke(app, ["examples"])
    assert result.exit_code == 0, result.stderr
    for name in ("district-allocation", "liquidation", "settlement-loss-year", "village-allocation-pv"):
        assert f"=== {name}.json ===" in result.stdout
    assert "村级收益分配" in result.stdout and "收益结算" in result.stdout


def _set(path: list[Any], value: object) -> Callable[[dict[str, Any]], object]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], object]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _both(*changes: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], object]:
    def change(doc: dict[str, Any]) -> None:
        for one in changes:
            one(doc)

    return change


BAD_DOCUMENTS: list[tuple[str, str, Callable[[dict[str, Any]], object], str]] = [
    # (rule, example, change, field path expected in stderr)
    ("unknown field", "settlement-loss-year", _set(["contracts", 3, "colour"], "red"), "contracts[3].colour"),
    ("unknown top-level field", "liquidation", _set(["currency"], "CNY"), "currency"),
    (
        "name only on objects with an id",
        "village-allocation-pv",
        _set(["work", 0, "name"], "x"),
        "work[0].name",
    ),
    (
        "missing field",
        "settlement-loss-year",
        _drop(["contracts", 1, "annual_rate"]),
        "contracts[1].annual_rate",
    ),
    ("missing top-level field", "district-allocation", _drop(["fund_fen"]), "fund_fen"),
    ("wrong type", "settlement-loss-year", _set(["profit_fen"], "lots"), "profit_fen"),
    ("wrong type of a list", "village-allocation-pv", _set(["households"], {"H-1": 1}), "households"),
    (
        "wrong type of a flag",
        "district-allocation",
        _set(["villages", 0, "key_village"], "yes"),
        "villages[0].key_village",
    ),
    (
        "money as a decimal string",
        "liquidation",
        _set(["claims", 0, "amount_fen"], "1500.00"),
        "claims[0].amount_fen",
    ),
    (
        "negative money",
        "settlement-loss-year",
        _set(["contracts", 0, "annual_rent_fen"], -1),
        "contracts[0].annual_rent_fen",
    ),
    ("negative cash", "settlement-loss-year", _set(["cash_available_fen"], -5), "cash_available_fen"),
    ("negative pool", "village-allocation-pv", _set(["pool_fen"], -1), "pool_fen"),
    ("negative estate", "liquidation", _set(["estate_fen"], -1), "estate_fen"),
    (
        "negative rate",
        "settlement-loss-year",
        _set(["contracts", 1, "annual_rate"], "-0.08"),
        "contracts[1].annual_rate",
    ),
    (
        "profit share above 1",
        "settlement-loss-year",
        _set(["contracts", 2, "profit_share"], "1.5"),
        "contracts[2].profit_share",
    ),
    ("unknown payee", "settlement-loss-year", _set(["contracts", 4, "payee"], "H-999"), "contracts[4].payee"),
    (
        "unknown household in work",
        "village-allocation-pv",
        _set(["work", 1, "household"], "H-999"),
        "work[1].household",
    ),
    (
        "unknown household in contribution",
        "village-allocation-pv",
        _set(["contribution", 2, "household"], "H-9"),
        "contribution[2].household",
    ),
    ("shares not summing to 1", "village-allocation-pv", _set(["buckets", 3, "share"], "0.05"), "buckets"),
    ("period across two years", "settlement-loss-year", _set(["period", "end"], "2026-03-31"), "period.end"),
    (
        "period ends before it starts",
        "settlement-loss-year",
        _both(_set(["period", "start"], "2025-12-31"), _set(["period", "end"], "2025-01-01")),
        "period.end",
    ),
    ("impossible date", "settlement-loss-year", _set(["period", "start"], "2025-02-30"), "period.start"),
    (
        "contract start after end",
        "settlement-loss-year",
        _set(["contracts", 1, "end"], "2025-03-01"),
        "contracts[1].start",
    ),
    (
        "duplicate contract id",
        "settlement-loss-year",
        _set(["contracts", 5, "id"], "C-02"),
        "contracts[5].id",
    ),
    ("duplicate payee id", "settlement-loss-year", _set(["payees", 2, "id"], "H-001"), "payees[2].id"),
    (
        "duplicate household id",
        "village-allocation-pv",
        _set(["households", 4, "id"], "H-001"),
        "households[4].id",
    ),
    (
        "duplicate bucket name",
        "village-allocation-pv",
        _set(["buckets", 2, "name"], "公益岗位"),
        "buckets[2].name",
    ),
    ("duplicate village id", "district-allocation", _set(["villages", 2, "id"], "V-XL"), "villages[2].id"),
    ("duplicate claim id", "liquidation", _set(["claims", 6, "id"], "L-01"), "claims[6].id"),
    ("version other than 1", "liquidation", _set(["version"], 2), "version"),
    ("missing version", "district-allocation", _drop(["version"]), "version"),
    ("unknown kind", "liquidation", _set(["kind"], "bonus"), "kind"),
    (
        "unknown contract kind",
        "settlement-loss-year",
        _set(["contracts", 0, "kind"], "gift"),
        "contracts[0].kind",
    ),
    ("unknown entity kind", "settlement-loss-year", _set(["entity", "kind"], "bank"), "entity.kind"),
    ("unknown rule", "village-allocation-pv", _set(["buckets", 1, "rule"], "lottery"), "buckets[1].rule"),
    ("unknown payee type", "settlement-loss-year", _set(["payees", 1, "type"], "bank"), "payees[1].type"),
    ("unknown holder", "liquidation", _set(["claims", 5, "holder"], "bank"), "claims[5].holder"),
    ("misspelt equity class", "liquidation", _set(["claims", 4, "class"], "equty"), "claims[4].class"),
    (
        "unknown status of a payee",
        "settlement-loss-year",
        _set(["payees", 1, "status"], "rich"),
        "payees[1].status",
    ),
    (
        "unknown status of a household",
        "village-allocation-pv",
        _set(["households", 0, "status"], "rich"),
        "households[0].status",
    ),
    (
        "unknown eligible status",
        "village-allocation-pv",
        _set(["eligible_statuses"], ["poor", "x"]),
        "eligible_statuses[1]",
    ),
    (
        "unknown labor",
        "village-allocation-pv",
        _set(["households", 2, "labor"], "strong"),
        "households[2].labor",
    ),
    ("unknown per", "village-allocation-pv", _set(["buckets", 1, "per"], "village"), "buckets[1].per"),
    ("unknown work kind", "village-allocation-pv", _set(["work", 0, "kind"], "farming"), "work[0].kind"),
    ("unknown claim class", "liquidation", _set(["claims", 2, "class"], "bribes"), "claims[2].class"),
    (
        "status on a non-equity claim",
        "liquidation",
        _set(["claims", 0, "status"], "poor"),
        "claims[0].status",
    ),
    ("equity claim without a holder", "liquidation", _drop(["claims", 6, "holder"]), "claims[6].holder"),
    (
        "fund with all weights zero",
        "district-allocation",
        lambda d: [v.update(poor_people=0) for v in d["villages"]],
        "villages",
    ),
    (
        "key village weight below 1",
        "district-allocation",
        _set(["key_village_weight"], "0.5"),
        "key_village_weight",
    ),
    ("zero members", "village-allocation-pv", _set(["households", 0, "members"], 0), "households[0].members"),
    ("no tiers", "village-allocation-pv", _set(["buckets", 2, "tiers"], []), "buckets[2].tiers"),
    (
        "order purchase without a price",
        "settlement-loss-year",
        _both(_drop(["contracts", 5, "market_price_fen"]), _drop(["contracts", 5, "floor_price_fen"])),
        "contracts[5]",
    ),
    ("contracts not a list", "settlement-loss-year", _set(["contracts"], "C-01"), "contracts"),
]


@pytest.mark.parametrize(
    ("rule", "name", "change", "field"), BAD_DOCUMENTS, ids=[b[0] for b in BAD_DOCUMENTS]
)
def test_bad_input_is_refused_naming_the_field_with_nothing_on_stdout_and_exit_2(
    rule: str, name: str, change: Callable[[dict[str, Any]], object], field: str
) -> None:
    result = run(mutated(name, change))
    assert result.exit_code == 2, (rule, result.stdout)
    assert result.stdout == ""
    assert field in result.stderr, result.stderr
    assert "/" in result.stderr  # the reason in Chinese and English


def test_a_json_float_is_refused_naming_the_field_and_how_to_write_it() -> None:
    text = json.dumps(example("settlement-loss-year")).replace('"annual_rate": "0.08"', '"annual_rate": 0.08')
    assert '"annual_rate": 0.08' in text
    result = run(text)
    assert result.exit_code == 2 and result.stdout == ""
    assert "contracts[1].annual_rate" in result.stderr
    assert '"0.08"' in result.stderr and "not 0.08" in result.stderr


def test_a_json_float_where_money_is_expected_is_refused_as_not_whole_fen() -> None:
    text = json.dumps(example("liquidation")).replace('"amount_fen": 150000', '"amount_fen": 1500.5')
    result = run(text)
    assert result.exit_code == 2 and result.stdout == ""
    assert "claims[0].amount_fen" in result.stderr and "1500.5" in result.stderr


def test_every_problem_in_a_document_is_reported_at_once() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["contracts"][0]["annual_rent_fen"] = -1
        doc["contracts"][3]["payee"] = "H-404"
        doc["period"]["end"] = "2026-01-01"

    result = run(mutated("settlement-loss-year", change))
    assert result.exit_code == 2
    for field in ("contracts[0].annual_rent_fen", "contracts[3].payee", "period.end"):
        assert field in result.stderr


def test_an_informative_name_is_accepted_on_objects_with_an_id() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["contracts"][0]["name"] = "光伏电站租赁"
        doc["payees"][1]["name"] = "某户"

    result = run(mutated("settlement-loss-year", change))
    assert result.exit_code == 0, result.stderr


def test_broken_json_is_refused_with_its_position_and_exit_2() -> None:
    result = run('{"version": 1, "kind": ')
    assert result.exit_code == 2 and result.stdout == ""
    assert "JSON" in result.stderr


def test_a_json_object_with_a_field_twice_is_refused() -> None:
    result = run('{"version": 1, "version": 1, "kind": "liquidation", "estate_fen": 0, "claims": []}')
    assert result.exit_code == 2 and result.stdout == ""
    assert "version" in result.stderr


def test_a_missing_file_is_refused_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calc", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and result.stdout == ""
    assert "nope.json" in result.stderr


def test_a_document_that_is_not_an_object_is_refused() -> None:
    result = run("[1, 2, 3]")
    assert result.exit_code == 2 and result.stdout == ""
    assert "$" in result.stderr
