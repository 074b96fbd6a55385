"""Premium subsidies (保费补贴, R3.3): an entity that carries poverty assets applies on one of its insurance policies for
a year; the district approves or refuses with reasons, then records the payment. An entity on the credit blacklist
receives none: its application is refused, and one applied for before it was listed is not approved or paid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity, InsurancePolicy
from daipin.db.models.supervision import PremiumSubsidy
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.services.credit.service import require_creditworthy
from daipin.services.registry.service import get_entity
from daipin.services.shared import freetext
from daipin.services.shared.inputs import as_date, money, not_future
from daipin.services.supervision.service import record


def _region(e: Entity) -> str:
    return e.region_code or e.county_code


def _amount(value: Any, field: str, zh: str) -> int:
    amount = money(value, field, zh)
    if amount <= 0:
        raise InputError(f"{zh}应大于零", f"{field} must be positive", field=field)
    return amount


def apply(session: Session, actor: Actor, *, policy: Any, year: Any, premium_fen: Any, subsidy_fen: Any,
          at: datetime) -> PremiumSubsidy:
    """Apply for a premium subsidy on a policy for a year (the policy valid in that year; the subsidy no more than the
    premium); one application per policy and year."""
    try:
        p = session.get(InsurancePolicy, int(policy))
    except (TypeError, ValueError) as exc:
        raise InputError("保单编号应为数字", "policy must be an id", field="policy") from exc
    if p is None:
        raise InputError(f"保单 {policy} 不存在", f"policy {policy} not found", field="policy")
    try:
        y = int(year)
    except (TypeError, ValueError) as exc:
        raise InputError("年度应为数字", "year must be a number", field="year") from exc
    if not (p.valid_from.year <= y <= p.valid_to.year):
        raise InputError(f"保单在 {y} 年不在保险期内", f"the policy does not cover {y}", field="year")
    premium = _amount(premium_fen, "premium_fen", "保费")
    subsidy = _amount(subsidy_fen, "subsidy_fen", "申请补贴")
    if subsidy > premium:
        raise InputError("补贴不能超过保费", "the subsidy exceeds the premium", field="subsidy_fen")
    e = get_entity(session, p.entity_id)
    access.require(actor, "entity.write", region=_region(e))
    require_creditworthy(session, e, "申请保费补贴", "premium subsidy")
    if session.scalar(select(PremiumSubsidy.id).where(PremiumSubsidy.policy_id == p.id, PremiumSubsidy.year == y)):
        raise Conflict("该保单本年度已申请补贴", "already applied for this policy and year", field="year",
                       code="subsidy_exists")
    row = PremiumSubsidy(entity_id=e.id, policy_id=p.id, county_code=e.county_code, year=y, premium_fen=premium,
                         subsidy_fen=subsidy, status="applied", reason="", applied_at=at, payment_ref="")
    session.add(row)
    session.flush()
    record(session, actor, "premium_subsidy.applied", f"entity:{e.uscc}", _region(e),
           {"policy": p.id, "year": y, "premium_fen": premium, "subsidy_fen": subsidy}, [row], at)
    return row


def _get(session: Session, subsidy: Any) -> PremiumSubsidy:
    try:
        row = session.get(PremiumSubsidy, int(subsidy), with_for_update=True)
    except (TypeError, ValueError) as exc:
        raise InputError("补贴编号应为数字", "subsidy must be an id", field="subsidy") from exc
    if row is None:
        raise NotFound(f"保费补贴 {subsidy} 不存在", f"premium subsidy {subsidy} not found", field="subsidy")
    return row


def decide(session: Session, actor: Actor, subsidy: Any, *, approve: bool, reason: str, at: datetime) -> PremiumSubsidy:
    """The district approves or refuses (with reasons) an application; a blacklisted entity's is not approved."""
    row = _get(session, subsidy)
    text = freetext.text(reason, "reason", "理由", "reason", 2000, required=not approve) or ""
    e = get_entity(session, row.entity_id)
    access.require(actor, "entity.credit", region=_region(e))
    if row.status != "applied":
        raise Conflict("该申请已审批", "the application is already decided", field="subsidy", code="subsidy_state")
    if approve:
        require_creditworthy(session, e, "获得保费补贴", "premium subsidy")
    row.status, row.reason, row.decided_at = ("approved" if approve else "refused"), text, at
    record(session, actor, f"premium_subsidy.{row.status}", f"entity:{e.uscc}", _region(e),
           {"subsidy": row.id, "reason": text}, [row], at)
    return row


def pay(session: Session, actor: Actor, subsidy: Any, *, paid_on: Any, payment_ref: str, at: datetime) -> PremiumSubsidy:
    """The payment of an approved subsidy, with the bank's reference; none to a blacklisted entity."""
    row = _get(session, subsidy)
    day = not_future(as_date(paid_on, "paid_on", "支付日期"), at, "paid_on", "支付日期")
    ref = str(payment_ref or "").strip()
    if not ref or len(ref) > 100:
        raise InputError("缺少支付凭证号", "missing payment reference", field="payment_ref")
    e = get_entity(session, row.entity_id)
    access.require(actor, "payment.record", region=_region(e))
    if row.status != "approved":
        raise Conflict("只有已批准的补贴才能支付", "only an approved subsidy is paid", field="subsidy",
                       code="subsidy_state")
    require_creditworthy(session, e, "获得保费补贴", "premium subsidy")
    row.status, row.paid_on, row.payment_ref = "paid", day, ref
    record(session, actor, "premium_subsidy.paid", f"entity:{e.uscc}", _region(e),
           {"subsidy": row.id, "paid_on": day.isoformat()}, [row], at)
    return row
