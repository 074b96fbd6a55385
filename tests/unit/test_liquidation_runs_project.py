"""A poor village whose collective runs the project bears its risk (R3.3): its equity leaves the poor villages' rank;
the key is refused on any claim but a village's equity."""

from __future__ import annotations

from typing import Any

import pytest

from daipin.domain.engine import calculate
from daipin.domain.errors import InputError


def _doc(**village: Any) -> dict[str, Any]:
    return {"version": 1, "kind": "liquidation", "estate_fen": 1000,
            "claims": [{"id": "V", "class": "equity", "holder": "village", "poor_village": True, "amount_fen": 1000,
                        **village},
                       {"id": "W", "class": "equity", "holder": "village", "poor_village": False, "amount_fen": 1000}]}


def test_a_self_run_poor_village_is_paid_after_the_other_villages() -> None:
    ranks = {ln["claim"]: (ln["rank"], ln["paid_fen"]) for ln in calculate(_doc(runs_project=True))["lines"]}
    assert ranks == {"V": (8, 0), "W": (7, 1000)}
    ranks = {ln["claim"]: (ln["rank"], ln["paid_fen"]) for ln in calculate(_doc())["lines"]}
    assert ranks == {"V": (6, 1000), "W": (7, 0)}


@pytest.mark.parametrize("claim", [
    {"id": "H", "class": "equity", "holder": "household", "status": "poor", "amount_fen": 1, "runs_project": True},
    {"id": "D", "class": "ordinary_debt", "amount_fen": 1, "runs_project": True},
    {"id": "V", "class": "equity", "holder": "village", "poor_village": True, "amount_fen": 1, "runs_project": "yes"},
])
def test_runs_project_is_refused_where_it_does_not_apply(claim: dict[str, Any]) -> None:
    with pytest.raises(InputError) as err:
        calculate({"version": 1, "kind": "liquidation", "estate_fen": 1, "claims": [claim]})
    assert "runs_project" in str(err.value.as_dict())
