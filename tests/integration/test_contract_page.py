"""One contract's page and API: its terms by name, its versions marked in force or superseded, and amending or
terminating it through the same services, scope and ledger as everywhere else."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, ContractVersion, Household, Person, Project
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.privacy import mask_name
from daipin.services.contracts import service as svc
from daipin.web.fields import field_label
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    START,
    World,
    app_on_session,
    build_world,
    client,
)
from tests.integration.registry_support import ledger_bodies, ledger_size


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


class _Form(HTMLParser):
    """The fields one form of a page sends when submitted as shown (a select sends its chosen option)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("type") != "submit":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select is not None and (self._select not in self.fields or "selected" in a):
            self.fields[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def form_of(html: str, form_id: str) -> dict[str, str]:
    parser = _Form(form_id)
    parser.feed(html)
    assert parser.fields, f"no form {form_id} on the page"
    return parser.fields


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def section(html: str, element_id: str) -> str:
    """The text of the element with this id (tags dropped)."""
    m = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert m, f"no element {element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(2)))


def as_role(app: Any, w: World, role: str) -> Any:
    c = client(app)
    c.cookies.set("daipin_session", w.tokens[role])
    return c


def versions(session: Session, contract_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(ContractVersion)
                              .where(ContractVersion.contract_id == contract_id)) or 0)


def _contract(session: Session, contract_id: int) -> Contract:
    c = session.get(Contract, contract_id)
    assert c is not None
    return c


def test_the_page_shows_the_terms_by_name_and_each_version_in_force_or_superseded(session: Session,
                                                                                   world: World) -> None:
    cid = world.ids["contract_own"]
    svc.amend_contract(session, SYSTEM_ACTOR, cid, terms={**_contract(session, cid).terms, "annual_rent_fen": 1_500_000},
                       reason="补充协议：租金上调", at=START)
    session.flush()
    app, _ = app_on_session(session)
    page = as_role(app, world, "district_admin").get(f"/contracts/{cid}")
    assert page.status_code == 200
    terms = section(page.text, "terms")
    assert "年租金 15,000.00 元" in terms and "租赁资产" in terms
    assert "annual_rent_fen" not in terms and "asset_code" not in terms
    v1, v2 = section(page.text, "version-1"), section(page.text, "version-2")
    assert "现行" in v2 and "已被第2版取代" not in v2
    assert "已被第2版取代" in v1 and "现行" not in v1
    assert re.search(r"年租金：[\d,]+\.\d\d 元 → 15,000\.00 元", v2)
    assert "补充协议：租金上调" in v2 and "系统" in v2
    assert "2026-03-02 09:00" in v2  # amended at 01:00 UTC, read in Beijing time


def test_a_village_cadre_amends_on_the_page_and_gets_version_2_with_its_ledger_entry(session: Session,
                                                                                    world: World) -> None:
    cid = world.ids["contract_own"]
    c = _contract(session, cid)
    before_terms, entries = dict(c.terms), ledger_size(session)
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get(f"/contracts/{cid}")
    fields = form_of(page.text, "amend-form")
    rent = before_terms["annual_rent_fen"]
    # The form holds the terms in force: money in yuan, the dates of the version in force.
    assert fields["t_annual_rent_fen"] == f"{rent // 100:,}.{rent % 100:02d}"
    assert fields["t_asset_code"] == before_terms["asset_code"]
    assert (fields["start_date"], fields["end_date"]) == (c.start_date.isoformat(), c.end_date.isoformat())
    done = cadre.post(f"/contracts/{cid}/amend", follow_redirects=False,
                      data={**fields, "t_annual_rent_fen": "16000.50", "reason": "补充协议：租金上调"})
    assert done.status_code == 303 and done.headers["location"] == f"/contracts/{cid}#history"
    assert c.version == 2 and c.terms == {"asset_code": before_terms["asset_code"], "annual_rent_fen": 1_600_050}
    assert ledger_size(session) == entries + 1
    last = ledger_bodies(session)[-1]
    assert last["type"] == "contract.amend" and last["subject"] == f"contract:{c.code}"
    after = cadre.get(f"/contracts/{cid}").text
    assert "现行" in section(after, "version-2") and "已被第2版取代" in section(after, "version-1")
    assert "village-cadre（村干部）" in section(after, "version-2")


