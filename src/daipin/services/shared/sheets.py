"""The one way rows reach a spreadsheet (xlsx or csv): text is written as text, never as a formula (CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

# What makes Excel or LibreOffice run a cell as a formula (OWASP "CSV injection"): a name such as
# =HYPERLINK("http://x","点击") would otherwise come out of an export as a live link or a command.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def append(ws: Any, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl worksheet (write-only or not): every text a string cell, the ones that start
    like a formula also quote-prefixed (so that editing the cell keeps it text); numbers stay numbers."""
    from openpyxl.cell.cell import Cell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = Cell(ws, row=1, column=1, value=value)  # append() places it
            # openpyxl makes "=…" a formula and "#N/A" an error; a person's text is neither.
            cell.data_type = "s"
            if looks_like_formula(value):
                cell.quotePrefix = True
            row.append(cell)
        else:
            row.append(value)
    ws.append(row)


def csv_cell(value: Any) -> Any:
    """A csv cell: text that starts like a formula behind an apostrophe (what a spreadsheet shows as text)."""
    if value is None:
        return ""
    return "'" + value if looks_like_formula(value) else value


class CsvWriter:
    """csv.writer with every cell through `csv_cell`."""

    def __init__(self, f: Any, **options: Any) -> None:
        self._writer = csv.writer(f, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(f: Any, **options: Any) -> CsvWriter:
    return CsvWriter(f, **options)
