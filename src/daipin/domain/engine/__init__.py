"""The four exact calculations of ENGINE.md: one JSON document in, one JSON document out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from daipin.domain.engine.district import district_allocation
from daipin.domain.engine.liquidation import liquidation
from daipin.domain.engine.settlement import settlement
from daipin.domain.engine.validate import EngineInputError, Issue
from daipin.domain.engine.village import village_allocation

__all__ = [
    "KINDS",
    "EngineInputError",
    "Issue",
    "calculate",
    "district_allocation",
    "liquidation",
    "settlement",
    "village_allocation",
]

KINDS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "settlement": settlement,
    "village_allocation": village_allocation,
    "district_allocation": district_allocation,
    "liquidation": liquidation,
}


def calculate(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Run the calculation the document's `kind` names; EngineInputError if the document is bad."""
    if not isinstance(doc, Mapping):
        raise EngineInputError([Issue("$", "文档应为 JSON 对象", "the document must be a JSON object")])
    kind = doc.get("kind")
    run = KINDS.get(kind) if isinstance(kind, str) else None
    if run is None:
        labels = "、".join(KINDS)
        shown = f'"{kind}"' if isinstance(kind, str) else "缺失" if kind is None else str(kind)
        raise EngineInputError(
            [
                Issue(
                    "kind",
                    f"未知的计算类型 {shown}，应为 {labels} 之一",
                    f"unknown kind {shown}: must be one of {', '.join(KINDS)}",
                )
            ]
        )
    return run(doc)
