"""One decision per pool: at most one live matter decides a village's income of one year (the district's
allocation of a year, a village's roster of a year); a second draft is refused naming the first; the first is
withdrawn with reasons, before it executed, to draft another; the database itself holds the rule; payment
batches carry the same key, so two matters never pay one pool; of concurrent recordings of one payment line,
one wins. The races run in separate processes on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Run
from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import Conflict, InputError
from daipin.services.matters import service as wfs
from daipin.services.payments import service as payments
from daipin.services.runs import service as runs
from daipin.services.sample import service as sample
from tests.conftest import create_database, drop_database
from tests.integration.api_support import START, executed_allocation

CADRE_REGION = "231002001001"


def _sample_district(session: Session, keys_dir: str, rosters: int) -> None:
    """The sample district, its first `rosters` villages' rosters confirmed, with its keys in `keys_dir`."""
    from daipin.commands.web import confirm_rosters
    from daipin.ledger import store

    os.environ["DAIPIN_KEYS_DIR"] = keys_dir
    at = START - timedelta(days=60)
    store.ensure_log(session, at=at)
    sample.load_sample(session, SYSTEM_ACTOR, at)
    confirm_rosters(session, START, limit=rosters)


def _build_district(session: Session, keys_dir: str) -> dict[str, Any]:
    _sample_district(session, keys_dir, rosters=1)
    return {}


@pytest.fixture
def district(session: Session, tmp_path: Path) -> Session:
    """The sample district with the first village's roster confirmed (its allocation can be drafted): built by
    the services once per engine in this process, replayed after (tests/integration/world_cache.py)."""
    from tests.integration import world_cache

    world_cache.build(session, str(tmp_path / "keys"), _build_district, dict, name="one_pool_district")
    return session


def _draft(session: Session, actor: Actor = SYSTEM_ACTOR, title: str = "2025年度村集体收益分配",
           village: str = CADRE_REGION) -> Matter:
    doc = runs.build_village_allocation_document(session, village, sample.YEAR)
    return wfs.draft_matter(session, actor, kind="village_allocation", region=village, title=title, document=doc,
                            at=START, year=sample.YEAR)


def test_a_second_matter_for_one_pool_is_refused_naming_the_first(district: Session) -> None:
    first = _draft(district)
    assert first.pool_key == f"village_allocation:{CADRE_REGION}:{sample.YEAR}"
    entries = district.scalar(select(func.count()).select_from(LedgerEntry))
    with pytest.raises(Conflict) as refused:
        _draft(district, title="另一份分配方案")
    assert refused.value.code == "pool_taken" and refused.value.field == "year"
    assert f"#{first.id}" in refused.value.message_zh and "撤回" in refused.value.message_zh
    assert district.scalar(select(func.count()).select_from(LedgerEntry)) == entries  # nothing written
    assert district.scalar(select(func.count()).select_from(Matter).where(Matter.kind == "village_allocation")) == 1


def test_withdrawing_with_reasons_frees_the_pool_and_the_reasons_are_on_the_ledger(district: Session) -> None:
    first = _draft(district)
    with pytest.raises(InputError) as no_reason:
        wfs.withdraw(district, SYSTEM_ACTOR, first.id, reason="  ", at=START)
    assert no_reason.value.field == "reason"
    wfs.withdraw(district, SYSTEM_ACTOR, first.id, reason="测算口径有误，重新起草", at=START + timedelta(hours=1))
    assert first.state == "withdrawn" and first.pool_key is None
    entry = district.scalars(select(LedgerEntry).order_by(LedgerEntry.idx.desc())).first()
    assert entry is not None and entry.type == "matter.withdraw"
    body = json.loads(entry.body)
    assert body["facts"]["reason"] == "测算口径有误，重新起草"
    assert body["facts"]["pool"] == f"village_allocation:{CADRE_REGION}:{sample.YEAR}"
    second = _draft(district, title="重新起草的分配方案")
    assert second.pool_key == f"village_allocation:{CADRE_REGION}:{sample.YEAR}"
    with pytest.raises(Conflict):
        wfs.withdraw(district, SYSTEM_ACTOR, first.id, reason="再次撤回", at=START + timedelta(hours=2))


