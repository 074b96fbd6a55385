"""The synthetic province (`daipin sample province`) and closing a year (`daipin year close`).

A small province, the same code as the default one: it loads through the import's bulk path on SQLite and
PostgreSQL, its ID numbers and credit codes are valid, the same seed gives the same data on either database, the
ledger verifies; a year close runs every settlement and allocation once and drafts every village's allocation matter
once (the province's rosters are confirmed), a rerun adds nothing, and a close killed midway (PostgreSQL, worker
processes) continues without doubling when started again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity, Person, Run
from daipin.db.models.workflow import Matter
from daipin.db.models.yearclose import YearCloseProgress
from daipin.db.session import make_engine
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import Forbidden, InputError
from daipin.domain.identity import parse_resident_id, validate_uscc
from daipin.ledger import store
from daipin.ledger.verify import verify_log
from daipin.services.sample import province as prov
from daipin.services.yearclose import service as yc
from tests.conftest import create_database, drop_database

AT = datetime(2026, 3, 1, 2, tzinfo=UTC)
YEAR = 2025
SMALL = prov.ProvinceSize(counties=2, townships=4, villages=12, households=240, people=800, entities=8, contracts=160,
                          events=6)


def _load(url: str, seed: int = 11, size: prov.ProvinceSize = SMALL) -> prov.Loaded:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            store.ensure_log(s, at=AT)
            loaded = prov.load_province(s, SYSTEM_ACTOR, AT, seed=seed, year=YEAR, size=size)
            s.commit()
        return loaded
    finally:
        engine.dispose()


def _digest(url: str) -> str:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return prov.data_digest(s)
    finally:
        engine.dispose()


def test_small_province_loads_valid_and_verifies(fresh_db_url: str) -> None:
    loaded = _load(fresh_db_url)
    assert loaded.counties == ["231002", "231003"]
    assert loaded.counts["households"] == 240 and loaded.counts["people"] == 800
    assert loaded.counts["contracts"] == 160 and loaded.counts["plans"] == 12 * prov.YEARS
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine) as s:
            people = s.execute(select(Person.id_number, Person.birth_date, Person.sex, Person.county_code)).all()
            assert len(people) == 800
            for number, birth, sex, county in people:
                rid = parse_resident_id(number, today=AT.date())
                assert (rid.birth_date, rid.sex) == (birth, sex)
                assert number[:6] == county  # the county's own region code
            assert len({p[0] for p in people}) == 800
            codes = list(s.scalars(select(Entity.uscc)))
            assert len(codes) == 8 and all(validate_uscc(c) == c for c in codes)
            models = set(s.scalars(text("SELECT DISTINCT model FROM contracts")))
            assert models == {"order_purchase", "fund_support", "trusteeship", "employment", "shareholding",
                              "equity_dividend", "asset_lease", "fixed_interest"}
            # Every entry is in the region of one county (a ledger per county takes them as they are).
            regions = set(s.scalars(text("SELECT DISTINCT substr(region, 1, 6) FROM ledger_entry WHERE region <> ''")))
            assert regions <= {"231002", "231003"}
            # ... and each county's rows are stated in that county's own log, never in another's.
            assert store.counties(s) == ["231002", "231003"]
            placed = s.execute(text("SELECT county_code, substr(region, 1, 6), count(*) FROM ledger_entry "
                                    "WHERE type = 'province.rows' GROUP BY county_code, substr(region, 1, 6)")).all()
            assert {(c, r) for c, r, _ in placed} == {("231002", "231002"), ("231003", "231003")}
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
            assert report.rows_checked > 160 and report.rows_unchecked == 0
    finally:
        engine.dispose()


def test_small_provinces_payments_add_up_to_the_fen_and_verify(fresh_db_url: str) -> None:
    """The paid history: each earlier year's allocations and instalments decided, executed and paid; every batch
    pays its run's distributed total to the fen, the engine gives each run's output again from its input, each paid
    line's serial is held unique, the ledger verifies, and an edited payment line is named."""
    from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine, PaymentReceipt
    from daipin.domain.canonical import digest
    from daipin.domain.engine import calculate
    from daipin.services.payments import service as payments

    loaded = _load(fresh_db_url)
    assert loaded.counts["payment_lines"] == SMALL.lines == 2400
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine) as s:
            if s.get_bind().dialect.name == "postgresql":  # the history's pages packed whole, the table's room back
                assert s.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'payment_lines'")).scalar() \
                    == ["fillfactor=20"]
            lines = list(s.scalars(select(PaymentLine)))
            assert len(lines) == 2400
            by_batch: dict[int, list[PaymentLine]] = {}
            for ln in lines:
                by_batch.setdefault(ln.batch_id, []).append(ln)
            batches = list(s.scalars(select(PaymentBatch)))
            assert len(batches) == len(by_batch) == loaded.counts["payment_batches"]
            for b in batches:
                run = s.get(Run, b.run_id)
                matter = s.get(Matter, b.matter_id)
                assert run is not None and matter is not None and matter.run_id == run.id
                assert matter.state == "archived" and matter.archived_at is not None
                assert calculate(run.input_json) == run.output_json  # the engine's own result
                assert (run.input_digest, run.output_digest) == (digest(run.input_json), digest(run.output_json)) == (
                    matter.approved_document_digest, matter.approved_preview_digest)
                live = [ln for ln in by_batch[b.id] if ln.status != "requeued"]
                assert sum(ln.amount_fen for ln in live) == b.total_fen == payments.distributed_total(run)
                parts = payments.pool_parts(run)
                assert parts["pool_fen"] == run.input_json["pool_fen"] == (
                    parts["distributed_fen"] + parts["retained_fen"] + parts["undistributed_fen"])
                assert sorted((ln.payee_ref, ln.amount_fen) for ln in live) == [
                    (r, a) for _, r, a in payments.payable_lines(run)]
                assert b.status == ("settled" if any(ln.status == "written_off" for ln in live) else "paid")
                assert b.pool_key == (matter.pool_key or f"matter:{matter.id}")
            # A village's allocation of each earlier year (the last is left to the year close), paid once.
            kinds = s.execute(text("SELECT kind, year, count(*) FROM matters GROUP BY kind, year ORDER BY kind, year"))
            assert [tuple(r)[:2] for r in kinds] == [("beneficiary_roster", YEAR),  # the last year's rosters
                                                     ("township_project", YEAR - 2), ("township_project", YEAR - 1),
                                                     ("village_allocation", YEAR - 2), ("village_allocation", YEAR - 1)]
            assert s.scalar(text("SELECT count(*) FROM matters WHERE kind = 'village_allocation'")) == 12 * 2
            statuses = {ln.status for ln in lines}
            assert statuses == {"paid", "requeued", "written_off"}
            for ln in lines:
                if ln.status == "requeued":
                    retry = next(r for r in by_batch[ln.batch_id] if r.retry_of == ln.id)
                    assert retry.status == "paid" and retry.amount_fen == ln.amount_fen and retry.attempt == 2
                    assert retry.account_digest != ln.account_digest  # paid again to the corrected account
            paid = {ln.id: ln.payment_ref for ln in lines if ln.status == "paid"}
            receipts = {r.line_id: r.payment_ref for r in s.scalars(select(PaymentReceipt))}
            assert receipts == paid and len(set(paid.values())) == len(paid)
            # Amounts a household is paid a year: a few hundred to a few thousand yuan.
            yearly = s.execute(text(
                "SELECT l.household_id, m.year, sum(l.amount_fen) FROM payment_lines l "
                "JOIN payment_batches b ON b.id = l.batch_id JOIN matters m ON m.id = b.matter_id "
                "WHERE l.status = 'paid' GROUP BY l.household_id, m.year")).all()
            assert all(60_00 <= total <= 30_000_00 for _, _, total in yearly)
            assert 300_00 <= sum(t for _, _, t in yearly) // len(yearly) <= 5_000_00
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
            assert report.rows_unchecked == 0 and report.rows_checked > 2400
            target = lines[len(lines) // 2]
            s.execute(text("UPDATE payment_lines SET amount_fen = amount_fen + 1 WHERE id = :i"), {"i": target.id})
            s.commit()
            report = verify_log(s)
            assert not report.ok
            assert [p.reason_en for p in report.problems] == [
                f"payment_lines row {target.id} was edited after entry {report.problems[0].index} recorded it, "
                "without a new entry"]
    finally:
        engine.dispose()


def test_same_seed_same_data_on_either_database(fresh_db_url: str, tmp_path: Path) -> None:
    _load(fresh_db_url, seed=5)
    other = create_database("sqlite", str(tmp_path))
    third = create_database("sqlite", str(tmp_path))
    try:
        _load(other, seed=5)
        _load(third, seed=6)
        assert _digest(fresh_db_url) == _digest(other)
        assert _digest(third) != _digest(other)
    finally:
        drop_database(other)


def test_sizes_refused_by_name() -> None:
    with pytest.raises(InputError) as e:
        prov.ProvinceSize(counties=2, townships=1).check()
    assert e.value.field == "townships"
    with pytest.raises(InputError) as e:
        prov.ProvinceSize(counties=99).check()
    assert e.value.field == "counties"


def _counts(s: Session) -> tuple[int, int, int]:
    """Runs of the closed year, the progress rows of the steps that run (settle, allocate), and distinct runs."""
    runs = s.scalar(select(func.count()).select_from(Run).where(Run.year == YEAR)) or 0
    progress = s.scalar(select(func.count()).select_from(YearCloseProgress)
                        .where(YearCloseProgress.step != "draft")) or 0
    distinct = s.scalar(text("SELECT count(*) FROM (SELECT DISTINCT kind, subject, year FROM runs "
                             f"WHERE year = {YEAR}) AS d")) or 0
    return runs, progress, distinct


def _drafts(s: Session) -> tuple[int, int, int]:
    """Village allocation matters of the closed year, distinct pools they hold, and the draft step's progress rows
    (the earlier years' allocations are the paid history)."""
    this_year = (Matter.kind == "village_allocation", Matter.year == YEAR)
    matters = s.scalar(select(func.count()).select_from(Matter).where(*this_year)) or 0
    pools = s.scalar(select(func.count(func.distinct(Matter.pool_key))).where(*this_year)) or 0
    progress = s.scalar(select(func.count()).select_from(YearCloseProgress)
                        .where(YearCloseProgress.step == "draft")) or 0
    return matters, pools, progress


def test_year_close_runs_each_subject_once(fresh_db_url: str) -> None:
    _load(fresh_db_url)
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            total = sum(r.total_all for r in yc.status(s, SYSTEM_ACTOR, YEAR))
            assert total == 8 + 12 + 12  # every project settled, every village allocated and its matter drafted
            for county in ("231002", "231003"):
                yc.close_county(s, SYSTEM_ACTOR, county, YEAR, AT)
            assert _counts(s) == (20, 20, 20)
            assert _drafts(s) == (12, 12, 12)  # the province's rosters are confirmed: every village drafted
            again = [yc.close_county(s, SYSTEM_ACTOR, c, YEAR, AT) for c in ("231002", "231003")]
            assert again == [{"settle": 0, "allocate": 0, "draft": 0}] * 2
            assert _counts(s) == (20, 20, 20) and _drafts(s) == (12, 12, 12)
            assert all(r.finished and not r.unconfirmed for r in yc.status(s, SYSTEM_ACTOR, YEAR))
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
    finally:
        engine.dispose()


def test_only_the_countys_district_admin_closes_its_year(session: Session) -> None:
    store.ensure_log(session, at=AT)
    prov.load_province(session, SYSTEM_ACTOR, AT, seed=3, year=YEAR, size=prov.ProvinceSize(
        counties=2, townships=2, villages=2, households=20, people=40, entities=2, contracts=4, events=0))
    own = Actor(id="a", role=Role.DISTRICT_ADMIN, region="231002")
    assert [r.code for r in yc.counties(session, own)] == ["231002"]
    assert [r.code for r in yc.counties(session, own, "231002")] == ["231002"]
    with pytest.raises(Forbidden):
        yc.counties(session, own, "231003")
    with pytest.raises(Forbidden):
        yc.close_county(session, own, "231003", YEAR, AT)
    for role, region in ((Role.TOWNSHIP_OFFICIAL, "231002001"), (Role.VILLAGE_CADRE, "231002001001"),
                         (Role.AUDITOR, "231002")):
        with pytest.raises(Forbidden):
            yc.counties(session, Actor(id="x", role=role, region=region), "231002")
    assert [r.code for r in yc.counties(session, SYSTEM_ACTOR)] == ["231002", "231003"]


CLOSE = [sys.executable, "-m", "daipin", "year", "close", "--year", str(YEAR), "--workers", "2"]


def test_killed_year_close_resumes_without_doubling(tmp_path: Path) -> None:
    """PostgreSQL, two worker processes: the close is killed (the whole process group) once some subjects are done,
    then started again; every subject is run once, and the ledger verifies."""
    url = create_database("postgresql", str(tmp_path))
    try:
        _load(url, size=prov.ProvinceSize(counties=2, townships=4, villages=160, households=320, people=960,
                                          entities=40, contracts=200, events=0))
        env = {**os.environ, "DAIPIN_DATABASE_URL": url}
        engine = make_engine(url)
        with Session(engine) as s:
            total = sum(r.total_all for r in yc.status(s, SYSTEM_ACTOR, YEAR))
        assert total == 40 + 160 + 160
        proc = subprocess.Popen(CLOSE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        done = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM year_close_progress")).scalar_one()
            if done > 0:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        with Session(engine) as s:
            runs, progress, distinct = _counts(s)
            matters, pools, drafted = _drafts(s)
        assert 0 < progress + drafted < total, "killed midway"
        assert runs == progress == distinct  # a run and its progress row are committed together
        assert matters == pools == drafted  # and a draft and its own
        out = subprocess.run(CLOSE, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert f"{total}/{total}" in out.stdout
        with Session(engine) as s:
            assert _counts(s) == (200, 200, 200)
            assert _drafts(s) == (160, 160, 160)
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
        engine.dispose()
    finally:
        drop_database(url)
