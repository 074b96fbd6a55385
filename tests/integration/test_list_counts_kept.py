"""A list's total is kept while the county's ledger stands still (`services.shared.counts`): asked again, it is not
counted again; after any write it is counted anew; a session that writes never keeps one. On SQLite and PostgreSQL,
on committed databases (the read-only sessions the app reads with)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from daipin.db.session import make_engine
from daipin.domain.identity import make_resident_id
from daipin.http.deps import ReadOnlySession
from daipin.services.registry import service as registry
from daipin.services.registry import views as rv
from daipin.services.shared import counts
from tests.integration.test_workflow import DISTRICT, VILLAGE

AT = datetime(2026, 3, 1, 2, tzinfo=UTC)


@pytest.fixture
def engine(cli_db: str) -> Iterator[Engine]:
    e = make_engine(cli_db)
    counts.forget()
    yield e
    counts.forget()
    e.dispose()


def _counting(engine: Engine) -> list[str]:
    """The statements that count (`count(`) run on `engine` from now on."""
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "count(" in statement.lower():
            seen.append(statement)

    return seen


def _total(factory: Any) -> int:
    with factory() as s:
        page = rv.search_households(s, DISTRICT, limit=2, count=True)
        return int(page["total"])


def _register(session: Session, number: str) -> None:
    registry.register_household(
        session, DISTRICT, household_no=number, village_code=VILLAGE, status="poor", at=AT,
        members=[{"name": "新户主", "id_number": make_resident_id("231002", date(1980, 1, 1), int(number[-3:]), "男"),
                  "relation": "户主", "labor": "full", "sex": "男", "birth_date": "1980-01-01"}])


def test_a_kept_total_is_not_counted_again_until_a_write_moves_the_ledger(engine: Engine) -> None:
    read = sessionmaker(engine, class_=ReadOnlySession)
    counted = _counting(engine)
    first = _total(read)
    assert first == 6 and len(counted) == 1
    assert _total(read) == first and len(counted) == 1  # kept: not counted again

    with Session(engine) as s:  # a household registered (with its ledger entry) and committed
        _register(s, "2310020010019000001")
        s.commit()
    assert _total(read) == first + 1 and len(counted) == 2  # counted anew after the write
    assert _total(read) == first + 1 and len(counted) == 2


def test_turning_pages_counts_once(engine: Engine) -> None:
    read = sessionmaker(engine, class_=ReadOnlySession)
    counted = _counting(engine)
    with read() as s:
        pages = [rv.search_households(s, DISTRICT, limit=2, offset=o, count=True) for o in (0, 2, 4)]
    assert [p["total"] for p in pages] == [6, 6, 6] and len(counted) == 1
    ids = [h["id"] for p in pages for h in p["items"]]
    assert len(ids) == len(set(ids)) == 6  # three pages, each its own households


def test_a_session_that_writes_counts_every_time_and_a_rolled_back_write_leaves_no_kept_total(
        engine: Engine) -> None:
    read = sessionmaker(engine, class_=ReadOnlySession)
    counted = _counting(engine)
    with Session(engine) as s:
        _register(s, "2310020010019000002")
        s.flush()
        # The writer sees its own uncommitted household, counted each time and never kept.
        assert rv.search_households(s, DISTRICT, limit=2, count=True)["total"] == 7
        assert rv.search_households(s, DISTRICT, limit=2, count=True)["total"] == 7
        assert len(counted) == 2
        s.rollback()
    assert _total(read) == 6 and len(counted) == 3
    assert _total(read) == 6 and len(counted) == 3


def test_a_kept_total_is_dropped_after_its_age(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    read = sessionmaker(engine, class_=ReadOnlySession)
    counted = _counting(engine)
    assert _total(read) == 6 and len(counted) == 1
    monkeypatch.setattr(counts, "MAX_AGE", 0.0)
    assert _total(read) == 6 and len(counted) == 2
