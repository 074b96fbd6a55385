"""The one writer of spreadsheet cells: text that starts like a formula is written as text (csv: behind an
apostrophe; xlsx: a string cell marked quoted), numbers stay numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from daipin.services.shared import sheets


@pytest.mark.parametrize("typed", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "=HYPERLINK(\"http://x\",\"点击\")"])
def test_a_csv_cell_that_starts_like_a_formula_is_prefixed_with_an_apostrophe(typed: str) -> None:
    buf = io.StringIO()
    sheets.csv_writer(buf).writerow([typed, "王小明", 12, -5, None])
    assert next(csv.reader(io.StringIO(buf.getvalue()))) == ["'" + typed, "王小明", "12", "-5", ""]


@pytest.mark.parametrize("typed", ["\tx", "\rx", "-", "+", "@", "="])
def test_an_xlsx_cell_that_starts_like_a_formula_reads_back_as_typed(typed: str, tmp_path: Path) -> None:
    for write_only in (True, False):
        wb = Workbook(write_only=write_only)
        ws = wb.create_sheet("x") if write_only else wb.active
        sheets.append(ws, [typed, -12, 3.5, "x"])
        wb.save(tmp_path / "x.xlsx")
        ws = load_workbook(tmp_path / "x.xlsx").worksheets[0]
        cells = [c for r in ws.iter_rows() for c in r]
        # (XML reads a carriage return in text back as a line feed: the file's format, not the writer's choice.)
        assert [c.value for c in cells] == [typed.replace("\r", "\n"), -12, 3.5, "x"]
        assert cells[0].data_type == "s" and cells[0].quotePrefix and not cells[3].quotePrefix
        assert cells[1].data_type == "n" and cells[2].data_type == "n"  # numbers the system writes stay numbers
