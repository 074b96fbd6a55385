"""The system's clock as the ledger keeps it: the real UTC time, plus — on a training database only — the offset
its `clock.advanced` entries have recorded.

A database is a training one when its log was created so: its origin ends in `/training` (`daipin demo`,
`daipin init --training`). The origin is in every signed checkpoint, so it cannot be changed afterwards without
breaking every signature; on any other database the offset is zero whatever the tables say, and a checkpoint is
never dated after the real time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry, LedgerLog

Clock = Callable[[], datetime]
TRAINING_SUFFIX = "/training"
ADVANCED = "clock.advanced"  # the ledger entry that moves a training database's clock


def system_time() -> datetime:
    """The machine's UTC time: the one clock of production."""
    return datetime.now(UTC)


def aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def training_origin(county: str) -> str:
    return f"daipin.{county}{TRAINING_SUFFIX}"


def is_training_origin(origin: str | None) -> bool:
    return bool(origin) and str(origin).endswith(TRAINING_SUFFIX)


def origin(session: Session) -> str | None:
    """The origin of the deployment's first ledger, None while the database has no ledger."""
    value = session.execute(select(LedgerLog.origin).order_by(LedgerLog.created_at, LedgerLog.county_code)
                            .limit(1)).scalar()
    return None if value is None else str(value)


def training(session: Session) -> bool:
    """Whether this database was created for demos and training (its ledger's origin says so)."""
    return is_training_origin(origin(session))


def offset(session: Session) -> timedelta:
    """How far a training database's clock has been advanced (zero on any other database)."""
    if not training(session):
        return timedelta(0)
    body = session.execute(select(LedgerEntry.body).where(LedgerEntry.type == ADVANCED)
                           .order_by(LedgerEntry.idx.desc()).limit(1)).scalar()
    if body is None:
        return timedelta(0)
    return timedelta(seconds=int(json.loads(bytes(body))["facts"]["offset_seconds"]))


def now(session: Session, clock: Clock = system_time) -> datetime:
    """The time the system records a step at: `clock` (the real time; tests inject one), plus the training offset."""
    return aware(clock()) + offset(session)


def latest_checkpoint_time(session: Session) -> datetime:
    """The latest a checkpoint signed now may be dated (naive UTC): the real time, plus a training offset."""
    return (system_time() + offset(session)).replace(tzinfo=None)