def test_bad_input_on_the_page_changes_nothing_and_names_the_field(session: Session, world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get(f"/contracts/{cid}").text
    amend = {**form_of(page, "amend-form"), "reason": "租金调整说明"}
    terminate = {**form_of(page, "terminate-form"), "on": "2026-03-01", "reason": "资产收回说明"}
    cases = [
        ("amend", {"reason": "  "}, "reason", "缺少变更原因"),
        ("amend", {"t_annual_rent_fen": "一万"}, "terms.annual_rent_fen", "金额格式不对"),
        # Not numbers, or numbers no contract holds: refused like any bad amount, never a server error.
        *[("amend", {"t_annual_rent_fen": raw}, "terms.annual_rent_fen", "金额格式不对")
          for raw in ("Infinity", "-inf", "NaN", "sNaN", "1.001", "-0.01")],
        *[("amend", {"t_annual_rent_fen": raw}, "terms.annual_rent_fen", "金额过大")
          for raw in ("1e999999999", "1e30", "99999999999999999999999")],
        ("amend", {"t_annual_rent_fen": ""}, "terms.annual_rent_fen", "缺少必填条款 年租金"),
        ("amend", {"end_date": "2020-01-01"}, "start_date", "起始日期晚于终止日期"),
        ("amend", {}, "terms", "变更内容与现行版本相同"),
        ("terminate", {"on": "三月一日"}, "on", "日期格式应为 YYYY-MM-DD"),
        ("terminate", {"reason": ""}, "reason", "缺少终止原因"),
        ("terminate", {"on": "2001-01-01"}, "on", "终止日期早于协议起始日期"),
    ]
    c = _contract(session, cid)
    state = (c.version, dict(c.terms), c.status, c.end_date, versions(session, cid), ledger_size(session))
    for form, change, field, message in cases:
        data = {**(amend if form == "amend" else terminate), **change}
        r = cadre.post(f"/contracts/{cid}/{form}", data=data, follow_redirects=False)
        assert r.status_code == 422, (form, change, r.status_code)
        error = section(r.text, "action-error")
        # The field by its label (the API keeps the machine's name), never the raw name.
        assert message in error and f"（{field_label(field)}）" in error and f"({field})" not in error, (
            form, change, error)
        assert f'<details id="{form}" open>' in r.text  # the form that failed is open, with what was typed
        assert form_of(r.text, f"{form}-form")["reason"] == data["reason"]
        assert (c.version, c.terms, c.status, c.end_date, versions(session, cid), ledger_size(session)) == state


def test_a_list_of_objects_comes_back_from_the_form_unchanged(session: Session, world: World) -> None:
    cid = session.scalar(select(Contract.id).where(Contract.project_id == world.ids["project_own"],
                                                   Contract.model == "fund_support"))
    assert cid is not None
    c = _contract(session, cid)
    schedule = c.terms["repayment_schedule"]
    assert isinstance(schedule[0], dict)
    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    fields = {**form_of(admin.get(f"/contracts/{cid}").text, "amend-form"), "reason": "调整用途"}
    same = admin.post(f"/contracts/{cid}/amend", data=fields)
    assert same.status_code == 422 and "变更内容与现行版本相同" in same.text
    done = admin.post(f"/contracts/{cid}/amend", data={**fields, "t_purpose": "购买种牛及饲料"},
                      follow_redirects=False)
    assert done.status_code == 303
    assert c.version == 2 and c.terms["repayment_schedule"] == schedule and c.terms["purpose"] == "购买种牛及饲料"
    page = admin.get(f"/contracts/{cid}").text
    assert "到期日 " in section(page, "terms") and "amount_fen" not in section(page, "terms")


def test_terminating_on_the_page_leaves_one_version_in_force_and_no_form(session: Session, world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    township = as_role(app, world, "township_official")
    fields = {**form_of(township.get(f"/contracts/{cid}").text, "terminate-form"), "on": "2026-03-01",
              "reason": "资产收回"}
    done = township.post(f"/contracts/{cid}/terminate", data=fields, follow_redirects=False)
    assert done.status_code == 303
    page = township.get(f"/contracts/{cid}").text
    assert "已终止" in section(page, "version-2") and "已被第2版取代" in section(page, "version-1")
    assert "状态：有效 → 已终止" in section(page, "version-2")
    assert "amend-form" not in page and "terminate-form" not in page  # nothing left to change
    again = township.post(f"/contracts/{cid}/terminate", data=fields)
    assert again.status_code == 409 and _contract(session, cid).version == 2


@pytest.mark.parametrize("role", ["auditor", "entity_user"])
def test_those_who_only_read_a_contract_see_no_form_and_are_refused(session: Session, world: World,
                                                                    role: str) -> None:
    cid = world.ids["contract_own"]  # of the entity account's own entity
    app, _ = app_on_session(session)
    cadre_page = as_role(app, world, "village_cadre").get(f"/contracts/{cid}").text
    good = {**form_of(cadre_page, "amend-form"), "t_annual_rent_fen": "1.00", "reason": "调整"}
    reader = as_role(app, world, role)
    page = reader.get(f"/contracts/{cid}")
    assert page.status_code == 200 and "年租金" in page.text
    assert "amend-form" not in page.text and "terminate-form" not in page.text
    csrf = csrf_of(page.text)
    entries, c = ledger_size(session), _contract(session, cid)
    for path, data in ((f"/contracts/{cid}/amend", good), (f"/contracts/{cid}/amend", {"reason": ""}),
                       (f"/contracts/{cid}/terminate", {"on": "2026-03-01", "reason": "收回"})):
        r = reader.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        assert "amend-form" not in r.text
    assert (c.version, c.status, ledger_size(session)) == (1, "active", entries)


def test_a_user_outside_the_contracts_region_does_not_find_it_or_change_it(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    foreign = world.ids["contract_foreign"]
    entries = ledger_size(session)
    for role in ("village_cadre", "township_official"):
        c = as_role(app, world, role)
        token = form_of(c.get(f"/contracts/{world.ids['contract_own']}").text, "amend-form")["csrf_token"]
        assert c.get(f"/contracts/{foreign}").status_code == 404
        for form in ("amend", "terminate"):
            r = c.post(f"/contracts/{foreign}/{form}", data={"csrf_token": token, "reason": "x", "on": "2026-03-01"})
            assert r.status_code == 404
        assert c.get(f"/api/v1/contracts/{foreign}").status_code == 404
    assert _contract(session, foreign).version == 1 and ledger_size(session) == entries


def test_an_official_who_sees_a_contract_by_its_project_may_not_change_it_for_a_payee_elsewhere(
        session: Session, world: World) -> None:
    """The own village's project pays a household of another township: the village lists the contract on its
    project's page and may read it, but only those who act for the payee's village may change it."""
    project = session.get(Project, world.ids["project_own"])
    payee = session.scalar(select(Household).where(Household.village_code == FOREIGN_VILLAGE,
                                                   Household.status.in_(("poor", "monitored"))).limit(1))
    assert project is not None and payee is not None
    c = svc.sign_contract(session, SYSTEM_ACTOR, code="HT-X-1", model="fund_support", project_id=project.id,
                          start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                          terms={"amount_fen": 10000, "purpose": "购买种苗", "support_type": "grant"},
                          payee_household_id=payee.id, at=START)
    session.flush()
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get(f"/contracts/{c.id}")
    assert page.status_code == 200 and "amend-form" not in page.text
    assert f'href="/households/{payee.id}"' not in page.text  # nor may the cadre open the payee's page
    token = csrf_of(page.text)
    r = cadre.post(f"/contracts/{c.id}/amend", data={"csrf_token": token, "t_annual_rent_fen": "200",
                                                     "start_date": "2026-01-01", "end_date": "2026-12-31",
                                                     "reason": "调整"})
    assert r.status_code == 403 and c.version == 1
    admin_page = as_role(app, world, "district_admin").get(f"/contracts/{c.id}").text
    assert "amend-form" in admin_page and f'href="/households/{payee.id}"' in admin_page


def test_an_entity_user_sees_only_its_own_entitys_contracts_and_payees_partly_masked(session: Session,
                                                                                     world: World) -> None:
    app, _ = app_on_session(session)
    entity = as_role(app, world, "entity_user")
    assert entity.get(f"/contracts/{world.ids['contract_own']}").status_code == 200
    assert entity.get(f"/contracts/{world.ids['contract_foreign']}").status_code == 404
    assert entity.get(f"/api/v1/contracts/{world.ids['contract_foreign']}").status_code == 404
    hh_contract = _contract(session, world.ids["contract_own_household"])
    head = session.scalar(select(Person.name).where(Person.household_id == hh_contract.payee_household_id,
                                                    Person.relation == "户主"))
    assert head is not None
    page = entity.get(f"/contracts/{hh_contract.id}").text
    payee = section(page, "payee")
    assert mask_name(head) in payee and head not in payee
    assert "/households/" not in page  # an entity's users open no household pages
    listed = entity.get(f"/entities/{world.ids['entity_own']}").text
    assert f'href="/contracts/{world.ids["contract_own"]}"' in listed


def test_no_id_number_phone_or_bank_account_appears_in_clear(session: Session, world: World) -> None:
    cid = world.ids["contract_own_household"]
    c = _contract(session, cid)
    hh = session.get(Household, c.payee_household_id)
    assert hh is not None and hh.phone and hh.bank_account
    ids = list(session.scalars(select(Person.id_number).where(Person.household_id == hh.id)))
    head = session.scalar(select(Person.name).where(Person.household_id == hh.id, Person.relation == "户主"))
    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    page = admin.get(f"/contracts/{cid}").text
    data = admin.get(f"/api/v1/contracts/{cid}").text
    assert head and head in section(page, "payee") and hh.household_no in section(page, "payee")
    for text in (page, data):
        for secret in [hh.phone, hh.bank_account, *ids]:
            assert secret not in text


def test_every_contract_code_links_to_its_page_from_the_project_household_and_entity_pages(session: Session,
                                                                                         world: World) -> None:
    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    c = _contract(session, world.ids["contract_own_household"])
    link = f'<a href="/contracts/{c.id}">{c.code}</a>'
    assert link in admin.get(f"/projects/{c.project_id}").text
    assert link in admin.get(f"/households/{c.payee_household_id}").text
    assert link in admin.get(f"/entities/{c.entity_id}").text


def test_the_api_gives_a_contract_with_its_history_and_amends_and_terminates_it(session: Session,
                                                                               world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    c = client(app)
    headers = world.headers("township_official")
    got = c.get(f"/api/v1/contracts/{cid}", headers=headers).json()
    assert got["contract"]["id"] == cid and got["may_change"] is True
    assert {t["name"]: t["label"] for t in got["terms"]}["annual_rent_fen"] == "年租金"
    assert [(h["version"], h["current"]) for h in got["history"]] == [(1, True)]
    bad = c.post(f"/api/v1/contracts/{cid}/amend", json={"reason": "", "terms": {"annual_rent_fen": 1}},
                 headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "reason"
    amended = c.post(f"/api/v1/contracts/{cid}/amend", headers=headers,
                     json={"reason": "补充协议", "terms": {"annual_rent_fen": 1_000_000}})
    assert amended.status_code == 200 and amended.json()["version"] == 2
    ended = c.post(f"/api/v1/contracts/{cid}/terminate", json={"on": "2026-03-01", "reason": "资产收回"},
                   headers=headers)
    assert ended.status_code == 200 and ended.json() == {"id": cid, "code": got["contract"]["code"],
                                                         "status": "terminated", "version": 3}
    history = c.get(f"/api/v1/contracts/{cid}", headers=headers).json()["history"]
    assert [(h["version"], h["status"], h["current"], h["superseded_by"]) for h in history] == [
        (1, "active", False, 2), (2, "active", False, 3), (3, "terminated", True, None)]
    assert history[1]["changes"][-1] == {"field": "terms.annual_rent_fen", "before": got["terms"][-1]["value"],
                                         "after": 1_000_000, "label": "年租金", "label_en": "annual rent",
                                         "type": "money"}
    late = c.post(f"/api/v1/contracts/{cid}/amend", json={"reason": "再改", "terms": {"annual_rent_fen": 5}},
                  headers=headers)
    assert late.status_code == 409


def test_a_contract_signed_on_the_form_opens_on_its_own_page_with_version_1_in_force(session: Session,
                                                                                    world: World) -> None:
    from tests.integration.api_support import OWN_VILLAGE

    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    form = cadre.get(f"/contracts/new?model=asset_lease&project_id={world.ids['project_own']}").text
    assert "须经村民（代表）会议决议" in section(form, "gated-note")
    fields = {**form_of(form, "contract-form"), "code": "HT-FORM-01", "payee_village_code": OWN_VILLAGE,
              "start_date": "2026-01-01", "end_date": "2028-12-31", "t_asset_code": "ZC-FORM-01",
              "t_annual_rent_fen": "12000.00"}
    fields.pop("payee_household_no", None)
    # Leasing the village's asset commits collective assets: only its executed contract matter signs it.
    refused = cadre.post("/contracts", data=fields, follow_redirects=False)
    assert refused.status_code == 409 and "签订利益联结协议" in refused.text
    assert session.scalar(select(Contract).where(Contract.code == "HT-FORM-01")) is None
    form = cadre.get(f"/contracts/new?model=fund_support&project_id={world.ids['project_own']}").text
    fields = {**form_of(form, "contract-form"), "code": "HT-FORM-01", "payee_village_code": OWN_VILLAGE,
              "start_date": "2026-01-01", "end_date": "2028-12-31", "t_amount_fen": "12000.00",
              "t_purpose": "购买种苗", "t_support_type": "grant"}
    fields.pop("payee_household_no", None)
    done = cadre.post("/contracts", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text[:800]
    c = session.scalar(select(Contract).where(Contract.code == "HT-FORM-01"))
    assert c is not None and done.headers["location"] == f"/contracts/{c.id}"
    page = cadre.get(done.headers["location"]).text
    assert "现行" in section(page, "version-1") and "扶持金额 12,000.00 元" in section(page, "terms")


def test_the_api_says_in_chinese_why_a_request_is_refused(session: Session, world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    c = client(app)
    headers = world.headers("township_official")
    cases = [
        ({"reason": "长" * 201}, "reason", "过长（最多 200 个字）"),
        ({"reason": "改", "start_date": "2026-13-01"}, "start_date", "日期格式应为 YYYY-MM-DD"),
        ({"reason": "改", "extra": 1}, "extra", "不接受此项"),
        ({}, "reason", "缺少此项"),
    ]
    before = versions(session, cid)
    for body, field, reason in cases:
        r = c.post(f"/api/v1/contracts/{cid}/amend", json=body, headers=headers)
        error = r.json()["error"]
        assert r.status_code == 422 and error["field"] == field, (body, error)
        assert error["message_zh"] == f"输入有误：{field} {reason}", error
        assert error["details"][0]["message_zh"] == reason
    assert versions(session, cid) == before


def test_a_stale_form_is_refused_and_does_not_undo_the_amendment_made_since(session: Session, world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    cadre, township = as_role(app, world, "village_cadre"), as_role(app, world, "township_official")
    stale_amend = form_of(cadre.get(f"/contracts/{cid}").text, "amend-form")
    stale_end = form_of(cadre.get(f"/contracts/{cid}").text, "terminate-form")
    assert stale_amend["version"] == stale_end["version"] == "1"
    fresh = form_of(township.get(f"/contracts/{cid}").text, "amend-form")
    done = township.post(f"/contracts/{cid}/amend", data={**fresh, "t_annual_rent_fen": "16000.00",
                                                           "reason": "补充协议：租金上调"}, follow_redirects=False)
    assert done.status_code == 303
    c = _contract(session, cid)
    state = (c.version, dict(c.terms), c.status, c.end_date, versions(session, cid), ledger_size(session))
    for form, data in (("amend", {**stale_amend, "t_annual_rent_fen": "12000.00", "reason": "调整"}),
                       ("terminate", {**stale_end, "on": "2026-03-01", "reason": "资产收回"})):
        r = cadre.post(f"/contracts/{cid}/{form}", data=data, follow_redirects=False)
        assert r.status_code == 409, (form, r.status_code)
        assert "协议已被变更为第2版，请刷新后重试" in section(r.text, "action-error")
        assert (c.version, c.terms, c.status, c.end_date, versions(session, cid), ledger_size(session)) == state
    assert c.terms["annual_rent_fen"] == 1_600_000
    # A form made from the page as it now stands goes through.
    again = {**form_of(cadre.get(f"/contracts/{cid}").text, "terminate-form"), "on": "2026-03-01", "reason": "收回"}
    assert again["version"] == "2"
    assert cadre.post(f"/contracts/{cid}/terminate", data=again, follow_redirects=False).status_code == 303


def test_the_api_refuses_a_change_from_a_version_no_longer_current(session: Session, world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    c = client(app)
    headers = world.headers("township_official")
    first = c.post(f"/api/v1/contracts/{cid}/amend", headers=headers,
                   json={"reason": "补充协议", "terms": {**_contract(session, cid).terms, "annual_rent_fen": 1_000_000},
                         "version": 1})
    assert first.status_code == 200 and first.json()["version"] == 2
    entries = ledger_size(session)
    for path, body in (("amend", {"reason": "再改", "terms": {**_contract(session, cid).terms, "annual_rent_fen": 5},
                                  "version": 1}),
                       ("terminate", {"on": "2026-03-01", "reason": "资产收回", "version": 1})):
        r = c.post(f"/api/v1/contracts/{cid}/{path}", json=body, headers=headers)
        assert r.status_code == 409, (path, r.text)
        error = r.json()["error"]
        assert error["field"] == "version" and "协议已被变更为第2版，请刷新后重试" in r.text
    assert _contract(session, cid).version == 2 and ledger_size(session) == entries
    ended = c.post(f"/api/v1/contracts/{cid}/terminate", json={"on": "2026-03-01", "reason": "资产收回", "version": 2},
                   headers=headers)
    assert ended.status_code == 200 and ended.json()["version"] == 3


def _quantified_share(session: Session, world: World) -> Contract:
    c = next(c for c in session.scalars(select(Contract).where(
        Contract.project_id == world.ids["project_own"], Contract.model == "shareholding",
        Contract.payee_household_id.is_not(None)).order_by(Contract.id))
        if c.terms["contribution_kind"] == "quantified_fund")
    return c


def test_the_form_and_the_api_refuse_to_change_a_shares_contribution_kind(session: Session, world: World) -> None:
    c = _quantified_share(session, world)
    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    fields = form_of(admin.get(f"/contracts/{c.id}").text, "amend-form")
    assert fields["t_contribution_kind"] == "quantified_fund"
    state = (c.version, dict(c.terms), versions(session, c.id), ledger_size(session))
    r = admin.post(f"/contracts/{c.id}/amend", data={**fields, "t_contribution_kind": "own_money", "reason": "改"},
                   follow_redirects=False)
    assert r.status_code == 422
    error = section(r.text, "action-error")
    assert "入股方式不能通过变更修改" in error and "（协议条款 · 入股方式）" in error
    api = client(app).post(f"/api/v1/contracts/{c.id}/amend", headers=world.headers("district_admin"),
                           json={"reason": "改", "terms": {**c.terms, "contribution_kind": "own_money"}})
    assert api.status_code == 422 and api.json()["error"]["field"] == "terms.contribution_kind"
    assert (c.version, c.terms, versions(session, c.id), ledger_size(session)) == state


def test_an_amendment_on_the_page_takes_an_effective_date_shown_in_the_history(session: Session,
                                                                              world: World) -> None:
    cid = world.ids["contract_own"]
    app, _ = app_on_session(session)
    admin = as_role(app, world, "district_admin")
    fields = form_of(admin.get(f"/contracts/{cid}").text, "amend-form")
    assert fields["effective_from"] == ""
    done = admin.post(f"/contracts/{cid}/amend", data={**fields, "t_annual_rent_fen": "1.00", "reason": "2027年起租金下调",
                                                        "effective_from": "2027-01-01"}, follow_redirects=False)
    assert done.status_code == 303
    page = admin.get(f"/contracts/{cid}").text
    c = _contract(session, cid)
    assert c.start_date.isoformat() in section(page, "version-1")
    assert "2027-01-01" in section(page, "version-2")
    history = client(app).get(f"/api/v1/contracts/{cid}", headers=world.headers("district_admin")).json()["history"]
    assert [h["effective_from"] for h in history] == [c.start_date.isoformat(), "2027-01-01"]


@pytest.mark.parametrize("role", ["entity_user", "auditor"])
def test_roles_that_sign_no_contract_get_no_form_and_cannot_post_one(session: Session, world: World,
                                                                     role: str) -> None:
    app, _ = app_on_session(session)
    c = as_role(app, world, role)
    assert c.get("/contracts/new").status_code == 403
    token = csrf_of(c.get(f"/contracts/{world.ids['contract_own']}").text)  # a page the role may read
    before = session.scalar(select(func.count()).select_from(Contract))
    r = c.post("/contracts", data={"csrf_token": token, "model": "asset_lease", "code": "HT-NO"},
               follow_redirects=False)
    assert r.status_code == 403 and "无权签订利益联结协议" in r.text  # the role's refusal, not the token's
    assert session.scalar(select(func.count()).select_from(Contract)) == before
    assert as_role(app, world, "village_cadre").get("/contracts/new").status_code == 200


def test_a_rate_shows_as_written_and_as_a_percentage(session: Session, world: World) -> None:
    from decimal import Decimal

    c = _quantified_share(session, world)
    app, _ = app_on_session(session)
    terms = section(as_role(app, world, "district_admin").get(f"/contracts/{c.id}").text, "terms")
    share = c.terms["profit_share"]
    percent = format((Decimal(share) * 100).normalize(), "f")
    assert f"分红比例 {share}（{percent}%）" in terms, terms
    assert "%" not in terms.split("分红比例")[0]  # money and counts are not rates
