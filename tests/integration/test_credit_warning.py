"""A credit warning (信用警示) has an effect: SUPERVISION.md lists only the blacklist's, so the county's rule here is
that a warned entity's new contract is signed only when the signer acknowledges the warning (the contract's ledger
entry says so), on the service, the API and the web form; a blacklisted entity signs none, acknowledged or not."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Contract, Household
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import Conflict
from daipin.services.contracts import service as contracts
from daipin.services.registry import service as reg
from tests.integration.api_support import START, World, app_on_session, build_world, client
from tests.integration.registry_support import ACTOR, AT, household, ledger_size, project, rs_fixture

_ = rs_fixture

TERMS = {"contribution_kind": "land_rights", "contribution_value_fen": 800000, "shares": "8000", "profit_share": "0.01"}


def _sign(session: Session, p: object, hh: object, code: str, **kw: object) -> Contract:
    return contracts.sign_contract(session, ACTOR, code=code, model="shareholding", project_id=p.id,  # type: ignore[attr-defined]
                                   start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), terms=TERMS,
                                   payee_household_id=hh.id, at=AT, **kw)  # type: ignore[attr-defined, arg-type]


def test_a_warned_entity_signs_a_new_contract_only_when_the_warning_is_acknowledged(rs: Session) -> None:
    p, hh = project(rs, 1), household(rs, "H-1", 1)
    reg.set_credit_status(rs, ACTOR, p.entity_id, "warned", date(2025, 5, 1), "逾期支付分红两次", AT)
    size = ledger_size(rs)
    with pytest.raises(Conflict) as err:
        _sign(rs, p, hh, "C-1")
    assert err.value.code == "credit_warning" and err.value.field == "acknowledge_warning"
    assert "信用警示" in err.value.message_zh and "逾期支付分红两次" in err.value.message_zh
    assert ledger_size(rs) == size and rs.scalar(select(Contract.id).where(Contract.code == "C-1")) is None
    c = _sign(rs, p, hh, "C-1", acknowledge_warning=True)
    assert c.status == "active"
    body = json.loads(rs.scalars(select(LedgerEntry.body).where(LedgerEntry.type == "contract.sign")
                                 .order_by(LedgerEntry.idx.desc())).first())
    assert body["facts"]["credit_warning_acknowledged"] is True


def test_a_normal_entity_needs_no_acknowledgement_and_its_entry_says_nothing_of_one(rs: Session) -> None:
    p, hh = project(rs, 1), household(rs, "H-1", 1)
    _sign(rs, p, hh, "C-1")
    body = json.loads(rs.scalars(select(LedgerEntry.body).where(LedgerEntry.type == "contract.sign")).first())
    assert "credit_warning_acknowledged" not in body["facts"]


# ---------------------------------------------------------------- the API and the web form


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _fields(w: World, code: str) -> dict[str, Any]:
    return {"code": code, "model": "fund_support", "project_id": w.ids["project_own"], "start_date": "2026-01-01",
            "end_date": "2026-12-31"}


def test_the_api_and_the_form_refuse_a_warned_entitys_contract_until_the_warning_is_acknowledged(
        session: Session, world: World) -> None:
    reg.set_credit_status(session, SYSTEM_ACTOR, world.ids["entity_own"], "warned", date(2026, 2, 1), "整改未完成",
                          START)
    session.flush()
    app, _ = app_on_session(session)
    api = client(app)
    terms = {"amount_fen": 100000, "purpose": "购买种苗", "support_type": "grant"}
    body = {**_fields(world, "HT-WARN-1"), "terms": terms, "payee_household_id": world.ids["hh_own"]}
    size = ledger_size(session)
    refused = api.post("/api/v1/contracts", json=body, headers=world.headers("district_admin"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["field"] == "acknowledge_warning" and ledger_size(session) == size
    done = api.post("/api/v1/contracts", json={**body, "acknowledge_warning": True},
                    headers=world.headers("district_admin"))
    assert done.status_code == 201, done.text

    web = client(app)
    web.cookies.set("daipin_session", world.tokens["district_admin"])
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/contracts/new").text)
    assert csrf is not None
    household_no = session.get(Household, world.ids["hh_own"]).household_no  # type: ignore[union-attr]
    form = {**{k: str(v) for k, v in _fields(world, "HT-WARN-2").items()}, "payee_household_no": household_no,
            "t_amount_fen": "1000.00", "t_purpose": "购买种苗", "t_support_type": "grant",
            "csrf_token": csrf.group(1)}
    page = web.post("/contracts", data=form, follow_redirects=False)
    assert page.status_code == 409 and 'name="acknowledge_warning"' in page.text and "信用警示" in page.text
    assert session.scalar(select(Contract.id).where(Contract.code == "HT-WARN-2")) is None
    signed = web.post("/contracts", data={**form, "acknowledge_warning": "1"}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    assert session.scalar(select(Contract.id).where(Contract.code == "HT-WARN-2")) is not None
