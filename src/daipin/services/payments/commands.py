"""The typed inputs of the payment steps: one line paid or failed, a failed line written off, a bank file's
format. The API's bodies, the payment page's forms and the command line's options."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.workflow import PaymentLine
from daipin.domain.actors import Actor
from daipin.services.payments import service as payments
from daipin.services.shared.commands import Command


class RecordPayment(Command):
    """登记支付结果: paid with the bank's receipt number (required), or failed with the bank's reason."""

    outcome: Literal["paid", "failed"]
    payment_ref: str = Field("", max_length=100)
    reason: str = Field("", max_length=400)


class WriteOff(Command):
    """核销: a failed line closed unpaid, with the reason and the decision (文号) that allowed it."""

    reason: str = Field(..., max_length=400)
    decision: str = Field(..., max_length=200)


class BankFileFormat(Command):
    """生成代发文件: xlsx or csv."""

    format: Literal["xlsx", "csv"] = "xlsx"


def record(session: Session, actor: Actor, line_id: int, command: RecordPayment, *, at: datetime,
           matter_id: int | None = None) -> PaymentLine:
    """Mark the line; `matter_id`, when the request names one (the matter's URL), must be the line's matter."""
    return payments.mark_paid(session, actor, line_id, at=at, payment_ref=command.payment_ref,
                              failed=command.outcome == "failed", reason=command.reason, matter_id=matter_id)


def write_off(session: Session, actor: Actor, line_id: int, command: WriteOff, *, at: datetime,
              matter_id: int | None = None) -> PaymentLine:
    return payments.write_off(session, actor, line_id, reason=command.reason, decision=command.decision, at=at,
                              matter_id=matter_id)


class Requeue(Command):
    """重新发起: a failed line paid again as a new line; the corrected account, when given, is recorded first."""

    bank_account: str = Field("", max_length=40)


def requeue(session: Session, actor: Actor, line_id: int, command: Requeue, *, at: datetime,
            matter_id: int | None = None) -> PaymentLine:
    """Record the corrected account in the registry (when given), then requeue the failed line, in one step."""
    from daipin.domain import access
    from daipin.services.registry import service as registry

    if command.bank_account.strip():
        access.require(actor, "payment.record", field="actor")
        line = payments.readable_line(session, actor, line_id)
        if line.household_id is not None and line.status == "failed":
            registry.set_bank_account(session, actor, line.household_id, command.bank_account, at)
    return payments.requeue(session, actor, line_id, at=at, matter_id=matter_id)
