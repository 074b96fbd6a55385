"""A matter's dossier: every document of the path plus ledger proofs, verifiable offline with no database."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.domain.errors import Forbidden
from daipin.services.dossiers import service as dossier
from daipin.services.matters import service as wf
from daipin.services.shared import trace as trace
from tests.integration.test_workflow import (
    AUDITOR,
    CADRE,
    DAY,
    PUBLIC,
    T0,
    TOWNSHIP,
    confirm_roster,
    draft_allocation,
    seed,
    through_meeting,
    through_review,
)

DAIPIN = str(Path(sys.executable).with_name("daipin"))


def archived_matter(session: Session, refs: dict[int, str] | None = None) -> int:
    """An allocation walked to its archive, every line paid (the n-th with `refs[n]` as its bank reference, if
    given, else `HD-<line id>`)."""
    ctx = seed(session)
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY)
    t = through_review(session, m.id, t)
    wf.publish_notice(session, CADRE, m.id, at=t)
    o = wf.file_objection(session, PUBLIC, m.id, text="请核实", name="村民乙", contact="13900002222", at=t + DAY)
    wf.answer_objection(session, TOWNSHIP, o.id, outcome="dismissed", reasons="已核实无误", at=t + 2 * DAY)
    wf.close_notice(session, CADRE, m.id, at=t + 10 * DAY)
    wf.execute(session, TOWNSHIP, m.id, at=t + 11 * DAY)
    from daipin.services.payments import service as payments

    batch = payments.batch_for_matter(session, m.id)
    assert batch is not None
    for n, ln in enumerate(payments.lines(session, batch)):  # the announcement waits for every line paid
        payments.mark_paid(session, TOWNSHIP, ln.id, payment_ref=(refs or {}).get(n, f"HD-{ln.id}"), at=t + 11 * DAY)
    wf.announce_result(session, CADRE, m.id, at=t + 12 * DAY)
    wf.archive(session, CADRE, m.id, at=t + 12 * DAY + timedelta(hours=1))
    return m.id


def verify_offline(path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a verifier in another process with no database and no keys: only the file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAIPIN_")}
    env["DAIPIN_DATABASE_URL"] = ""
    return subprocess.run([DAIPIN, *(command or ("ledger", "verify-bundle")), str(path)], capture_output=True,
                          text=True, env=env, cwd=path.parent, timeout=120)


def rewrite(src: Path, dst: Path, change: Callable[[dict[str, Any]], None], *, fix_manifest: bool = True) -> None:
    """Copy a dossier with one document changed; the manifest is recomputed, as a forger would."""
    with zipfile.ZipFile(src) as z:
        files = {n: z.read(n) for n in z.namelist()}
    docs = {n: json.loads(files[n]) for n in files if n.startswith("dossier/")}
    change(docs)
    for n, body in docs.items():
        files[n] = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    if fix_manifest:
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {n: hashlib.sha256(files[n]).hexdigest() for n in manifest["files"]}
        files["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)


def test_the_dossier_holds_every_document_and_verifies_offline(session: Session, tmp_path: Path) -> None:
    matter_id = archived_matter(session)
    out = tmp_path / "dossier.zip"
    manifest = dossier.export(session, AUDITOR, matter_id, out)
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        docs: dict[str, Any] = {n: json.loads(z.read(n)) for n in names if n.endswith(".json")}
    for name in ("matter", "meetings", "reviews", "notices", "objections", "events", "run", "payments"):
        assert f"dossier/{name}.json" in names
    assert "ledger-bundle.json" in names and "manifest.json" in names
    assert docs["dossier/matter.json"]["state"] == "archived"
    assert docs["dossier/run.json"]["output_digest"] == docs["dossier/matter.json"]["approved_preview_digest"]
    assert docs["dossier/payments.json"]["batch"]["total_fen"] == 1780000
    assert sum(ln["amount_fen"] for ln in docs["dossier/payments.json"]["lines"]) == 1780000
    objection = docs["dossier/objections.json"][0]
    assert objection["contact"] == trace.pii(session, "13900002222")
    assert objection["objector_name"] == trace.pii(session, "村民乙")
    everything = json.dumps(docs, ensure_ascii=False)
    assert "13900002222" not in everything and "13812345678" not in everything and "村民乙" not in everything
    bundle = docs["ledger-bundle.json"]
    assert [e["index"] for e in bundle["entries"]] == manifest["ledger_entries"]
    event_indices = {e["ledger_index"] for e in docs["dossier/events.json"]}
    assert event_indices <= set(manifest["ledger_entries"])
    types = {json.loads(e["body"])["type"] for e in bundle["entries"]}
    assert {"matter.draft", "matter.decide", "matter.approve", "matter.publish", "matter.execute",
            "run.village_allocation", "payment.batch", "matter.archive"} <= types

    ok = verify_offline(out)
    assert ok.returncode == 0, ok.stderr
    assert f"{len(manifest['ledger_entries'])} entries" in ok.stdout
    checked = verify_offline(out, "matter", "verify-dossier")
    assert checked.returncode == 0, checked.stderr
    assert f"matter {matter_id}" in checked.stdout and f"{len(docs['dossier/events.json'])} events" in checked.stdout


def test_a_tampered_dossier_fails_offline_verification(session: Session, tmp_path: Path) -> None:
    matter_id = archived_matter(session)
    out = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, matter_id, out)
    with zipfile.ZipFile(out) as z:
        files = {n: z.read(n) for n in z.namelist()}
    bundle = json.loads(files["ledger-bundle.json"])
    entry = bundle["entries"][-1]
    entry["body"] = entry["body"].replace('"matter.archive"', '"matter.archivE"')
    files["ledger-bundle.json"] = json.dumps(bundle, ensure_ascii=False).encode("utf-8")
    bad = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bad, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    result = verify_offline(bad)
    assert result.returncode == 1
    assert "FAILED" in result.stderr


def test_the_public_cannot_export_a_dossier(session: Session, tmp_path: Path) -> None:
    matter_id = archived_matter(session)
    with pytest.raises(Forbidden):
        dossier.export(session, PUBLIC, matter_id, tmp_path / "x.zip")


def _votes(d: dict[str, Any]) -> None:
    d["dossier/meetings.json"][-1]["votes_for"] = 25


def _amount(d: dict[str, Any]) -> None:
    d["dossier/payments.json"]["lines"][0]["amount_fen"] += 100


def _drop_meeting(d: dict[str, Any]) -> None:
    d["dossier/meetings.json"].pop()


def _objection(d: dict[str, Any]) -> None:
    d["dossier/objections.json"][0]["answer"] = "异议成立"


def _notice(d: dict[str, Any]) -> None:
    d["dossier/notices.json"][-1]["content"]["beneficiaries"][0]["amount_fen"] = 1


def _event(d: dict[str, Any]) -> None:
    d["dossier/events.json"][4]["to_state"] = "rejected"


def _drop_event(d: dict[str, Any]) -> None:
    del d["dossier/events.json"][5]


def _run(d: dict[str, Any]) -> None:
    d["dossier/run.json"]["output_json"]["households"]["H-001"] += 1


EDITS = {"votes": _votes, "payment amount": _amount, "dropped meeting": _drop_meeting, "objection answer": _objection,
         "notice content": _notice, "event": _event, "dropped event": _drop_event, "run output": _run}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_document_in_the_dossier_fails_offline_verification(
        session: Session, tmp_path: Path, edit: str) -> None:
    matter_id = archived_matter(session)
    out = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, matter_id, out)
    assert dossier.verify(out).ok
    bad = tmp_path / "edited.zip"
    rewrite(out, bad, EDITS[edit])
    report = dossier.verify(bad)
    assert not report.ok and report.entries_checked > 0
    # The bundle's proofs still hold: only the cross-check of the documents catches the edit.
    assert not any(p.startswith("ledger-bundle.json") for p in report.problems)
    assert not any("manifest" in p for p in report.problems)


def test_the_verify_dossier_command_fails_on_an_edited_document_with_no_database(
        session: Session, tmp_path: Path) -> None:
    matter_id = archived_matter(session)
    out = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, matter_id, out)
    bad = tmp_path / "edited.zip"
    rewrite(out, bad, _votes)
    result = verify_offline(bad, "matter", "verify-dossier")
    assert result.returncode == 1 and "FAILED" in result.stderr
    assert "dossier/meetings.json: meetings#" in result.stderr and "edited" in result.stderr
    untouched_manifest = tmp_path / "edited-no-manifest.zip"
    rewrite(out, untouched_manifest, _votes, fix_manifest=False)
    result = verify_offline(untouched_manifest, "matter", "verify-dossier")
    assert result.returncode == 1 and "differs from the manifest" in result.stderr


def test_a_dossier_exported_before_archive_verifies_too(session: Session, tmp_path: Path) -> None:
    ctx = seed(session)
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY, present=10, votes_for=10)  # no quorum: back to draft
    t = through_meeting(session, m.id, t)
    wf.submit_for_review(session, CADRE, m.id, at=t)
    out = tmp_path / "under-review.zip"
    dossier.export(session, AUDITOR, m.id, out)
    report = dossier.verify(out)
    assert report.ok, report.problems
    assert report.rows_checked == 3  # the matter and its two meetings
    with zipfile.ZipFile(out) as z:
        meetings = json.loads(z.read("dossier/meetings.json"))
    assert [x["quorum_met"] for x in meetings] == [False, True]


def test_a_payment_reference_is_masked_in_the_dossier_and_still_verifies(session: Session, tmp_path: Path) -> None:
    """The dossier shows a payment line's bank reference with its last four characters only (for every role,
    auditors too: the file leaves the system, and its rows must be what the ledger digests; the full reference is
    on the matter's payments page); the row state keeps a salted digest of the whole reference beside it."""
    from sqlalchemy import select

    from daipin.db.models.workflow import PaymentLine
    from daipin.ledger.verify import verify_log

    mid = archived_matter(session, refs={0: "NX-2026-6217000010012345678", 1: "B01"})
    lines = session.scalars(select(PaymentLine).order_by(PaymentLine.id)).all()
    out = tmp_path / "dossier.zip"
    dossier.export(session, AUDITOR, mid, out)
    with zipfile.ZipFile(out) as z:
        docs = json.loads(z.read("dossier/payments.json"))
        everything = "\n".join(z.read(n).decode("utf-8", errors="replace") for n in z.namelist())
    by_id = {row["id"]: row for row in docs["lines"]}
    assert by_id[lines[0].id]["payment_ref"] == "*" * 23 + "5678"
    assert by_id[lines[1].id]["payment_ref"] == "***"
    assert by_id[lines[0].id]["payment_ref_digest"] == trace.pii(session, "NX-2026-6217000010012345678")
    assert "6217000010012345678" not in everything and "NX-2026" not in everything
    assert by_id[lines[2].id]["payment_ref"].startswith("*") and "HD-" not in by_id[lines[2].id]["payment_ref"]
    report = dossier.verify(out)
    assert report.ok, report.problems
    # An edit of the reference behind the ledger is caught, though its last four characters stay the same.
    lines[0].payment_ref = "NX-2099-6217000010012345678"
    session.flush()
    session.expire_all()
    assert not verify_log(session).ok
    lines[0].payment_ref = "NX-2026-6217000010012345678"
    session.flush()
    session.expire_all()
    assert verify_log(session).ok


