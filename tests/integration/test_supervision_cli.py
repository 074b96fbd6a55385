"""`daipin supervise …`: the district scan in one command, run twice without adding anything; a finding walked by its
steps; an inspection from a file; a credit listing from notice to effect; a refusal exits 2 naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from daipin.db.models.registry import Entity
from daipin.db.session import session_scope
from tests.integration.api_support import cli, command_line_clock

TOWN_AS = "township_official:t1@231002001"
VILLAGE_AS = "village_cadre:c1@231002001001"


def run(*args: str, code: int = 0) -> str:
    return str(cli(*args, code=code).output)


def test_the_scan_runs_in_one_command_and_a_second_run_adds_nothing(cli_db: str, monkeypatch: Any) -> None:
    command_line_clock(monkeypatch)
    with session_scope() as s:
        entity_id = s.scalar(select(Entity.id))
    assert "已登记应付" in run("supervise", "record", "due", str(entity_id), "--kind", "rent", "--due-on", "2020-01-01",
                           "--amount-fen", "500000", "--region", "231002001001")
    first = json.loads(run("supervise", "scan", "231002", "--format", "json"))
    assert first["opened"] and first["causes_by_rule"]["ARREARS"] == 1
    second = json.loads(run("supervise", "scan", "231002", "--format", "json"))
    assert (second["opened"], second["gone"], second["came_back"]) == ([], [], [])
    assert "231002：新发现 0，原因消除 0，原因复现 0，提请督办 0" in run("supervise", "watch", "--once")
    listed = json.loads(run("supervise", "findings", "--format", "json", "--as", TOWN_AS))
    assert {r["id"] for r in listed} == set(first["opened"])
    fid = str(first["opened"][0])
    run("supervise", "step", fid, "assign", "--unit", "231002001001", "--deadline", "2030-12-31", "--as", TOWN_AS)
    out = cli("supervise", "step", fid, "rectify", "--as", VILLAGE_AS, code=2)
    assert "note" in out.output
    assert "rectified" in run("supervise", "step", fid, "rectify", "--note", "已签订协议", "--as", VILLAGE_AS)
    refused = cli("supervise", "scan", "231002", "--as", TOWN_AS, code=2)
    assert "无权" in refused.output


def test_an_inspection_from_a_file_and_a_listing_from_notice_to_effect(cli_db: str, monkeypatch: Any,
                                                                        tmp_path: Path) -> None:
    clock = command_line_clock(monkeypatch)
    file = tmp_path / "inspection.json"
    file.write_text(json.dumps({"region": "231002001001", "inspected_on": clock.at.date().isoformat(),
                                "inspectors": "区审计局", "place": "新立村", "checked": "光伏收益台账",
                                "findings": [{"summary": "台账未按月登记", "severity": "low"}]}, ensure_ascii=False),
                    encoding="utf-8")
    assert "提出问题线索 1 条" in run("supervise", "inspect", str(file), "--as", TOWN_AS)
    with session_scope() as s:
        entity_id = s.scalar(select(Entity.id))
    out = run("supervise", "credit", "propose", str(entity_id), "--reasons", "拖欠分红两年", "--basis",
              "国办发〔2020〕49号")
    listing = out.split("失信认定 ")[1].split("：")[0]
    early = cli("supervise", "credit", "effect", listing, code=2)
    assert "异议期尚未届满" in early.output
    clock.advance(days=11)
    assert "listed" in run("supervise", "credit", "effect", listing)
    history = json.loads(run("supervise", "credit", "history", str(entity_id), "--format", "json"))
    assert history["entity"]["credit_status"] == "blacklisted"
    assert [e["kind"] for e in history["events"]] == ["listing_notified", "listing_listed"]
    out_file = tmp_path / "credit.xlsx"
    assert "已导出 3 行" in run("supervise", "credit", "history", str(entity_id), "--xlsx", str(out_file))  # 2 events, 1 listing
    from openpyxl import load_workbook

    book = load_workbook(out_file)
    assert book.sheetnames == ["信用记录", "失信认定"]
    assert [r[1] for r in book["信用记录"].iter_rows(min_row=2, values_only=True)] == ["告知拟列入失信名单",
                                                                                   "列入失信名单"]
    findings_file = tmp_path / "findings.xlsx"
    assert "已导出 1 行" in run("supervise", "findings", "--xlsx", str(findings_file))


def test_the_performance_setting_is_shown_and_set_by_the_district_alone(cli_db: str, monkeypatch: Any) -> None:
    command_line_clock(monkeypatch)
    shown = run("supervise", "performance", "231002")
    assert "performance_mode\t人工填写" in shown and "绩效系数下限" in shown
    DISTRICT_AS = "district_admin:d1@231002"
    out = run("supervise", "performance", "231002", "--mode", "indicators", "--set", "performance_max=1.30",
              "--as", DISTRICT_AS)
    assert "performance_mode\t按绩效指标计算" in out and "performance_max\t1.3\t" in out
    bad = cli("supervise", "performance", "231002", "--set", "performance_min=2", "--as", DISTRICT_AS, code=2)
    assert "performance_min" in bad.output and "下限" in bad.output
    refused = cli("supervise", "performance", "231002", "--mode", "manual", "--as", TOWN_AS, code=2)
    assert "无权" in refused.output
    assert "performance_mode\t按绩效指标计算" in run("supervise", "performance", "231002", "--as", TOWN_AS)


def test_the_discipline_commission_reads_and_exports_the_inspections_and_runs_nothing(
        cli_db: str, monkeypatch: Any, tmp_path: Path) -> None:
    clock = command_line_clock(monkeypatch)
    DISCIPLINE_AS = "discipline:k1@231002"
    file = tmp_path / "inspection.json"
    file.write_text(json.dumps({"region": "231002001001", "inspected_on": clock.at.date().isoformat(),
                                "inspectors": "区纪委监委", "place": "新立村", "checked": "公益岗位台账",
                                "result": "会计电话 8123456", "findings": []}, ensure_ascii=False), encoding="utf-8")
    run("supervise", "inspect", str(file), "--as", TOWN_AS)
    listed = json.loads(run("supervise", "inspections", "--format", "json", "--as", DISCIPLINE_AS))
    assert [r["checked"] for r in listed] == ["公益岗位台账"]
    out = tmp_path / "inspections.xlsx"
    assert "已导出 1 行" in run("supervise", "inspections", "--xlsx", str(out), "--as", DISCIPLINE_AS)
    from openpyxl import load_workbook

    (row,) = load_workbook(out).worksheets[0].iter_rows(min_row=2, values_only=True)
    assert row[1] and row[1] != "231002001001" and row[6] == "会计电话 *******" and str(row[7]).endswith("北京时间")
    for args in (("scan", "231002"), ("thresholds", "231002", "--set", "idle_days=60")):
        assert "无权" in cli("supervise", *args, "--as", DISCIPLINE_AS, code=2).output
