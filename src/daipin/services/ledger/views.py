"""Ledger status and verification for auditors and the district (read-only; nothing here writes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.domain.localtime import as_utc
from daipin.domain.roots import root_from_hex, root_text


def _check(actor: Actor) -> None:
    access.require(actor, "ledger.verify")


def _county(session: Session, actor: Actor) -> str | None:
    """The log an actor reads: its own county's (each county's ledger stands alone); the home log for the province
    and the operator."""
    from daipin.ledger import store

    return store.route(session, actor.region) if len(actor.region) >= 6 else None


def status(session: Session, actor: Actor) -> dict[str, Any]:
    from daipin.ledger import store

    _check(actor)
    info = store.info(session, _county(session, actor))
    cp = store.latest_checkpoint(session, info["county"])
    return {**info, "root": root_from_hex(info["root"]), "checkpoint": cp.note if cp else "", "checkpoint_at": as_utc(cp.at).isoformat() if cp else ""}


def verify(session: Session, actor: Actor) -> dict[str, Any]:
    """Recompute the root from every entry and check every signed checkpoint and the rows behind entries."""
    from daipin.ledger import verify as ledger_verify

    _check(actor)
    report = ledger_verify.verify_log(session, county=_county(session, actor))
    first = report.first_bad
    return {"ok": report.ok, "size": report.size, "root": root_text(report.root), "hash": report.hash_name,
            "checkpoints": report.checkpoints, "rows_checked": report.rows_checked,
            "first_bad": None if first is None else {"index": first.index, "reason_zh": first.reason_zh,
                                                    "reason_en": first.reason_en},
            "problems": len(report.problems)}


def inclusion(session: Session, actor: Actor, index: int, size: int | None = None) -> dict[str, Any]:
    from daipin.ledger import store

    _check(actor)
    return store.inclusion_proof(session, index, size, _county(session, actor))


def signing_key_problem() -> str | None:
    """Why this process could not sign the ledger's next checkpoint (the key missing or unreadable), or None: what
    a readiness check asks. It reads no ledger content, so it needs no actor."""
    from daipin.ledger import keys

    try:
        keys.load_signer()
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        return type(exc).__name__
    return None


def check_note(session: Session, typed: str, *, trusted_key: str | None = None) -> dict[str, Any]:
    """A checkpoint note read off paper (typed, or scanned from its QR code), checked two ways: its signature with
    the published key (or `trusted_key`), and its root against the ledger as it stands now at the note's size —
    a history rewritten since the paper was printed no longer has that root. Anyone may check: nothing private
    is read, only roots."""
    from daipin.ledger import keys, note, store

    try:
        text = note.from_paper(typed)
        origin = note.Checkpoint.parse(note.parse(text).text).origin
        counties = store.counties(session)
        named = [c for c in counties if store.require_log(session, c).origin == origin]
        log = store.require_log(session, named[0] if named else None)  # the county whose paper it is
        first = not counties or counties[0] == log.county_code
        key = trusted_key or keys.published_key(keys.county_dir(log.county_code, first=first)) or log.verifier_key
        cp = note.open_checkpoint(text, note.Verifier.parse(key), origin=log.origin)
    except note.NoteError as exc:
        raise InputError(f"检查点注记无法核验：{exc}", f"the checkpoint note does not verify: {exc}", "note") from exc
    size = store.tree_size(session, log.county_code)
    if cp.size > size:
        raise InputError(f"检查点的条目数 {cp.size} 大于账本现有条目数 {size}",
                         f"the checkpoint's size {cp.size} is beyond the ledger's {size}", "note")
    matches = cp.size == 0 or store.root_at(session, cp.size, log.county_code) == cp.root
    return {"ok": matches, "signature_ok": True, "origin": cp.origin, "size": cp.size, "root": root_text(cp.root),
            "ledger_size": size, "note": text}
