"""The typed input of recording one payment line (paid with the bank's reference, or failed with the reason)."""

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
    """登记支付结果: the API's body, the payment page's form, the command line's options."""

    outcome: Literal["paid", "failed"]
    payment_ref: str = Field("", max_length=100)
    reason: str = Field("", max_length=400)


def record(session: Session, actor: Actor, line_id: int, command: RecordPayment, *, at: datetime,
           matter_id: int | None = None) -> PaymentLine:
    """Mark the line; `matter_id`, when the request names one (the matter's URL), must be the line's matter."""
    return payments.mark_paid(session, actor, line_id, at=at, payment_ref=command.payment_ref,
                              failed=command.outcome == "failed", reason=command.reason, matter_id=matter_id)
