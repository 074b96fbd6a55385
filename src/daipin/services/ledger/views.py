"""Ledger status and verification for auditors and the district (read-only; nothing here writes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.localtime import as_utc


def _check(actor: Actor) -> None:
    access.require(actor, "ledger.verify")  # the whole ledger: one log for every county


def status(session: Session, actor: Actor) -> dict[str, Any]:
    from daipin.ledger import store

    _check(actor)
    info = store.info(session)
    cp = store.latest_checkpoint(session)
    return {**info, "checkpoint": cp.note if cp else "", "checkpoint_at": as_utc(cp.at).isoformat() if cp else ""}


def verify(session: Session, actor: Actor) -> dict[str, Any]:
    """Recompute the root from every entry and check every signed checkpoint and the rows behind entries."""
    from daipin.ledger import verify as ledger_verify

    _check(actor)
    report = ledger_verify.verify_log(session)
    first = report.first_bad
    return {"ok": report.ok, "size": report.size, "root": report.root.hex(), "hash": report.hash_name,
            "checkpoints": report.checkpoints, "rows_checked": report.rows_checked,
            "first_bad": None if first is None else {"index": first.index, "reason_zh": first.reason_zh,
                                                    "reason_en": first.reason_en},
            "problems": len(report.problems)}


def inclusion(session: Session, actor: Actor, index: int, size: int | None = None) -> dict[str, Any]:
    from daipin.ledger import store

    _check(actor)
    return store.inclusion_proof(session, index, size)


def signing_key_problem() -> str | None:
    """Why this process could not sign the ledger's next checkpoint (the key missing or unreadable), or None: what
    a readiness check asks. It reads no ledger content, so it needs no actor."""
    from daipin.ledger import keys

    try:
        keys.load_signer()
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        return type(exc).__name__
    return None
