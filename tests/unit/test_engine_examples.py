"""The worked examples of ENGINE.md: each document gives its expected result (amounts and warnings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daipin.domain.engine import calculate
from daipin.domain.numbers import loads_exact_json

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "examples"
PACKAGED = ROOT / "src" / "daipin" / "data" / "examples"
CASES = sorted(p for p in DOCS.glob("*.json") if not p.name.endswith(".expected.json"))


def reduce(result: dict[str, Any]) -> dict[str, Any]:
    """What ENGINE.md compares: amounts by key and warning codes with their subject; basis and order are free."""
    kind = result["kind"]
    out: dict[str, Any] = {"kind": kind}
    if kind == "settlement":
        # By contract; a share with holding periods has one line per holder and one retained: by contract and payee.
        out["lines"] = {
            (ln["contract"], ln["payee"]): (ln["due_fen"], ln["paid_fen"], ln["arrears_fen"]) for ln in result["lines"]
        }
        out["retained_fen"] = result.get("retained_fen")
        out["totals"] = tuple(result["totals"][k] for k in ("due_fen", "paid_fen", "arrears_fen"))
    elif kind == "village_allocation":
        out["lines"] = {
            (ln["household"], ln["bucket"]): ln["amount_fen"] for ln in result["lines"] if ln["amount_fen"]
        }
        out["households"] = {h: v for h, v in result["households"].items() if v}
        out["retained_fen"] = result["retained_fen"]
        out["undistributed_fen"] = result["undistributed_fen"]
        out["excluded"] = sorted(e["household"] for e in result["excluded"])
    elif kind == "district_allocation":
        out["lines"] = {ln["village"]: ln["amount_fen"] for ln in result["lines"]}
    elif kind == "liquidation":
        out["lines"] = {ln["claim"]: (ln["paid_fen"], ln["shortfall_fen"]) for ln in result["lines"]}
        out["surplus_fen"] = result["surplus_fen"]
    out["warnings"] = sorted(
        {
            (w["code"], w.get("contract") or w.get("household") or w.get("bucket") or "")
            for w in result.get("warnings", [])
        }
    )
    return out


def test_there_is_a_worked_example_of_every_calculation() -> None:
    kinds = {json.loads(p.read_text(encoding="utf-8"))["kind"] for p in CASES}
    assert kinds == {"settlement", "village_allocation", "district_allocation", "liquidation"}


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_each_example_gives_its_expected_result(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    result = calculate(loads_exact_json(case.read_text(encoding="utf-8")))
    assert reduce(result) == reduce(expected)


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_every_line_of_every_example_carries_a_chinese_basis(case: Path) -> None:
    result = calculate(loads_exact_json(case.read_text(encoding="utf-8")))
    assert result["lines"]
    for line in result["lines"]:
        assert "元" in line["basis"]


def test_the_packaged_examples_are_the_documented_ones() -> None:
    docs = {p.name: p.read_bytes() for p in DOCS.glob("*.json")}
    packaged = {p.name: p.read_bytes() for p in PACKAGED.glob("*.json")}
    assert docs == packaged and len(docs) == 14
