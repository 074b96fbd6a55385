"""Supervision's settings and lists off the command line: the red-flag thresholds read and set over the API and on
the page (the county's district administrator alone, a bad value named beside its field and nothing kept, each change
one ledger entry naming what changed), and the findings, the inspections and an entity's credit history downloaded
as xlsx on the pages and over the API with the command line's columns: labels, Beijing time with its zone named, and
numbers typed into free text masked. The discipline commission (纪检监察) reads as the auditors do and sets nothing."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.supervision import DEFAULT_THRESHOLDS, THRESHOLD_LABELS
from daipin.services.supervision import exports
from daipin.services.supervision import service as sup
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    OWN_VILLAGE,
    START,
    World,
    app_on_session,
    build_world,
    client,
)
from tests.integration.registry_support import ledger_size

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCAL_PHONE = "8123456"  # a landline typed without its area code: accepted as text, masked in what others read


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _last_entry(session: Session) -> dict[str, Any]:
    body = session.scalars(select(LedgerEntry.body).order_by(LedgerEntry.idx.desc())).first()
    assert body is not None
    return dict(json.loads(body))


def _web(app: Any, w: World, role: str) -> Any:
    c = client(app)
    c.cookies.set("daipin_session", w.tokens[role])
    return c


def test_the_thresholds_are_read_and_set_over_the_api_by_the_county_s_administrator_alone(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    api = client(app)
    got = api.get("/api/v1/supervision/thresholds?county=231002", headers=world.headers("district_admin"))
    assert got.status_code == 200, got.text
    rows = got.json()["thresholds"]
    assert [r["key"] for r in rows] == list(DEFAULT_THRESHOLDS)
    assert all(r["label"] == THRESHOLD_LABELS[r["key"]] and r["default"] == DEFAULT_THRESHOLDS[r["key"]]
               for r in rows)

    size = ledger_size(session)
    for body, field in (({"county": "231002", "idle_days": "九十"}, "idle_days"),
                        ({"county": "231002", "arrears_days": "30", "concentration_share": "1.5"},
                         "concentration_share"),
                        ({"county": "231002"}, "key")):
        bad = api.put("/api/v1/supervision/thresholds", json=body, headers=world.headers("district_admin"))
        assert bad.status_code == 422 and bad.json()["error"]["field"] == field, bad.text
    assert "收益闲置、滞留天数应为数字" in api.put(
        "/api/v1/supervision/thresholds", json={"county": "231002", "idle_days": "九十"},
        headers=world.headers("district_admin")).json()["error"]["message_zh"]
    for role in ("township_official", "village_cadre", "entity_user", "auditor", "discipline"):
        refused = api.put("/api/v1/supervision/thresholds", json={"county": "231002", "idle_days": "60"},
                          headers=world.headers(role))
        assert refused.status_code == 403, (role, refused.text)
    assert ledger_size(session) == size and sup.county_thresholds(session, "231002") == DEFAULT_THRESHOLDS

    done = api.put("/api/v1/supervision/thresholds", json={"county": "231002", "idle_days": "60"},
                   headers=world.headers("district_admin"))
    assert done.status_code == 200, done.text
    assert {r["key"]: r["value"] for r in done.json()["thresholds"]}["idle_days"] == "60"
    entry = _last_entry(session)
    assert ledger_size(session) == size + 1 and entry["type"] == "supervision.thresholds"
    assert entry["facts"]["set"] == {"idle_days": "60"}
    # Whoever reads the county's findings reads its thresholds: the discipline commission as the auditors.
    for role in ("auditor", "discipline", "village_cadre"):
        seen = api.get("/api/v1/supervision/thresholds?county=231002", headers=world.headers(role))
        assert seen.status_code == 200 and {r["key"]: r["value"] for r in seen.json()["thresholds"]}["idle_days"] \
            == "60", (role, seen.text)
    assert api.get("/api/v1/supervision/thresholds?county=231002",
                   headers=world.headers("entity_user")).status_code == 403


def test_the_thresholds_form_keeps_only_what_changed_and_names_a_bad_value_beside_its_field(
        session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    web = _web(app, world, "district_admin")
    page = web.get("/supervision/thresholds")
    assert page.status_code == 200 and 'id="thresholds-form"' in page.text
    for key, label in THRESHOLD_LABELS.items():
        assert label in page.text and f'name="{key}"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "county": "231002", **DEFAULT_THRESHOLDS}

    size = ledger_size(session)
    bad = web.post("/supervision/thresholds", data={**form, "arrears_days": "-1", "idle_days": "45"},
                   follow_redirects=False)
    assert bad.status_code == 422
    assert re.search(r'id="error-arrears_days"[^>]*>[^<]*拖欠超过应付日的天数应为 0 到 3650 的整数', bad.text)
    assert 'value="-1"' in bad.text  # what was typed is shown again to correct
    assert ledger_size(session) == size and sup.county_thresholds(session, "231002") == DEFAULT_THRESHOLDS

    unchanged = web.post("/supervision/thresholds", data=form, follow_redirects=False)
    assert unchanged.status_code == 422 and "没有要修改的设置" in unchanged.text and ledger_size(session) == size

    saved = web.post("/supervision/thresholds", data={**form, "concentration_share": "0.25"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    entry = _last_entry(session)
    assert ledger_size(session) == size + 1 and entry["facts"]["set"] == {"concentration_share": "0.25"}
    assert 'id="thresholds-saved"' in web.get(saved.headers["location"]).text
    assert sup.county_thresholds(session, "231002")["concentration_share"] == "0.25"

    for role in ("auditor", "discipline"):
        reader = _web(app, world, role)
        shown = reader.get("/supervision/thresholds")
        assert shown.status_code == 200 and 'id="thresholds-form"' not in shown.text and "0.25" in shown.text
        assert reader.post("/supervision/thresholds", data={**form, "csrf_token": ""}).status_code in (403, 400)
    assert ledger_size(session) == size + 1


def _sheet(data: bytes) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def test_findings_inspections_and_credit_download_with_the_command_line_s_columns_and_typed_numbers_masked(
        session: Session, world: World, tmp_path: Any) -> None:
    ins, (own,) = sup.record_inspection(
        session, SYSTEM_ACTOR, region=OWN_VILLAGE, inspected_on=date(2026, 3, 1), inspectors="区纪委检查组",
        place="村委会", checked="收益分配台账", result=f"联系会计 {LOCAL_PHONE} 核实",
        findings=[{"summary": f"台账未登记，会计电话 {LOCAL_PHONE}", "severity": "high"}], at=START)
    sup.record_inspection(session, SYSTEM_ACTOR, region=FOREIGN_VILLAGE, inspected_on=date(2026, 3, 2),
                          inspectors="区审计局", place="村委会", checked="资产台账", findings=[{"summary": "资产未入账"}],
                          at=START)
    session.flush()
    app, _ = app_on_session(session)
    api = client(app)

    r = api.get("/api/v1/exports/findings", headers=world.headers("district_admin"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "%E9%97%AE%E9%A2%98%E7%BA%BF%E7%B4%A2.xlsx" in r.headers["content-disposition"]  # 问题线索.xlsx
    rows = _sheet(r.content)
    assert rows[0] == ["编号", "规则", "严重程度", "区划", "对象", "问题", "状态", "责任单位", "整改期限", "原因已消除",
                       "发现时间"]
    mine = next(x for x in rows[1:] if x[0] == own.id)
    assert mine[1] == "检查发现" and mine[2] == "高" and mine[6] == "待处理" and mine[3] != OWN_VILLAGE
    assert "会计电话 *******" in mine[5] and LOCAL_PHONE not in json.dumps(rows, ensure_ascii=False)
    assert str(mine[10]).endswith("北京时间")
    # The command line's export is the same file, row for row.
    cli = tmp_path / "findings.xlsx"
    exports.export_findings(session, SYSTEM_ACTOR, cli)
    assert _sheet(cli.read_bytes())[0] == rows[0]
    # The page gives the same rows; a village cadre's holds its own village's findings only; an entity none.
    web = _web(app, world, "district_admin")
    page = web.get("/supervision/findings.xlsx")
    assert page.status_code == 200 and _sheet(page.content) == rows
    cadre = _sheet(api.get("/api/v1/exports/findings", headers=world.headers("village_cadre")).content)
    assert own.id in [x[0] for x in cadre[1:]] and len(cadre) < len(rows)
    assert api.get("/api/v1/exports/findings", headers=world.headers("entity_user")).status_code == 403
    assert _sheet(api.get("/api/v1/exports/findings", headers=world.headers("discipline")).content) == rows

    r = api.get("/api/v1/exports/inspections", headers=world.headers("auditor"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    rows = _sheet(r.content)
    assert rows[0] == ["编号", "区划", "检查日期", "检查人员", "检查地点", "检查内容", "检查结果", "登记时间"]
    row = next(x for x in rows[1:] if x[0] == ins.id)
    assert row[2] == "2026-03-01" and row[6] == "联系会计 ******* 核实" and str(row[7]).endswith("北京时间")
    assert _sheet(_web(app, world, "auditor").get("/supervision/inspections.xlsx").content) == rows

    eid = world.ids["entity_own"]
    r = api.get(f"/api/v1/exports/entities/{eid}/credit", headers=world.headers("entity_user"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    assert wb.sheetnames == ["信用记录", "失信认定"]
    assert next(wb["失信认定"].iter_rows(values_only=True))[:3] == ("编号", "状态", "认定理由")
    assert _web(app, world, "district_admin").get(f"/entities/{eid}/credit.xlsx").status_code == 200
    foreign = world.ids["entity_foreign"]
    assert api.get(f"/api/v1/exports/entities/{foreign}/credit", headers=world.headers("entity_user")).status_code \
        == 404
