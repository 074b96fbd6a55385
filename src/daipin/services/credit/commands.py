"""The typed inputs of a credit listing's steps, shared by the API (its bodies), the pages (their forms) and the
command line (its options)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.supervision import CreditListing
from daipin.domain.actors import Actor
from daipin.services.credit import service as credit
from daipin.services.shared.commands import Command

Text = Annotated[str, Field(max_length=4000)]


class TakeEffect(Command):
    """认定生效: no fields; refused while the window is open or an objection is unanswered."""


class ProposeListing(Command):
    """拟列入失信名单告知: the entity, the reasons, the basis (and the rights, else the standard wording)."""

    entity: int = Field(ge=1, le=2**62)
    reasons: str = Field(min_length=1, max_length=2000)
    basis: str = Field(min_length=1, max_length=2000)
    rights: Text = ""


class ObjectToListing(Command):
    text: str = Field(min_length=1, max_length=4000)


class AnswerObjection(Command):
    upheld: bool
    answer: str = Field(min_length=1, max_length=4000)


class RepairListing(Command):
    rectification: str = Field(min_length=1, max_length=4000)


def listing_step(session: Session, actor: Actor, listing_id: int | None, command: Command, *,
                 at: datetime) -> CreditListing:
    """One step of a credit listing, by the command given (`take_effect` is a command of no fields)."""
    if isinstance(command, ProposeListing):
        return credit.propose_listing(session, actor, entity=command.entity, reasons=command.reasons,
                                      basis=command.basis, rights=command.rights, at=at)
    assert listing_id is not None
    if isinstance(command, ObjectToListing):
        return credit.object_to_listing(session, actor, listing_id, text=command.text, at=at)
    if isinstance(command, AnswerObjection):
        return credit.answer_objection(session, actor, listing_id, upheld=command.upheld, answer=command.answer,
                                       at=at)
    if isinstance(command, RepairListing):
        return credit.repair(session, actor, listing_id, rectification=command.rectification, at=at)
    return credit.take_effect(session, actor, listing_id, at=at)
