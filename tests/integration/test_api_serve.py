"""Serving: demo accounts never leave loopback; search by pinyin initials; English pages; the PDF font."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from sqlalchemy.orm import Session

from daipin.commands.web import is_loopback, refuse_demo_off_loopback
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.services.auth import service as auth_service
from daipin.services.registry import views as rv
from daipin.services.registry.service import LABOR, LIFE_STATES, STATUSES
from tests.integration.api_support import START, World, app_rolling_back, build_world, client


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_addresses_are_recognised(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_the_server_refuses_to_serve_demo_accounts_beyond_loopback(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    reset_engine(engine)
    try:
        refuse_demo_off_loopback("0.0.0.0")  # no demo accounts yet: any address is fine
        with session_scope() as s:
            auth_service.create_demo_accounts(s, county="231002", township="231002001", village="231002001001",
                                              entity_id=None, at=START)
        refuse_demo_off_loopback("127.0.0.1")
        with pytest.raises(typer.Exit):
            refuse_demo_off_loopback("0.0.0.0")
    finally:
        reset_engine(None)
        engine.dispose()


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def test_households_are_found_by_the_pinyin_initials_of_the_head(session: Session, world: World) -> None:
    from daipin.domain.actors import Actor, Role

    cadre = Actor(id="c", role=Role.VILLAGE_CADRE, region="231002001001")
    every = rv.search_households(session, cadre, limit=200)["items"]
    target = next(r for r in every if len(r["head"]) >= 2)
    initials = rv.initials(target["head"])
    found = rv.search_households(session, cadre, q=initials.upper(), limit=200)["items"]
    assert target["id"] in [r["id"] for r in found]
    assert all(rv.initials(r["head"]).startswith(initials) for r in found)
    assert rv.initials("王小明") == "wxm"


def test_pages_switch_to_english_and_back(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    assert "公示公告" in c.get("/public").text
    c.get("/lang/en")
    english = c.get("/public").text
    assert "Public notices" in english and "<html lang=\"en\">" in english
    c.get("/lang/zh_CN")
    assert "<h1>公示公告</h1>" in c.get("/public").text


def test_the_household_export_is_a_spreadsheet_of_the_actors_region_only(session: Session, world: World) -> None:
    import io

    from openpyxl import load_workbook

    app, _ = app_rolling_back(session)
    c = client(app)
    c.cookies.set("daipin_session", world.tokens["village_cadre"])
    r = c.get("/households/export.xlsx")
    assert r.status_code == 200
    title, *rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert "兴隆村" in title[0] and "已脱敏" in title[0]
    assert rows[0][0] == "户编号"
    assert len(rows) > 1 and {row[2] for row in rows[1:]} == {"兴隆村"}
    # Every column a person reads is in Chinese: 状态 is 在册 (not `alive`), 户类型 and 劳动能力 their labels.
    assert rows[0][3:] == ("户类型", "劳动能力", "状态")
    assert {row[5] for row in rows[1:]} <= set(LIFE_STATES.values()) and "在册" in {row[5] for row in rows[1:]}
    assert {row[3] for row in rows[1:]} <= set(STATUSES.values()) and {row[4] for row in rows[1:]} <= set(
        LABOR.values())


def test_every_answer_carries_the_security_headers_and_a_first_page_sets_the_anonymous_csrf_cookie(
        session: Session, world: World) -> None:
    from daipin.http.deps import ANON_COOKIE
    from daipin.http.middleware import SECURITY_HEADERS

    app, _ = app_rolling_back(session)
    c = client(app)
    first = c.get("/public")
    assert all(first.headers[k] == v for k, v in SECURITY_HEADERS.items())
    assert ANON_COOKIE in first.cookies and "httponly" in first.headers["set-cookie"].lower()
    again = c.get("/public")
    assert "set-cookie" not in again.headers  # the cookie is kept, not made anew
    missing = c.get("/api/v1/households/999999")
    assert missing.status_code == 401 and missing.headers["x-frame-options"] == "DENY"
    vendor = c.get("/static/vendor/htmx.min.js")
    assert vendor.status_code == 200 and vendor.headers["cache-control"] == "public, max-age=86400"
    # what may hold personal data is never kept by a browser or a proxy; the public portal may be
    assert missing.headers["cache-control"] == "no-store"
    assert c.get("/households", follow_redirects=False).headers["cache-control"] == "no-store"
    assert "no-store" not in first.headers.get("cache-control", "")


def test_serve_runs_one_worker_on_sqlite_and_one_per_core_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from daipin.commands.web import default_workers

    monkeypatch.setenv("DAIPIN_DATABASE_URL", "sqlite:///var/x.db")
    assert default_workers() == 1
    monkeypatch.setenv("DAIPIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x")
    assert default_workers() == max(1, min(os.cpu_count() or 1, 8))


def test_the_served_app_keeps_a_connection_per_concurrent_request_and_plans_no_parallel_query(
        fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from daipin.commands.web import POOL_ENV, server_app

    monkeypatch.setenv("DAIPIN_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv(POOL_ENV, "12")
    monkeypatch.setenv("DAIPIN_SECRET_KEY", "test-secret")
    app = server_app()
    engine = app.state.engine
    try:
        assert client(app).get("/api/v1/health").status_code == 200
        if engine.dialect.name != "sqlite":
            assert engine.pool.size() == 12 and engine.pool._max_overflow == 28
        with engine.connect() as conn:  # (the setting is libpq's: a MySQL driver refuses the argument)
            assert conn.execute(text("SELECT 1")).scalar() == 1
            if engine.dialect.name == "postgresql":
                assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
    finally:
        engine.dispose()


def test_serve_with_two_workers_answers_from_both_and_stops_them_all_on_sigterm(fresh_db_url: str,
                                                                                 tmp_path: Any) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DAIPIN_DATABASE_URL": fresh_db_url, "DAIPIN_SECRET_KEY": "test-secret",
           "DAIPIN_KEYS_DIR": str(tmp_path / "keys")}
    proc = subprocess.Popen([sys.executable, "-m", "daipin", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the server did not come up"
            time.sleep(0.2)
        children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == proc.pid]
        workers = [c for c in children if "spawn_main" in _cmdline(c)]
        assert len(workers) == 2
        for _ in range(20):  # separate connections: the kernel spreads them over both workers' sockets
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", headers={"Connection": "close"})
            assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert not [c for c in workers if _parent_of(c) == proc.pid]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.terminate()  # the parent stops its workers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
