"""Liquidation: an implementing entity's estate paid out by legal order, poor households and villages first (ENGINE.md §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daipin.domain.engine.settlement import STATUSES
from daipin.domain.engine.validate import Issues, join, without_cyclic_gc
from daipin.domain.money import format_yuan, split
from daipin.domain.vocabulary import LIQUIDATION_CLAIM, LIQUIDATION_HOLDER, LIQUIDATION_RANK

KIND = "liquidation"

CLASSES = LIQUIDATION_CLAIM.labels()
HOLDERS = LIQUIDATION_HOLDER.labels()
# Order of payment: the four debt classes, then the four equity tiers.
RANKS = {int(rank): name for rank, name in LIQUIDATION_RANK.labels().items()}
_DEBT_RANK = {"liquidation_costs": 1, "wages": 2, "taxes": 3, "ordinary_debt": 4}


@without_cyclic_gc
def liquidation(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Pay claims rank by rank while the estate lasts; the rank where it runs out shares pro rata (key = claim id)."""
    issues = Issues()
    if not issues.header(doc, KIND):
        issues.check()
    issues.fields(doc, "", ("version", "kind", "estate_fen", "claims"))
    estate = issues.fen(doc["estate_fen"], "estate_fen") if "estate_fen" in doc else None
    seen: dict[str, int] = {}
    rows: list[tuple[str, str, int, int, str]] = []
    for i, c in enumerate(issues.items_of(doc, "claims", "")):
        path = f"claims[{i}]"
        cls = c.get("class") if isinstance(c, Mapping) else None
        optional: tuple[str, ...] = ("claimant",)
        holder = c.get("holder") if isinstance(c, Mapping) else None
        required: tuple[str, ...] = ("id", "class", "amount_fen")
        if isinstance(c, Mapping) and "class" in c and not (type(cls) is str and cls in CLASSES):
            issues.choice(cls, join(path, "class"), CLASSES)
            continue
        if cls == "equity":
            if "holder" in c and not (type(holder) is str and holder in HOLDERS):
                issues.choice(holder, join(path, "holder"), HOLDERS)
                continue
            required += ("holder",)
            if holder == "household":
                required += ("status",)
            elif holder == "village":
                required += ("poor_village",)
                optional += ("runs_project",)
        elif isinstance(c, Mapping):
            misplaced = tuple(key for key in ("holder", "status", "poor_village", "runs_project") if key in c)
            for key in misplaced:
                issues.add(join(path, key), "仅适用于股权类（equity）债权", "only applies to equity claims")
            optional += misplaced  # reported once, above
        if not issues.fields(c, path, required, optional):
            continue
        cid = issues.text(c["id"], join(path, "id"))
        if cid is not None:
            issues.unique(seen, cid, join(path, "id"), "claims", i)
        cls = issues.choice(cls, join(path, "class"), CLASSES)
        if cls is None:
            continue
        amount = issues.fen(c["amount_fen"], join(path, "amount_fen"))
        if "claimant" in c:
            issues.text(c["claimant"], join(path, "claimant"))
        if cls == "equity":
            if issues.choice(holder, join(path, "holder"), HOLDERS) is None:
                continue
            if holder == "household":
                status = issues.choice(c["status"], join(path, "status"), STATUSES)
                rank = 5 if status in ("poor", "monitored") else 8
            elif holder == "village":
                poor = issues.flag(c["poor_village"], join(path, "poor_village"))
                # A poor village bears no operating risk unless its own collective runs the project (R3.3): then its
                # equity is the operator's and is paid with the other holders', after every other village.
                runs = issues.flag(c["runs_project"], join(path, "runs_project")) if "runs_project" in c else False
                rank = 8 if runs else (6 if poor else 7)
            else:
                rank = 8
        else:
            rank = _DEBT_RANK[cls]
        if cid is None or amount is None:
            continue
        rows.append((cid, cls, rank, amount, str(c.get("claimant", ""))))
    issues.check()
    assert estate is not None

    paid = [0] * len(rows)
    left = estate
    short_rank = 0
    for rank in range(1, 9):
        members = [j for j, r in enumerate(rows) if r[2] == rank]
        need = sum(rows[j][3] for j in members)
        if need <= left:
            for j in members:
                paid[j] = rows[j][3]
            left -= need
            continue
        if not short_rank:
            short_rank = rank
            parts = split(left, [rows[j][3] for j in members], [rows[j][0] for j in members])
            for j, part in zip(members, parts, strict=True):
                paid[j] = part
            left = 0

    lines = []
    for j, (cid, cls, rank, amount, claimant) in enumerate(rows):
        got = paid[j]
        head = f"第 {rank} 顺位（{RANKS[rank]}）"
        if got == amount:
            basis = f"{head}：全额清偿 {format_yuan(amount)} 元"
        elif rank == short_rank:
            basis = (
                f"{head}：剩余财产不足，按债权比例清偿 {format_yuan(got)} 元，"
                f"未清偿 {format_yuan(amount - got)} 元"
            )
        else:
            basis = f"{head}：前序顺位未全额清偿，本项未获分配，未清偿 {format_yuan(amount)} 元"
        line: dict[str, Any] = {"claim": cid, "class": cls, "rank": rank}
        if claimant:
            line["claimant"] = claimant
        line.update(amount_fen=amount, paid_fen=got, shortfall_fen=amount - got, basis=basis)
        lines.append(line)
    total_claims = sum(r[3] for r in rows)
    total_paid = sum(paid)
    return {
        "kind": KIND,
        "version": 1,
        "estate_fen": estate,
        "lines": lines,
        "totals": {
            "claims_fen": total_claims,
            "paid_fen": total_paid,
            "shortfall_fen": total_claims - total_paid,
        },
        "surplus_fen": estate - total_paid,
    }
