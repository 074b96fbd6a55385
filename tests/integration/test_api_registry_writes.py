"""The registry's writes over the JSON API, each taking the same typed command as the page's form: a household with
its head, a correction, a member, a status change, a death and a move; an entity, a project with its funding, a
profit, an asset, a valuation; a village's yearly plan. Each written with its ledger entry, each refusal naming
its field with nothing written, another region's record not found."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import (
    AllocationPlan,
    Asset,
    AssetValuation,
    Entity,
    Household,
    Person,
    ProfitRecord,
    Project,
)
from daipin.domain.identity import make_resident_id, make_uscc
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    OWN_TOWNSHIP,
    OWN_VILLAGE,
    World,
    app_on_session,
    build_world,
    client,
)
from tests.integration.registry_support import ledger_bodies, ledger_size

HEAD_ID = make_resident_id("231002", date(1970, 5, 6), 601, "M")
WIFE_ID = make_resident_id("231002", date(1972, 8, 9), 602, "F")


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _api(session: Session, world: World, role: str) -> Any:
    app, _ = app_on_session(session)
    c = client(app)
    c.headers.update(world.headers(role))
    return c


def _household_body(**over: Any) -> dict[str, Any]:
    return {"household_no": "2310020010019101", "village_code": OWN_VILLAGE, "status": "poor", "status_since": "2026-01-01",
            "poverty_cause": "因病", "members": [{"name": "林国庆", "id_number": HEAD_ID, "relation": "户主", "labor": "full"}], **over}


def test_a_village_cadre_registers_a_household_and_manages_it_over_the_api(session: Session, world: World) -> None:
    c = _api(session, world, "village_cadre")
    entries = ledger_size(session)
    r = c.post("/api/v1/households", json=_household_body())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["village_code"] == OWN_VILLAGE and out["status"] == "poor"
    assert HEAD_ID not in r.text  # the answer names the record, never the ID number
    hh = session.get(Household, out["id"])
    assert hh is not None and hh.household_no == "2310020010019101" and hh.poverty_cause == "因病"
    assert ledger_bodies(session)[-1]["type"] == "household.register" and ledger_size(session) == entries + 1

    r = c.post(f"/api/v1/households/{hh.id}/members",
               json={"member": {"name": "王秀兰", "id_number": WIFE_ID, "relation": "配偶", "labor": "weak"}})
    assert r.status_code == 201, r.text
    wife = session.get(Person, r.json()["id"])
    assert wife is not None and wife.household_id == hh.id and wife.relation == "配偶"

    r = c.patch(f"/api/v1/households/{hh.id}/members/{wife.id}", json={"labor": "none", "health_note": "慢性病"})
    assert r.status_code == 200, r.text
    session.refresh(wife)
    assert wife.labor == "none" and ledger_bodies(session)[-1]["type"] == "household.member_edit"

    r = c.patch(f"/api/v1/households/{hh.id}", json={"poverty_cause": "因学"})
    assert r.status_code == 200, r.text
    session.refresh(hh)
    assert hh.poverty_cause == "因学"

    r = c.post(f"/api/v1/households/{hh.id}/status",
               json={"status": "monitored", "from_date": "2026-02-01", "reason": "收入下降"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "monitored" and r.json()["status_since"] == "2026-02-01"

    r = c.post(f"/api/v1/households/{hh.id}/death", json={"person_id": wife.id, "on": "2026-02-15"})
    assert r.status_code == 200, r.text
    session.refresh(wife)
    assert wife.life_state == "deceased" and r.json()["life_state_date"] == "2026-02-15"

    r = c.post(f"/api/v1/households/{hh.id}/move", json={"on": "2026-03-01", "destination": "哈尔滨市"})
    assert r.status_code == 200, r.text
    session.refresh(hh)
    assert hh.life_state == "moved" and r.json()["life_state"] == "moved"
    types = [b["type"] for b in ledger_bodies(session)[entries:]]
    assert len(types) == 7 and types[0] == "household.register"


def test_a_refused_household_write_names_its_field_and_writes_nothing(session: Session, world: World) -> None:
    c = _api(session, world, "village_cadre")
    entries = ledger_size(session)
    bad_id = HEAD_ID[:-1] + ("0" if HEAD_ID[-1] != "0" else "1")
    r = c.post("/api/v1/households", json=_household_body(members=[{"name": "林国庆", "id_number": bad_id, "relation": "户主",
                                                                     "labor": "full"}]))
    assert r.status_code == 422 and r.json()["error"]["field"] == "members[0].id_number"
    # A field the command does not know is refused, not ignored.
    r = c.post("/api/v1/households", json=_household_body(income_fen=1))
    assert r.status_code == 422 and "income_fen" in r.json()["error"]["field"]
    # A status change dated before the latest one.
    r = c.post(f"/api/v1/households/{world.ids['hh_own']}/status",
               json={"status": "monitored", "from_date": "1999-01-01", "reason": "补录"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "from_date"
    # A person of another household.
    other = session.scalar(select(Person.id).where(Person.household_id != world.ids["hh_own"]).limit(1))
    r = c.post(f"/api/v1/households/{world.ids['hh_own']}/death", json={"person_id": other, "on": "2026-02-01"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "person_id"
    # Another village's household is not found; a household in another village is not the cadre's to register.
    r = c.post(f"/api/v1/households/{world.ids['hh_foreign']}/move", json={"on": "2026-05-01", "destination": "x"})
    assert r.status_code == 404
    r = c.post("/api/v1/households", json=_household_body(village_code=FOREIGN_VILLAGE,
                                                          household_no="2310020020019101"))
    assert r.status_code in (403, 404)
    assert ledger_size(session) == entries
    assert session.scalar(select(Household).where(Household.household_no.like("%9101"))) is None


@pytest.mark.parametrize("role", ["auditor", "entity_user"])
def test_roles_that_keep_no_registry_are_refused(session: Session, world: World, role: str) -> None:
    c = _api(session, world, role)
    entries = ledger_size(session)
    assert c.post("/api/v1/households", json=_household_body()).status_code == 403
    assert c.post(f"/api/v1/households/{world.ids['hh_own']}/status",
                  json={"status": "monitored", "from_date": "2026-03-01", "reason": "x"}).status_code in (403, 404)
    assert c.post("/api/v1/entities", json={"name": "某合作社", "kind": "cooperative",
                                            "uscc": make_uscc("93231002MA0066666"),
                                            "legal_representative": "赵大勇"}).status_code == 403
    assert ledger_size(session) == entries


def test_a_township_official_registers_an_entity_a_project_a_profit_an_asset_and_a_valuation(
        session: Session, world: World) -> None:
    c = _api(session, world, "township_official")
    entries = ledger_size(session)
    uscc = make_uscc("93231002MA0088888")
    body = {"name": "兴隆镇合作社", "kind": "cooperative", "uscc": uscc, "legal_representative": "赵大勇",
            "region_code": OWN_TOWNSHIP}
    r = c.post("/api/v1/entities", json=body)
    assert r.status_code == 201, r.text
    e = session.get(Entity, r.json()["id"])
    assert e is not None and e.uscc == uscc and e.county_code == "231002"
    r = c.post("/api/v1/entities", json=body)
    assert r.status_code == 409 and r.json()["error"]["field"] == "uscc"

    project = {"code": "XM-API-1", "name": "兴隆村大棚", "category": "特色种养业", "entity_id": e.id,
               "township_code": OWN_TOWNSHIP, "village_code": OWN_VILLAGE, "expected_return": "0.06",
               "funding": [{"source": "财政扶贫资金", "amount_fen": 12_000_050}]}
    r = c.post("/api/v1/projects", json=project)
    assert r.status_code == 201, r.text
    assert r.json()["funding_fen"] == 12_000_050
    p = session.get(Project, r.json()["id"])
    assert p is not None and p.code == "XM-API-1"
    r = c.post("/api/v1/projects", json={**project, "code": "XM-API-2", "funding": [{"source": "自筹",
                                                                                      "amount_fen": "12.5"}]})
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("funding")

    r = c.post(f"/api/v1/projects/{p.id}/profits", json={"period_start": "2025-01-01", "period_end": "2025-12-31",
                                                         "profit_fen": 8_000_000, "audit_ref": "审字2026第3号"})
    assert r.status_code == 201, r.text
    assert session.scalar(select(ProfitRecord.profit_fen).where(ProfitRecord.project_id == p.id)) == 8_000_000
    r = c.post(f"/api/v1/projects/{p.id}/profits", json={"period_start": "2025-01-01", "period_end": "2026-12-31",
                                                         "profit_fen": 1})
    assert r.status_code == 422  # a period across two years

    asset = {"code": "ZC-API-1", "name": "大棚一号", "kind": "operating", "value_fen": 30_000_000,
             "project_id": p.id, "owner_region_code": OWN_VILLAGE}
    r = c.post("/api/v1/assets", json=asset)
    assert r.status_code == 201, r.text
    a = session.get(Asset, r.json()["id"])
    assert a is not None and a.status == "in_use" and a.value_fen == 30_000_000
    r = c.post("/api/v1/assets", json={**asset, "code": "ZC-API-2", "status": "disposed"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "status"  # disposal takes a decided matter

    r = c.post(f"/api/v1/assets/{a.id}/valuations", json={"valuer": "正信资产评估", "valued_on": "2026-01-10",
                                                          "value_fen": 31_000_000, "report_ref": "正信评报字2026第1号"})
    assert r.status_code == 201, r.text
    assert session.scalar(select(AssetValuation.value_fen).where(AssetValuation.asset_id == a.id)) == 31_000_000
    types = [b["type"] for b in ledger_bodies(session)[entries:]]
    assert types == ["entity.register", "project.register", "project.profit", "asset.register", "asset.valuation"]

    # Another township's project and asset are not found.
    assert c.post(f"/api/v1/projects/{world.ids['project_foreign']}/profits",
                  json={"period_start": "2025-01-01", "period_end": "2025-12-31", "profit_fen": 1}).status_code == 404
    assert c.post(f"/api/v1/assets/{world.ids['asset_foreign']}/valuations",
                  json={"valuer": "x", "valued_on": "2026-01-10", "value_fen": 1}).status_code == 404
    assert len(ledger_bodies(session)) == entries + 5


def test_a_village_cadre_saves_the_yearly_plan_over_the_api(session: Session, world: World) -> None:
    c = _api(session, world, "village_cadre")
    body = {"year": 2027, "pool_fen": 12_000_000, "eligible_statuses": ["poor", "monitored"],
            "buckets": [{"name": "公益岗位", "share": "0.6", "rule": "wages"},
                        {"name": "奖励补助", "share": "0.5", "rule": "tiered", "per": "household",
                         "tiers": "0:0, 30:1, 100:2"}]}
    entries = ledger_size(session)
    r = c.put(f"/api/v1/villages/{OWN_VILLAGE}/plan", json=body)
    assert r.status_code == 422 and r.json()["error"]["field"] == "buckets" and ledger_size(session) == entries
    body["buckets"][1]["share"] = "0.4"
    r = c.put(f"/api/v1/villages/{OWN_VILLAGE}/plan", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["pool_fen"] == 12_000_000 and r.json()["year"] == 2027
    plan = session.scalar(select(AllocationPlan).where(AllocationPlan.village_code == OWN_VILLAGE,
                                                      AllocationPlan.year == 2027))
    assert plan is not None and plan.buckets[1]["tiers"][1] == {"min_points": 30, "weight": "1"}
    assert ledger_size(session) == entries + 1
    shown = c.get(f"/api/v1/villages/{OWN_VILLAGE}/plan?year=2027")
    assert shown.status_code == 200 and shown.json()["plan"]["pool_fen"] == 12_000_000
    assert c.put(f"/api/v1/villages/{FOREIGN_VILLAGE}/plan", json=body).status_code == 404
    auditor = _api(session, world, "auditor")
    assert auditor.get(f"/api/v1/villages/{OWN_VILLAGE}/plan?year=2027").status_code == 200
    assert auditor.put(f"/api/v1/villages/{OWN_VILLAGE}/plan", json=body).status_code == 403
    assert ledger_size(session) == entries + 1
