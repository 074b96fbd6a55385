"""The hot pages' fast paths: the cached public notice page, one-hop reads and logins on their own sessions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Region
from daipin.db.session import make_engine
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.http.deps import ReadOnlySession
from daipin.http.settings import Settings
from daipin.server import create_app
from daipin.services.matters import service as wfs
from tests.integration.api_support import START, Clock, World, app_on_session, build_world, client

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from daipin.web.pages import public

    names: list[str] = []
    real = public.render_text

    def counting(request: Any, name: str, context: Any = None) -> str:
        names.append(name)
        return real(request, name, context)

    monkeypatch.setattr(public, "render_text", counting)
    return names


def test_the_notice_page_is_rendered_once_while_nothing_changes_and_again_when_an_answer_is_posted(
        session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    renders = _count_renders(monkeypatch)
    app, clock = app_on_session(session)
    c = client(app)
    nid = world.ids["notice_open"]
    first = c.get(f"/public/notices/{nid}")
    assert first.status_code == 200 and "objection-form" in first.text
    assert c.get(f"/public/notices/{nid}").text == first.text
    assert renders == ["public/notice.html"]

    token = CSRF_RE.search(first.text)
    assert token
    filed = c.post(f"/public/notices/{nid}/objections", data={"csrf_token": token.group(1), "text": "名单漏了我家"})
    assert filed.status_code == 200 and "objection-filed" in filed.text
    oid = int(re.search(r"编号\s*(\d+)", filed.text).group(1))  # type: ignore[union-attr]
    wfs.answer_objection(session, SYSTEM_ACTOR, oid, outcome="dismissed", reasons="经核实该户已在名单第3行", at=START)
    session.flush()

    after = c.get(f"/public/notices/{nid}")
    assert "经核实该户已在名单第3行" in after.text
    assert "经核实该户已在名单第3行" not in first.text
    assert renders.count("public/notice.html") >= 2


@pytest.mark.edits_rows_behind_the_ledger
def test_a_region_renamed_through_the_registry_shows_on_the_cached_notice_page(
        session: Session, world: World) -> None:
    from daipin.services.shared import trace as trace

    app, _ = app_on_session(session)
    c = client(app)
    nid = world.ids["notice_open"]
    before = c.get(f"/public/notices/{nid}").text
    village = session.scalar(select(Region).where(Region.code == "231002001001"))
    assert village is not None and village.name in before
    # Any change written with its ledger entry moves the content version the cache is keyed on.
    village.name = "新改名村"
    trace.record(session, actor=SYSTEM_ACTOR, type="region.renamed", subject="region:231002001001",
                 region="231002001001", facts={"name": "新改名村"}, at=START)
    session.flush()
    assert "新改名村" in c.get(f"/public/notices/{nid}").text


def test_each_visitor_of_a_cached_notice_page_gets_a_csrf_token_of_their_own_that_works(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    nid = world.ids["notice_open"]
    one, two = client(app), client(app)
    page_one, page_two = one.get(f"/public/notices/{nid}"), two.get(f"/public/notices/{nid}")
    t1, t2 = CSRF_RE.search(page_one.text), CSRF_RE.search(page_two.text)
    assert t1 and t2 and t1.group(1) != t2.group(1)
    assert "csrf-slot-" not in page_one.text
    # A token is bound to its own visitor's cookie: swapped, it is refused.
    swapped = one.post(f"/public/notices/{nid}/objections", data={"csrf_token": t2.group(1), "text": "异议"})
    assert swapped.status_code == 403
    ok = two.post(f"/public/notices/{nid}/objections", data={"csrf_token": t2.group(1), "text": "异议"})
    assert ok.status_code == 200 and "objection-filed" in ok.text


def test_a_logged_in_visitor_sees_the_notice_page_with_their_own_menu(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    nid = world.ids["notice_open"]
    anonymous = c.get(f"/public/notices/{nid}").text
    assert "/logout" not in anonymous
    mine = c.get(f"/public/notices/{nid}", headers=world.headers("village_cadre")).text
    assert "/logout" in mine


def test_a_username_with_a_nul_byte_is_a_wrong_login_not_a_server_error(session: Session) -> None:
    app, _ = app_on_session(session)
    r = client(app).post("/api/v1/auth/login", json={"username": "ab\u0000c", "password": "some-pass-1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_credentials"


@pytest.mark.parametrize("path", ["/api/v1/households?q=%00", "/api/v1/entities?q=a%00"])
def test_a_search_text_with_a_nul_byte_is_refused_naming_the_field(session: Session, world: World, path: str) -> None:
    app, _ = app_on_session(session)
    r = client(app).get(path, headers=world.headers("district_admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "q"


def test_a_value_the_database_refuses_is_bad_input_not_a_server_error(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    r = client(app).get("/api/v1/matters?state=%00", headers=world.headers("district_admin"))
    if session.get_bind().dialect.name == "postgresql":  # SQLite stores a NUL; PostgreSQL refuses it
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    else:
        assert r.status_code == 200 and r.json()["items"] == []


def test_a_read_only_session_refuses_to_write() -> None:
    from daipin.db.base import Base

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[Region.__table__])  # type: ignore[list-item]
    with ReadOnlySession(engine) as s:
        assert s.scalar(select(Region).where(Region.code == "231002")) is None
        s.add(Region(code="231002", name="东安区", level="county"))
        with pytest.raises(RuntimeError, match="read-only"):
            s.flush()


def test_the_hot_requests_on_their_own_committed_sessions(fresh_db_url: str, tmp_path: Any) -> None:
    """Without the tests' shared session: logins commit (failures too), reads keep the region scope."""
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            w = build_world(s, str(tmp_path / "keys"))
            s.commit()
        app = create_app(engine=engine, settings=Settings(secret_key="t", clock=Clock()))
        c = client(app)
        ok = c.post("/api/v1/auth/login", json={"username": "village-cadre", "password": "matrix-pass-1"})
        assert ok.status_code == 200
        cadre = {"Authorization": f"Bearer {ok.json()['token']}"}
        for _ in range(5):
            bad = c.post("/api/v1/auth/login", json={"username": "village-cadre", "password": "wrong-pass-1"})
            assert bad.status_code == 422
        locked = c.post("/api/v1/auth/login", json={"username": "village-cadre", "password": "matrix-pass-1"})
        assert locked.status_code == 429  # the failures were committed although each answer was an error

        found = c.get("/api/v1/households?limit=5", headers=cadre)
        assert found.status_code == 200 and found.json()["items"]
        assert {i["village_code"] for i in found.json()["items"]} == {"231002001001"}
        assert c.get("/api/v1/households", headers={}).status_code == 401
        assert c.get(f"/households/{w.ids['hh_own']}", headers=cadre).status_code == 200
        assert c.get(f"/households/{w.ids['hh_foreign']}", headers=cadre).status_code == 404
        assert c.get(f"/api/v1/households/{w.ids['hh_foreign']}", headers=cadre).status_code == 404

        nid = w.ids["notice_open"]
        assert c.get(f"/public/notices/{nid}").status_code == 200
        with Session(engine) as s:
            wfs.close_notice(s, SYSTEM_ACTOR, w.ids["matter_in_notice"], at=START.replace(year=2027))
            s.commit()
        closed = c.get(f"/public/notices/{nid}")
        assert closed.status_code == 200 and "objection-form" not in closed.text
    finally:
        engine.dispose()
