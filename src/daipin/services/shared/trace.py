"""The one door from services to the ledger: every state change that matters is recorded here.

Call `record(...)` in the same session (transaction) as the rows it describes.
Personal data must go in as `pii(session, value)` digests, never in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from daipin.domain.actors import Actor


def record(
    session: Session,
    *,
    actor: Actor,
    type: str,
    subject: str,
    region: str,
    facts: dict[str, Any],
    at: datetime,
) -> int:
    """Append one ledger entry describing a state change; returns its index."""
    from daipin.ledger.store import append

    return append(
        session, type=type, actor=f"{actor.role.value}:{actor.id}", region=region, subject=subject, facts=facts, at=at
    )


def pii(session: Session, value: str) -> str:
    """Salted digest of a piece of personal data, for ledger bodies."""
    from daipin.ledger.store import pii_digest

    return pii_digest(session, value)
