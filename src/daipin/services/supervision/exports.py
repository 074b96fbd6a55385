"""Spreadsheets (xlsx) of supervision: the findings and the inspections in reach, for the command line, the pages
and the API alike (one set of columns). Labels, never codes; times in Beijing time with the zone named. Text a person
typed (a finding's summary, an inspection's record) is masked as the other exports mask free text
(`domain.privacy.mask_free_text`: an ID number, phone or bank number typed into it shows masked). Cells a person typed
are written as text, never as formulas (`shared/sheets.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.domain.privacy import mask_free_text
from daipin.services.imports.exports import Download
from daipin.services.shared.sheets import save_sheets
from daipin.services.supervision import views

FINDING_HEADER = ["编号", "规则", "严重程度", "区划", "对象", "问题", "状态", "责任单位", "整改期限", "原因已消除",
                  "发现时间"]
INSPECTION_HEADER = ["编号", "区划", "检查日期", "检查人员", "检查地点", "检查内容", "检查结果", "登记时间"]


def export_findings(session: Session, actor: Actor, path: Path | str | IO[bytes]) -> int:
    """The findings the actor reads, one row each; returns the number of rows."""
    rows = [[r["id"], r["rule_label"], r["severity_label"], r["region_name"], r["subject_label"],
             mask_free_text(r["summary"]), r["status_label"], r["responsible_unit_name"], r["deadline"],
             "是" if r["cause_gone"] else "", r["opened_at"]] for r in views.findings(session, actor, limit=100_000)]
    return save_sheets(path, [("问题线索", FINDING_HEADER, rows)])


def export_inspections(session: Session, actor: Actor, path: Path | str | IO[bytes]) -> int:
    """The inspections the actor reads, one row each; returns the number of rows."""
    rows = [[r["id"], r["region_name"], r["inspected_on"], mask_free_text(r["inspectors"]), mask_free_text(r["place"]),
             mask_free_text(r["checked"]), mask_free_text(r["result"]), r["recorded_at"]]
            for r in views.inspections(session, actor, limit=100_000)]
    return save_sheets(path, [("检查记录", INSPECTION_HEADER, rows)])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(kind: str, session: Session, actor: Actor, entity_id: int | None = None) -> Download:
    """The findings (`findings`), the inspections (`inspections`) or an entity's credit history (`credit`) as an xlsx
    download, for the pages and the API (the same file the command line writes)."""
    import io

    from daipin.services.credit import exports as credit_exports

    buf = io.BytesIO()
    if kind == "findings":
        export_findings(session, actor, buf)
        name = "问题线索"
    elif kind == "inspections":
        export_inspections(session, actor, buf)
        name = "检查记录"
    else:
        assert entity_id is not None
        credit_exports.export_credit_history(session, actor, entity_id, buf)
        name = f"信用记录-{entity_id}"
    return Download(f"{name}.xlsx", buf.getvalue(), XLSX)
