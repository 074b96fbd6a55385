"""Listing an entity as seriously untrustworthy walks notice → objection → answer → effect → repair
(国办发〔2020〕49号, SUPERVISION.md), each step refused out of turn, outside its window or by the wrong hand, and a
listed entity signs no new contract; the direct path can neither list nor lift."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.supervision import CreditRecord, Finding
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError
from daipin.services.contracts import service as contracts
from daipin.services.credit import service as credit
from daipin.services.credit import views as credit_views
from daipin.services.registry import service as reg
from daipin.services.supervision import service as sup
from tests.integration.registry_support import (
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    ledger_size,
    project,
    rs_fixture,
)

_ = rs_fixture
DAY = timedelta(days=1)


def _entity_user(entity_id: int) -> Actor:
    return Actor(id="e", role=Role.ENTITY_USER, region="231002", entity_id=entity_id)


def _propose(rs: Session, entity_id: int, at=AT):
    return credit.propose_listing(rs, ACTOR, entity=entity_id, reasons="连续两年拖欠分红且拒不整改",
                                  basis="国办发〔2020〕49号；东安区意见第三部分第4条", at=at)


def test_a_listing_walks_notice_objection_answer_effect_and_repair(rs: Session) -> None:
    p = project(rs)
    e = reg.get_entity(rs, p.entity_id)
    listing = _propose(rs, e.id)
    assert listing.status == "notified" and e.credit_status == "normal"  # told, not yet listed
    assert "异议" in listing.rights and listing.objection_until == AT + 10 * DAY
    with pytest.raises(Conflict) as early:  # the window is open: no effect yet
        credit.take_effect(rs, ACTOR, listing.id, at=AT + 2 * DAY)
    assert early.value.code == "listing_not_ready"
    credit.object_to_listing(rs, _entity_user(e.id), listing.id, text="已于本月补付分红，附银行回单", at=AT + 3 * DAY)
    with pytest.raises(Conflict) as twice:
        credit.object_to_listing(rs, _entity_user(e.id), listing.id, text="再次异议", at=AT + 4 * DAY)
    assert twice.value.code == "listing_state"
    with pytest.raises(Conflict) as unanswered:  # the window is over but the objection is not answered
        credit.take_effect(rs, ACTOR, listing.id, at=AT + 20 * DAY)
    assert unanswered.value.code == "listing_not_ready" and e.credit_status == "normal"
    credit.answer_objection(rs, ACTOR, listing.id, upheld=False, answer="回单金额不足，维持认定", at=AT + 12 * DAY)
    credit.take_effect(rs, ACTOR, listing.id, at=AT + 13 * DAY)
    assert listing.status == "listed" and e.credit_status == "blacklisted"
    with pytest.raises(Conflict):  # a listed entity is party to no new contract
        contracts.sign_contract(rs, ACTOR, code="C-NEW", model="asset_lease", project_id=p.id,
                                start_date=date(2025, 7, 1), end_date=date(2026, 6, 30),
                                terms={"annual_rent_fen": 100}, payee_village_code=VILLAGE, at=AT + 14 * DAY)
    with pytest.raises(Conflict) as lift:  # the direct path cannot lift it
        reg.set_credit_status(rs, ACTOR, e.id, "normal", date(2025, 7, 1), "已整改", AT + 15 * DAY)
    assert lift.value.code == "repair_required"
    with pytest.raises(Conflict) as too_early:
        credit.repair(rs, ACTOR, listing.id, rectification="已全额补付", at=AT + 100 * DAY)
    assert too_early.value.code == "repair_too_early"
    # a finding about the entity still open blocks the repair, even after the period
    f = sup.record_inspection(rs, ACTOR, region=TOWN, inspected_on=date(2025, 6, 1), inspectors="区纪委检查组",
                              place="兴隆镇", checked="分红兑付", findings=[{"summary": "仍欠分红",
                                                                        "subject": f"entity:{e.uscc}"}],
                              at=AT)[1][0]
    later = AT + 13 * DAY + 366 * DAY
    with pytest.raises(Conflict) as unrectified:
        credit.repair(rs, ACTOR, listing.id, rectification="已全额补付", at=later)
    assert unrectified.value.code == "not_rectified"
    sup.take_step(rs, ACTOR, f.id, "assign", unit=TOWN, deadline="2026-12-31", at=later)
    sup.take_step(rs, ACTOR, f.id, "rectify", note="已补付全部欠款", at=later)
    sup.take_step(rs, ACTOR, f.id, "verify", note="核实回单", at=later)
    credit.repair(rs, ACTOR, listing.id, rectification="已全额补付并建立兑付台账", at=later)
    assert listing.status == "repaired" and e.credit_status == "normal"
    history = credit_views.history(rs, ACTOR, e.id)
    assert [r["kind"] for r in history["events"]] == ["listing_notified", "listing_objected", "listing_answered",
                                                      "listing_listed", "listing_repaired"]
    assert history["listings"][0]["status"] == "repaired"


def test_an_upheld_objection_withdraws_the_listing_and_a_new_one_may_follow(rs: Session) -> None:
    e = reg.get_entity(rs, project(rs).entity_id)
    listing = _propose(rs, e.id)
    with pytest.raises(Conflict) as live:
        _propose(rs, e.id)
    assert live.value.code == "listing_live"
    credit.object_to_listing(rs, _entity_user(e.id), listing.id, text="欠款系村集体未开票所致", at=AT + DAY)
    credit.answer_objection(rs, ACTOR, listing.id, upheld=True, answer="异议成立，撤销认定", at=AT + 2 * DAY)
    with pytest.raises(Conflict):  # an objection is answered once
        credit.answer_objection(rs, ACTOR, listing.id, upheld=False, answer="再答", at=AT + 3 * DAY)
    assert listing.status == "withdrawn" and e.credit_status == "normal"
    with pytest.raises(Conflict):
        credit.take_effect(rs, ACTOR, listing.id, at=AT + 30 * DAY)
    assert _propose(rs, e.id, at=AT + 40 * DAY).status == "notified"


def test_a_listing_without_objection_takes_effect_when_the_window_is_over(rs: Session) -> None:
    e = reg.get_entity(rs, project(rs).entity_id)
    listing = _propose(rs, e.id)
    with pytest.raises(Conflict) as late:
        credit.object_to_listing(rs, _entity_user(e.id), listing.id, text="逾期异议", at=AT + 11 * DAY)
    assert late.value.code == "objection_window_closed"
    with pytest.raises(Conflict):  # nothing to answer
        credit.answer_objection(rs, ACTOR, listing.id, upheld=False, answer="维持", at=AT + 11 * DAY)
    credit.take_effect(rs, ACTOR, listing.id, at=AT + 10 * DAY)
    assert e.credit_status == "blacklisted"
    with pytest.raises(Conflict):
        credit.take_effect(rs, ACTOR, listing.id, at=AT + 11 * DAY)


def test_each_step_is_refused_to_the_wrong_hand_and_bad_input_writes_nothing(rs: Session) -> None:
    e = reg.get_entity(rs, project(rs).entity_id)
    township = Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
    before = ledger_size(rs)
    with pytest.raises(Forbidden):
        credit.propose_listing(rs, township, entity=e.id, reasons="拖欠", basis="49号", at=AT)
    with pytest.raises(InputError) as blank:
        credit.propose_listing(rs, ACTOR, entity=e.id, reasons=" ", basis="49号", at=AT)
    assert blank.value.field == "reasons"
    with pytest.raises(InputError) as no_basis:
        credit.propose_listing(rs, ACTOR, entity=e.id, reasons="拖欠", basis="", at=AT)
    assert no_basis.value.field == "basis"
    with pytest.raises(Conflict) as direct:
        reg.set_credit_status(rs, ACTOR, e.id, "blacklisted", date(2025, 5, 1), "恶意拖欠", AT)
    assert direct.value.code == "listing_required"
    assert ledger_size(rs) == before
    listing = _propose(rs, e.id)
    other = _entity_user(e.id + 1000)
    with pytest.raises(Forbidden):  # another entity cannot object for this one
        credit.object_to_listing(rs, other, listing.id, text="异议", at=AT + DAY)
    with pytest.raises(Forbidden):  # the entity cannot answer or list itself
        credit.take_effect(rs, _entity_user(e.id), listing.id, at=AT + 20 * DAY)
    assert rs.scalar(select(CreditRecord.kind).order_by(CreditRecord.id.desc())) == "listing_notified"
    assert rs.scalar(select(Finding.id)) is None
