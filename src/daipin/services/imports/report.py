"""A household import's error report as a spreadsheet: one row per problem (row, column, household number, reason),
each cell written as text (`sheets.append`: a cell that looks like a formula stays text)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from daipin.services.shared import sheets

HEADERS = ["行号", "列", "户编号", "错误原因"]
# What a page carries back for the report, and what a report holds at most (the page says when there were more).
MAX_ROWS = 20_000


def rows_of(errors: Iterable[Any]) -> list[dict[str, Any]]:
    """The errors of an `ImportResult` as plain rows (for the page, and for its report)."""
    return [{"row": e.row, "column": e.column, "household_no": e.household_no, "message": e.message}
            for _, e in zip(range(MAX_ROWS), errors, strict=False)]


def error_xlsx(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The report: a header, then each error (at most `MAX_ROWS`)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("导入错误")
    sheets.append(ws, HEADERS)
    for _, r in zip(range(MAX_ROWS), rows, strict=False):
        row = r.get("row")
        sheets.append(ws, [row if isinstance(row, int) else str(row or ""), str(r.get("column") or ""),
                           str(r.get("household_no") or ""), str(r.get("message") or "")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
