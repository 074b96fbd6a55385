"""Spreadsheets (xlsx) of supervision: the findings in reach. Cells a person typed are written as text, never as
formulas (`shared/sheets.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.services.shared import sheets
from daipin.services.supervision import views


def save_sheets(path: Path | str | IO[bytes], sheets_rows: list[tuple[str, list[str], list[list[Any]]]]) -> int:
    wb = Workbook(write_only=True)
    n = 0
    for title, header, rows in sheets_rows:
        ws = wb.create_sheet(title)
        sheets.append(ws, header)
        for r in rows:
            sheets.append(ws, r)
            n += 1
    wb.save(path if not isinstance(path, str | Path) else str(path))
    return n


def export_findings(session: Session, actor: Actor, path: Path | str) -> int:
    """The findings the actor reads, one row each; returns the number of rows."""
    rows = [[r["id"], r["rule_label"], r["severity_label"], r["region_name"], r["subject_label"], r["summary"],
             r["status_label"], r["responsible_unit_name"], r["deadline"], "是" if r["cause_gone"] else "",
             r["opened_at"]] for r in views.findings(session, actor, limit=100_000)]
    return save_sheets(path, [("问题线索", ["编号", "规则", "严重程度", "区划", "对象", "问题", "状态", "责任单位",
                                      "整改期限", "原因已消除", "发现时间"], rows)])