def test_a_matter_cannot_be_withdrawn_once_it_executed_and_its_pool_stays_paid(district: Session) -> None:
    m = executed_allocation(district, CADRE_REGION)
    with pytest.raises(Conflict):
        wfs.withdraw(district, SYSTEM_ACTOR, m.id, reason="想重新分配", at=START)
    with pytest.raises(Conflict) as refused:
        _draft(district, title="第二份")
    assert refused.value.code == "pool_taken"
    batch = district.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
    assert batch is not None and batch.pool_key == m.pool_key


def test_only_the_drafting_side_withdraws_and_only_in_its_own_region(district: Session) -> None:
    m = _draft(district)
    for actor in (Actor(id="a", role=Role.AUDITOR, region="231002"),
                  Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region="231002001"),
                  Actor(id="v", role=Role.VILLAGE_CADRE, region="231002001002")):
        with pytest.raises(Exception) as refused:
            wfs.withdraw(district, actor, m.id, reason="越权撤回", at=START)
        assert type(refused.value).__name__ in ("Forbidden", "NotFound")
    assert m.state == "draft"
    wfs.withdraw(district, Actor(id="c", role=Role.VILLAGE_CADRE, region=CADRE_REGION), m.id, reason="本村撤回",
                 at=START)
    assert m.state == "withdrawn"


@pytest.mark.edits_rows_behind_the_ledger
def test_the_database_itself_refuses_a_second_live_matter_and_a_second_batch_of_one_pool(district: Session) -> None:
    m = executed_allocation(district, CADRE_REGION)
    twin = Matter(**{c.key: getattr(m, c.key) for c in Matter.__table__.columns if c.key != "id"})
    with pytest.raises(IntegrityError), district.begin_nested():
        district.add(twin)
        district.flush()
    batch = district.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
    assert batch is not None
    # A matter of the same pool that slipped in before the key existed (pool_key empty) still cannot pay it.
    legacy = Matter(**{c.key: getattr(m, c.key) for c in Matter.__table__.columns
                       if c.key not in ("id", "pool_key", "run_id")})
    district.add(legacy)
    district.flush()
    run = district.get(Run, batch.run_id)
    assert run is not None
    with pytest.raises(Conflict) as refused:
        payments.create_batch(district, SYSTEM_ACTOR, legacy, run, at=START)
    assert refused.value.code == "pool_paid"


# ---------------------------------------------------------------- races between processes, on PostgreSQL

RACER = """
import json, sys, time
from daipin import bootstrap
bootstrap.configure()
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import DaipinError
from datetime import datetime, timezone
url, what, arg, start, name = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
reset_engine(make_engine(url))
at = datetime.fromisoformat(arg["at"])
while time.time() < start:
    time.sleep(0.001)
try:
    with session_scope() as s:
        if what == "draft":
            from daipin.services.matters import service as wfs
            m = wfs.draft_matter(s, SYSTEM_ACTOR, kind="village_allocation", region=arg["village"],
                                 title="并发起草 " + name, document=arg["document"], at=at, year=arg["year"])
        elif what == "bank_file":
            from daipin.services.payments import bankfiles
            bankfiles.bank_file(s, SYSTEM_ACTOR, arg["batch"], "csv", at=at)
        elif what == "return":
            from daipin.services.payments import bankfiles
            with open(arg["file"], "rb") as f:
                bankfiles.apply_return(s, SYSTEM_ACTOR, arg["batch"], "return.csv", f.read(), at=at)
        elif what == "write_off":
            from daipin.services.payments import service as payments
            payments.write_off(s, SYSTEM_ACTOR, arg["line"], reason="户已销户 " + name, decision="某乡〔2026〕1号",
                               at=at)
        else:
            from daipin.services.payments import service as payments
            line = arg["lines"][int(name)] if "lines" in arg else arg["line"]
            payments.mark_paid(s, SYSTEM_ACTOR, line, at=at, payment_ref=arg.get("ref") or "银行流水-" + name)
    print("ok")
except DaipinError as exc:
    print("refused:" + exc.code)
"""


