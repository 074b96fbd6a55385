"""The insurance register (R3.3): each operating asset in reach with the policy in force that covers it, or none,
as the NO_INSURANCE rule judges it; the premium subsidies; its xlsx export and its command; read in reach only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, Project
from daipin.db.session import session_scope
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Forbidden
from daipin.services.insurance import exports, views
from daipin.services.insurance import service as subsidies
from daipin.services.registry import service as reg
from daipin.services.supervision import service as sup
from tests.integration.api_support import cli, command_line_clock
from tests.integration.registry_support import ACTOR, AT, VILLAGE, VILLAGE_B, entity, project, rs_fixture

_ = rs_fixture
TODAY = date(2025, 6, 1)
AUDITOR = Actor(id="a", role=Role.AUDITOR, region="231002")
CADRE = Actor(id="v", role=Role.VILLAGE_CADRE, region=VILLAGE)
OTHER_CADRE = Actor(id="w", role=Role.VILLAGE_CADRE, region=VILLAGE_B)
ENTITY_USER = Actor(id="e", role=Role.ENTITY_USER, region="231002", entity_id=1)


def district(rs: Session) -> dict[str, Any]:
    p = project(rs, 1)
    e, other = entity(rs, 5), entity(rs, 6)
    made = {}
    for code, village, operator in (("A-1", VILLAGE, e), ("A-2", VILLAGE, e), ("A-3", VILLAGE_B, other)):
        made[code] = reg.register_asset(rs, ACTOR, code=code, name=f"大棚{code}", kind="operating",
                                        value_fen=1_000_000, project_id=p.id, owner_region_code=village,
                                        operator_entity_id=operator.id, at=AT)
    rs.flush()
    named = reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no="P-1",
                                     valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31),
                                     asset_id=made["A-1"].id, kind="property", insured_sum_fen=900_000, at=AT)
    reg.add_insurance_policy(rs, ACTOR, other.id, insurer="中华联合", policy_no="P-3",
                             valid_from=date(2025, 1, 1), valid_to=date(2026, 12, 31), kind="crop", at=AT)
    rs.flush()
    sub = subsidies.apply(rs, ACTOR, policy=named.id, year=2025, premium_fen=12_000, subsidy_fen=6_000, at=AT)
    return {"e": e, "other": other, "policy": named, "subsidy": sub}


def test_each_operating_asset_shows_the_policy_covering_it_as_the_rule_judges(rs: Session) -> None:
    district(rs)
    rows = {r["asset"]: r for r in views.assets(rs, AUDITOR, today=TODAY)}
    assert set(rows) == {"A-1", "A-2", "A-3"}
    assert (rows["A-1"]["insured"], rows["A-1"]["policy_no"], rows["A-1"]["kind"],
            rows["A-1"]["insured_sum_fen"]) == (True, "P-1", "财产保险", 900_000)
    assert (rows["A-2"]["insured"], rows["A-2"]["insured_label"]) == (False, "无有效保单")
    assert rows["A-3"]["insured"] and rows["A-3"]["for_all_assets"] and rows["A-3"]["kind"] == "种植业保险"
    assert views.summary(list(rows.values())) == {"assets": 3, "insured": 2, "uninsured": 1,
                                                  "uninsured_value_fen": 1_000_000}
    # The same judgement as the rule: the uninsured asset, and only it, is a NO_INSURANCE cause.
    causes = {k for k, v in sup.find_causes(rs, "231002", TODAY).items() if v["rule"] == "NO_INSURANCE"}
    assert causes == {"NO_INSURANCE:asset:A-2"}
    # Later, when the policy naming A-1 has run out, A-1 is uninsured too.
    later = {r["asset"]: r["insured"] for r in views.assets(rs, AUDITOR, today=date(2026, 3, 1))}
    assert later == {"A-1": False, "A-2": False, "A-3": True}


def test_the_register_is_read_in_reach_only(rs: Session) -> None:
    district(rs)
    assert {r["asset"] for r in views.assets(rs, CADRE, today=TODAY)} == {"A-1", "A-2"}
    assert {r["asset"] for r in views.assets(rs, OTHER_CADRE, today=TODAY)} == {"A-3"}
    # Subsidies are read by the entity's region (the entities here sit in the township): not a village's.
    assert [s["policy_no"] for s in views.subsidies(rs, AUDITOR)] == ["P-1"]
    assert views.subsidies(rs, CADRE) == []
    with pytest.raises(Forbidden):
        views.assets(rs, ENTITY_USER, today=TODAY)
    with pytest.raises(Forbidden):
        views.subsidies(rs, ENTITY_USER)


def test_the_export_holds_both_sheets_in_yuan_and_labels(rs: Session, tmp_path: Path) -> None:
    made = district(rs)
    subsidies.decide(rs, ACTOR, made["subsidy"].id, approve=True, reason="", at=AT)
    path = tmp_path / "insurance.xlsx"
    assert exports.export_insurance(rs, AUDITOR, path, today=TODAY) == 4
    wb = load_workbook(path)
    assert wb.sheetnames == ["资产保险", "保费补贴"]
    assets = [[c.value for c in row] for row in wb["资产保险"].iter_rows()]
    assert assets[0][:7] == ["资产编号", "资产名称", "区划", "项目", "经营主体", "资产原值（元）", "保险状态"]
    by_code = {r[0]: r for r in assets[1:]}
    assert by_code["A-1"][6:13] == ["有效", "人保财险", "P-1", "财产保险", "本资产", "9000.00", "2025-12-31"]
    assert by_code["A-2"][6] == "无有效保单" and by_code["A-3"][10] == "全部经营资产"
    paid = [[c.value for c in row] for row in wb["保费补贴"].iter_rows()][1]
    assert paid[:8] == [2025, "兴隆种养专业合作社5", "人保财险", "P-1", "A-1", "120.00", "60.00", "已批准待支付"]


def test_the_command_lists_and_exports_the_register(cli_db: str, monkeypatch: Any, tmp_path: Path) -> None:
    clock = command_line_clock(monkeypatch)
    with session_scope() as s:
        p = s.scalars(select(Project).order_by(Project.id)).first()
        assert p is not None
        a = reg.register_asset(s, ACTOR, code="A-CLI", name="冷库", kind="operating", value_fen=500_000,
                               project_id=p.id, owner_region_code=p.village_code, operator_entity_id=p.entity_id,
                               at=clock.at)
        s.flush()
        reg.add_insurance_policy(s, ACTOR, p.entity_id, insurer="人保财险", policy_no="P-CLI",
                                 valid_from=clock.at.date(), valid_to=clock.at.date().replace(year=2099),
                                 asset_id=a.id, kind="property", at=clock.at)
    with session_scope() as s:
        operating = s.scalars(select(Asset).where(Asset.kind == "operating", Asset.operator_entity_id.is_not(None),
                                                  Asset.status != "disposed")).all()
        codes = {a.code for a in operating}
    assert codes  # the sample district has operating assets run by entities
    out = json.loads(str(cli("supervise", "insurance", "--format", "json").output))
    assert {r["asset"] for r in out["assets"]} == codes
    assert {r["policy_no"] for r in out["assets"] if r["asset"] == "A-CLI"} == {"P-CLI"}
    path = tmp_path / "register.xlsx"
    assert f"已导出 {len(codes) + len(out['subsidies'])} 行到 {path}" in str(
        cli("supervise", "insurance", "--xlsx", str(path)).output)
    assert load_workbook(path).sheetnames == ["资产保险", "保费补贴"]
    refused = cli("supervise", "insurance", "--as", "entity_user:u1@231002", code=2)
    assert "无权" in refused.output


def test_the_entity_page_shows_each_policy_with_its_asset_kind_and_insured_sum(session: Session,
                                                                               tmp_path: Path) -> None:
    from tests.integration.api_support import OWN_VILLAGE, app_on_session, build_world
    from tests.integration.test_contract_page import as_role

    world = build_world(session, str(tmp_path / "keys"))
    e = reg.get_entity(session, world.ids["entity_own"])
    p = project(session, 7, entity_obj=e)
    a = reg.register_asset(session, ACTOR, code="ZC-PAGE-1", name="冷库", kind="operating", value_fen=500_000,
                           project_id=p.id, owner_region_code=OWN_VILLAGE, operator_entity_id=e.id, at=AT)
    session.flush()
    reg.add_insurance_policy(session, ACTOR, e.id, insurer="人保财险", policy_no="P-PAGE", valid_from=date(2025, 1, 1),
                             valid_to=date(2099, 12, 31), asset_id=a.id, kind="property", insured_sum_fen=450_000,
                             at=AT)
    reg.add_insurance_policy(session, ACTOR, e.id, insurer="中华联合", policy_no="P-ALL", valid_from=date(2025, 1, 1),
                             valid_to=date(2099, 12, 31), at=AT)
    session.flush()
    app, _ = app_on_session(session)
    page = as_role(app, world, "district_admin").get(f"/entities/{e.id}").text
    named = page.split("P-PAGE", 1)[1].split("</li>", 1)[0]
    assert "财产保险" in named and "ZC-PAGE-1" in named and "4,500.00" in named
    assert "所经营的全部资产" in page.split("P-ALL", 1)[1].split("</li>", 1)[0]


def test_a_policy_recorded_before_policies_had_an_asset_kind_and_sum_still_verifies_and_an_edit_is_caught(
        rs: Session) -> None:
    """A policy whose entry was written before migration 0025 added its asset, kind and insured sum stated the row
    without them: `ledger verify` reads such a row in that earlier form (the added columns left out while NULL) and
    accepts it; an edit of the policy afterwards is still caught."""
    from daipin.db.models.registry import InsurancePolicy
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.ledger.verify import verify_log
    from daipin.services.shared import rows, trace

    e = entity(rs, 1)
    p = reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no="PICC-OLD", valid_from=date(2024, 1, 1),
                                 valid_to=date(2024, 12, 31), at=AT)
    assert (p.asset_id, p.kind, p.insured_sum_fen) == (None, None, None)
    earlier = rows.row_state(rs, p, earlier=True)
    assert not {"asset_id", "kind", "insured_sum_fen"} & set(earlier) and "asset_id" in rows.row_state(rs, p)
    trace.record(rs, actor=SYSTEM_ACTOR, type="entity.insurance", subject=f"entity:{e.uscc}", region="231002",
                 facts={"row": store.row_fact("insurance_policies", p.id, earlier)}, at=AT)  # as written then
    rs.expire_all()
    assert verify_log(rs).ok
    policy = rs.get(InsurancePolicy, p.id)
    assert policy is not None
    policy.insurer = "另一家保险公司"
    rs.flush()
    rs.expire_all()
    report = verify_log(rs)
    assert not report.ok and any("insurance_policies" in pr.reason_en for pr in report.problems)
    policy = rs.get(InsurancePolicy, p.id)
    assert policy is not None
    policy.insurer = "人保财险"  # as recorded again, for the fixture's own check at the end
    rs.flush()
