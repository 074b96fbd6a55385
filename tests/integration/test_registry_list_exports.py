"""The entity, project and contract lists: a total, page numbers, filters and search on the page, and each list
as filtered downloaded as .xlsx or .csv from the page and the API (a title row naming the region and the day, the
header frozen and printed on every page), never wider than the viewer's reach."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Entity, Project
from daipin.services.contracts.service import payee_region
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    OWN_TOWNSHIP,
    OWN_VILLAGE,
    World,
    app_on_session,
    build_world,
)
from tests.integration.test_contract_page import as_role, section


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _rows(content: bytes) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    assert ws.freeze_panes == "A3" and ws.print_title_rows == "$1:$2"
    return list(ws.iter_rows(values_only=True))


def test_the_project_list_counts_pages_filters_and_exports(session: Session, world: World) -> None:
    from daipin.services.registry import views as rv

    projects = [p for p in session.scalars(select(Project)) if p.county_code == "231002"]
    app, _ = app_on_session(session)
    district = as_role(app, world, "district_admin")
    page = district.get("/projects").text
    assert f"共 {len(projects):,} 个" in section(page, "project-total")
    assert f'value="{OWN_TOWNSHIP}"' in page and f'value="{FOREIGN_VILLAGE}"' in page  # the region filter
    in_township = [p for p in projects if (p.village_code or p.township_code).startswith(OWN_TOWNSHIP)]
    assert f"共 {len(in_township):,} 个" in district.get(f"/projects?region={OWN_TOWNSHIP}").text
    own = [p for p in projects if p.village_code == OWN_VILLAGE]
    first = sorted(own, key=lambda p: p.code)[0]
    found = district.get(f"/projects?q={first.code}").text
    assert f'href="/projects/{first.id}"' in found
    by_name = district.get(f"/projects?q={first.name[1:3]}").text
    assert f'href="/projects/{first.id}"' in by_name
    year = first.start_year
    if year:
        same_year = [p for p in projects if p.start_year == year]
        assert f"共 {len(same_year):,} 个" in district.get(f"/projects?year={year}").text
    operating = [p for p in own if p.status == first.status]
    assert f"共 {len(operating):,} 个" in district.get(f"/projects?region={OWN_VILLAGE}&status={first.status}").text
    assert district.get("/projects?year=20x6").status_code == 422
    assert district.get("/projects?status=nonsense").status_code == 422
    # Page numbers when the list is longer than a page.
    out = rv.search_projects(session, world_actor("district_admin"), limit=2)
    assert out["total"] == len(projects) and out["more"] == (len(projects) > 2)

    # The export holds the filtered list, under a title naming the region.
    r = district.get(f"/exports/projects?region={OWN_VILLAGE}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    rows = _rows(r.content)
    assert "扶贫产业项目" in rows[0][0] and rows[1][:2] == ("项目编号", "项目名称")
    assert sorted(str(x[0]) for x in rows[2:]) == sorted(p.code for p in own)
    assert all(isinstance(x[7], (int, float)) for x in rows[2:])  # the funding total, a number of yuan
    api = district.get(f"/api/v1/exports/projects?region={OWN_VILLAGE}&format=csv",
                       headers=world.headers("district_admin"))
    lines = list(csv.reader(io.StringIO(api.content.decode("utf-8-sig"))))
    assert api.status_code == 200 and sorted(x[0] for x in lines[2:]) == sorted(p.code for p in own)

    # A village cadre: its own village's projects only, whatever it asks for.
    cadre = as_role(app, world, "village_cadre")
    mine = cadre.get("/projects").text
    assert 'id="region"' not in mine
    foreign = [p for p in projects if p.village_code == FOREIGN_VILLAGE]
    assert foreign and all(f'href="/projects/{p.id}"' not in mine for p in foreign)
    assert "共 0 个" in cadre.get(f"/projects?region={FOREIGN_VILLAGE}").text
    rows = _rows(cadre.get(f"/exports/projects?region={FOREIGN_VILLAGE}").content)
    assert rows[2:] == []


def world_actor(role: str) -> Any:
    from daipin.domain.actors import Actor, Role

    return Actor(id="x", role=Role(role), region="231002")


def test_the_entity_list_counts_filters_and_exports(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    district = as_role(app, world, "district_admin")
    entities = [e for e in session.scalars(select(Entity)) if e.county_code == "231002"]
    page = district.get("/entities").text
    assert f"共 {len(entities):,} 个" in section(page, "entity-total")
    kind = entities[0].kind
    same_kind = [e for e in entities if e.kind == kind]
    assert f"共 {len(same_kind):,} 个" in district.get(f"/entities?kind={kind}").text
    # A village: the entities registered there or running a project there.
    there = {e.id for e in entities if (e.region_code or "").startswith(OWN_VILLAGE)} | set(session.scalars(
        select(Project.entity_id).where(Project.village_code == OWN_VILLAGE)))
    narrowed = district.get(f"/entities?region={OWN_VILLAGE}").text
    assert f"共 {len(there):,} 个" in narrowed
    named = entities[0]
    assert f'href="/entities/{named.id}"' in district.get(f"/entities?q={named.uscc}").text
    assert district.get("/entities?kind=nonsense").status_code == 422
    r = district.get(f"/exports/entities?region={OWN_VILLAGE}")
    rows = _rows(r.content)
    assert "实施主体" in rows[0][0] and rows[1][0] == "主体名称"
    assert sorted(str(x[2]) for x in rows[2:]) == sorted(e.uscc for e in entities if e.id in there)
    assert f'href="/exports/entities?q=&kind=&credit=&region={OWN_VILLAGE}"' in narrowed


def test_the_contract_list_exports_what_it_shows(session: Session, world: World) -> None:
    contracts = session.scalars(select(Contract)).all()
    own = sorted((c for c in contracts if payee_region(session, c) == OWN_VILLAGE), key=lambda c: c.code)
    app, _ = app_on_session(session)
    district = as_role(app, world, "district_admin")
    page = district.get(f"/contracts?region={OWN_VILLAGE}").text
    assert f'href="/exports/contracts?q=&model=&status=&region={OWN_VILLAGE}&year="' in page
    r = district.get(f"/exports/contracts?region={OWN_VILLAGE}")
    assert r.status_code == 200, r.text
    rows = _rows(r.content)
    assert "利益联结协议" in rows[0][0] and "已脱敏" in rows[0][0] and rows[1][0] == "协议编号"
    assert [x[0] for x in rows[2:]] == [c.code for c in own]
    assert all(isinstance(x[5], date) for x in rows[2:])  # a date cell, not text
    in_2026 = [c for c in own if c.start_date <= date(2026, 12, 31) and c.end_date >= date(2026, 1, 1)
               and c.model == "employment"]
    rows = _rows(district.get(f"/exports/contracts?region={OWN_VILLAGE}&year=2026&model=employment").content)
    assert [x[0] for x in rows[2:]] == [c.code for c in in_2026]
    assert district.get("/exports/contracts?year=abcd").status_code == 422
    # A village cadre asking for another village's contracts gets none of them.
    cadre = as_role(app, world, "village_cadre")
    rows = _rows(cadre.get(f"/exports/contracts?region={FOREIGN_VILLAGE}").content)
    assert rows[2:] == []
    total = int(session.scalar(select(func.count()).select_from(Contract)) or 0)
    assert total > len(own)


def test_the_pools_page_counts_and_filters_by_region_and_exports_what_it_shows(session: Session,
                                                                              world: World) -> None:
    from daipin.db.models.workflow import Matter, PaymentBatch
    from tests.integration.api_support import executed_allocation

    year = executed_allocation(session, OWN_VILLAGE).year
    app, _ = app_on_session(session)
    district = as_role(app, world, "district_admin")

    def batches(prefix: str) -> int:
        return int(session.scalar(select(func.count()).select_from(PaymentBatch).join(
            Matter, Matter.id == PaymentBatch.matter_id).where(Matter.year == year,
                                                               Matter.region_code.startswith(prefix))) or 0)

    assert batches(OWN_VILLAGE) >= 1
    page = district.get(f"/payments/pools?year={year}").text
    assert f"共 {batches('231002'):,} 个支付批次" in section(page, "pool-total")
    assert f'value="{OWN_TOWNSHIP}"' in page  # the region filter
    page = district.get(f"/payments/pools?year={year}&region={OWN_VILLAGE}").text
    assert f"共 {batches(OWN_VILLAGE):,} 个支付批次" in section(page, "pool-total")
    assert "共 0 个支付批次" in district.get(f"/payments/pools?year={year}&region={FOREIGN_VILLAGE}").text
    assert f'href="/exports/payments?year={year}&region={OWN_VILLAGE}"' in page
    rows = _rows(district.get(f"/exports/payments?year={year}&region={FOREIGN_VILLAGE}").content)
    assert [r[0] for r in rows[2:]] == ["合计"]  # no pool of that village, only the total row
    rows = _rows(district.get(f"/exports/payments?year={year}&region={OWN_VILLAGE}").content)
    assert len(rows[2:]) == batches(OWN_VILLAGE) + 1
    assert district.get(f"/payments/pools?year={year}&region=12").status_code == 422
