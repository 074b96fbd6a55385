"""Offline bundles: chosen entries with inclusion proofs, the signed checkpoint and the public key, checkable with no database.

A bundle is a JSON object::

    {"format": "daipin-ledger-bundle/1", "hash": "sm3", "origin": "...",
     "verifier_key": "<name>+<hash>+<key>", "key_id": "1a2b3c4d",
     "checkpoint": "<signed note>", "size": 120, "root": "<hex>",
     "entries": [{"index": 7, "body": "<canonical JSON text>", "leaf_hash": "<hex>", "path": ["<hex>", ...]}]}

`body` is the entry's exact bytes as UTF-8 text (bodies are canonical JSON). The
bundle carries its own key for convenience; an auditor pins the key they trust
(`verify_bundle(data, trusted_key=...)`, `daipin ledger verify-bundle --key`), e.g.
the key id printed on a notice.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.domain.errors import InputError, NotFound
from daipin.ledger import merkle, note, store

FORMAT = "daipin-ledger-bundle/1"
MEMBER_NAMES = ("ledger-bundle.json", "bundle.json")


def export_bundle(session: Session, indices: Iterable[int] | None = None, *, size: int | None = None,
                  county: str | None = None) -> dict[str, Any]:
    """The bundle of entries `indices` of `county`'s log (the home log by default; every entry when None), proven
    against the latest checkpoint.

    `size` picks an earlier checkpoint instead. Indices must lie below the checkpoint's
    size. This is what a dossier embeds.
    """
    log = store.require_log(session, county)
    county = log.county_code
    cp = store.latest_checkpoint(session, county) if size is None else store.checkpoint_at(session, size, county)
    if cp is None:
        raise NotFound(f"没有大小为 {size} 的检查点", f"there is no checkpoint of size {size}", field="size")
    wanted = sorted(set(range(cp.size) if indices is None else indices))
    for i in wanted:
        if not 0 <= i < cp.size:
            raise InputError(f"条目 {i} 不在检查点（{cp.size} 条）之内", f"entry {i} is not covered by the checkpoint "
                             f"of size {cp.size}", field="indices")
    bodies: dict[int, bytes] = {}
    conn = session.connection()
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        for idx, body in conn.execute(select(store.E.c.idx, store.E.c.body).where(store.E.c.county_code == county,
                                                                                store.E.c.idx.in_(part))):
            bodies[int(idx)] = bytes(body)
    entries = []
    for i in wanted:
        proof = store.inclusion_proof(session, i, cp.size, county)
        entries.append({"index": i, "body": bodies[i].decode("utf-8"), "leaf_hash": proof["leaf_hash"],
                        "path": proof["path"]})
    verifier = log.verifier
    return {"format": FORMAT, "hash": log.hash_name, "origin": log.origin, "verifier_key": log.verifier_key,
            "key_id": verifier.key_id, "checkpoint": cp.note, "size": cp.size, "root": cp.root.hex(),
            "entries": entries}


@dataclass
class BundleReport:
    size: int = 0
    root: str = ""
    key_id: str = ""
    origin: str = ""
    entries_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.size > 0


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a hex string")
    return bytes.fromhex(value)


def verify_bundle(data: Mapping[str, Any], trusted_key: str | None = None) -> BundleReport:
    """Check a bundle offline; every problem is listed, nothing raises on bad input."""
    report = BundleReport()
    if data.get("format") != FORMAT:
        report.problems.append(f"不是账本证据包 / not a ledger bundle (format {data.get('format')!r})")
        return report
    try:
        hasher = merkle.Hasher(str(data.get("hash")))
    except merkle.HashUnavailable as exc:
        report.problems.append(str(exc))
        return report
    try:
        verifier = note.Verifier.parse(trusted_key or str(data.get("verifier_key")))
    except note.NoteError as exc:
        report.problems.append(f"公钥无效 / bad verifier key: {exc}")
        return report
    if trusted_key and str(data.get("verifier_key", "")).strip() != str(verifier):
        report.problems.append("证据包所带公钥与信任的公钥不同 / the bundle's key is not the trusted key")
    report.key_id = verifier.key_id
    try:
        cp = note.open_checkpoint(str(data.get("checkpoint")), verifier, origin=str(data.get("origin")))
    except note.NoteError as exc:
        report.problems.append(f"检查点签名无效 / checkpoint does not verify: {exc}")
        return report
    report.size, report.root, report.origin = cp.size, cp.root.hex(), cp.origin
    if data.get("size") != cp.size or data.get("root") != cp.root.hex():
        report.problems.append("证据包声明的大小或根与签名检查点不符 / declared size or root differ from the checkpoint")
    entries = data.get("entries")
    if not isinstance(entries, list):
        report.problems.append("证据包没有条目列表 / the bundle has no entry list")
        return report
    for n, e in enumerate(entries):
        where = f"entries[{n}]"
        try:
            if not isinstance(e, Mapping):
                raise ValueError("not an object")
            index = e.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise ValueError("index is not an integer")
            body = str(e.get("body")).encode("utf-8")
            leaf = hasher.leaf(body)
            if leaf != _hex(e.get("leaf_hash"), "leaf_hash"):
                raise ValueError("body does not hash to its leaf hash (changed body)")
            if store.body_json(body).get("index") != index:
                raise ValueError("body names another index")
            path = e.get("path")
            if not isinstance(path, list):
                raise ValueError("path is not a list")
            merkle.verify_inclusion(hasher, index, cp.size, leaf, [_hex(p, "path") for p in path], cp.root)
        except (ValueError, merkle.ProofError) as exc:
            report.problems.append(f"{where} (条目 entry {e.get('index') if isinstance(e, Mapping) else '?'}): {exc}")
            continue
        report.entries_checked += 1
    return report


def write_bundle(data: Mapping[str, Any], path: str | Path) -> None:
    """Write as JSON, or as a zip holding `ledger-bundle.json` when the name ends in .zip."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    p = Path(path)
    if p.suffix.lower() == ".zip":
        with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MEMBER_NAMES[0], text)
    else:
        p.write_text(text, encoding="utf-8")


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Read a bundle from JSON or from a zip (a dossier) that holds one."""
    p = Path(path)
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            for name in [n for n in names if n.rsplit("/", 1)[-1] in MEMBER_NAMES] + names:
                if not name.endswith(".json"):
                    continue
                try:
                    data = json.loads(zf.read(name).decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(data, dict) and data.get("format") == FORMAT:
                    return data
                if isinstance(data, dict) and isinstance(data.get("ledger"), dict):
                    return dict(data["ledger"])
        raise InputError("压缩包里没有账本证据包", "no ledger bundle inside the zip", field="file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"证据包不是JSON: {exc}", f"the bundle is not JSON: {exc}", field="file") from exc
    if isinstance(data, dict) and data.get("format") != FORMAT and isinstance(data.get("ledger"), dict):
        return dict(data["ledger"])  # a dossier document embedding its bundle under "ledger"
    if not isinstance(data, dict):
        raise InputError("证据包应为JSON对象", "the bundle must be a JSON object", field="file")
    return data


def verify_file(path: str | Path, trusted_key: str | None = None) -> BundleReport:
    """Check a bundle file (JSON, or a zip holding only the bundle) offline. Anything in the file besides the bundle
    is something this check cannot verify, so it fails the file rather than passing unchecked."""
    p = Path(path)
    report = BundleReport()
    extra: list[str] = []
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as zf:
                names = zf.namelist()
            if len(names) != 1 or names[0].rsplit("/", 1)[-1] not in MEMBER_NAMES:
                extra = [n for n in names if n.rsplit("/", 1)[-1] not in MEMBER_NAMES] or names[1:]
            data = load_bundle(p)
        else:
            data = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                report.problems.append("不是账本证据包；其中的其他内容无法核验 / not a ledger bundle; what else it "
                                       "holds cannot be verified")
                return report
    except (InputError, OSError, ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        report.problems.append(f"无法读取 / cannot read: {exc}")
        return report
    report = verify_bundle(data, trusted_key=trusted_key)
    report.problems.extend(f"{n}: 无法核验的文件 / a file this check cannot verify" for n in extra)
    return report
