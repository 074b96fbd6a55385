"""Serving: demo accounts never leave loopback; search by pinyin initials; English pages; the PDF font."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from sqlalchemy.orm import Session

from daipin.commands.web import is_loopback, refuse_demo_off_loopback
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.services import auth as auth_service
from daipin.services import registry_views as rv
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
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "户编号"
    assert len(rows) > 1 and {row[2] for row in rows[1:]} == {"兴隆村"}
