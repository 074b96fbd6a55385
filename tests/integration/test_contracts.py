"""Contracts on a real database: required terms, versions, blacklist, dynamic management of shares (R1.4)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from daipin.domain.errors import Conflict, InputError
from daipin.services.contracts import service as svc
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service as reg
from tests.integration.registry_support import (
    ACTOR,
    AT,
    VILLAGE,
    blacklist,
    household,
    ledger_bodies,
    ledger_size,
    person_id,
    project,
    reassign,
    rs_fixture,  # noqa: F401
    sign,
)

QUANTIFIED = {"contribution_kind": "quantified_fund", "contribution_value_fen": 500000, "shares": "5000",
              "profit_share": "0.01"}
LAND = {"contribution_kind": "land_rights", "contribution_value_fen": 800000, "shares": "8000", "profit_share": "0.01"}


def _sign(session: Session, code: str, model: str, terms: dict, **kw) -> object:
    p = kw.pop("project_obj")
    return sign(session, ACTOR, code=code, model=model, project_id=p.id, start_date=date(2025, 1, 1),
                             end_date=date(2027, 12, 31), terms=terms, at=AT, **kw)


def test_a_contract_missing_a_required_term_is_refused_with_the_term_named(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        _sign(rs, "C-1", "order_purchase", {"buyer": "合作社", "product": "木耳", "quantity": "100",
                                             "price_rule": "market_with_floor", "delivery_schedule": ["9月"]},
              project_obj=p, payee_household_id=hh.id)
    assert err.value.field == "terms.floor_price_fen"
    assert "保护价" in err.value.message_zh and "floor price" in err.value.message_en
    with pytest.raises(InputError) as err:
        svc.sign_contract(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id, start_date=date(2025, 1, 1),
                          end_date=None, terms={"annual_rent_fen": 100}, payee_village_code=VILLAGE, at=AT)
    assert err.value.field == "end_date"
    assert ledger_size(rs) == before


def test_an_employment_contract_names_a_member_of_the_payee_household(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    other = household(rs, "H-2", 2)
    terms = {"position": "工人", "hours": "8小时", "wage_basis": "day", "wage_fen": 15000, "pay_cycle": "monthly"}
    with pytest.raises(InputError) as err:
        _sign(rs, "C-1", "employment", terms, project_obj=p, payee_household_id=hh.id)
    assert err.value.field == "person_id"
    with pytest.raises(InputError):
        _sign(rs, "C-1", "employment", terms, project_obj=p, payee_household_id=hh.id,
              person_id=reg.members(rs, other.id)[0].id)
    c = _sign(rs, "C-1", "employment", terms, project_obj=p, payee_household_id=hh.id,
              person_id=reg.members(rs, hh.id)[0].id)
    assert c.version == 1


def test_amendments_make_new_versions_and_keep_the_history(rs: Session) -> None:
    p = project(rs)
    c = _sign(rs, "C-1", "asset_lease", {"annual_rent_fen": 1_200_000}, project_obj=p, payee_village_code=VILLAGE)
    svc.amend_contract(rs, ACTOR, c.id, terms={"annual_rent_fen": 1_500_000}, reason="补充协议：租金上调", at=AT)
    svc.amend_contract(rs, ACTOR, c.id, end_date=date(2028, 12, 31), reason="延长期限", at=AT)
    hist = svc.history(rs, "C-1")
    assert [h["version"] for h in hist] == [1, 2, 3]
    assert [h["terms"]["annual_rent_fen"] for h in hist] == [1_200_000, 1_500_000, 1_500_000]
    assert hist[2]["end"] == "2028-12-31" and hist[1]["reason"] == "补充协议：租金上调"
    assert c.version == 3 and c.terms == {"annual_rent_fen": 1_500_000}
    with pytest.raises(InputError) as err:
        svc.amend_contract(rs, ACTOR, c.id, terms={"annual_rent_fen": -1}, reason="错误", at=AT)
    assert err.value.field == "terms.annual_rent_fen"
    assert len(svc.history(rs, "C-1")) == 3
    assert [b["type"] for b in ledger_bodies(rs)[-3:]] == ["contract.sign", "contract.amend", "contract.amend"]


def test_history_marks_the_version_in_force_and_which_version_replaced_each_older_one(rs: Session) -> None:
    p = project(rs)
    c = _sign(rs, "C-1", "asset_lease", {"annual_rent_fen": 1_200_000}, project_obj=p, payee_village_code=VILLAGE)
    assert [(h["current"], h["superseded_by"], h["changes"]) for h in svc.history(rs, "C-1")] == [(True, None, [])]
    svc.amend_contract(rs, ACTOR, c.id, terms={"annual_rent_fen": 1_500_000, "asset_code": "ZC-1"}, reason="补充协议",
                       at=AT)
    hist = svc.history(rs, "C-1")
    # Both versions were made while the contract was active; only the second is in force.
    assert [h["status"] for h in hist] == ["active", "active"]
    assert [(h["current"], h["superseded_by"]) for h in hist] == [(False, 2), (True, None)]
    assert hist[1]["changes"] == [{"field": "terms.asset_code", "before": None, "after": "ZC-1"},
                                  {"field": "terms.annual_rent_fen", "before": 1_200_000, "after": 1_500_000}]
    svc.terminate_contract(rs, ACTOR, c.id, on=date(2026, 6, 30), reason="资产收回", at=AT)
    hist = svc.history(rs, "C-1")
    assert [(h["version"], h["status"], h["current"], h["superseded_by"]) for h in hist] == [
        (1, "active", False, 2), (2, "active", False, 3), (3, "terminated", True, None)]
    assert hist[2]["changes"] == [{"field": "end_date", "before": "2027-12-31", "after": "2026-06-30"},
                                  {"field": "status", "before": "active", "after": "terminated"}]
    assert hist[2]["at"].endswith("+00:00")  # UTC, as stored, on either database
    assert {"version", "terms", "start", "end", "status", "reason", "actor", "at", "model_label"} <= set(hist[0])


def test_a_blacklisted_entity_signs_no_new_contract(rs: Session) -> None:
    p = project(rs)
    blacklist(rs, p.entity_id)
    with pytest.raises(Conflict):
        _sign(rs, "C-1", "asset_lease", {"annual_rent_fen": 100}, project_obj=p, payee_village_code=VILLAGE)


def test_exit_frees_quantified_fund_shares_but_keeps_land_shares(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    q = _sign(rs, "C-Q", "shareholding", QUANTIFIED, project_obj=p, payee_household_id=hh.id)
    land = _sign(rs, "C-L", "shareholding", LAND, project_obj=p, payee_household_id=hh.id)
    dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2025, 5, 1), "稳定脱贫", AT, exit_year=2025)
    assert q.status == "pending_reassignment"
    assert land.status == "active"
    assert svc.history(rs, "C-Q")[-1]["status"] == "pending_reassignment"
    assert ledger_bodies(rs)[-1]["facts"]["shares_pending_reassignment"] == ["C-Q"]
    newcomer = household(rs, "H-2", 2)
    reassign(rs, ACTOR, q, newcomer, on=date(2025, 8, 1), at=AT)
    assert q.payee_household_id == newcomer.id and q.status == "active"
    moves = [h["changes"] for h in svc.history(rs, "C-Q")]
    assert moves[1] == [{"field": "status", "before": "active", "after": "pending_reassignment"}]
    assert moves[2] == [{"field": "status", "before": "pending_reassignment", "after": "active"},
                        {"field": "payee", "before": f"household:{hh.id}", "after": f"household:{newcomer.id}"}]


def test_heirs_get_land_shares_and_never_quantified_fund_shares(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    heir = household(rs, "H-2", 2, status="non_poor")
    q = _sign(rs, "C-Q", "shareholding", QUANTIFIED, project_obj=p, payee_household_id=hh.id)
    land = _sign(rs, "C-L", "shareholding", LAND, project_obj=p, payee_household_id=hh.id)
    before = ledger_size(rs)
    with pytest.raises(Conflict) as alive:  # nobody has died: nothing to inherit
        svc.transfer_share_to_heir(rs, ACTOR, "C-L", heir.id, reason="继承", at=AT)
    assert alive.value.code == "holder_alive" and land.payee_household_id == hh.id and ledger_size(rs) == before
    dynamic.record_death(rs, ACTOR, reg.members(rs, hh.id)[0].id, date(2025, 3, 1), AT)
    assert hh.life_state == "died_out" and q.status == "pending_reassignment"
    with pytest.raises(Conflict) as err:
        svc.transfer_share_to_heir(rs, ACTOR, "C-Q", heir.id, reason="继承", at=AT)
    assert err.value.code == "not_inheritable"
    svc.transfer_share_to_heir(rs, ACTOR, "C-L", heir.id, reason="法定继承 公证书(2025)第12号", at=AT)
    assert land.payee_household_id == heir.id
    assert q.payee_household_id == hh.id


def test_a_quantified_fund_share_goes_only_to_an_eligible_household(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1, status="non_poor")
    with pytest.raises(Conflict):
        _sign(rs, "C-Q", "shareholding", QUANTIFIED, project_obj=p, payee_household_id=hh.id)


@pytest.mark.parametrize("event", ["exit", "last death", "move"])
def test_a_share_freed_by_an_exit_a_death_or_a_move_has_its_own_entry_and_the_ledger_still_verifies(
        rs: Session, event: str) -> None:
    """Every row such an event changes (the contract, the people who moved) is recorded by an entry, so `daipin
    ledger verify` finds no row edited behind the ledger's back."""
    from daipin.ledger.verify import verify_log

    p = project(rs)
    hh = household(rs, "H-1", 1)
    q = _sign(rs, "C-Q", "shareholding", QUANTIFIED, project_obj=p, payee_household_id=hh.id)
    reg.add_member(rs, ACTOR, hh.id, {"name": "次子", "id_number": person_id(77), "relation": "子", "labor": "full"}, AT)
    assert verify_log(rs).ok
    if event == "exit":
        dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2025, 5, 1), "稳定脱贫", AT, exit_year=2025)
    elif event == "last death":
        for person in reg.members(rs, hh.id):
            dynamic.record_death(rs, ACTOR, person.id, date(2025, 5, 1), AT)
    else:
        dynamic.record_move(rs, ACTOR, hh.id, date(2025, 5, 1), AT, destination="外省")
    assert q.status == "pending_reassignment"
    own = [b for b in ledger_bodies(rs) if b["type"] == "contract.pending_reassignment"]
    assert [(b["subject"], b["facts"]["version"]) for b in own] == [("contract:C-Q", 2)]
    report = verify_log(rs)
    assert report.ok, report.problems
