"""The matters list scales: a total, page numbers past any cap, filters by village, township, year, kind, state and
a search, all inside what the access policy lets the reader see; each row says its deadline and who acts next."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.matters import service as wfs
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    OWN_TOWNSHIP,
    OWN_VILLAGE,
    START,
    World,
    app_on_session,
    build_world,
    client,
)
from tests.integration.test_contract_page import section


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    w = build_world(session, str(tmp_path / "keys"))
    for i in range(60):  # more than a page, and more than the old cap's share of one
        wfs.draft_matter(session, SYSTEM_ACTOR, kind="township_project", region=OWN_TOWNSHIP, title=f"到户产业扶持第{i}批",
                         document={"description": "到户发放鸡苗", "households": []}, at=START)
    session.flush()
    return w


def _as(app: Any, w: World, role: str) -> Any:
    c = client(app)
    c.cookies.set("daipin_session", w.tokens[role])
    return c


def _total(html: str) -> int:
    m = re.search(r"共 (\d+) 项", section(html, "matter-total"))
    assert m, html[:200]
    return int(m.group(1))


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<a href="/matters/(\d+)">', section_html(html, "matter-table"))]


def section_html(html: str, element_id: str) -> str:
    m = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert m
    return m.group(2)


def _count(session: Session, *conds: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Matter).where(*conds)) or 0)


def test_the_district_pages_through_every_matter_with_its_total(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    admin = _as(app, world, "district_admin")
    first = admin.get("/matters")
    everything = _count(session, Matter.county_code == "231002")
    assert _total(first.text) == everything > 60
    assert len(_ids(first.text)) == 50
    pages = section(first.text, "matter-pages")
    last = -(-everything // 50)
    assert str(last) in pages.split()
    second = admin.get("/matters?page=2")
    assert set(_ids(first.text)).isdisjoint(_ids(second.text))
    seen = set()
    for p in range(1, last + 1):
        seen |= set(_ids(admin.get(f"/matters?page={p}").text))
    assert len(seen) == everything


def test_filters_narrow_the_list_and_never_widen_it(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    admin = _as(app, world, "district_admin")
    village = admin.get(f"/matters?village={OWN_VILLAGE}")
    assert _total(village.text) == _count(session, Matter.region_code == OWN_VILLAGE)
    town = admin.get(f"/matters?township={OWN_TOWNSHIP}&kind=township_project")
    assert _total(town.text) == 60
    assert _total(admin.get("/matters?kind=beneficiary_roster&year=2027").text) == _count(
        session, Matter.kind == "beneficiary_roster", Matter.year == 2027, Matter.county_code == "231002")
    assert _total(admin.get("/matters?state=in_notice").text) == _count(
        session, Matter.state == "in_notice", Matter.county_code == "231002")
    found = admin.get("/matters?q=第17批")
    assert _total(found.text) == 1 and "到户产业扶持第17批" in found.text
    mid = world.ids["matter_in_notice"]
    assert _ids(admin.get(f"/matters?q=%23{mid}").text) == [mid]
    # A village cadre asking for another village's matters gets none of them.
    cadre = _as(app, world, "village_cadre")
    assert _total(cadre.get(f"/matters?village={FOREIGN_VILLAGE}").text) == 0
    assert _total(cadre.get("/matters").text) == _count(session, Matter.region_code == OWN_VILLAGE)
    assert _total(cadre.get("/matters?q=到户产业扶持").text) == 0


def test_a_row_says_its_deadline_and_who_acts_next(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    page = _as(app, world, "township_official").get(f"/matters?village={OWN_VILLAGE}&state=in_notice")
    row = section(page.text, "matter-table")
    assert "公示截止" in row and "北京时间" in row
    assert "乡镇干部" in row
    drafts = section(_as(app, world, "township_official").get("/matters?kind=township_project").text, "matter-table")
    assert "乡镇干部" in drafts
    # The list offers 起草 only of the kinds the role drafts.
    assert "起草乡镇（部门）项目" in _as(app, world, "township_official").get("/matters").text
    assert "起草村级收益分配" not in _as(app, world, "township_official").get("/matters").text
    assert "起草村级收益分配" in _as(app, world, "village_cadre").get("/matters").text
    assert 'id="draft-buttons"' not in _as(app, world, "auditor").get("/matters").text
