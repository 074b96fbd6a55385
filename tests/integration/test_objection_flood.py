"""Objections from the public are throttled per client and notice, and per address: a flood (300 in under two
seconds once got through, each holding the notice open until answered) is cut to the limit, refused with 429
saying when to retry, and nothing of a refused objection is written; other people can still object."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.workflow import Objection
from daipin.domain.errors import Throttled
from daipin.domain.localtime import for_people
from daipin.http.deps import ANON_COOKIE, anon_csrf
from daipin.services.matters import service as wf
from daipin.services.matters.commands import FileObjection
from daipin.services.portal import views as portal
from daipin.services.rosters import service as rosters
from daipin.services.shared import rows
from tests.integration.api_support import Clock, app_on_session
from tests.integration.test_workflow import CADRE, T0, VILLAGE, seed, through_meeting, through_review

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HOME, FAR = "198.51.100.7", "203.0.113.9"
NEIGHBOUR_ADDRESS = HOME  # another person on the same network


def _in_notice(session: Session, year: int, start: datetime) -> tuple[int, datetime]:
    """A roster of the village for `year` walked to its public notice; the notice's id and the time it was posted."""
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=year, at=start)
    t = through_meeting(session, m.id, start)
    t = through_review(session, m.id, t)
    return wf.publish_notice(session, CADRE, m.id, at=t).id, t


@pytest.fixture
def notice(session: Session) -> tuple[int, datetime]:
    seed(session)
    return _in_notice(session, 2024, T0)


def _objections(session: Session, notice_id: int | None = None) -> int:
    q = select(func.count()).select_from(Objection)
    return int(session.scalar(q if notice_id is None else q.where(Objection.notice_id == notice_id)) or 0)


