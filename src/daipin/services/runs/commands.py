"""The typed input of a village's yearly allocation plan (年度收益分配方案的测算参数), shared by the page (its form)
and any other edge, and its handling by the runs service (which checks the buckets, asks `plan.write` and records
the ledger entry). The village and the year are named apart (the page's path and field)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.registry import AllocationPlan
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.domain.money import MAX_FEN
from daipin.services.registry.commands import FormCommand
from daipin.services.runs import service
from daipin.services.shared.commands import Command

MAX_BUCKETS = 8
_TIER = re.compile(r"^\s*(\d{1,6})\s*[:：]\s*(\d+(?:\.\d+)?)\s*$")


class BucketFields(Command):
    """One bucket (分配科目): its name, share of the pool (a decimal, the shares adding up to 1), rule, whether it
    is counted per person or per household, and for a tiered one its tiers written `积分下限:权重, …`."""

    name: Annotated[str, Field(max_length=60)] = ""
    share: Annotated[str, Field(max_length=20)] = ""
    rule: Annotated[str, Field(max_length=24)] = ""
    per: Annotated[str, Field(max_length=12)] | None = None
    tiers: Annotated[str, Field(max_length=400)] | None = None


class SavePlan(FormCommand):
    """保存年度分配方案: the pool, the per-household cap, the eligible statuses and the buckets."""

    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    pool_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] | None = None
    cap_per_household_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] | None = None
    eligible_statuses: Annotated[list[str], Field(max_length=4)] = []
    buckets: Annotated[list[BucketFields], Field(max_length=MAX_BUCKETS)] = []


def tiers_of(text: str, field: str) -> list[dict[str, Any]]:
    """`0:0, 30:1, 100:2` as the engine's tiers ({"min_points": 30, "weight": "1"}, …)."""
    out = []
    for part in re.split(r"[,，;；\s]+(?=\d)", text.strip()):
        m = _TIER.match(part)
        if not m:
            raise InputError("分档应写作“积分下限:权重”，以逗号分隔（如 0:0, 30:1, 100:2）",
                             "tiers are written min_points:weight, comma separated (0:0, 30:1, 100:2)", field)
        out.append({"min_points": int(m.group(1)), "weight": m.group(2)})
    return out


def tiers_text(tiers: Any) -> str:
    """The engine's tiers as the form writes them (read back by `tiers_of`)."""
    if not isinstance(tiers, list):
        return ""
    return ", ".join(f"{t.get('min_points')}:{t.get('weight')}" for t in tiers if isinstance(t, dict))


def save(session: Session, actor: Actor, village_code: str, command: SavePlan, *, at: datetime) -> AllocationPlan:
    if command.year is None:
        raise InputError("缺少年度", "missing year", "year")
    if command.pool_fen is None:
        raise InputError("缺少可分配收益", "missing pool", "pool_fen")
    buckets: list[dict[str, Any]] = []
    for i, b in enumerate(command.buckets):
        if not (b.name or b.share or b.rule):
            continue  # a blank row of the form
        bucket: dict[str, Any] = {"name": b.name, "share": b.share, "rule": b.rule}
        if b.per:
            bucket["per"] = b.per
        if b.tiers:
            bucket["tiers"] = tiers_of(b.tiers, f"buckets[{i}].tiers")
        buckets.append(bucket)
    return service.save_allocation_plan(session, actor, village_code=village_code, year=command.year,
                                        pool_fen=command.pool_fen, buckets=buckets, at=at,
                                        cap_per_household_fen=command.cap_per_household_fen,
                                        eligible_statuses=command.eligible_statuses or None)
