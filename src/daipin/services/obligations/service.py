"""Recording wages paid (R1.3) and fund-support repayments (R1.1); each write is a row and its ledger entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from daipin.db.models.obligations import FundRepayment, WagePayment
from daipin.db.models.registry import Contract
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.services.contracts.service import get_contract, payee_region
from daipin.services.registry.service import get_household
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import as_date, money, not_future
from daipin.services.shared.rows import row_fact


def _amount(value: Any, field: str, zh: str) -> int:
    amount = money(value, field, zh)
    if amount <= 0:
        raise InputError(f"{zh}应大于零", f"{field} must be positive", field=field)
    return amount


def _note(value: Any) -> str:
    return freetext.text(value, "note", "备注", "note", 200, required=False) or ""


def _contract(session: Session, contract: int | str) -> Contract:
    if contract is None or (isinstance(contract, str) and not contract.strip()):
        raise InputError("缺少协议", "missing contract", field="contract")
    try:
        return get_contract(session, contract)
    except NotFound as exc:
        raise InputError(f"协议 {contract} 不存在", f"contract {contract} not found", field="contract") from exc


def _of_model(c: Contract, model: str) -> Contract:
    if c.model != model:
        zh = "务工协议" if model == "employment" else "资金扶持协议"
        raise InputError(f"协议 {c.code} 不是{zh}", f"contract {c.code} is not a {model} contract", field="contract")
    return c


def record_wage_payment(session: Session, actor: Actor, *, contract: int | str, paid_on: Any, amount_fen: Any,
                        at: datetime, note: str = "") -> WagePayment:
    """Wages the entity paid the worker of an employment contract on a day (not after today)."""
    c = _contract(session, contract)
    access.require(actor, "wage.record", region=payee_region(session, c))  # 403 before any other answer
    _of_model(c, "employment")
    day = not_future(as_date(paid_on, "paid_on", "发放日期"), at, "paid_on", "发放日期")
    amount = _amount(amount_fen, "amount_fen", "实发工资")
    text = _note(note)
    if day < c.start_date:
        raise InputError(f"发放日期早于协议起始日期 {c.start_date.isoformat()}", "paid before the contract started",
                         field="paid_on")
    assert c.payee_household_id is not None
    hh = get_household(session, c.payee_household_id)
    w = WagePayment(contract_id=c.id, household_id=hh.id, county_code=c.county_code, paid_on=day, amount_fen=amount,
                    note=text, recorded_at=at, actor=f"{actor.role.value}:{actor.id}")
    session.add(w)
    trace.record(session, actor=actor, type="wage.paid", subject=f"contract:{c.code}", region=hh.village_code,
                 facts={"paid_on": day.isoformat(), "amount_fen": amount, "note": text, "row": row_fact(session, w)},
                 at=at)
    return w


def record_repayment(session: Session, actor: Actor, *, contract: int | str, paid_on: Any, amount_fen: Any,
                     at: datetime, note: str = "") -> FundRepayment:
    """A repayment of a revolving fund-support contract; the total repaid may not exceed the amount supported."""
    from daipin.services.obligations.views import repaid_total

    c = _contract(session, contract)
    access.require(actor, "repayment.record", region=payee_region(session, c))  # 403 before any other answer
    _of_model(c, "fund_support")
    if c.terms.get("support_type") != "revolving":
        raise Conflict("无偿扶持资金无需归还", "a grant is not repaid", field="contract", code="not_revolving")
    day = not_future(as_date(paid_on, "paid_on", "还款日期"), at, "paid_on", "还款日期")
    amount = _amount(amount_fen, "amount_fen", "还款金额")
    text = _note(note)
    if day < c.start_date:
        raise InputError(f"还款日期早于协议起始日期 {c.start_date.isoformat()}", "repaid before the contract started",
                         field="paid_on")
    region = payee_region(session, c)
    already = repaid_total(session, c)
    if already + amount > int(c.terms["amount_fen"]):
        raise InputError("累计还款超过扶持金额", "the repayments would exceed the amount supported",
                         field="amount_fen")
    r = FundRepayment(contract_id=c.id, county_code=c.county_code, paid_on=day, amount_fen=amount, note=text,
                      recorded_at=at, actor=f"{actor.role.value}:{actor.id}")
    session.add(r)
    trace.record(session, actor=actor, type="fund.repayment", subject=f"contract:{c.code}", region=region,
                 facts={"paid_on": day.isoformat(), "amount_fen": amount, "note": text, "row": row_fact(session, r)},
                 at=at)
    return r
