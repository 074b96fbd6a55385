"""A matter's dossier (归档备查): every document of its path as JSON plus the ledger proofs, in one zip file.

The zip holds `dossier/*.json` (matter, meetings, reviews, notices, objections, run,
payments, events), `ledger-bundle.json` (the matter's ledger entries with inclusion
proofs, the checkpoint and the verifier key, as `daipin ledger verify-bundle` reads it)
and `manifest.json` (sha256 of every file). Renderers registered in `RENDERERS` may add
more files (the printable notice PDF, for instance) without this module knowing them.

Each document is made of row states exactly as the ledger entries digest them (personal
data only as salted digests; a payment line's bank reference masked to its last four
characters beside a salted digest of the whole), so `verify(path)` checks offline, with no database, that
every row in the zip is the one the latest ledger entry about it recorded, that every
event is an entry of the bundle, and that the bundle's proofs and signed checkpoint hold.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Run
from daipin.db.models.workflow import (
    Matter,
    MatterEvent,
    PaymentBatch,
    PaymentFile,
    PaymentLine,
)
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, NotFound
from daipin.services.matters import service as matters
from daipin.services.shared import rows

BUNDLE_NAME = "ledger-bundle.json"
MANIFEST_NAME = "manifest.json"

# Extra files for the zip: each takes (session, matter, documents) and returns {name: bytes}.
Renderer = Callable[[Session, Matter, dict[str, Any]], dict[str, bytes]]
RENDERERS: list[Renderer] = []


def _state(session: Session, obj: Any) -> dict[str, Any]:
    if isinstance(obj, Run):
        return rows.row_state(session, obj)
    return rows.workflow_row_state(session, obj)


def _event(e: MatterEvent) -> dict[str, Any]:
    return {"id": e.id, "matter_id": e.matter_id, "action": e.action, "from_state": e.from_state,
            "to_state": e.to_state, "actor": e.actor, "at": rows.utc(e.at).isoformat(), "ledger_index": e.ledger_index,
            "details": e.details}


def documents(session: Session, m: Matter) -> dict[str, Any]:
    """Every document of the matter's path, keyed by file name: the rows' states as the ledger digests them."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for obj in matters.path_rows(session, m):
        by_table.setdefault(obj.__table__.name, []).append(_state(session, obj))
    events = session.scalars(select(MatterEvent).where(MatterEvent.matter_id == m.id).order_by(MatterEvent.id)).all()
    docs: dict[str, Any] = {
        "matter.json": _state(session, m),
        "meetings.json": by_table.get("meetings", []),
        "reviews.json": by_table.get("reviews", []),
        "notices.json": by_table.get("notices", []),
        "objections.json": by_table.get("objections", []),
        "events.json": [_event(e) for e in events],
    }
    if by_table.get("runs"):
        docs["run.json"] = by_table["runs"][0]
    if by_table.get("payment_batches"):
        docs["payments.json"] = {"batch": by_table["payment_batches"][0], "lines": by_table.get("payment_lines", []),
                                 "files": by_table.get("payment_files", [])}
    return docs


