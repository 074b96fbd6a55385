"""Work records, wages paid and fund-support repayments on a contract's page and over the API: each through the
same typed command into its service (its ledger entry), each refusal shown beside the field it names with nothing
written, and each form shown only to the roles and regions the access policy gives it and while the contract's
state allows it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.obligations import FundRepayment, WagePayment
from daipin.db.models.registry import Contract, WorkRecord
from tests.integration.api_support import World, app_on_session, build_world
from tests.integration.registry_support import ledger_size
from tests.integration.test_contract_page import as_role, form_of, section


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _field_error(html: str, field: str) -> str:
    m = re.search(rf'<small class="err field-err" role="alert" data-field="{re.escape(field)}">([^<]*)</small>', html)
    assert m, f"no error beside {field}"
    return m.group(1)


def _count(session: Session, model: Any, contract_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(model.contract_id == contract_id)) or 0)


def _revolving(session: Session, world: World) -> Contract:
    c = session.get(Contract, world.ids["fund_own"])
    assert c is not None
    if c.terms.get("support_type") != "revolving":  # the sample's first fund may be a grant: make it revolving
        c.terms = {**c.terms, "support_type": "revolving"}
        session.flush()
    return c


def test_a_village_cadre_records_work_and_wages_on_an_employment_contract(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    cid = world.ids["employment_own"]
    page = cadre.get(f"/contracts/{cid}").text
    assert 'id="work-form"' in page and 'id="wage-form"' in page and 'id="repayment-form"' not in page
    before = section(page, "contract-wage-due")
    records, entries = _count(session, WorkRecord, cid), ledger_size(session)

    work = {**form_of(page, "work-form"), "period_start": "2026-01-01", "period_end": "2026-01-10", "days": "8"}
    r = cadre.post(f"/contracts/{cid}/work-records", data=work, follow_redirects=False)
    assert r.status_code == 303, re.findall(r'role="alert"[^>]*>[^<]*', r.text)
    assert _count(session, WorkRecord, cid) == records + 1 and ledger_size(session) == entries + 1
    page = cadre.get(f"/contracts/{cid}").text
    assert "2026-01-01 — 2026-01-10" in section(page, "work-records")
    assert section(page, "contract-wage-due") != before  # eight more days fall due at the contract's rate

    # A period that ends before it starts: refused beside its start, nothing written.
    bad = cadre.post(f"/contracts/{cid}/work-records", data={**work, "period_start": "2026-02-10",
                                                            "period_end": "2026-02-01"})
    assert bad.status_code == 422 and "晚于" in _field_error(bad.text, "period_start")
    assert 'value="2026-02-10"' in bad.text  # what was typed comes back
    assert _count(session, WorkRecord, cid) == records + 1

    paid, entries = _count(session, WagePayment, cid), ledger_size(session)
    wage = {**form_of(page, "wage-form"), "paid_on": "2026-01-15", "amount_fen": "1,234.50", "note": "1月工资"}
    r = cadre.post(f"/contracts/{cid}/wage-payments", data=wage, follow_redirects=False)
    assert r.status_code == 303, re.findall(r'role="alert"[^>]*>[^<]*', r.text)
    row = session.scalar(select(WagePayment).where(WagePayment.contract_id == cid).order_by(WagePayment.id.desc()))
    assert row is not None and row.amount_fen == 123_450 and ledger_size(session) == entries + 1
    page = cadre.get(f"/contracts/{cid}").text
    assert "1,234.50" in section(page, "wage-payments") and "1月工资" in section(page, "wage-payments")
    # Three decimals of a yuan, and a day in the future: each refused beside its field, in Chinese.
    bad = cadre.post(f"/contracts/{cid}/wage-payments", data={**wage, "amount_fen": "1.234"})
    assert bad.status_code == 422 and "金额" in _field_error(bad.text, "amount_fen")
    bad = cadre.post(f"/contracts/{cid}/wage-payments", data={**wage, "paid_on": "2099-01-01"})
    assert bad.status_code == 422 and _field_error(bad.text, "paid_on")
    assert _count(session, WagePayment, cid) == paid + 1


def test_repayments_are_recorded_until_the_fund_is_repaid(session: Session, world: World) -> None:
    c = _revolving(session, world)
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    page = cadre.get(f"/contracts/{c.id}").text
    assert 'id="repayment-form"' in page and 'id="wage-form"' not in page
    amount = int(c.terms["amount_fen"])
    recorded = int(session.scalar(select(func.coalesce(func.sum(FundRepayment.amount_fen), 0))
                                  .where(FundRepayment.contract_id == c.id)) or 0)
    signed = sum(int(i["amount_fen"]) for i in c.terms.get("repayments", []) if isinstance(i, dict))
    fields = {**form_of(page, "repayment-form"), "paid_on": "2026-01-20"}
    rows, entries = _count(session, FundRepayment, c.id), ledger_size(session)
    # More than the fund: refused beside the amount, nothing written.
    bad = cadre.post(f"/contracts/{c.id}/repayments", data={**fields, "amount_fen": f"{(amount + 100) / 100:.2f}"})
    assert bad.status_code == 422 and "超过" in _field_error(bad.text, "amount_fen")
    assert _count(session, FundRepayment, c.id) == rows and ledger_size(session) == entries
    # The rest of the fund, as the page counts it (the terms' own repayments count as repaid).
    rest = amount - recorded - signed
    assert rest > 0
    r = cadre.post(f"/contracts/{c.id}/repayments", data={**fields, "amount_fen": f"{rest / 100:.2f}"},
                   follow_redirects=False)
    assert r.status_code == 303, re.findall(r'role="alert"[^>]*>[^<]*', r.text)
    assert _count(session, FundRepayment, c.id) == rows + 1 and ledger_size(session) == entries + 1
    page = cadre.get(f"/contracts/{c.id}").text
    # Repaid in full: the form is gone.
    assert section(page, "contract-outstanding").strip() == "0.00" and 'id="repayment-form"' not in page
    assert "2026-01-20" in section(page, "repayment-list")


def test_only_the_officials_of_the_payee_s_region_get_the_forms_and_the_others_are_refused(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cid = world.ids["employment_own"]
    for role in ("district_admin", "township_official"):
        assert 'id="wage-form"' in as_role(app, world, role).get(f"/contracts/{cid}").text
    work = {"period_start": "2026-01-01", "period_end": "2026-01-10", "days": "8"}
    records, entries = _count(session, WorkRecord, cid), ledger_size(session)
    for role in ("entity_user", "auditor"):
        c = as_role(app, world, role)
        page = c.get(f"/contracts/{cid}")
        assert 'id="wage-form"' not in page.text and 'id="work-form"' not in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)
        token = csrf.group(1) if csrf else ""
        assert c.post(f"/contracts/{cid}/work-records", data={**work, "csrf_token": token}).status_code == 403
        assert c.post(f"/contracts/{cid}/wage-payments", data={"paid_on": "2026-01-10", "amount_fen": "1.00",
                                                               "csrf_token": token}).status_code == 403
    # Another village's cadre does not find the contract at all.
    foreign = as_role(app, world, "village_cadre")
    page = foreign.get(f"/contracts/{world.ids['employment_foreign']}")
    assert page.status_code == 404
    assert _count(session, WorkRecord, cid) == records and ledger_size(session) == entries


def test_the_api_records_work_with_the_same_command(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    cid = world.ids["employment_own"]
    headers = world.headers("village_cadre")
    r = cadre.post(f"/api/v1/contracts/{cid}/work-records", headers=headers,
                   json={"period_start": "2026-03-01", "period_end": "2026-03-31", "days": "21.5"})
    assert r.status_code == 201, r.text
    assert r.json()["days"] == "21.5"
    r = cadre.post(f"/api/v1/contracts/{cid}/work-records", headers=headers,
                   json={"period_start": "2026-03-01", "period_end": "2026-03-31", "days": "21.5", "extra": 1})
    assert r.status_code == 422
    r = cadre.post(f"/api/v1/contracts/{world.ids['fund_own']}/work-records", headers=headers,
                   json={"period_start": "2026-03-01", "period_end": "2026-03-31", "days": "2"})
    assert r.status_code == 422
