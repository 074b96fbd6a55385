"""Workflow rows behind ledger entries: `daipin ledger verify` names the entry when a matter, vote, review, notice,
objection or payment row is edited without one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.workflow import Matter, Meeting, Notice, Objection, PaymentBatch, PaymentLine, Review
from daipin.db.session import make_engine
from daipin.ledger.verify import verify_log
from daipin.services.matters import service as wf
from daipin.services.payments import service as payments
from daipin.services.shared import rows
from daipin.services.shared import trace as trace
from tests.integration.test_dossier import archived_matter
from tests.integration.test_workflow import CADRE, DAY, T0, confirm_roster, seed, to_notice

DAIPIN = str(Path(sys.executable).with_name("daipin"))


def latest_entry_about(session: Session, table: str, row_id: int) -> int:
    """The index of the last ledger entry whose facts record `table` row `row_id` (read from the bodies)."""
    found = -1
    for idx, body in session.execute(select(LedgerEntry.idx, LedgerEntry.body).order_by(LedgerEntry.idx)):
        facts = json.loads(bytes(body))["facts"]
        refs = ([facts["row"]] if isinstance(facts.get("row"), dict) else []) + list(facts.get("rows") or [])
        if any(r["table"] == table and r["id"] == str(row_id) for r in refs):
            found = int(idx)
    assert found >= 0, f"no entry records {table}#{row_id}"
    return found


def test_a_walked_and_archived_matter_verifies_with_every_workflow_row_checked(session: Session) -> None:
    matter_id = archived_matter(session)
    m = session.get(Matter, matter_id)
    assert m is not None
    batch = payments.batch_for_matter(session, matter_id)
    assert batch is not None
    assert {line.status for line in payments.lines(session, batch)} == {"paid"}  # paid before the announcement
    report = verify_log(session)
    assert report.ok, [str(p) for p in report.problems]
    # matters (the roster and the allocation), meetings, reviews, notices, objection, run, batch, 5 lines
    assert report.rows_checked >= 2 + 2 + 2 + 2 + 1 + 1 + 1 + 5
    # The archive seals every row of the path, the batch with it.
    assert latest_entry_about(session, "payment_batches", batch.id) == latest_entry_about(session, "matters", m.id)


TAMPERS: dict[str, tuple[Any, str, Any]] = {
    "matter": (Matter, "justification", "事后补写的说明"),
    "votes": (Meeting, "votes_for", 25),
    "review": (Review, "comments", "改过的审核意见"),
    "notice": (Notice, "window_days", 3),
    "objection": (Objection, "status", "upheld"),
    "payment batch": (PaymentBatch, "total_fen", 1),
    "payment line": (PaymentLine, "amount_fen", 999999),
}


@pytest.mark.edits_rows_behind_the_ledger
@pytest.mark.parametrize("what", list(TAMPERS))
def test_an_edited_workflow_row_is_named_by_the_latest_entry_about_it(session: Session, what: str) -> None:
    matter_id = archived_matter(session)
    model, column, value = TAMPERS[what]
    stmt = select(model.id).order_by(model.id.desc()).limit(1)
    if model is not PaymentLine and model is not PaymentBatch:
        stmt = stmt.where(model.matter_id == matter_id) if model is not Matter else stmt.where(model.id == matter_id)
    row_id = session.scalar(stmt)
    assert row_id is not None
    assert verify_log(session).ok
    expected = latest_entry_about(session, model.__tablename__, row_id)
    session.execute(update(model).where(model.id == row_id).values({column: value}))
    session.expire_all()
    report = verify_log(session)
    assert not report.ok
    first = report.first_bad
    assert first is not None and first.index == expected
    assert f"{model.__tablename__}#{row_id}" in first.reason_zh


@pytest.mark.edits_rows_behind_the_ledger
def test_edited_votes_are_named_by_the_decision_that_recorded_them(session: Session) -> None:
    ctx = seed(session)
    confirm_roster(session)
    m, _ = to_notice(session, ctx, T0 + 20 * DAY)
    decided = [e for e in wf.events(session, m) if e.action == "decide"][-1]
    meeting = wf.current_meeting(session, m)
    assert meeting is not None
    assert verify_log(session).ok
    session.execute(update(Meeting).where(Meeting.id == meeting.id).values(votes_for=20, votes_against=0))
    session.expire_all()
    report = verify_log(session)
    assert report.first_bad is not None and report.first_bad.index == decided.ledger_index
    assert "meetings#" in report.first_bad.reason_zh


@pytest.mark.edits_rows_behind_the_ledger
def test_a_deleted_objection_is_named_too(session: Session) -> None:
    ctx = seed(session)
    confirm_roster(session)
    m, t = to_notice(session, ctx, T0 + 20 * DAY)
    o = wf.file_objection(session, CADRE, m.id, text="名单有误", name="村民丙", contact="13900003333", at=t + DAY)
    filed = wf.events(session, m)[-1]
    assert filed.action == "file_objection"
    session.delete(o)
    session.flush()
    session.expire_all()
    report = verify_log(session)
    assert report.first_bad is not None and report.first_bad.index == filed.ledger_index
    assert "已被删除" in report.first_bad.reason_zh


def test_objector_name_and_contact_enter_row_digests_only_salted(session: Session) -> None:
    ctx = seed(session)
    confirm_roster(session)
    m, t = to_notice(session, ctx, T0 + 20 * DAY)
    o = wf.file_objection(session, CADRE, m.id, text="名单有误", name="村民丙", contact="13900003333", at=t + DAY)
    state = rows.workflow_row_state(session, o)
    assert state["contact"] != "13900003333" and state["contact"] == trace.pii(session, "13900003333")
    assert state["objector_name"] == trace.pii(session, "村民丙")
    assert "13900003333" not in json.dumps(state, ensure_ascii=False)


@pytest.fixture
def walked_db(fresh_db_url: str) -> Iterator[tuple[str, int]]:
    """A committed database holding an archived matter (for the command line in another process)."""
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        matter_id = archived_matter(s)
        s.commit()
    yield fresh_db_url, matter_id
    engine.dispose()


def ledger_verify(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAIPIN_DATABASE_URL": url}
    return subprocess.run([DAIPIN, "ledger", "verify"], capture_output=True, text=True, env=env, timeout=120)


def test_daipin_ledger_verify_in_a_new_process_names_an_edited_notice(walked_db: tuple[str, int]) -> None:
    url, matter_id = walked_db
    ok = ledger_verify(url)
    assert ok.returncode == 0, ok.stderr
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            notice_id = s.scalar(select(Notice.id).where(Notice.matter_id == matter_id))
            assert notice_id is not None
            expected = latest_entry_about(s, "notices", notice_id)
            s.execute(update(Notice).where(Notice.id == notice_id).values(ends_at=Notice.posted_at))
            s.commit()
    finally:
        engine.dispose()
    bad = ledger_verify(url)
    assert bad.returncode == 1
    assert f"first bad entry {expected}" in bad.stderr and f"notices#{notice_id}" in bad.stderr