def ledger_indices(session: Session, m: Matter) -> list[int]:
    """Every ledger entry about the matter, its run and its payments."""
    subjects = [f"matter:{m.id}"]
    if m.run_id:
        subjects.append(f"run:{m.run_id}")
    batch = session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
    if batch is not None:
        subjects.append(f"payment_batch:{batch.id}")
        line_ids = session.scalars(select(PaymentLine.id).where(PaymentLine.batch_id == batch.id)).all()
        subjects.extend(f"payment_line:{i}" for i in line_ids)
        file_ids = session.scalars(select(PaymentFile.id).where(PaymentFile.batch_id == batch.id)).all()
        subjects.extend(f"payment_file:{i}" for i in file_ids)
    from daipin.ledger import store

    county = store.route(session, m.region_code)  # the matter's entries are in its county's log
    stmt = (select(LedgerEntry.idx).where(LedgerEntry.county_code == county,
                                          or_(*(LedgerEntry.subject == s for s in subjects)))
            .order_by(LedgerEntry.idx))
    return [int(i) for i in session.scalars(stmt)]


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def export(session: Session, actor: Actor, matter_id: int, out: str | Path) -> dict[str, Any]:
    """Write the dossier zip; returns its manifest. Auditors may export; the public may not.

    The payment references in `payments.json` are masked for every role, auditors too: the file leaves the
    system and verifies offline only as the rows the ledger digests, so it has one form; an auditor reads a full
    reference on the matter's payments page, inside the access policy."""
    from daipin.ledger import bundle, store
    from daipin.services.matters.service import get_matter

    access.require(actor, "dossier.export", field="actor")
    m = get_matter(session, actor, matter_id)
    if not access.allowed(actor, "dossier.export", region=m.region_code):
        raise NotFound(f"事项 {matter_id} 不存在", f"matter {matter_id} not found", "matter_id")
    indices = ledger_indices(session, m)
    if not indices:
        raise Conflict("该事项没有账本记录", "the matter has no ledger entries", "matter_id")
    docs = documents(session, m)
    files: dict[str, bytes] = {f"dossier/{name}": _dump(body) for name, body in sorted(docs.items())}
    county = store.route(session, m.region_code)
    cp = store.latest_checkpoint(session, county)
    if cp is None or cp.size <= indices[-1]:
        # Steps taken in this same transaction are not under a checkpoint yet: sign one now
        # (it commits or rolls back with them).
        store.issue_checkpoint(session, county=county)
    proofs = bundle.export_bundle(session, indices, county=county)
    signed = store.latest_checkpoint(session, county)
    assert signed is not None
    store.record_witness(session, proofs["checkpoint"], f"dossier:matter:{m.id}", signed.at,
                         county=county)  # seen outside now
    files[BUNDLE_NAME] = json.dumps(proofs, ensure_ascii=False, indent=1).encode("utf-8")
    for render in RENDERERS:
        files.update(render(session, m, docs))
    manifest = {
        "matter": m.id,
        "kind": m.kind,
        "title": m.title,
        "state": m.state,
        "ledger_entries": indices,
        "checkpoint": {"size": proofs["size"], "root": proofs["root"], "key_id": proofs["key_id"]},
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(name, data)
        z.writestr(MANIFEST_NAME, _dump(manifest))
    return manifest


# ---------------------------------------------------------------- offline verification

# Which rows each document holds: (file, table, path inside the document or "" for the whole).
ROW_DOCUMENTS: tuple[tuple[str, str, str], ...] = (
    ("matter.json", "matters", ""),
    ("meetings.json", "meetings", "[]"),
    ("reviews.json", "reviews", "[]"),
    ("notices.json", "notices", "[]"),
    ("objections.json", "objections", "[]"),
    ("run.json", "runs", ""),
    ("payments.json", "payment_batches", "batch"),
    ("payments.json", "payment_lines", "lines[]"),
    ("payments.json", "payment_files", "files[]"),
)
DOSSIER_TABLES = frozenset(t for _, t, _ in ROW_DOCUMENTS)


@dataclass
class DossierReport:
    """What `verify` found; `problems` name the file, the row and the ledger entry."""

    matter: int | None = None
    size: int = 0
    root: str = ""
    key_id: str = ""
    entries_checked: int = 0
    rows_checked: int = 0
    events_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.entries_checked > 0


def _rows_in(doc: Any, where: str) -> Iterator[Any]:
    if where == "":
        yield doc
    elif where == "[]":
        yield from (doc if isinstance(doc, list) else [doc])
    elif where.endswith("[]"):
        inner = doc.get(where[:-2]) if isinstance(doc, Mapping) else None
        yield from (inner if isinstance(inner, list) else [inner])
    else:
        yield doc.get(where) if isinstance(doc, Mapping) else None


def _row_refs(facts: Any) -> list[dict[str, Any]]:
    """The `{"table", "id", "digest"}` records of an entry's facts (`row` and `rows`, as `store.row_fact` makes them)."""
    if not isinstance(facts, dict):
        return []
    refs = [facts["row"]] if isinstance(facts.get("row"), dict) else []
    if isinstance(facts.get("rows"), list):
        refs.extend(r for r in facts["rows"] if isinstance(r, dict))
    return [r for r in refs if {"table", "id", "digest"} <= set(r)]


def _same_time(a: Any, b: Any) -> bool:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(a)) == datetime.fromisoformat(str(b))
    except ValueError:
        return False


def is_dossier(path: str | Path) -> bool:
    """Whether `path` is a dossier zip (a manifest and the documents) rather than a bare ledger bundle."""
    p = Path(path)
    if not zipfile.is_zipfile(p):
        return False
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
    return MANIFEST_NAME in names or any(n.startswith("dossier/") for n in names)


