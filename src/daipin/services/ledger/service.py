"""Writes of the ledger area: the province witnesses each county's checkpoints (LEDGER.md "Witnesses").

The province server reads a county's latest checkpoint, checks the county's signature with the county's published
key, proves the log consistent with the last checkpoint the province witnessed for that county (RFC 9162
consistency proof, checked against the root the province recorded, never against a root the database recomputes),
and only then cosigns it with the province's witness key and records it as witnessed. A checkpoint that is not
consistent (a history rewritten and re-signed, a log that shrank) is refused and nothing is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, NotFound
from daipin.ledger import keys as keystore
from daipin.ledger import merkle, note, store

WITNESS_SOURCE = "province"
WITNESSED_TYPE = "ledger.witnessed"


@dataclass(frozen=True)
class Witnessed:
    county: str
    size: int
    root: bytes
    since: int  # the size the province had witnessed before (0: the first time)
    note: str  # the county's checkpoint with the province's cosignature
    entry: int  # the county log's entry recording the witness


def _refuse(county: str, zh: str, en: str) -> Conflict:
    return Conflict(f"县 {county} 的检查点不能见证：{zh}", f"county {county}'s checkpoint cannot be witnessed: {en}",
                    field="county", code="witness_refused")


def last_witnessed(session: Session, county: str) -> store.Witness | None:
    """The largest checkpoint of `county` the province has witnessed."""
    mine = [w for w in store.witnesses(session, county) if w.source.startswith(WITNESS_SOURCE + ":")]
    return max(mine, key=lambda w: w.size) if mine else None


def witness_county(session: Session, actor: Actor, county: str, *, at: datetime,
                   keys_dir: str | None = None) -> Witnessed:
    """Prove `county`'s latest checkpoint consistent with the last one witnessed, cosign it and record it."""
    access.require(actor, "ledger.witness", region=county, field="county")
    log = store.require_log(session, county)
    cp = store.latest_checkpoint(session, county)
    if cp is None:
        raise NotFound(f"县 {county} 的账本没有检查点", f"county {county}'s ledger has no checkpoint", field="county")
    logs = store.counties(session)
    published = keystore.published_key(keystore.county_dir(county, keys_dir, first=logs[0] == county))
    if published is None:
        raise _refuse(county, "没有该县公布的公钥", "the county's published key is not here")
    try:
        opened = note.open_checkpoint(cp.note, note.Verifier.parse(published), origin=log.origin)
    except note.NoteError as exc:
        raise _refuse(county, f"签名无效 ({exc})", f"its signature does not verify ({exc})") from exc
    if opened.size != cp.size or opened.root != cp.root:
        raise _refuse(county, "记录的大小或根与签名内容不符", "its stored size or root differ from what was signed")
    before = last_witnessed(session, county)
    since = 0
    if before is not None:
        since = before.size
        if cp.size < before.size:
            raise _refuse(county, f"账本从已见证的 {before.size} 条缩减为 {cp.size} 条",
                          f"the log shrank from the witnessed {before.size} entries to {cp.size}")
        if before.size > 0:
            proof = store.consistency_proof(session, before.size, cp.size, county)
            try:
                merkle.verify_consistency(log.hasher, before.size, cp.size, [bytes.fromhex(h) for h in proof["path"]],
                                          before.root, cp.root)
            except merkle.ProofError as exc:
                raise _refuse(county, f"与已见证的检查点（{before.size} 条）不一致，历史已被改写",
                              f"it is not consistent with the witnessed checkpoint of size {before.size}: history "
                              f"was rewritten ({exc})") from exc
    witness = keystore.province_witness(keys_dir)
    cosignature = note.sign(note.parse(cp.note).text, witness).split("\n\n", 1)[1]
    cosigned = cp.note + cosignature
    w = store.record_witness(session, cosigned, f"{WITNESS_SOURCE}:{witness.verifier().key_id}", at, county=county)
    idx = store.append(session, type=WITNESSED_TYPE, actor=f"{actor.role.value}:{actor.id}", region=county,
                       subject=f"checkpoint:{cp.size}", county=county,
                       facts={"size": cp.size, "root": cp.root.hex(), "since": since,
                              "witness_key": str(witness.verifier())}, at=at)
    return Witnessed(county, w.size, w.root, since, cosigned, idx)
