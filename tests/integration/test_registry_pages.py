"""The registry's writes on the web: a household with its head, a member, a correction, a status change, a death
and a move; an entity, a project with its funding, a profit, an asset and a valuation. Each through the page's
form into the same service (its ledger entry), each refusal shown beside the field it names with nothing written,
and each form shown only to the roles and regions the access policy gives it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import (
    Asset,
    AssetValuation,
    Entity,
    Household,
    HouseholdStatus,
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
)
from tests.integration.registry_support import ledger_bodies, ledger_size
from tests.integration.test_contract_page import as_role, csrf_of, form_of

HEAD_ID = make_resident_id("231002", date(1970, 5, 6), 501, "M")
WIFE_ID = make_resident_id("231002", date(1972, 8, 9), 502, "F")


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _household_fields(page: str, **over: str) -> dict[str, str]:
    fields = form_of(page, "household-form")
    fields.update({"village_code": OWN_VILLAGE, "household_no": "2310020010019001", "status": "poor",
                   "members[0].name": "林国庆", "members[0].id_number": HEAD_ID, "members[0].labor": "full",
                   "poverty_cause": "因病", **over})
    return fields


def _field_error(html: str, field: str) -> str:
    m = re.search(rf'<small class="err field-err" role="alert" data-field="{re.escape(field)}">([^<]*)</small>', html)
    assert m, f"no error beside {field}"
    return m.group(1)


def test_a_village_cadre_registers_a_household_adds_a_member_and_records_a_status_change(session: Session,
                                                                                       world: World) -> None:
    app, clock = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    listing = cadre.get("/households").text
    assert 'href="/households/new"' in listing
    page = cadre.get("/households/new").text
    # The cadre's own village only.
    assert f'value="{OWN_VILLAGE}"' in page and f'value="{FOREIGN_VILLAGE}"' not in page
    entries = ledger_size(session)
    done = cadre.post("/households", data=_household_fields(page), follow_redirects=False)
    assert done.status_code == 303, done.text[:400]
    hh = session.scalar(select(Household).where(Household.household_no == "2310020010019001"))
    assert hh is not None and hh.village_code == OWN_VILLAGE and hh.status == "poor" and hh.poverty_cause == "因病"
    assert ledger_size(session) == entries + 1 and ledger_bodies(session)[-1]["type"] == "household.register"
    assert done.headers["location"].startswith(f"/households/{hh.id}")

    shown = cadre.get(f"/households/{hh.id}").text
    member = form_of(shown, "member-form")
    member.update({"member.name": "王秀兰", "member.id_number": WIFE_ID, "member.relation": "配偶",
                   "member.labor": "weak"})
    assert cadre.post(f"/households/{hh.id}/members", data=member, follow_redirects=False).status_code == 303
    people = session.scalars(select(Person).where(Person.household_id == hh.id)).all()
    assert sorted(p.relation for p in people) == ["户主", "配偶"]
    assert ledger_bodies(session)[-1]["type"] == "household.member_add"

    status = form_of(cadre.get(f"/households/{hh.id}").text, "status-form")
    status.update({"status": "monitored", "from_date": "2026-03-02", "reason": "收入下降纳入监测"})
    assert cadre.post(f"/households/{hh.id}/status", data=status, follow_redirects=False).status_code == 303
    session.refresh(hh)
    assert hh.status == "monitored" and hh.status_since == date(2026, 3, 2)
    history = session.scalars(select(HouseholdStatus.status).where(HouseholdStatus.household_id == hh.id)).all()
    assert list(history) == ["poor", "monitored"]
    after = cadre.get(f"/households/{hh.id}").text
    assert "收入下降纳入监测" in after and HEAD_ID not in after and WIFE_ID not in after


def test_a_refused_household_shows_the_error_beside_its_field_and_writes_nothing(session: Session,
                                                                                world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get("/households/new").text
    entries = ledger_size(session)
    bad_id = HEAD_ID[:-1] + ("0" if HEAD_ID[-1] != "0" else "1")
    r = cadre.post("/households", data=_household_fields(page, **{"members[0].id_number": bad_id}))
    assert r.status_code == 422
    assert "身份证" in _field_error(r.text, "members[0].id_number")
    assert "（第1项" not in r.text and "members[0]" not in re.sub(r'(name|data-field)="[^"]*"', "", r.text)
    assert 'value="林国庆"' in r.text  # what was typed comes back
    assert ledger_size(session) == entries
    assert session.scalar(select(Household.id).where(Household.household_no == "2310020010019001")) is None
    # An exited household with no exit year: refused beside the exit year.
    r = cadre.post("/households", data=_household_fields(page, status="exited"))
    assert r.status_code == 422 and "脱贫年度" in _field_error(r.text, "exit_year")
    # Another village than the cadre's: refused, nothing written.
    r = cadre.post("/households", data=_household_fields(page, village_code=FOREIGN_VILLAGE))
    assert r.status_code == 403 and ledger_size(session) == entries


def test_a_status_change_before_the_latest_is_refused_beside_its_date(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    hid = world.ids["hh_own"]
    hh = session.get(Household, hid)
    assert hh is not None and hh.status_since is not None
    fields = form_of(cadre.get(f"/households/{hid}").text, "status-form")
    other = "monitored" if hh.status != "monitored" else "poor"
    fields.update({"status": other, "from_date": "1999-01-01", "reason": "补录"})
    entries = ledger_size(session)
    r = cadre.post(f"/households/{hid}/status", data=fields)
    assert r.status_code == 422 and "变更日期" in _field_error(r.text, "from_date")
    assert 'open' in re.search(r'<details id="status"[^>]*>', r.text).group(0)  # type: ignore[union-attr]
    assert ledger_size(session) == entries


def test_a_death_and_a_move_on_the_page(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    hid = world.ids["hh_own"]
    alive = session.scalars(select(Person).where(Person.household_id == hid, Person.life_state == "alive")
                            .order_by(Person.id)).all()
    page = cadre.get(f"/households/{hid}").text
    death = form_of(page, "death-form")
    death.update({"person_id": str(alive[-1].id), "on": "2026-02-01"})
    assert cadre.post(f"/households/{hid}/death", data=death, follow_redirects=False).status_code == 303
    session.refresh(alive[-1])
    assert alive[-1].life_state == "deceased"
    # A person of another household is not this household's to record.
    other = session.scalar(select(Person.id).where(Person.household_id != hid).limit(1))
    r = cadre.post(f"/households/{hid}/death", data={**death, "person_id": str(other)})
    assert r.status_code == 422 and _field_error(r.text, "person_id")
    move = form_of(cadre.get(f"/households/{hid}").text, "move-form")
    move.update({"on": "2026-02-15", "destination": "哈尔滨市"})
    assert cadre.post(f"/households/{hid}/move", data=move, follow_redirects=False).status_code == 303
    hh = session.get(Household, hid)
    assert hh is not None and hh.life_state == "moved"
    after = cadre.get(f"/households/{hid}").text
    assert 'id="move-form"' not in after and 'id="status-form"' not in after  # no longer registered here


def test_corrections_of_a_household_and_a_member(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    hid = world.ids["hh_own"]
    hh = session.get(Household, hid)
    assert hh is not None
    phone_before = hh.phone
    page = cadre.get(f"/households/{hid}").text
    r = cadre.post(f"/households/{hid}/edit", data={"csrf_token": csrf_of(page), "poverty_cause": "因学"},
                   follow_redirects=False)
    assert r.status_code == 303
    session.refresh(hh)
    assert hh.poverty_cause == "因学" and hh.phone == phone_before  # a phone left blank is kept
    assert ledger_bodies(session)[-1]["type"] == "household.edit"
    r = cadre.post(f"/households/{hid}/edit", data={"csrf_token": csrf_of(page), "poverty_cause": "因学",
                                                    "phone": "12"})
    assert r.status_code == 422 and "联系电话" in _field_error(r.text, "phone")
    p = session.scalars(select(Person).where(Person.household_id == hid, Person.life_state == "alive")).first()
    assert p is not None
    labor = "none" if p.labor != "none" else "full"
    r = cadre.post(f"/households/{hid}/members/{p.id}", data={"csrf_token": csrf_of(page), "labor": labor},
                   follow_redirects=False)
    assert r.status_code == 303
    session.refresh(p)
    assert p.labor == labor and ledger_bodies(session)[-1]["type"] == "household.member_edit"


@pytest.mark.parametrize("role", ["auditor", "entity_user"])
def test_roles_that_may_not_write_households_get_no_form_and_are_refused(session: Session, world: World,
                                                                        role: str) -> None:
    app, _ = app_on_session(session)
    c = as_role(app, world, role)
    assert c.get("/households/new").status_code == 403
    page = c.get(f"/households/{world.ids['hh_own']}")
    assert 'id="status-form"' not in page.text and 'href="/households/new"' not in c.get("/households").text
    entries = ledger_size(session)
    token = csrf_of(c.get("/").text)
    r = c.post(f"/households/{world.ids['hh_own']}/status",
               data={"csrf_token": token, "status": "monitored", "from_date": "2026-03-01", "reason": "x"})
    assert r.status_code in (403, 404) and ledger_size(session) == entries


def test_a_township_official_registers_an_entity_a_project_an_asset_a_valuation_and_a_profit(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    town = as_role(app, world, "township_official")
    entries = ledger_size(session)
    page = town.get("/entities/new").text
    uscc = make_uscc("93231002MA0077777")
    fields = {**form_of(page, "entity-form"), "name": "兴隆镇合作社", "kind": "cooperative", "uscc": uscc,
              "legal_representative": "赵大勇", "region_code": OWN_TOWNSHIP}
    r = town.post("/entities", data=fields, follow_redirects=False)
    assert r.status_code == 303, re.findall(r"role=\"alert\"[^>]*>[^<]*", r.text)
    e = session.scalar(select(Entity).where(Entity.uscc == uscc))
    assert e is not None and e.region_code == OWN_TOWNSHIP and e.county_code == "231002"
    # The same code again: refused beside it.
    r = town.post("/entities", data=fields)
    assert r.status_code == 409 and _field_error(r.text, "uscc")

    page = town.get("/projects/new").text
    fields = {**form_of(page, "project-form"), "code": "XM-WEB-1", "name": "兴隆村大棚", "category": "特色种养业",
              "entity_id": str(e.id), "township_code": OWN_TOWNSHIP, "village_code": OWN_VILLAGE,
              "expected_return": "0.06", "funding[0].source": "财政扶贫资金", "funding[0].amount_fen": "120,000.50"}
    r = town.post("/projects", data=fields, follow_redirects=False)
    assert r.status_code == 303, re.findall(r"role=\"alert\"[^>]*>[^<]*", r.text)
    p = session.scalar(select(Project).where(Project.code == "XM-WEB-1"))
    assert p is not None
    bad = town.post("/projects", data={**fields, "code": "XM-WEB-2", "funding[1].source": "自筹",
                                        "funding[1].amount_fen": "12.345"})
    assert bad.status_code == 422 and "金额" in _field_error(bad.text, "funding[1].amount_fen")

    page = town.get(f"/projects/{p.id}").text
    assert f'href="/assets/new?project_id={p.id}"' in page
    profit = {**form_of(page, "profit-form"), "period_start": "2025-01-01", "period_end": "2025-12-31",
              "profit_fen": "80000", "audit_ref": "审字2026第3号"}
    assert town.post(f"/projects/{p.id}/profits", data=profit, follow_redirects=False).status_code == 303
    r = session.scalar(select(ProfitRecord).where(ProfitRecord.project_id == p.id))
    assert r is not None and r.profit_fen == 8_000_000

    page = town.get(f"/assets/new?project_id={p.id}").text
    assert "leased" not in page and "disposed" not in page and "pledged" not in page
    fields = {**form_of(page, "asset-form"), "code": "ZC-WEB-1", "name": "大棚一号", "kind": "operating",
              "value_fen": "300000", "owner_region_code": OWN_VILLAGE}
    assert fields["project_id"] == str(p.id)
    r = town.post("/assets", data=fields, follow_redirects=False)
    assert r.status_code == 303, re.findall(r"role=\"alert\"[^>]*>[^<]*", r.text)
    a = session.scalar(select(Asset).where(Asset.code == "ZC-WEB-1"))
    assert a is not None and a.status == "in_use" and a.value_fen == 30_000_000
    # A disposed status sent all the same is refused: it takes a decided matter.
    r = town.post("/assets", data={**fields, "code": "ZC-WEB-2", "status": "disposed"})
    assert r.status_code == 409 and _field_error(r.text, "status")

    page = town.get(f"/assets/{a.id}").text
    val = {**form_of(page, "valuation-form"), "valuer": "正信资产评估", "valued_on": "2026-01-10",
           "value_fen": "310000", "report_ref": "正信评报字2026第1号"}
    assert town.post(f"/assets/{a.id}/valuations", data=val, follow_redirects=False).status_code == 303
    v = session.scalar(select(AssetValuation).where(AssetValuation.asset_id == a.id))
    assert v is not None and v.value_fen == 31_000_000
    types = [b["type"] for b in ledger_bodies(session)[entries:]]
    assert types == ["entity.register", "project.register", "project.profit", "asset.register", "asset.valuation"]


def test_a_village_cadre_may_not_register_a_project_in_another_village(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get("/projects/new").text
    assert f'value="{FOREIGN_VILLAGE}"' not in page
    entity = session.scalar(select(Entity.id).order_by(Entity.id).limit(1))
    entries = ledger_size(session)
    r = cadre.post("/projects", data={**form_of(page, "project-form"), "code": "XM-WEB-9", "name": "外村项目",
                                      "category": "特色种养业", "entity_id": str(entity),
                                      "township_code": FOREIGN_VILLAGE[:9], "village_code": FOREIGN_VILLAGE})
    assert r.status_code == 403 and ledger_size(session) == entries


def test_the_household_list_counts_pages_and_filters_by_township_and_village(session: Session,
                                                                            world: World) -> None:
    from sqlalchemy import func

    from daipin.services.registry import views as rv

    def count(prefix: str, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(Household).where(Household.village_code.startswith(prefix))
        if status:
            stmt = stmt.where(Household.status == status)
        return int(session.scalar(stmt) or 0)

    app, _ = app_on_session(session)
    district = as_role(app, world, "district_admin")
    page = district.get("/households").text
    total = count("231002")
    assert f"共 {total:,} 户" in page
    # Page numbers: the first, around the current one, and the last.
    last = -(-total // rv.PAGE)
    assert last > 1 and f'offset={(last - 1) * rv.PAGE}">{last}</a>' in page and 'aria-current="page">1<' in page
    # The region filter lists the county's townships and villages; a township or a village narrows the list.
    assert f'value="{OWN_TOWNSHIP}"' in page and f'value="{FOREIGN_VILLAGE}"' in page
    assert f"共 {count(OWN_TOWNSHIP):,} 户" in district.get(f"/households?village={OWN_TOWNSHIP}").text
    narrowed = district.get(f"/households?village={OWN_VILLAGE}&status=poor").text
    assert f"共 {count(OWN_VILLAGE, 'poor'):,} 户" in narrowed
    assert f"&village={OWN_VILLAGE}" in narrowed
    # A village cadre: its own village's count, no region filter, and another village's code finds nothing.
    cadre = as_role(app, world, "village_cadre")
    mine = cadre.get("/households").text
    assert f"共 {count(OWN_VILLAGE):,} 户" in mine and 'id="region"' not in mine
    assert "共 0 户" in cadre.get(f"/households?village={FOREIGN_VILLAGE}").text


def test_a_count_past_its_cap_says_more_than(session: Session, world: World, monkeypatch: Any) -> None:
    from daipin.services.registry import views as rv

    monkeypatch.setattr(rv, "COUNT_CAP", 5)
    out = rv.search_households(session, _district(world), count=True, limit=2)
    assert out["total"] == 5 and out["capped"] is True
    out = rv.search_households(session, _district(world), count=True, limit=2, village=OWN_VILLAGE, q="zzzz")
    assert out["total"] == 0 and out["capped"] is False


def _district(world: World) -> Any:
    from daipin.domain.actors import Actor, Role

    return Actor(id="d", role=Role.DISTRICT_ADMIN, region="231002")


def test_the_contract_list_counts_filters_and_keeps_to_the_viewer_s_reach(session: Session, world: World) -> None:
    from daipin.db.models.registry import Contract
    from daipin.services.contracts.service import payee_region

    contracts = session.scalars(select(Contract)).all()
    regions = {c.id: payee_region(session, c) for c in contracts}
    app, _ = app_on_session(session)
    district = as_role(app, world, "district_admin")
    page = district.get("/contracts").text
    in_county = [c for c in contracts if regions[c.id].startswith("231002")]
    assert f"共 {len(in_county):,} 份" in page
    own = [c for c in contracts if regions[c.id] == OWN_VILLAGE]
    assert own and f"共 {len(own):,} 份" in district.get(f"/contracts?region={OWN_VILLAGE}").text
    leases = [c for c in own if c.model == "asset_lease"]
    assert f"共 {len(leases):,} 份" in district.get(f"/contracts?region={OWN_VILLAGE}&model=asset_lease").text
    in_2026 = [c for c in own if c.start_date <= date(2026, 12, 31) and c.end_date >= date(2026, 1, 1)]
    assert f"共 {len(in_2026):,} 份" in district.get(f"/contracts?region={OWN_VILLAGE}&year=2026").text
    first = sorted(own, key=lambda c: c.code)[0]
    assert f'href="/contracts/{first.id}"' in district.get(f"/contracts?q={first.code}").text
    # A village cadre: its own village's contracts only, whatever region it asks for.
    cadre = as_role(app, world, "village_cadre")
    assert f"共 {len(own):,} 份" in cadre.get("/contracts").text
    foreign = [c for c in contracts if regions[c.id] == FOREIGN_VILLAGE]
    assert foreign and "共 0 份" in cadre.get(f"/contracts?region={FOREIGN_VILLAGE}").text
    assert all(f'href="/contracts/{c.id}"' not in cadre.get("/contracts").text for c in foreign)
    assert cadre.get("/contracts?model=nonsense").status_code == 422


def test_an_error_page_names_its_field_by_its_label(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get(f"/households/{world.ids['hh_foreign']}")
    assert page.status_code == 404 and "（农户）" in page.text and "household_id" not in page.text
    api = cadre.get(f"/api/v1/households/{world.ids['hh_foreign']}")
    assert api.json()["error"]["field"] == "household_id"  # the API keeps the machine's name


def test_a_village_cadre_saves_the_village_s_yearly_plan_and_a_bad_share_is_refused_beside_it(
        session: Session, world: World) -> None:
    from daipin.db.models.registry import AllocationPlan

    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get(f"/villages/{OWN_VILLAGE}/plan?year=2027").text
    assert 'id="no-plan"' in page
    # A browser sends the ticked boxes only (the parser reads every box).
    shown_fields = {k: v for k, v in form_of(page, "plan-form").items() if not k.startswith("eligible_statuses")}
    fields = {**shown_fields, "year": "2027", "pool_fen": "120,000.00", "cap_per_household_fen": "",
              "eligible_statuses[0]": "poor", "eligible_statuses[1]": "monitored",
              "buckets[0].name": "公益岗位", "buckets[0].share": "0.6", "buckets[0].rule": "wages",
              "buckets[1].name": "奖励补助", "buckets[1].share": "0.5", "buckets[1].rule": "tiered",
              "buckets[1].per": "household", "buckets[1].tiers": "0:0, 30:1, 100:2"}
    entries = ledger_size(session)
    r = cadre.post(f"/villages/{OWN_VILLAGE}/plan", data=fields)
    assert r.status_code == 422 and "应为 1" in _field_error(r.text, "buckets") and ledger_size(session) == entries
    assert 'value="奖励补助"' in r.text  # what was typed comes back
    r = cadre.post(f"/villages/{OWN_VILLAGE}/plan", data={**fields, "buckets[1].share": "0.4"},
                   follow_redirects=False)
    assert r.status_code == 303
    plan = session.scalar(select(AllocationPlan).where(AllocationPlan.village_code == OWN_VILLAGE,
                                                      AllocationPlan.year == 2027))
    assert plan is not None and plan.pool_fen == 12_000_000 and plan.eligible_statuses == ["poor", "monitored"]
    assert plan.buckets[1]["tiers"] == [{"min_points": 0, "weight": "0"}, {"min_points": 30, "weight": "1"},
                                        {"min_points": 100, "weight": "2"}]
    shown = cadre.get(f"/villages/{OWN_VILLAGE}/plan?year=2027").text
    assert "120,000.00" in shown and "按贡献分档" in shown
    assert form_of(shown, "plan-form")["buckets[1].tiers"] == "0:0, 30:1, 100:2"  # comes back as typed
    # Another village: not found; an auditor reads it but gets no form.
    assert cadre.get(f"/villages/{FOREIGN_VILLAGE}/plan").status_code == 404
    auditor = as_role(app, world, "auditor").get(f"/villages/{OWN_VILLAGE}/plan?year=2027")
    assert auditor.status_code == 200 and 'id="plan-form"' not in auditor.text
