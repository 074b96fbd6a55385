"""The one way rows reach a spreadsheet (xlsx or csv): text is written as text, never as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePath
from typing import IO, Any, BinaryIO

from daipin.domain.errors import InputError

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


# ---------------------------------------------------------------- exports people open, print and send upward

KINDS = ("text", "id", "int", "money", "rate", "date")
MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
FORMATS = ("xlsx", "csv")
MASKED = "已脱敏"


@dataclass(frozen=True)
class Column:
    """A column of an export: its header and what its cells hold — `text` (typed text, never a formula), `id`
    (an identifier or code kept as text: household numbers, ID numbers, codes), `int`, `money` (integer fen,
    written as a number of yuan with two decimals under a header naming 元), `rate` (an exact decimal such as
    "0.06", written as a number formatted as a percentage), `date`."""

    header: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind}")

    @property
    def shown_header(self) -> str:
        return self.header if self.kind != "money" or "元" in self.header else f"{self.header}（元）"


@dataclass
class Table:
    """One sheet of an export (csv: only the first is written; the others are for xlsx)."""

    name: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)


def export_format(name: str | PurePath) -> str:
    """The format a file's name asks for: .xlsx or .csv; any other name is refused (field "out")."""
    suffix = PurePath(str(name)).suffix.lower()
    if suffix.lstrip(".") not in FORMATS:
        raise InputError(f"导出文件名应以 .xlsx 或 .csv 结尾，而不是 {suffix or '（无扩展名）'}",
                         f"an export's name must end in .xlsx or .csv, not {suffix or '(none)'}", field="out")
    return suffix.lstrip(".")


def title_line(title: str, region: str, on: date, *, masked: bool) -> str:
    """The first row of an export: what it is, the region, the day (Beijing) and whether personal data is masked."""
    parts = [title, region, f"导出日期 {on.isoformat()}"]
    if masked:
        parts.append(f"{MASKED}（证件号码、联系电话、银行账号已打码，本表不能作为导入文件）")
    return "　".join(p for p in parts if p)


def _rate(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _display_width(value: Any) -> int:
    text = value if isinstance(value, str) else str(value)
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _xlsx_value(column: Column, value: Any) -> tuple[Any, str | None]:
    """(cell value, number format) of a value in a column."""
    if value is None or value == "":
        return None, None
    if column.kind == "money":
        return Decimal(int(value)) / 100, MONEY_FORMAT
    if column.kind == "rate":
        rate = _rate(value)
        return (rate, RATE_FORMAT) if rate is not None else (str(value), None)
    if column.kind == "date":
        return (value, DATE_FORMAT) if isinstance(value, date) else (str(value), None)
    if column.kind == "int":
        return (value, "0") if isinstance(value, int) else (str(value), None)
    return str(value), "@" if column.kind == "id" else None


def _csv_value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return ""
    if column.kind == "money":
        from daipin.domain.money import format_yuan

        return format_yuan(int(value), grouping=False)
    if column.kind == "rate":
        rate = _rate(value)
        if rate is None:
            return str(value)
        percent = rate * 100
        return f"{percent:.2f}%" if percent == percent.quantize(Decimal("0.01")) else f"{percent.normalize()}%"
    if column.kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def _widths(table: Table) -> list[float]:
    """Column widths (characters; a Chinese character counts two) fitted to the header and the first rows."""
    widths = [_display_width(c.shown_header) for c in table.columns]
    for row in table.rows[:2000]:
        for j, (column, value) in enumerate(zip(table.columns, row, strict=False)):
            shown = _csv_value(column, value)
            if column.kind == "money" and shown:
                shown = shown + "," * (len(shown) // 4)
            widths[j] = max(widths[j], _display_width(shown))
    return [min(max(w + 2, 6), 50) for w in widths]


def write_export(out: Path | str | BinaryIO, fmt: str, title: str, tables: list[Table]) -> int:
    """Write an export as xlsx or csv and return the first table's number of rows.

    xlsx: a title row (`title_line`), the header row frozen below it and repeated on every printed page (print
    titles), columns fitted, landscape A4 scaled to the width of one page; money a number of yuan with two
    decimals, rates numbers shown as percentages, dates dates, identifiers text; every other table a sheet of
    its own. csv (UTF-8 with a byte order mark): the title row, the header and the rows of the first table,
    money as plain decimals, rates as percentages, dates ISO, typed text never a formula."""
    if fmt not in FORMATS:
        raise InputError("导出格式应为 xlsx 或 csv", "an export's format must be xlsx or csv", field="out")
    if fmt == "csv":
        buf = io.StringIO()
        w = csv_writer(buf)
        first = tables[0]
        w.writerow([title])
        w.writerow([c.shown_header for c in first.columns])
        for row in first.rows:
            w.writerow([_csv_value(c, v) for c, v in zip(first.columns, row, strict=False)])
        data = buf.getvalue().encode("utf-8-sig")
        if isinstance(out, Path | str):
            Path(out).write_bytes(data)
        else:
            out.write(data)
        return len(first.rows)
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        ws = wb.create_sheet(table.name[:31])
        for j, width in enumerate(_widths(table), start=1):
            ws.column_dimensions[get_column_letter(j)].width = width
        ws.freeze_panes = "A3"
        ws.print_title_rows = "1:2"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        head = Cell(ws, row=1, column=1, value=title)
        head.data_type = "s"
        head.font = Font(bold=True, size=12)
        ws.append([head])
        headers = []
        for column in table.columns:
            cell = Cell(ws, row=1, column=1, value=column.shown_header)
            cell.data_type = "s"
            cell.font = bold
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
            headers.append(cell)
        ws.append(headers)
        for row in table.rows:
            cells = []
            for column, value in zip(table.columns, row, strict=False):
                shown, number_format = _xlsx_value(column, value)
                cell = Cell(ws, row=1, column=1, value=shown)
                if isinstance(shown, str):
                    cell.data_type = "s"  # openpyxl would make "=…" a formula and "#N/A" an error
                    if looks_like_formula(shown):
                        cell.quotePrefix = True
                if number_format:
                    cell.number_format = number_format
                cells.append(cell)
            ws.append(cells)
    if isinstance(out, Path | str):
        wb.save(str(out))
    else:
        wb.save(out)
    return len(tables[0].rows)


def export_bytes(fmt: str, title: str, tables: list[Table]) -> bytes:
    buf = io.BytesIO()
    write_export(buf, fmt, title, tables)
    return buf.getvalue()


MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "csv": "text/csv; charset=utf-8"}


def save_sheets(path: Path | str | IO[bytes], sheets_rows: list[tuple[str, list[str], list[list[Any]]]]) -> int:
    """Sheets of rows (title, header, rows) into one xlsx file or stream; returns the number of rows."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    n = 0
    for title, header, rows in sheets_rows:
        ws = wb.create_sheet(title)
        append(ws, header)
        for r in rows:
            append(ws, r)
            n += 1
    wb.save(path if not isinstance(path, str | Path) else str(path))
    return n
