"""The training clock on the web: on a demo/training database the district administrator moves it forward from any
page (a ledger entry; steps are then recorded at the later time), others are refused; a production database
refuses everyone and shows no control. The demo starts with one matter waiting at each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.ledger import clock as ledger_clock
from daipin.ledger import keys, store
from daipin.services.auth import service as auth_service
from daipin.services.shared import clock
from tests.integration.api_support import START, World, app_on_session, build_world, client
from tests.integration.registry_support import ledger_bodies, ledger_size
from tests.integration.test_contract_page import csrf_of, section


def _training_world(session: Session, tmp_path: Any) -> dict[str, str]:
    import os

    os.environ["DAIPIN_KEYS_DIR"] = str(tmp_path / "keys")
    store.ensure_log(session, at=START - timedelta(days=1), origin=ledger_clock.training_origin(keys.default_county()))
    tokens = {}
    for name, role, region in (("admin", "district_admin", "231002"), ("cadre", "village_cadre", "231002001001")):
        user = auth_service.create_user(session, actor=SYSTEM_ACTOR, username=name, password="training-pass-1",
                                        role=role, region=region, at=START - timedelta(days=1))
        tokens[name] = auth_service.start_session(session, user, at=START).token
    session.flush()
    return tokens


def _as(app: Any, token: str) -> Any:
    c = client(app)
    c.cookies.set("daipin_session", token)
    return c


def test_the_district_administrator_advances_a_training_clock_from_the_banner(session: Session,
                                                                              tmp_path: Any) -> None:
    tokens = _training_world(session, tmp_path)
    app, _ = app_on_session(session)
    admin = _as(app, tokens["admin"])
    page = admin.get("/training/clock")
    assert page.status_code == 200 and 'id="training-advance"' in page.text
    before = clock.now(session, lambda: START)
    entries = ledger_size(session)
    r = admin.post("/training/clock", data={"csrf_token": csrf_of(page.text), "by": "11d", "back": "/matters"},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/matters"
    assert ledger_size(session) == entries + 1 and ledger_bodies(session)[-1]["type"] == ledger_clock.ADVANCED
    assert clock.offset(session) == timedelta(days=11)
    assert clock.now(session, lambda: START) - before == timedelta(days=11)
    assert "11 天" in section(admin.get("/training/clock").text, "clock-offset")
    # Another host is never where the control sends one back to.
    r = admin.post("/training/clock", data={"csrf_token": csrf_of(page.text), "by": "1d",
                                            "back": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/training/clock"
    bad = admin.post("/training/clock", data={"csrf_token": csrf_of(page.text), "by": "ten days"})
    assert bad.status_code == 422 and "时长格式" in bad.text


def test_a_village_cadre_sees_the_clock_but_may_not_move_it(session: Session, tmp_path: Any) -> None:
    tokens = _training_world(session, tmp_path)
    app, _ = app_on_session(session)
    cadre = _as(app, tokens["cadre"])
    page = cadre.get("/training/clock")
    assert page.status_code == 200 and 'id="training-advance"' not in page.text and "区级管理员" in page.text
    entries = ledger_size(session)
    r = cadre.post("/training/clock", data={"csrf_token": csrf_of(page.text), "by": "11d"})
    assert r.status_code == 403 and ledger_size(session) == entries and clock.offset(session) == timedelta(0)


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def test_a_production_database_shows_no_control_and_refuses_the_change(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    admin = _as(app, world.tokens["district_admin"])
    home = admin.get("/")
    assert 'id="training-advance"' not in home.text and "演示/培训数据" not in home.text
    page = admin.get("/training/clock")
    assert "生产数据库" in page.text and 'id="clock-form"' not in page.text
    entries = ledger_size(session)
    r = admin.post("/training/clock", data={"csrf_token": csrf_of(page.text), "by": "11d"})
    assert r.status_code == 409 and "生产数据库不能调整时钟" in r.text
    assert ledger_size(session) == entries


def test_the_demo_starts_with_a_matter_waiting_at_each_step(session: Session, tmp_path: Any) -> None:
    import os

    from daipin.commands.web import setup_demo

    os.environ["DAIPIN_KEYS_DIR"] = str(tmp_path / "keys")
    setup_demo(session, START - timedelta(days=1))
    demo = {m.state: m for m in session.scalars(select(Matter).where(Matter.title.endswith("（演示）")))}
    assert set(demo) == {"draft", "meeting_called", "decided", "under_review", "in_notice", "notice_closed",
                         "executed", "archived"}
    from daipin.db.models.workflow import Objection
    from daipin.services.payments import service as payments

    assert session.scalar(select(Objection.id).where(Objection.matter_id == demo["in_notice"].id,
                                                     Objection.status == "open")) is not None
    batch = payments.batch_for_matter(session, demo["executed"].id)
    assert batch is not None and {ln.status for ln in payments.lines(session, batch)} == {"pending"}
    # A second setup adds none.
    setup_demo(session, START)
    assert len(list(session.scalars(select(Matter).where(Matter.title.endswith("（演示）"))))) == 8