def _build_pg_district(s: Session, keys_dir: str) -> dict[str, Any]:
    _sample_district(s, keys_dir, rosters=2)
    m = executed_allocation(s, CADRE_REGION)
    lines = list(s.scalars(select(PaymentLine.id).join(PaymentBatch).where(PaymentBatch.matter_id == m.id)
                           .order_by(PaymentLine.id)))
    assert len(lines) >= 4
    doc = runs.build_village_allocation_document(s, "231002001002", sample.YEAR)
    return {"line": lines[0], "lines": lines[:4], "document": doc}


@pytest.fixture
def pg_district(tmp_path: Path) -> Any:
    """A committed PostgreSQL database holding the sample district, one village's allocation executed."""
    from daipin.db.session import make_engine, reset_engine, session_scope

    url = create_database("postgresql", str(tmp_path))
    keys = str(tmp_path / "keys")
    os.environ["DAIPIN_KEYS_DIR"] = keys
    engine = make_engine(url)
    reset_engine(engine)
    try:
        from tests.integration import world_cache

        with session_scope() as s:  # built once per process, replayed after (tests/integration/world_cache.py)
            w = world_cache.build(s, keys, _build_pg_district, dict, name="one_pool_pg_district")
        yield {"url": url, "keys": keys, **w}
    finally:
        reset_engine(None)
        engine.dispose()
        drop_database(url)


def _race(ctx: dict[str, Any], what: str, arg: dict[str, Any], n: int = 4) -> list[str]:
    env = {**os.environ, "DAIPIN_DATABASE_URL": ctx["url"], "DAIPIN_KEYS_DIR": ctx["keys"]}
    start = time.time() + 3  # every process is up and waiting before any begins
    procs = [subprocess.Popen([sys.executable, "-c", RACER, ctx["url"], what, json.dumps(arg), str(start), str(i)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip().splitlines()[-1])
    return sorted(outs)


def test_of_four_processes_drafting_one_pool_at_once_one_wins(pg_district: dict[str, Any]) -> None:
    from daipin.db.session import session_scope

    at = (START + timedelta(hours=1)).isoformat()
    outs = _race(pg_district, "draft", {"village": "231002001002", "year": sample.YEAR,
                                        "document": pg_district["document"], "at": at})
    assert outs == ["ok"] + ["refused:pool_taken"] * 3
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Matter).where(
            Matter.region_code == "231002001002", Matter.kind == "village_allocation")) == 1


def test_of_four_processes_recording_one_payment_line_at_once_one_wins(pg_district: dict[str, Any]) -> None:
    from daipin.db.session import session_scope
    from daipin.ledger.verify import verify_log

    outs = _race(pg_district, "pay", {"line": pg_district["line"], "at": (START + timedelta(hours=2)).isoformat()})
    assert outs == ["ok"] + ["refused:already_paid"] * 3
    with session_scope() as s:
        paid = s.scalars(select(LedgerEntry).where(LedgerEntry.type == "payment.paid",
                                                   LedgerEntry.subject == f"payment_line:{pg_district['line']}"))
        assert len(list(paid)) == 1
        assert verify_log(s).ok


def test_of_four_processes_recording_one_serial_on_four_lines_at_once_one_keeps_it(
        pg_district: dict[str, Any]) -> None:
    """A bank serial names one payment: four processes recording the same serial on four different lines at
    once leave it on exactly one line, the others refused by name; the receipts table holds it once."""
    from daipin.db.models.workflow import PaymentReceipt
    from daipin.db.session import session_scope
    from daipin.ledger.verify import verify_log

    outs = _race(pg_district, "pay", {"lines": pg_district["lines"], "ref": "NX-2026-000731",
                                      "at": (START + timedelta(hours=2)).isoformat()})
    assert outs == ["ok"] + ["refused:duplicate_ref"] * 3
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(PaymentReceipt)
                        .where(PaymentReceipt.payment_ref == "NX-2026-000731")) == 1
        statuses = [s.get_one(PaymentLine, i).status for i in pg_district["lines"]]
        assert sorted(statuses) == ["paid", "pending", "pending", "pending"]
        paid = list(s.scalars(select(LedgerEntry).where(LedgerEntry.type == "payment.paid")))
        assert len(paid) == 1
        assert verify_log(s).ok


