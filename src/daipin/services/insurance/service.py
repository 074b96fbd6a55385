"""Premium subsidies (保费补贴, R3.3): an entity that carries poverty assets applies on one of its insurance policies for
a year; the district approves or refuses with reasons, and pays the year's approved subsidies through a payment
batch like every other money out (PAYMENTS.md): a premium-subsidy matter (区级保费补贴) on the district's decision
path lists them, its execution makes the batch (one line per entity, to the account on record), and the bank's
receipt for a line marks that entity's subsidies in the batch paid (`batches.py`, `drafting.py`). An entity on the credit blacklist receives
none: its application is refused, one applied for before it was listed is not approved, drafted or paid (checked
again when the matter executes, in its transaction), and a subsidy is in one batch at most (a unique key)."""

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
from daipin.services.registry.service import check_bank, get_entity
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import money
from daipin.services.shared.rows import row_fact
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
    if not access.allowed(actor, "entity.read", region=_region(e), entity_id=e.id):  # another region's: not found
        raise NotFound(f"保单 {policy} 不存在", f"policy {policy} not found", field="policy")
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
    if not access.allowed(actor, "entity.read", region=_region(e), entity_id=e.id):  # another region's: not found
        raise NotFound(f"保费补贴 {subsidy} 不存在", f"premium subsidy {subsidy} not found", field="subsidy")
    access.require(actor, "entity.credit", region=_region(e))
    if row.status != "applied":
        raise Conflict("该申请已审批", "the application is already decided", field="subsidy", code="subsidy_state")
    if approve:
        require_creditworthy(session, e, "获得保费补贴", "premium subsidy")
    row.status, row.reason, row.decided_at = ("approved" if approve else "refused"), text, at
    record(session, actor, f"premium_subsidy.{row.status}", f"entity:{e.uscc}", _region(e),
           {"subsidy": row.id, "reason": text}, [row], at)
    return row


def set_entity_account(session: Session, actor: Actor, entity: Any, *, bank_account: Any,
                       at: datetime) -> Entity:
    """The account the district pays an entity's premium subsidies into (12-30 digits): sealed at rest, shown
    masked; the ledger keeps only its salted digest."""
    account = check_bank(bank_account)
    if account is None:
        raise InputError("请填写银行账号", "the bank account is required", field="bank_account")
    try:
        e = session.get(Entity, int(entity), with_for_update=True, populate_existing=True)
    except (TypeError, ValueError) as exc:
        raise InputError("主体编号应为数字", "entity must be an id", field="entity") from exc
    if e is None or not access.allowed(actor, "entity.read", region=_region(e), entity_id=e.id):
        raise NotFound(f"实施主体 {entity} 不存在", f"entity {entity} not found", field="entity")
    access.require(actor, "entity.write", region=_region(e), field="actor")
    if e.bank_account == account:
        raise Conflict("新账号与登记的账号相同", "the account is the one on record already", field="bank_account",
                       code="unchanged")
    e.bank_account = account
    session.flush()
    trace.record(session, actor=actor, type="entity.bank_account", subject=f"entity:{e.uscc}", region=_region(e),
                 facts={"entity": e.id, "bank_account": trace.pii(session, account), "row": row_fact(session, e)},
                 at=at)
    return e
