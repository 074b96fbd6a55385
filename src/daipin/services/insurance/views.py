"""Reads of insurance (R3.3, SUPERVISION.md NO_INSURANCE): each operating asset of a poverty project in reach with
the policy in force that covers it, or none; and the premium subsidies of the entities in reach. Read by whoever
reads supervision, in the same reach (auditors and the discipline commission the whole district)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from daipin.db.models.registry import Asset, Entity, InsurancePolicy, Project, Region
from daipin.db.models.supervision import PremiumSubsidy
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.services.shared import scope

SUBSIDY_STATUS = {"applied": "待审批", "approved": "已批准待支付", "refused": "不予补贴", "paid": "已支付"}


def assets(session: Session, actor: Actor, *, today: date) -> list[dict[str, Any]]:
    """Every operating asset in reach that an entity operates and that is not disposed of, with the policy in force
    today that covers it (one naming it before one for all its operator's assets; the one running longest), or
    none: the same judgement as the NO_INSURANCE rule."""
    access.require(actor, "supervision.read")
    reach = access.reach(actor, "supervision.read")
    region = func.coalesce(Asset.owner_region_code, Asset.county_code)
    rows = session.execute(
        select(Asset.id, Asset.code, Asset.name, Asset.value_fen, Asset.operator_entity_id, region.label("region"),
               Region.name, Project.code, Project.name, Entity.name, Entity.uscc)
        .join(Entity, Entity.id == Asset.operator_entity_id)
        .outerjoin(Project, Project.id == Asset.project_id)
        .outerjoin(Region, Region.code == region)
        .where(Asset.kind == "operating", Asset.status != "disposed", scope.where(reach, region=region))
        .order_by(Asset.code)).all()
    operators = {r[4] for r in rows}
    covering: dict[tuple[int | None, int | None], InsurancePolicy] = {}
    for policy in session.scalars(select(InsurancePolicy).where(
            InsurancePolicy.entity_id.in_(operators), InsurancePolicy.valid_from <= today,
            InsurancePolicy.valid_to >= today).order_by(InsurancePolicy.valid_to, InsurancePolicy.id)):
        covering[(policy.entity_id, policy.asset_id)] = policy  # the one running longest is kept
    out = []
    for aid, code, name, value, operator, reg, reg_name, pcode, pname, ename, uscc in rows:
        p = covering.get((operator, aid)) or covering.get((operator, None))
        out.append({
            "asset": code, "name": name, "value_fen": int(value or 0), "region": reg, "region_name": reg_name or reg,
            "project": pcode or "", "project_name": pname or "", "entity": ename, "uscc": uscc,
            "insured": p is not None, "insured_label": "有效" if p is not None else "无有效保单",
            "policy_no": p.policy_no if p else "", "insurer": p.insurer if p else "",
            "kind": vocabulary.INSURANCE_KIND.zh(p.kind) if p and p.kind else "",
            "for_all_assets": bool(p and p.asset_id is None),
            "insured_sum_fen": p.insured_sum_fen if p else None,
            "valid_to": p.valid_to.isoformat() if p else ""})
    return out


def subsidies(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The premium subsidies of the entities in reach (an entity by its region), latest year first."""
    access.require(actor, "supervision.read")
    reach = access.reach(actor, "supervision.read")
    region = func.coalesce(Entity.region_code, Entity.county_code)
    policy = aliased(InsurancePolicy)
    rows = session.execute(
        select(PremiumSubsidy, Entity.name, Entity.uscc, policy.policy_no, policy.insurer, Asset.code)
        .join(Entity, Entity.id == PremiumSubsidy.entity_id)
        .join(policy, policy.id == PremiumSubsidy.policy_id)
        .outerjoin(Asset, Asset.id == policy.asset_id)
        .where(scope.where(reach, region=region))
        .order_by(PremiumSubsidy.year.desc(), PremiumSubsidy.id)).all()
    return [{"id": s.id, "year": s.year, "entity": ename, "uscc": uscc, "policy_no": pno, "insurer": insurer,
             "asset": acode or "", "premium_fen": s.premium_fen, "subsidy_fen": s.subsidy_fen, "status": s.status,
             "status_label": SUBSIDY_STATUS.get(s.status, s.status), "reason": s.reason or "",
             "paid_on": s.paid_on.isoformat() if s.paid_on else ""}
            for s, ename, uscc, pno, insurer, acode in rows]


def summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many assets are insured and not, and their value (fen)."""
    insured = [r for r in rows if r["insured"]]
    bare = [r for r in rows if not r["insured"]]
    return {"assets": len(rows), "insured": len(insured), "uninsured": len(bare),
            "uninsured_value_fen": sum(r["value_fen"] for r in bare)}