def test_of_four_processes_sending_one_batch_to_the_bank_at_once_one_sends_each_line(
        pg_district: dict[str, Any]) -> None:
    from daipin.db.session import session_scope
    from daipin.ledger.verify import verify_log

    with session_scope() as s:
        batch = s.get_one(PaymentLine, pg_district["line"]).batch_id
    outs = _race(pg_district, "bank_file", {"batch": batch, "at": (START + timedelta(hours=2)).isoformat()})
    assert outs == ["ok"] + ["refused:nothing_to_send"] * 3
    with session_scope() as s:
        assert {ln.status for ln in s.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch))} == {"sent"}
        files = list(s.scalars(select(LedgerEntry).where(LedgerEntry.type == "payment.file_out")))
        assert len(files) == 1
        assert verify_log(s).ok


def test_of_four_processes_applying_one_bank_return_at_once_one_settles_each_line(
        pg_district: dict[str, Any], tmp_path: Path) -> None:
    """A plain csv return is written while it is checked (`bankfiles._EarlyWrite`, a second thread under a
    savepoint): four processes applying the same return at once settle each line once — one applies it, the
    others find its lines settled and are refused whole — with one receipt per serial and one file in."""
    from daipin.db.models.workflow import PaymentFile, PaymentReceipt
    from daipin.db.session import session_scope
    from daipin.ledger.verify import verify_log
    from daipin.services.payments import bankfiles

    at = START + timedelta(hours=2)
    with session_scope() as s:
        batch = s.get_one(PaymentLine, pg_district["line"]).batch_id
        out = bankfiles.bank_file(s, SYSTEM_ACTOR, batch, "csv", at=at)
    rows = list(csv.reader(io.StringIO(out.data.decode("utf-8-sig"))))
    back = [[*rows[0], "状态", "失败原因", "流水号"]] + [[*r, "成功", "", f"YH-RACE-{r[0]}"] for r in rows[1:-1]]
    path = tmp_path / "return.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([*back, rows[-1]])
    outs = _race(pg_district, "return", {"batch": batch, "file": str(path), "at": (at + timedelta(hours=1)).isoformat()})
    assert outs == ["ok"] + ["refused:return_refused"] * 3
    with session_scope() as s:
        lines = list(s.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch)))
        assert {ln.status for ln in lines} == {"paid"} and len(lines) == len(back) - 1
        assert s.scalar(select(func.count()).select_from(PaymentReceipt)
                        .where(PaymentReceipt.payment_ref.like("YH-RACE-%"))) == len(lines)
        assert s.scalar(select(func.count()).select_from(PaymentFile).where(PaymentFile.direction == "in")) == 1
        assert len(list(s.scalars(select(LedgerEntry).where(LedgerEntry.type == "payment.file_in")))) == 1
        assert verify_log(s).ok


def test_of_four_processes_writing_off_one_failed_line_at_once_one_records_it(pg_district: dict[str, Any]) -> None:
    from daipin.db.session import session_scope
    from daipin.services.payments import service as payments

    at = START + timedelta(hours=2)
    with session_scope() as s:
        payments.mark_paid(s, SYSTEM_ACTOR, pg_district["line"], failed=True, reason="账户已销户", at=at)
    outs = _race(pg_district, "write_off", {"line": pg_district["line"], "at": (at + timedelta(hours=1)).isoformat()})
    assert outs == ["ok"] + ["refused:not_failed"] * 3
    with session_scope() as s:
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.type == "payment.written_off"))
        assert len(list(entries)) == 1