def test_a_payment_line_recorded_before_references_were_masked_still_verifies(session: Session) -> None:
    """An entry written when the row state kept the reference in clear still states its row; an edit is caught."""
    from sqlalchemy import select

    from daipin.db.models.workflow import PaymentLine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.ledger.verify import verify_log
    from daipin.services.shared import rows

    archived_matter(session)
    line = session.scalars(select(PaymentLine).order_by(PaymentLine.id)).first()
    assert line is not None
    line.payment_ref, line.status = "BANK-OLD-1", "paid"
    session.flush()
    earlier = rows.workflow_row_state(session, line, earlier=True)
    assert earlier["payment_ref"] == "BANK-OLD-1" and "payment_ref_digest" not in earlier
    trace.record(session, actor=SYSTEM_ACTOR, type="payment.paid", subject=f"payment_line:{line.id}",
                 region="231002001001", at=T0 + 60 * DAY,
                 facts={"row": store.row_fact("payment_lines", line.id, earlier)})
    session.expire_all()
    assert verify_log(session).ok
    line = session.get(PaymentLine, line.id)
    assert line is not None
    line.payment_ref = "BANK-OLD-2"
    session.flush()
    session.expire_all()
    report = verify_log(session)
    assert not report.ok and any("payment_lines" in p.reason_en for p in report.problems)
    line = session.get(PaymentLine, line.id)
    assert line is not None
    line.payment_ref = "BANK-OLD-1"
    session.flush()
