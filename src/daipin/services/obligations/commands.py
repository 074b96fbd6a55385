"""The typed inputs of the obligation writes an official makes on a contract — a work record of an employment
contract, wages paid under it, a repayment of a revolving fund-support contract — shared by the API (its bodies)
and the contract page (its forms), and their handling: each hands its values to the one service that checks them
(an `InputError` naming the field), asks the access policy and writes the ledger entry. Money is typed in yuan on
a form and carried in whole fen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.obligations import FundRepayment, WagePayment
from daipin.db.models.registry import WorkRecord
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.services.contracts.service import get_contract, payee_region
from daipin.services.obligations import service
from daipin.services.registry import service as registry
from daipin.services.registry.commands import Day, Fen, FormCommand, Text


class RecordPayment(FormCommand):
    """登记实发工资或还款: the day paid, the amount (fen; yuan on a form), a note."""

    paid_on: Day
    amount_fen: Fen
    note: Text = ""


class RecordWork(FormCommand):
    """登记务工记录: the period worked and the days (or months, or pieces, in the contract's unit) in it."""

    period_start: Day
    period_end: Day
    days: Annotated[str, Field(max_length=12)] = ""


def record_wage_payment(session: Session, actor: Actor, contract_id: int, command: RecordPayment, *,
                        at: datetime) -> WagePayment:
    return service.record_wage_payment(session, actor, contract=contract_id, paid_on=command.paid_on,
                                       amount_fen=command.amount_fen, note=command.note, at=at)


def record_repayment(session: Session, actor: Actor, contract_id: int, command: RecordPayment, *,
                     at: datetime) -> FundRepayment:
    return service.record_repayment(session, actor, contract=contract_id, paid_on=command.paid_on,
                                    amount_fen=command.amount_fen, note=command.note, at=at)


def record_work(session: Session, actor: Actor, contract_id: int, command: RecordWork, *,
                at: datetime) -> WorkRecord:
    """A work record of an employment contract: its worker's household and person, the period and the days."""
    c = get_contract(session, contract_id)
    access.require(actor, "work.write", region=payee_region(session, c))  # 403 before any other answer
    if c.model != "employment" or c.payee_household_id is None:
        raise InputError(f"协议 {c.code} 不是务工协议", f"contract {c.code} is not an employment contract",
                         field="contract")
    return registry.record_work(session, actor, kind="employment", household_id=c.payee_household_id,
                                contract_id=c.id, person_id=c.person_id, period_start=command.period_start,
                                period_end=command.period_end, days=command.days, at=at)
