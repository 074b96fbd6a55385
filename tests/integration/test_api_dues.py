"""Dues and arrears from settlement runs: the demo's settlements fill the dashboard and each entity's page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.commands.web import settle_projects
from daipin.db.models.registry import Contract, Project, Run
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.runs import service as runs
from daipin.services.sample import service as sample
from tests.integration.api_support import START, World, app_rolling_back, build_world, client


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _arrears(c: Any, w: World, role: str = "district_admin") -> int:
    r = c.get("/api/v1/dashboard", headers=w.headers(role))
    assert r.status_code == 200
    return int(r.json()["arrears_total_fen"])


def test_without_settlements_the_dashboard_says_why_arrears_are_empty(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    assert _arrears(c, world) == 0
    c.cookies.set("daipin_session", world.tokens["district_admin"])
    page = c.get("/").text
    assert 'id="chart-arrears-empty"' in page and "尚未对项目进行年度结算" in page


def test_the_sample_years_settlements_give_arrears_counted_once_per_project_and_year(session: Session,
                                                                                     world: World) -> None:
    made = settle_projects(session, START - timedelta(days=1))
    projects = session.scalars(select(Project.id)).all()
    assert len(made) == len(projects)
    assert settle_projects(session, START) == []  # idempotent: the demo may be set up twice
    app, _ = app_rolling_back(session)
    c = client(app)
    before = _arrears(c, world)
    assert before > 0
    # A re-run of one project's settlement replaces the earlier run: arrears do not double.
    run = session.scalars(select(Run).where(Run.kind == "settlement").order_by(Run.id)).first()
    assert run is not None
    runs.run_settlement(session, SYSTEM_ACTOR, run.subject, sample.YEAR, START)
    assert _arrears(c, world) == before
    entity_id = session.scalar(select(Project.entity_id).where(Project.code == run.subject))
    api_dues = c.get(f"/api/v1/entities/{entity_id}", headers=world.headers("district_admin")).json()["dues"]
    assert len([d for d in api_dues if d["project"] == run.subject and d["year"] == run.year]) == 1
    c.cookies.set("daipin_session", world.tokens["district_admin"])
    page = c.get("/").text
    assert 'id="chart-arrears"' in page and 'id="chart-arrears-empty"' not in page


def test_the_entity_page_lists_dues_and_arrears_per_contract_from_the_latest_settlement(session: Session,
                                                                                      world: World) -> None:
    settle_projects(session, START - timedelta(days=1))
    app, _ = app_rolling_back(session)
    c = client(app)
    entity = world.ids["entity_own"]
    project = session.scalar(select(Project).where(Project.entity_id == entity))
    assert project is not None
    latest = runs.run_settlement(session, SYSTEM_ACTOR, project.id, sample.YEAR, START)
    lines = latest.output_json["lines"]
    c.cookies.set("daipin_session", world.tokens["township_official"])
    page = c.get(f"/entities/{entity}").text
    table = page[page.index('id="dues"'):]
    table = table[:table.index("</table>")]  # the dues table only (the contracts table follows)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)[1:]
    assert len(rows) == len(lines)  # one row per contract, not one per run
    ids = dict(session.execute(select(Contract.code, Contract.id)).all())
    for ln in lines:  # each contract by its code, linked to its page
        assert f'<a href="/contracts/{ids[ln["contract"]]}">{ln["contract"]}</a>' in table
    total = sum(int(ln["arrears_fen"]) for ln in lines)
    shown = re.search(r'id="arrears"[^>]*>([\d,.]+)<', page)
    assert shown and shown.group(1) == f"{total // 100:,}.{total % 100:02d}"
    assert "#" + str(lines[0]["payee"]) not in page
