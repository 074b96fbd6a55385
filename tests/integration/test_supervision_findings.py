"""A finding's path (open → assigned → rectified → verified, or dismissed with reasons), each step a ledger entry and
refused out of turn or by the wrong hand; inspections open findings by hand; overdue rectifications are flagged to
the township, then the district, and listed for whoever has to act on them (待我处理)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError, NotFound
from daipin.services.supervision import service as sup
from daipin.services.supervision import views
from tests.integration.registry_support import (
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    VILLAGE_B,
    ledger_bodies,
    ledger_size,
    project,
    rs_fixture,
)

_ = rs_fixture
TOWNSHIP = Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
CADRE = Actor(id="v", role=Role.VILLAGE_CADRE, region=VILLAGE)
OTHER_CADRE = Actor(id="w", role=Role.VILLAGE_CADRE, region=VILLAGE_B)
AUDITOR = Actor(id="a", role=Role.AUDITOR, region="231002")
DISTRICT = Actor(id="d", role=Role.DISTRICT_ADMIN, region="231002")


def _inspect(rs: Session, actor: Actor = TOWNSHIP, **kw):
    return sup.record_inspection(rs, actor, region=kw.pop("region", VILLAGE), inspected_on=date(2025, 5, 30),
                                 inspectors="兴隆镇纪委 检查组", place="兴隆村村委会", checked="光伏收益分配台账",
                                 result="发现问题两项", findings=kw.pop("findings", [
                                     {"summary": "公益岗位人员名单未公示", "severity": "medium"},
                                     {"summary": "收益分配会议记录缺签名", "severity": "low"}]), at=AT, **kw)


def test_an_inspection_opens_findings_by_hand_and_each_walks_its_path(rs: Session) -> None:
    ins, opened = _inspect(rs)
    assert [f.status for f in opened] == ["open", "open"] and all(f.inspection_id == ins.id for f in opened)
    # the evidence of a finding opened by hand names the inspection's row and its ledger entry (SUPERVISION.md)
    from daipin.db.models.ledger import LedgerEntry

    (entry,) = opened[0].evidence["ledger"]
    body = rs.scalar(select(LedgerEntry.body).where(LedgerEntry.idx == entry))
    assert body is not None and json.loads(body)["subject"] == f"inspection:{ins.id}"
    assert all(f.evidence == {"rows": [{"table": "inspections", "id": ins.id}], "ledger": [entry]} for f in opened)
    f = opened[0]
    sup.take_step(rs, TOWNSHIP, f.id, "assign", unit=VILLAGE, deadline="2025-06-30", at=AT)
    assert (f.status, f.responsible_unit, f.deadline) == ("assigned", VILLAGE, date(2025, 6, 30))
    with pytest.raises(Forbidden):  # another village does not report for this one
        sup.take_step(rs, OTHER_CADRE, f.id, "rectify", note="已公示", at=AT)
    with pytest.raises(InputError) as no_note:
        sup.take_step(rs, CADRE, f.id, "rectify", note="", at=AT)
    assert no_note.value.field == "note"
    sup.take_step(rs, CADRE, f.id, "rectify", note="名单已在村务公开栏公示", at=AT)
    with pytest.raises(Forbidden):  # the village does not verify its own rectification
        sup.take_step(rs, CADRE, f.id, "verify", at=AT)
    sup.take_step(rs, TOWNSHIP, f.id, "reject", note="照片未上传", at=AT)
    assert f.status == "assigned"
    sup.take_step(rs, CADRE, f.id, "rectify", note="已补传公示照片", at=AT)
    sup.take_step(rs, TOWNSHIP, f.id, "verify", note="现场核实", at=AT)
    assert f.status == "verified"
    with pytest.raises(Conflict):
        sup.take_step(rs, TOWNSHIP, f.id, "dismiss", note="重复", at=AT)
    with pytest.raises(InputError):  # dismissed only with reasons
        sup.take_step(rs, TOWNSHIP, opened[1].id, "dismiss", note="", at=AT)
    sup.take_step(rs, TOWNSHIP, opened[1].id, "dismiss", note="会议记录原件有签名，系复印件遗漏", at=AT)
    steps = [b["type"] for b in ledger_bodies(rs) if b["subject"] == f"finding:{f.id}"]
    assert steps == ["finding.opened", "finding.assign", "finding.rectify", "finding.reject", "finding.rectify",
                     "finding.verify"]


def test_an_inspection_is_refused_outside_its_reach_or_with_bad_input_and_writes_nothing(rs: Session) -> None:
    before = ledger_size(rs)
    with pytest.raises(Forbidden):
        _inspect(rs, CADRE)  # villages do not inspect
    with pytest.raises(Forbidden):
        _inspect(rs, AUDITOR)  # auditors read only
    with pytest.raises(InputError) as bad:
        _inspect(rs, findings=[{"summary": "问题", "severity": "grave"}])
    assert bad.value.field == "findings[0].severity"
    with pytest.raises(InputError) as future:
        sup.record_inspection(rs, TOWNSHIP, region=VILLAGE, inspected_on=date(2025, 7, 1), inspectors="检查组",
                              place="村委会", checked="台账", at=AT)
    assert future.value.field == "inspected_on"
    assert ledger_size(rs) == before


def test_overdue_rectifications_go_to_the_township_then_the_district(rs: Session) -> None:
    _, (f, g) = _inspect(rs)
    sup.take_step(rs, TOWNSHIP, f.id, "assign", unit=VILLAGE, deadline="2025-06-10", at=AT)
    sup.take_step(rs, TOWNSHIP, g.id, "assign", unit=VILLAGE, deadline="2025-08-31", at=AT)
    later = AT + timedelta(days=15)  # 16 June: five days overdue
    assert [x.id for x in sup.escalate_overdue(rs, DISTRICT, "231002", later)] == [f.id]
    assert f.escalated_to == "township"
    assert sup.escalate_overdue(rs, DISTRICT, "231002", later) == []  # idempotent
    today = date(2025, 6, 16)
    assert [r["id"] for r in views.overdue(rs, TOWNSHIP, today)] == [f.id]
    assert [r["id"] for r in views.overdue(rs, CADRE, today)] == [f.id]
    assert views.overdue(rs, OTHER_CADRE, today) == []
    assert views.overdue(rs, DISTRICT, today) == []  # not yet the district's
    much_later = AT + timedelta(days=45)  # 16 July: 36 days overdue > 30
    sup.escalate_overdue(rs, DISTRICT, "231002", much_later)
    assert f.escalated_to == "district"
    assert [r["id"] for r in views.overdue(rs, DISTRICT, date(2025, 7, 16))] == [f.id]
    assert views.overdue(rs, AUDITOR, date(2025, 7, 16))[0]["level"] == "district"
    with pytest.raises(Forbidden):
        sup.escalate_overdue(rs, TOWNSHIP, "231002", much_later)


def test_findings_are_read_within_reach_and_auditors_read_the_whole_district(rs: Session) -> None:
    project(rs)  # NO_LINK in the village
    sup.scan(rs, ACTOR, "231002", AT)
    _inspect(rs, region=VILLAGE_B, findings=[{"summary": "账实不符"}])
    every = views.findings(rs, AUDITOR)
    assert {r["region"] for r in every} == {VILLAGE, VILLAGE_B}
    assert {r["region"] for r in views.findings(rs, CADRE)} == {VILLAGE}
    assert {r["region"] for r in views.findings(rs, OTHER_CADRE)} == {VILLAGE_B}
    detail = views.finding(rs, AUDITOR, every[-1]["id"])
    assert detail["steps"] == [] and detail["evidence"]["rows"]
    assert [s["step"] for s in views.finding(rs, TOWNSHIP, every[-1]["id"])["steps"]] == ["assign", "dismiss"]
    with pytest.raises(NotFound):  # another village's finding reads as absent
        views.finding(rs, OTHER_CADRE, [r for r in every if r["region"] == VILLAGE][0]["id"])
    with pytest.raises(Forbidden):
        views.findings(rs, Actor(id="e", role=Role.ENTITY_USER, region="231002", entity_id=1))


def test_indicators_count_linked_households_dues_on_time_and_open_findings(rs: Session) -> None:
    from daipin.services.supervision import indicators, records
    from tests.integration.registry_support import household, sign

    p = project(rs)
    land = {"contribution_kind": "land_rights", "contribution_value_fen": 800000, "shares": "8000",
            "profit_share": "0.01"}
    for n in (1, 2):
        sign(rs, ACTOR, code=f"C-{n}", model="shareholding", project_id=p.id, start_date=date(2025, 1, 1),
             end_date=date(2027, 12, 31), terms=land, payee_household_id=household(rs, f"H-{n}", n).id, at=AT)
    for due_on, paid_on in ((date(2025, 2, 1), date(2025, 1, 30)), (date(2025, 3, 1), date(2025, 4, 1))):
        d = records.record_due(rs, ACTOR, entity=p.entity_id, kind="dividend", due_on=due_on, amount_fen=1000,
                               region=VILLAGE, contract="C-1", at=AT)
        records.pay_due(rs, ACTOR, due=d.id, amount_fen=1000, paid_on=paid_on, at=AT)
    sup.record_inspection(rs, ACTOR, region=VILLAGE, inspected_on=date(2025, 5, 1), inspectors="检查组", place="村委会",
                          checked="项目台账", findings=[{"summary": "台账缺页", "subject": f"project:{p.code}"}], at=AT)
    row = indicators.projects(rs, AUDITOR, year=2025, today=date(2025, 6, 1))[0]
    assert (row["households"], row["dues"], row["dues_on_time"], row["on_time_share"], row["open_findings"]) == (
        2, 2, 1, "50.0", 1)
    village = {v["village"]: v for v in indicators.villages(rs, CADRE, year=2025)}
    assert set(village) == {VILLAGE} and village[VILLAGE]["open_findings"] == 1


def test_the_risk_register_shows_debts_owed_and_overdue_and_the_entitys_red_flags(rs: Session) -> None:
    from daipin.services.registry import service as reg
    from daipin.services.supervision import indicators, records

    p = project(rs)
    quiet = project(rs, 2)
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        records.record_debt(rs, ACTOR, project=p.code, kind="loan", creditor="农村信用社", principal_fen=100,
                            outstanding_fen=200, recorded_on=date(2025, 5, 1), at=AT)
    assert err.value.field == "outstanding_fen" and ledger_size(rs) == before
    with pytest.raises(Forbidden):
        records.record_debt(rs, OTHER_CADRE, project=p.code, kind="loan", creditor="农村信用社", principal_fen=100,
                            outstanding_fen=100, recorded_on=date(2025, 5, 1), at=AT)
    records.record_debt(rs, ACTOR, project=p.code, kind="loan", creditor="农村信用社", principal_fen=500_000,
                        outstanding_fen=300_000, recorded_on=date(2025, 5, 1), due_on=date(2025, 5, 20), at=AT)
    records.record_debt(rs, ACTOR, project=p.code, kind="payable", creditor="饲料公司", principal_fen=80_000,
                        outstanding_fen=80_000, recorded_on=date(2025, 5, 1), due_on=date(2025, 12, 31), at=AT)
    e = reg.get_entity(rs, quiet.entity_id)
    records.record_due(rs, ACTOR, entity=e.id, kind="rent", due_on=date(2025, 1, 1), amount_fen=1000,
                       region=VILLAGE, at=AT)
    sup.scan(rs, ACTOR, "231002", AT)  # ARREARS for the second project's entity
    rows = {r["project"]: r for r in indicators.risk_register(rs, AUDITOR, today=date(2025, 6, 1))}
    assert (rows[p.code]["owed_fen"], rows[p.code]["overdue_fen"]) == (380_000, 300_000)
    assert rows[quiet.code]["owed_fen"] == 0 and rows[quiet.code]["entity_flags"] >= 1
    assert indicators.risk_register(rs, OTHER_CADRE, today=date(2025, 6, 1)) == []


def test_the_risk_register_counts_a_projects_uninsured_operating_assets(rs: Session) -> None:
    from daipin.services.registry import service as reg
    from daipin.services.supervision import indicators

    p = project(rs)
    e = reg.get_entity(rs, p.entity_id)
    bare = reg.register_asset(rs, ACTOR, code="A-BARE", name="冷库", kind="operating", value_fen=2_000_000,
                              project_id=p.id, owner_region_code=VILLAGE, operator_entity_id=e.id, at=AT)
    rs.flush()
    sup.scan(rs, ACTOR, "231002", AT)
    rows = {r["project"]: r for r in indicators.risk_register(rs, AUDITOR, today=date(2025, 6, 1))}
    assert rows[p.code]["owed_fen"] == 0 and rows[p.code]["entity_flags"] == 1
    reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no="P-9", valid_from=date(2025, 1, 1),
                             valid_to=date(2026, 12, 31), asset_id=bare.id, kind="property", at=AT)
    sup.scan(rs, ACTOR, "231002", AT)  # the cause is gone: the finding is marked so and no longer counted
    assert p.code not in {r["project"] for r in indicators.risk_register(rs, AUDITOR, today=date(2025, 6, 1))}