def _ledger(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


def _object(session: Session, notice_id: int, at: datetime, cookie: str | None, address: str,
            text: str = "名单是否核实？") -> str:
    try:
        portal.object_to(session, notice_id, FileObjection(text=text), at=at, cookie=cookie, address=address)
    except Throttled:
        return "throttled"
    return "filed"


def test_the_fourth_objection_from_one_client_to_a_notice_is_refused_and_nothing_is_written(
        session: Session, notice: tuple[int, datetime]) -> None:
    nid, t = notice
    at = t + timedelta(hours=1)
    for i in range(3):
        assert _object(session, nid, at + timedelta(minutes=i), "cookie-a", HOME) == "filed"
    before = (_objections(session), _ledger(session))
    with pytest.raises(Throttled) as refused:
        portal.object_to(session, nid, FileObjection(text="第四条"), at=at + timedelta(minutes=5), cookie="cookie-a",
                         address=HOME)
    assert (_objections(session), _ledger(session)) == before  # nothing of it written, not even a ledger entry
    # The first of the three leaves the day's count a day after it was filed: then the client may object again.
    assert refused.value.retry_at == at + timedelta(days=1)
    assert for_people(at + timedelta(days=1)) in refused.value.message_zh
    assert "try again after" in refused.value.message_en
    # Another person objects at once: from elsewhere, and from the same address (a neighbour on the same network).
    assert _object(session, nid, at + timedelta(minutes=6), "cookie-b", FAR) == "filed"
    assert _object(session, nid, at + timedelta(minutes=7), "cookie-c", NEIGHBOUR_ADDRESS) == "filed"
    assert _object(session, nid, at + timedelta(days=1), "cookie-a", HOME) == "filed"


def test_a_flood_of_300_from_one_client_is_cut_to_three(session: Session, notice: tuple[int, datetime]) -> None:
    nid, t = notice
    at = t + timedelta(hours=1)
    answers = [_object(session, nid, at + timedelta(milliseconds=6 * i), "cookie-a", HOME) for i in range(300)]
    assert answers.count("filed") == wf.OBJECTIONS_PER_CLIENT_PER_NOTICE == 3
    assert _objections(session, nid) == 3


def test_a_flood_that_takes_a_new_cookie_each_time_is_cut_by_its_address(session: Session,
                                                                          notice: tuple[int, datetime]) -> None:
    nid, t = notice
    at = t + timedelta(hours=1)
    answers = [_object(session, nid, at + timedelta(milliseconds=6 * i), f"cookie-{i}", HOME) for i in range(300)]
    assert answers.count("filed") == wf.OBJECTIONS_PER_ADDRESS_PER_NOTICE == 10
    assert _objections(session, nid) == 10
    # ... and with no cookie at all (an API client): the address still counts.
    assert _object(session, nid, at + timedelta(seconds=3), None, HOME) == "throttled"
    assert _object(session, nid, at + timedelta(seconds=3), None, FAR) == "filed"


def test_one_address_objects_at_most_twenty_times_an_hour_across_notices(session: Session) -> None:
    seed(session)
    notices = [_in_notice(session, year, T0 + timedelta(hours=k)) for k, year in enumerate((2024, 2025, 2026))]
    at = max(t for _, t in notices) + timedelta(hours=1)
    filed = 0
    for k, (nid, _) in enumerate(notices):
        for i in range(10):
            filed += _object(session, nid, at + timedelta(seconds=60 * k + i), f"cookie-{k}-{i}", HOME) == "filed"
    assert filed == wf.OBJECTIONS_PER_ADDRESS_PER_HOUR == 20
    assert _object(session, notices[2][0], at + timedelta(minutes=59), "cookie-x", HOME) == "throttled"
    assert _object(session, notices[2][0], at + timedelta(minutes=61), "cookie-x", HOME) == "filed"


def test_the_client_is_kept_only_as_salted_digests_and_stays_out_of_the_ledger_and_dossier(
        session: Session, notice: tuple[int, datetime]) -> None:
    nid, t = notice
    o = portal.object_to(session, nid, FileObjection(text="名单是否核实？"), at=t + timedelta(hours=1), cookie="cookie-a",
                         address=HOME)
    stored = [str(getattr(o, c.key)) for c in Objection.__table__.columns]
    assert o.client_digest and o.address_digest and o.client_digest != o.address_digest
    assert not any(HOME in v or "cookie-a" in v for v in stored)
    state = rows.workflow_row_state(session, o)
    assert "client_digest" not in state and "address_digest" not in state


def _browser(app: Any, address: str, cookie: str) -> TestClient:
    c = TestClient(app, raise_server_exceptions=False, client=(address, 50000))
    c.cookies.set(ANON_COOKIE, cookie)
    return c


def test_the_api_and_the_page_answer_429_with_when_to_retry(session: Session, notice: tuple[int, datetime]) -> None:
    nid, t = notice
    app, clock = app_on_session(session, Clock(t + timedelta(hours=1)))
    api = _browser(app, HOME, "cookie-a")
    token = {"X-CSRF-Token": anon_csrf("test-secret", "cookie-a")}
    for _ in range(3):
        clock.advance(seconds=1)
        r = api.post(f"/api/v1/public/notices/{nid}/objections", json={"text": "名单是否核实？"}, headers=token)
        assert r.status_code == 201, r.text
    first = clock.at - timedelta(seconds=2)
    r = api.post(f"/api/v1/public/notices/{nid}/objections", json={"text": "名单是否核实？"}, headers=token)
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "throttled" and "北京时间" in error["message_zh"] and "try again after" in error["message_en"]
    assert int(r.headers["Retry-After"]) == round((first + timedelta(days=1) - clock.at).total_seconds())
    page = api.post(f"/public/notices/{nid}/objections", data={"text": "名单是否核实？",
                                                                 "csrf_token": anon_csrf("test-secret", "cookie-a")})
    assert page.status_code == 429 and "北京时间" in page.text
    assert _objections(session, nid) == 3
    other = _browser(app, FAR, "cookie-b")
    r = other.post(f"/api/v1/public/notices/{nid}/objections", json={"text": "名单是否核实？"},
                   headers={"X-CSRF-Token": anon_csrf("test-secret", "cookie-b")})
    assert r.status_code == 201, r.text


def test_a_concurrent_flood_from_one_client_is_cut_to_three_too(fresh_db_url: str) -> None:
    """Objections arriving at once, each in its own transaction (as from a server's workers), are counted in turn."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import sessionmaker

    from daipin.db.session import make_engine, session_scope

    engine = make_engine(fresh_db_url, pool_size=8)
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        with session_scope(factory) as s:
            seed(s)
            nid, t = _in_notice(s, 2024, T0)
        at = t + timedelta(hours=1)

        def one(i: int) -> str:
            try:
                with session_scope(factory) as s:
                    return _object(s, nid, at + timedelta(milliseconds=i), "cookie-a", HOME)
            except Exception as exc:  # noqa: BLE001 - any failure but the throttle is a wrong answer
                return type(exc).__name__

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(one, range(40)))
        assert answers.count("filed") == 3 and answers.count("throttled") == 37, answers
        with session_scope(factory) as s:
            assert _objections(s, nid) == 3
    finally:
        engine.dispose()
