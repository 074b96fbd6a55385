"""The typed inputs of maintaining a village's representatives, shared by the API (its bodies), the page (its
forms) and the command line (its options), and their handling. The village is named apart (the URL's code, the
command's argument)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.registry import VillageRepresentative
from daipin.domain.actors import Actor
from daipin.services.shared.commands import Command
from daipin.services.villages import service

RowId = Annotated[int, Field(ge=1, le=2**62)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]


class AddRepresentative(Command):
    """登记村民代表: a registered person of the village, from a day (to a day, when the term's end is known)."""

    person_id: RowId
    from_date: Day
    to_date: Day | None = None


class EndRepresentative(Command):
    """村民代表卸任: the last day served, and why (换届、辞职、迁出…)."""

    to_date: Day
    reason: str = Field(min_length=1, max_length=200)


def add(session: Session, actor: Actor, village_code: str, command: AddRepresentative, *,
        at: datetime) -> VillageRepresentative:
    return service.add_representative(session, actor, village_code, person_id=command.person_id,
                                      from_date=command.from_date, to_date=command.to_date, at=at)


def end(session: Session, actor: Actor, village_code: str, representative_id: int, command: EndRepresentative, *,
        at: datetime) -> VillageRepresentative:
    return service.end_representative(session, actor, village_code, representative_id, to_date=command.to_date,
                                      reason=command.reason, at=at)