def verify(path: str | Path, trusted_key: str | None = None) -> DossierReport:
    """Check a dossier zip offline (no database): manifest, ledger proofs, and every document against the ledger.

    Every row in a document must have the digest that the latest bundle entry about it
    recorded; every row an entry records must be in the documents; every event must be
    the bundle entry it points at. Never raises on a bad file: the report lists the problems.
    """
    from daipin.ledger import bundle, store

    report = DossierReport()
    p = Path(path)
    if not zipfile.is_zipfile(p):
        report.problems.append("不是档案压缩包 / not a dossier zip")
        return report
    with zipfile.ZipFile(p) as z:
        files = {name: z.read(name) for name in z.namelist()}

    def load(name: str) -> Any:
        try:
            return json.loads(files[name].decode("utf-8"))
        except KeyError:
            report.problems.append(f"{name}: 缺少该文件 / missing")
        except (ValueError, UnicodeDecodeError) as exc:
            report.problems.append(f"{name}: 不是JSON / not JSON: {exc}")
        return None

    manifest = load(MANIFEST_NAME)
    listed = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(listed, dict):
        for name, want in sorted(listed.items()):
            if name in files and hashlib.sha256(files[name]).hexdigest() != want:
                report.problems.append(f"{name}: 与清单记录的 sha256 不符 / differs from the manifest")
            elif name not in files:
                report.problems.append(f"{name}: 清单中的文件缺失 / listed in the manifest but missing")
        for name in sorted(set(files) - set(listed) - {MANIFEST_NAME}):
            report.problems.append(f"{name}: 不在清单中 / not in the manifest")
    elif manifest is not None:
        report.problems.append(f"{MANIFEST_NAME}: 没有文件清单 / no file list")
    report.matter = manifest.get("matter") if isinstance(manifest, dict) else None

    data = load(BUNDLE_NAME)
    if not isinstance(data, dict):
        return report
    proofs = bundle.verify_bundle(data, trusted_key=trusted_key)
    report.problems.extend(f"{BUNDLE_NAME}: {x}" for x in proofs.problems)
    report.size, report.root, report.key_id = proofs.size, proofs.root, proofs.key_id
    report.entries_checked = proofs.entries_checked
    bodies: dict[int, dict[str, Any]] = {}
    for e in data.get("entries") or []:
        try:
            bodies[int(e["index"])] = store.body_json(str(e["body"]).encode("utf-8"))
        except (KeyError, TypeError, ValueError):
            continue  # already reported by the bundle check
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for idx in sorted(bodies):
        for ref in _row_refs(bodies[idx].get("facts")):
            latest[(str(ref["table"]), str(ref["id"]))] = (idx, str(ref["digest"]))

    seen: set[tuple[str, str]] = set()
    for name, table, where in ROW_DOCUMENTS:
        fname = f"dossier/{name}"
        if fname not in files:
            continue
        doc = load(fname)
        for state in _rows_in(doc, where):
            if not isinstance(state, dict) or "id" not in state:
                report.problems.append(f"{fname}: {table} 记录格式不对 / a {table} row is malformed")
                continue
            key = (table, str(state["id"]))
            seen.add(key)
            report.rows_checked += 1
            recorded = latest.get(key)
            if recorded is None:
                report.problems.append(f"{fname}: {table}#{key[1]} 没有账本条目记录 / no ledger entry records this row")
            elif store.row_digest(state) != recorded[1]:
                report.problems.append(f"{fname}: {table}#{key[1]} 与账本条目 {recorded[0]} 记录的不符（文件被改动）"
                                       f" / differs from what ledger entry {recorded[0]} recorded (edited)")
    for (table, id_), (idx, _) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        if table in DOSSIER_TABLES and (table, id_) not in seen:
            report.problems.append(f"账本条目 {idx} 记录了 {table}#{id_}，档案中却没有 / ledger entry {idx} records "
                                   f"{table} row {id_} but the dossier lacks it")

    # Every file must be one this check reads: anything else (a file added, or one a renderer made that nothing
    # here can compare with the ledger) fails the dossier rather than riding along unchecked.
    checkable = {MANIFEST_NAME, BUNDLE_NAME, "dossier/events.json"} | {f"dossier/{name}" for name, _, _ in ROW_DOCUMENTS}
    for name in sorted(set(files) - checkable):
        report.problems.append(f"{name}: 无法核验的文件（不能与账本比对）/ a file this check cannot verify against the "
                               "ledger")

    subject = f"matter:{report.matter}"
    events = load("dossier/events.json") if "dossier/events.json" in files else []
    pointed: set[int] = set()
    for i, ev in enumerate(events if isinstance(events, list) else []):
        where_ = f"dossier/events.json[{i}]"
        if not isinstance(ev, dict):
            report.problems.append(f"{where_}: 记录格式不对 / malformed")
            continue
        pointer = ev.get("ledger_index")
        body = bodies.get(pointer) if isinstance(pointer, int) else None
        if body is None or not isinstance(pointer, int):
            report.problems.append(f"{where_}: 指向的账本条目 {pointer} 不在证据包中 / its ledger entry {pointer} "
                                   "is not in the bundle")
            continue
        facts: dict[str, Any] = body["facts"] if isinstance(body.get("facts"), dict) else {}
        details: dict[str, Any] = ev["details"] if isinstance(ev.get("details"), dict) else {}
        if (body.get("type") != f"matter.{ev.get('action')}" or body.get("subject") != subject
                or facts.get("to") != ev.get("to_state") or facts.get("from", "") != ev.get("from_state")
                or not _same_time(body.get("at"), ev.get("at"))
                or any(facts.get(k) != v for k, v in details.items())):
            report.problems.append(f"{where_}: 与账本条目 {pointer} 不符（文件被改动）/ differs from ledger entry "
                                   f"{pointer} (edited)")
            continue
        pointed.add(pointer)
        report.events_checked += 1
    for n, entry in sorted(bodies.items()):
        if str(entry.get("type", "")).startswith("matter.") and n not in pointed:
            if entry.get("subject") != subject:
                report.problems.append(f"账本条目 {n} 属于另一事项 / ledger entry {n} is about another matter")
            else:
                report.problems.append(f"账本条目 {n} 没有对应的办理记录 / ledger entry {n} has no event in the dossier")
    return report


def verify_text(report: DossierReport) -> str:
    """One line for a passing report."""
    return (f"档案核验通过 / dossier verified: matter {report.matter}, {report.rows_checked} rows, "
            f"{report.events_checked} events, {report.entries_checked} ledger entries at size {report.size} "
            f"root {report.root} key {report.key_id}")

