"""The set-based year close (`yearclose.bulk`) against the one-by-one close it replaces.

Two databases of the same engine load the same small province from the same seed; one closes the year a subject at a
time (`runs.run_settlement`, `runs.run_village_allocation`), the other set-based (a few queries per county, COPY on
PostgreSQL), and both draft each village's allocation matter one at a time through the same function. Every run (id,
documents, outputs, digests, ledger index), every progress row, every matter and every run's and draft's ledger entry
(its exact body) must be the same, and the ledger must verify.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from daipin.db.models.registry import Run
from daipin.db.models.workflow import Matter
from daipin.db.models.yearclose import YearCloseProgress
from daipin.db.session import make_engine
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.ledger import store
from daipin.ledger.verify import verify_log
from daipin.services.sample import province as prov
from daipin.services.yearclose import bulk
from daipin.services.yearclose import service as yc
from tests.conftest import create_database, drop_database

AT = datetime(2026, 3, 1, 2, tzinfo=UTC)
CLOSE_AT = datetime(2026, 3, 2, 2, tzinfo=UTC)
YEAR = 2025
SIZE = prov.ProvinceSize(counties=2, townships=4, villages=12, households=240, people=800, entities=8, contracts=200,
                         events=12)


def _close(url: str, *, bulk_path: bool) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            store.ensure_log(s, at=AT)
            prov.load_province(s, SYSTEM_ACTOR, AT, seed=21, year=YEAR, size=SIZE)
            s.commit()
            ran = [yc.close_county(s, SYSTEM_ACTOR, c, YEAR, CLOSE_AT, bulk=bulk_path) for c in ("231002", "231003")]
            runs = [(r.id, r.kind, r.subject, r.year, r.input_json, r.output_json, r.input_digest, r.output_digest,
                     r.actor, r.ledger_index, r.county_code)
                    for r in s.scalars(select(Run).where(Run.year == YEAR).order_by(Run.id))]  # not the history's
            progress = sorted(s.execute(select(YearCloseProgress.county_code, YearCloseProgress.step,
                                               YearCloseProgress.subject, YearCloseProgress.run_id)).all())
            entries = [tuple(r) for r in s.execute(text(
                "SELECT county_code, idx, type, subject, region, body FROM ledger_entry "
                "WHERE type LIKE 'run.%' OR type = 'matter.draft' ORDER BY county_code, idx"))]
            matters = [tuple(r) for r in s.execute(select(
                Matter.id, Matter.kind, Matter.region_code, Matter.pool_key, Matter.document_digest,
                Matter.preview_digest, Matter.created_by, Matter.source).where(
                Matter.kind == "village_allocation", Matter.year == YEAR).order_by(Matter.id))]  # not the history's
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
            again = [yc.close_county(s, SYSTEM_ACTOR, c, YEAR, CLOSE_AT, bulk=bulk_path) for c in ("231002", "231003")]
            assert again == [{"settle": 0, "allocate": 0, "draft": 0}] * 2
        return {"ran": ran, "runs": runs, "progress": progress, "matters": matters,
                "entries": [(*e[:5], bytes(e[5])) for e in entries]}
    finally:
        engine.dispose()


def test_set_based_close_is_the_one_by_one_close(fresh_db_url: str, tmp_path: Path) -> None:
    backend = "sqlite" if fresh_db_url.startswith("sqlite") else "postgresql"
    other = create_database(backend, str(tmp_path))
    try:
        one_by_one = _close(other, bulk_path=False)
        set_based = _close(fresh_db_url, bulk_path=True)
    finally:
        drop_database(other)
    assert one_by_one["ran"] == set_based["ran"]
    assert sum(n for r in set_based["ran"] for n in r.values()) == 8 + 12 + 12
    assert len(set_based["runs"]) == 20 and all(r[9] is not None for r in set_based["runs"])
    assert set_based["runs"] == one_by_one["runs"]
    assert set_based["progress"] == one_by_one["progress"]
    # Every village's allocation matter drafted once from its plan, the same in both.
    assert len(set_based["matters"]) == 12 and len({m[3] for m in set_based["matters"]}) == 12
    assert set_based["matters"] == one_by_one["matters"]
    assert len(set_based["entries"]) == 20 + 12
    assert set_based["entries"] == one_by_one["entries"]
    # The documents are not empty: every settlement pays its contracts' payees, every allocation its households.
    settlements = [r for r in set_based["runs"] if r[1] == "settlement"]
    assert sum(len(r[4]["contracts"]) for r in settlements) > 150
    assert all(r[4]["households"] for r in set_based["runs"] if r[1] == "village_allocation")


def test_set_based_close_batches_commit_each_with_its_progress(fresh_db_url: str, monkeypatch: Any) -> None:
    """Several transactions per step (a batch of 3): each batch's runs and progress rows are committed together, so
    a close stopped after any batch continues from there."""
    monkeypatch.setattr(bulk, "BATCH", 3)
    engine = make_engine(fresh_db_url)
    commits: list[tuple[int, int]] = []
    try:
        with Session(engine, expire_on_commit=False) as s:
            store.ensure_log(s, at=AT)
            prov.load_province(s, SYSTEM_ACTOR, AT, seed=21, year=YEAR, size=SIZE)
            s.commit()

            def commit() -> None:
                s.commit()
                with engine.connect() as c:
                    commits.append((c.execute(text(f"SELECT count(*) FROM runs WHERE year = {YEAR}")).scalar_one(),
                                    c.execute(text("SELECT count(*) FROM year_close_progress WHERE step <> 'draft'"))
                                    .scalar_one()))

            yc.close_county(s, SYSTEM_ACTOR, "231002", YEAR, CLOSE_AT, commit=commit)
            assert all(runs == progress for runs, progress in commits)
            assert len({n for n, _ in commits}) >= 4  # several batches, each committed
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
    finally:
        engine.dispose()
