"""Import of 建档立卡 household rosters (xlsx or csv, Chinese headers in any order): validate every row, then write.

Each row is one person; rows sharing a 户编号 form a household, whose household-level
fields (status, exit year, village, phone, bank account) are read from the head's row.
Every bad row is reported (row number, column, reason, ID numbers masked); by default
nothing is imported if any row is bad, `skip_bad` imports the good households.
Re-importing the same file changes nothing: people are matched by ID number, and an
unchanged household writes no row and no ledger entry.

Columnar path. A large csv bound for PostgreSQL is first offered to `import_columns`, which
checks a clean file with polars and hands back its rows as COPY text in a fraction of the
row-by-row time. A file imported before, all of whose households are registered, is compared
column-wise with what the registry holds (read with COPY); if nothing the row-by-row comparison
looks at differs, nothing is written. Whatever that path is not certain of (any error, anything
unusual, a household or ID number registered already, a change) comes back to the row-by-row
path below, so errors are always reported by that path, and what is written does not depend on
which path wrote it (tests).

Bulk path. Rows are checked on a lean per-row path (the resident ID check is
`stdnum.cn.ric.validate`'s, done with the same integer arithmetic and cached
birth-date / region-in-force look-ups: see `check_resident_id_fast`; a cell value seen
before is not checked again). A csv without quotes is read as a plain split on line ends
and commas. From `PARALLEL_ROWS` lines a forked child checks the last part of the file
while this process checks the first (`_check_rows_in_two`); any error, or a household or
ID number in both parts, sends the whole file through one pass instead, so errors read
exactly the same. The cyclic garbage collector is paused during an import. New
households get their ids up front and are written without ORM objects: PostgreSQL
`COPY` (streamed from a writer thread while the next rows are formatted: households and
their first status, then people), SQLite `executemany`. Existing households are
compared in bulk, one query per batch; only those that changed go through the registry
services (one ledger entry each, with `facts["row"]`).

Ledger entries for new households: one `household.import` entry per batch of `BATCH`
households instead of the per-row `facts["row"]` convention. It carries the batch's
size, its first and last household id and `digest`: sha256, keyed with the
deployment's personal-data salt (so a one-person batch cannot be brute-forced back to
an ID number), over the batch's rows as PostgreSQL COPY text lines — households, then
their first status-history rows, then their people, each in the column order of
`HOUSEHOLD_COLUMNS`, `STATUS_COLUMNS`, `PERSON_COLUMNS`, NULL as `\\N`, dates ISO.
`batch_digest_now(session, facts)` recomputes it from the database, so a row edited
after the import shows as a changed batch.

Large imports on PostgreSQL (at least `BULK_FK_THRESHOLD` new people) load the way the
PostgreSQL manual advises ("Populating a Database"): inside the import's transaction, which
first locks the roster tables (households, status history, people) against every other
reader and writer, the two foreign keys to `households` are dropped and, when people holds
at most `REBUILD_RATIO` times as many rows as the import adds, so are every index of the
three tables, primary keys and unique constraints included, and every other table's foreign
keys to them (contracts, work and payment records: dropping one locks its table too, until
the import ends). The ids are drawn as ranges (for every table, so COPY does not call a
sequence per row). After the COPY the primary keys, then the other indexes are rebuilt (with
`maintenance_work_mem` raised to `BULK_MAINTENANCE_MEM` for the transaction), then the foreign
keys re-added (`work_mem` at least `BULK_WORK_MEM`): a unique index checks every row as it is
built, a foreign key validates every row in one query, and any violation (or error) rolls
everything back, dropped indexes included. The import's own checks have already refused ID
numbers and household numbers that repeat or are registered. Loading without the primary
keys' per-row upkeep and rebuilding them afterwards took about a fifth off PostgreSQL's own
time for 1,000,000 people (benchmarks/bench_import.py).

Into an empty roster (a district's first import) the bulk load also empties the three tables once more
inside its transaction (TRUNCATE: new, empty files) and loads them with `COPY ... (FREEZE)`: the rows are
written frozen and their pages marked all-visible, so the index rebuilds read them without checking each
row's transaction, and each foreign key of people and status history to households is validated by merging
the two indexes without visiting the tables (`enable_hashjoin` off for that statement alone). PostgreSQL's
manual notes that frozen rows are visible at once to a transaction whose snapshot is older than the import
(REPEATABLE READ or SERIALIZABLE begun before it, and first reading the roster after it commits); daipin's
own transactions are READ COMMITTED. While the indexes are rebuilt the import's own checks still run on one
core: each rebuild uses at most `BULK_INDEX_WORKERS` parallel workers (max_parallel_maintenance_workers,
lowered for the transaction only).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import marshal
import os
import queue
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Text, any_, bindparam, cast, func, literal_column, select, text
from sqlalchemy.orm import Session

from daipin.db import sealing
from daipin.db.models.registry import Household, HouseholdStatus, Person, Region
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError, InputError
from daipin.domain.identity import FutureBirth, _reason, _region_known
from daipin.domain.localtime import beijing_date
from daipin.domain.privacy import mask_id, mask_numbers
from daipin.ledger import store
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service as reg
from daipin.services.shared import inputs, sheets
from daipin.services.shared import rows as shared_rows
from daipin.services.shared import trace as trace

# Canonical column → accepted headers (the first is what the template and exports write).
COLUMNS: dict[str, tuple[str, ...]] = {
    "household_no": ("户编号", "户码", "家庭编号"),
    "head_name": ("户主姓名",),
    "name": ("姓名", "成员姓名"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "公民身份号码"),
    "relation": ("与户主关系", "家庭关系", "与户主的关系"),
    "labor": ("劳动能力", "劳动技能"),
    "status": ("户类型", "状态", "户类型/状态", "贫困户属性", "户状态"),
    "exit_year": ("脱贫年度", "脱贫年份"),
    "township": ("所属乡镇", "乡镇"),
    "village": ("所属村", "行政村", "村"),
    "phone": ("联系电话", "电话", "手机号码"),
    "bank_account": ("银行账号", "银行卡号", "账号"),
    "poverty_cause": ("主要致贫原因", "致贫原因"),
}
REQUIRED = ("household_no", "name", "id_number", "relation", "labor", "status", "village")
HEADER_OF = {k: v[0] for k, v in COLUMNS.items()}

# The words a roster may write for labour and status (the codes, the vocabulary's names and the other words
# county rosters use: 普通劳动力, 未脱贫户, 边缘易致贫户, …) → the code.
LABOR_VALUES = vocabulary.LABOR.readings()
LABOR_LABEL = vocabulary.LABOR
STATUS_VALUES = vocabulary.HOUSEHOLD_STATUS.readings()
PARALLEL_ROWS = 50000  # csv lines from which two processes check the rows (see `_check_rows_in_two`)
PARALLEL_SHARE = 0.62  # share of the lines this process checks (the child also packs its result)
BATCH = 5000  # households per ledger entry (and per comparison query for existing households)
QUERY_CHUNK = 20000  # values per `= ANY(array)` / `IN` look-up
BULK_FK_THRESHOLD = 50000  # new people from which PostgreSQL loads in bulk (see the module's docstring)
REBUILD_RATIO = 2  # a bulk load rebuilds the roster's indexes if people holds at most this many times the new
BULK_MAINTENANCE_MEM = "256MB"  # maintenance_work_mem (at least) while those indexes are rebuilt
BULK_WORK_MEM = "64MB"  # work_mem (at least) while the foreign keys are validated again
BULK_INDEX_WORKERS = 1  # parallel workers (at most) per rebuilt index; on 2 cores 1 measured best (0 and 2 slower)
ROSTER_TABLES = ("households", "household_status_history", "people")
IMPORT_REASON = "建档立卡导入"
NULL = "\\N"  # NULL in COPY text form

# The canonical row forms behind a batch digest (and the COPY column lists).
HOUSEHOLD_COLUMNS = ("id", "household_no", "village_code", "county_code", "status", "status_since", "exit_year",
                     "poverty_cause", "labor", "phone", "bank_account", "life_state", "life_state_date")
STATUS_COLUMNS = ("household_id", "county_code", "status", "from_date", "reason")
PERSON_COLUMNS = ("household_id", "county_code", "name", "id_number", "birth_date", "sex", "relation", "labor",
                  "life_state", "life_state_date", "health_note", "name_initials")
_RELATIONS = frozenset(reg.RELATIONS)


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (the header is row 1)
    column: str  # the header as written in the file
    message: str
    household_no: str = ""


@dataclass
class ImportResult:
    rows: int = 0
    households_new: int = 0
    households_changed: int = 0
    households_unchanged: int = 0
    people_new: int = 0
    people_changed: int = 0
    errors: list[RowError] = field(default_factory=list)
    skipped_households: int = 0
    imported: bool = False

    def summary(self) -> str:
        if self.errors and not self.imported:
            return (f"发现 {len(self.errors)} 处错误，未导入任何数据 / {len(self.errors)} errors, nothing imported "
                    f"({self.rows} rows read)")
        return (f"读取 {self.rows} 行：新增 {self.households_new} 户 {self.people_new} 人，更新 {self.households_changed} 户，"
                f"未变化 {self.households_unchanged} 户，跳过 {self.skipped_households} 户（{len(self.errors)} 处错误） / "
                f"{self.rows} rows: {self.households_new} households and {self.people_new} people new, "
                f"{self.households_changed} changed, {self.households_unchanged} unchanged, "
                f"{self.skipped_households} skipped")


# ---------------------------------------------------------------- reading


def read_table(path: Path) -> tuple[list[str], Iterable[list[Any]]]:
    """Header row and data rows of the first sheet (xlsx/xls/ods via calamine) or a csv (UTF-8 or GBK)."""
    headers, rows, _plain = _read(path)
    return headers, rows


def _read(path: Path) -> tuple[list[str], Iterable[list[Any]], bool]:
    """Like `read_table`, plus whether no cell can hold a tab, backslash or line break (no COPY escaping)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
        if not rows:
            raise InputError("文件为空", "the file is empty", field="file")
        headers = [_text(h).strip() for h in rows[0]]
        _refuse_masked_export(headers)
        _refuse_formulas(path, headers)
        _refuse_long_numbers(rows, headers)
        return headers, _sheet_rows(rows), False
    if suffix in (".csv", ".txt", ".tsv"):
        raw = path.read_bytes()
        # Without quotes a csv field cannot hold a line break; without tabs and backslashes nothing needs escaping.
        # (Looked for in the bytes: in GB 18030 a backslash byte can also be half of a character, which only
        # makes the answer more cautious.)
        plain = b'"' not in raw and b"\t" not in raw and b"\\" not in raw
        simple = plain and b"\0" not in raw and raw.count(b"\r") == raw.count(b"\r\n")
        try:
            body = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            body = raw.decode("gb18030")
        del raw
        first_line = body[:body.find("\n")] if "\n" in body else body
        if "\t" in first_line and "," not in first_line:
            # Tab-separated text (a spreadsheet's "text (tab delimited)", a .txt or .tsv): read with tabs.
            reader = csv.reader(io.StringIO(body), delimiter="\t")
            try:
                header = next(reader)
            except csv.Error as exc:
                raise _unreadable(reader, exc) from None
            headers = [h.strip() for h in header]
            return headers, _csv_rows(reader), False
        if simple:
            # No quotes, no NUL, no bare carriage return: csv's reading is a split on line ends and commas.
            lines = (body.replace("\r\n", "\n") if "\r" in body else body).split("\n")
            del body
            if lines[-1] == "":  # the last line's own line end
                lines.pop()
            if not lines:
                raise InputError("文件为空", "the file is empty", field="file")
            return [h.strip() for h in lines[0].split(",")], Lines(lines[1:]), plain
        reader = csv.reader(io.StringIO(body))
        try:
            header = next(reader)
        except StopIteration:
            raise InputError("文件为空", "the file is empty", field="file") from None
        except csv.Error as exc:
            raise _unreadable(reader, exc) from None
        return [h.strip() for h in header], _csv_rows(reader), plain
    raise InputError(f"不支持的文件类型 {suffix}（应为 xlsx 或 csv）", f"unsupported file type {suffix}", field="file")


def _cell_name(row: int, column: int) -> str:
    """A cell's name as a spreadsheet shows it (row and column counted from 1): `D3`."""
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column)}{row}"


def _cells_listed(cells: list[str], limit: int = 30) -> str:
    shown = "、".join(cells[:limit])
    return shown + (f" 等 {len(cells)} 处" if len(cells) > limit else "")


def _refuse_long_numbers(rows: list[list[Any]], headers: list[str]) -> None:
    """Every numeric cell of 16 digits or more, listed at once: spreadsheets keep 15 significant digits, so a
    household number, ID number or bank account stored as a number has already changed."""
    found: list[str] = []
    columns: list[str] = []
    for n, row in enumerate(rows[1:], start=2):
        for j, cell in enumerate(row):
            if isinstance(cell, int | float) and not isinstance(cell, bool) and abs(cell) >= 10 ** 15:
                column = headers[j] if j < len(headers) and headers[j] else f"第{j + 1}列"
                found.append(f"{_cell_name(n, j + 1)}（第{n}行 {column}）")
                if column not in columns:
                    columns.append(column)
    if found:
        raise InputError(
            f"{len(found)} 个单元格是16位以上的数字，已被表格软件改写（表格只保留15位有效数字，末位变为0或显示为科学计数法）："
            f"{_cells_listed(found)}。请把 {'、'.join(columns)} 列整列设为文本格式（或使用 xlsx 导入模板），按原件重新"
            "填写后再导入",
            f"{len(found)} cells hold a number of 16 digits or more, which a spreadsheet has rewritten (it keeps 15 "
            f"significant digits): {', '.join(c.split('（')[0] for c in found[:30])}; format the columns "
            "as text (or use the xlsx template) and enter them again", field=columns[0])


def _refuse_formulas(path: Path, headers: list[str]) -> None:
    """A cell of the first sheet that holds a formula is refused, naming the cell: the import reads what was
    typed, never a formula's cached result (`=1+1` typed as a name would otherwise become a person named 2)."""
    cells = _formula_cells(path)
    if not cells:
        return
    column = next((headers[j] for j in (_column_index(c) for c in cells) if j < len(headers) and headers[j]),
                  "file")
    raise InputError(
        f"单元格 {_cells_listed(cells)} 含公式：导入只读取键入的文字，不采用公式的计算结果。请把这些单元格改为要导入的"
        "文字（以 = + - @ 开头的文字请在前面加一个英文单引号 '）后再导入",
        f"cells {', '.join(cells[:30])} hold formulas: the import reads typed text, never a formula's result; "
        "replace them by the text to import", field=column)


def _column_index(cell: str) -> int:
    """`D3` → 3 (the column, counted from 0)."""
    from openpyxl.utils import column_index_from_string

    letters = cell.rstrip("0123456789")
    return column_index_from_string(letters) - 1 if letters else 0


def _formula_cells(path: Path) -> list[str]:
    """The cells of the first sheet that hold a formula (xlsx: `<c r="B3"><f>…`; ods: a table:formula attribute,
    named by the sheet only). A file that cannot be read so gives none (calamine reports it)."""
    import re
    import zipfile

    suffix = path.suffix.lower()
    try:
        with zipfile.ZipFile(path) as z:
            if suffix == ".ods":
                content = z.read("content.xml")
                start = content.find(b"<table:table ")
                end = content.find(b"</table:table>", start)
                return ["第一张工作表"] if start >= 0 and b"table:formula=" in content[start:end] else []
            if suffix not in (".xlsx", ".xlsm"):
                return []
            book = z.read("xl/workbook.xml")
            rels = z.read("xl/_rels/workbook.xml.rels")
            first = re.search(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"', book)
            if first is None:
                return []
            target = re.search(rb'<Relationship\b[^>]*?Id="' + re.escape(first.group(1)) + rb'"[^>]*?Target="([^"]+)"'
                               rb'|<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="' + re.escape(first.group(1)) + rb'"',
                               rels)
            if target is None:
                return []
            name = (target.group(1) or target.group(2)).decode()
            name = name.lstrip("/") if name.startswith("/") else "xl/" + name
            sheet = z.read(name)
    except (zipfile.BadZipFile, KeyError, OSError):
        return []
    if b"<f" not in sheet and b":f" not in sheet:
        return []
    found = re.finditer(rb'<(?:\w+:)?c\b([^>]*?)(?<!/)>\s*(?:<(?:\w+:)?is>.*?</(?:\w+:)?is>\s*)?<(?:\w+:)?f\b', sheet)
    cells = []
    for m in found:
        ref = re.search(rb'\br="([A-Z]+[0-9]+)"', m.group(1))
        if ref is not None:
            cells.append(ref.group(1).decode())
    return cells


def _refuse_masked_export(headers: list[str]) -> None:
    """A daipin export (its title row says 已脱敏; ID numbers, phones and accounts masked) is not an import file:
    one line says so instead of an error for every masked cell."""
    if any(sheets.MASKED in h for h in headers if h):
        raise InputError(
            "这是本系统导出的脱敏文件（证件号码、联系电话、银行账号已打码），不能作为导入文件；请在导入模板中填写原始信息后导入",
            "this is a masked daipin export (ID numbers, phones and bank accounts are masked): it cannot be "
            "imported; fill in the import template instead", field="file")


def _sheet_rows(rows: list[list[Any]]) -> Iterator[list[str]]:
    """A spreadsheet's data rows as text (long numbers refused before, by `_refuse_long_numbers`)."""
    for row in rows[1:]:
        yield [_text(c) for c in row]


def _csv_rows(reader: Any) -> Iterator[list[str]]:
    """The csv module's rows; a line it cannot read (a carriage return alone inside a cell, say) is bad input."""
    try:
        yield from reader
    except csv.Error as exc:
        raise _unreadable(reader, exc) from None


def _unreadable(reader: Any, exc: csv.Error) -> InputError:
    return InputError(f"第{reader.line_num}行无法按 csv 读取（{exc}）", f"line {reader.line_num} is not readable as csv "
                      f"({exc})", field="file")


def match_headers(headers: list[str], columns: dict[str, tuple[str, ...]],
                  required: tuple[str, ...]) -> tuple[dict[str, int], list[str]]:
    """Canonical column → index for Chinese headers in any order (each column's accepted names, the first one
    found wins; unknown columns are ignored), and the required columns that are missing. Shared with the other
    files people bring in (the bank's return file)."""
    index: dict[str, int] = {}
    for i, h in enumerate(headers):
        for key, names in columns.items():
            if h in names and key not in index:
                index[key] = i
    return index, [key for key in required if key not in index]


def map_headers(headers: list[str]) -> dict[str, int]:
    """Canonical column → index; unknown columns are ignored; a missing required column is an error (a masked
    daipin export, told by its title row, is refused as such)."""
    _refuse_masked_export(headers)
    index, missing = match_headers(headers, COLUMNS, REQUIRED)
    for key in missing:
        raise InputError(f"缺少必需的列 {HEADER_OF[key]}", f"missing required column {HEADER_OF[key]}",
                         field=HEADER_OF[key])
    return index


def _text(v: Any) -> str:
    """A spreadsheet cell as text; spreadsheets turn long digit strings into numbers."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


# ---------------------------------------------------------------- resident ID, fast


_CHECK = "0123456789X"
_UNSEEN = date.min  # cache marker: not looked up yet (no ID number encodes year 1)
_birth_cache: dict[str, date | None] = {}
_place_cache: dict[str, bool] = {}


def check_resident_id_fast(value: str, today: date | None = None) -> tuple[str, str | None, str | None]:
    """(number, error zh, error en) with exactly the outcome of `identity.parse_resident_id` (on `today`, the
    actual date unless given).

    The same checks in the same order as `stdnum.cn.ric.validate` — length, digits,
    check digit by `(1 - 2 * int(first17, 13)) % 11`, birth date (also not after `today`), region code (in
    force at some time since the birth, `identity._region_known`) — with the date and region look-ups
    memoised (few distinct values in a roster). Equivalence is pinned by tests on random and
    edge numbers.
    """
    number = value.strip().upper()
    if " " in number:
        number = number.replace(" ", "")
    if not number:
        return number, "缺少身份证号", "missing resident ID number"
    if len(number) != 18:
        reason = _reason_of("length")
    else:
        body = number[:17]
        if not (body.isdigit() and body.isascii()):
            reason = _reason_of("format")
        elif number[17] != _CHECK[(1 - 2 * int(body, 13)) % 11]:
            reason = _reason_of("checksum")
        else:
            key = number[6:14]
            birth = _birth_cache.get(key, _UNSEEN)
            if birth is _UNSEEN:
                try:
                    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
                except ValueError:
                    birth = None
                _birth_cache[key] = birth
            if birth is None:
                reason = _reason_of("component")
            elif birth > (today or date.today()):
                reason = _reason_of("future")
            else:
                place = number[:10]
                known = _place_cache.get(place)
                if known is None:
                    known = _place_cache[place] = _region_known(number[:6], birth.year)
                if known:
                    return number, None, None
                reason = _reason_of("component")
    masked = mask_id(number)
    return number, f"身份证号 {masked} {reason[0]}", f"resident ID {masked}: {reason[1]}"


def _reason_of(kind: str) -> tuple[str, str]:
    from stdnum.exceptions import (  # type: ignore[import-untyped,unused-ignore]
        InvalidChecksum,
        InvalidComponent,
        InvalidFormat,
        InvalidLength,
    )

    exc = {"length": InvalidLength, "format": InvalidFormat, "checksum": InvalidChecksum,
           "component": InvalidComponent, "future": FutureBirth}[kind]()
    return _reason(exc)


# ---------------------------------------------------------------- validation

# A person as validated: (row, name, id_number, relation, labor); birth date and sex are read off the number.
PersonRow = tuple[int, str, str, str, str]


@dataclass(slots=True)
class HouseholdRows:
    household_no: str
    village_code: str = ""
    status: str = ""
    exit_year: int | None = None
    phone: str | None = None
    bank_account: str | None = None
    poverty_cause: str | None = None
    people: list[PersonRow] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    bad: bool = False
    heads: int = 0
    head_name: str | None = None  # the first 户主姓名 given on the household's rows
    head_name_other: str | None = None  # another one given on them


def validate_rows(session: Session, headers: list[str], rows: Iterable[list[Any]], progress: Progress = False,
                  today: date | None = None) -> tuple[dict[str, HouseholdRows], list[RowError], int]:
    """Check every row as of `today` (the import's date: nobody born, no household exited, after it; the actual
    date unless given); returns the households by number, the errors, and the number of rows read."""
    index = map_headers(headers)
    col = {k: headers[i] for k, i in index.items()}
    villages = _village_lookup(session)
    today = today or date.today()
    checked = None
    if isinstance(rows, Lines) and len(rows.lines) >= PARALLEL_ROWS and _can_fork():
        checked = _check_rows_in_two(rows.lines, index, col, villages, today, progress)
    if checked is None:
        bar = _progress(progress, "校验 validating", "行")
        try:
            checked = _check_rows(rows, index, col, villages, today, 2, bar)[:3]
        finally:
            bar.close()
    households, errors, last = checked
    _masked_cells(errors, col)
    _rounded_identifiers(households, errors, col)
    _household_checks(session, households, errors, col)
    errors.sort(key=lambda e: (e.row, e.column))
    return households, errors, max(last - 1, 0)


class Lines:
    """The data lines of a csv read as a plain split (see `_read`); iterating gives each line's cells."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __iter__(self) -> Iterator[list[str]]:
        return map(str.split, self.lines, repeat(","))


Checked = tuple[dict[str, HouseholdRows], list[RowError], int]  # households, errors, number of the last row


def _can_fork() -> bool:
    """Whether a child can be forked safely (no other thread that could hold a lock) and run on its own CPU."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


def _check_rows_in_two(lines: list[str], index: dict[str, int], col: dict[str, str],
                       villages: dict[tuple[str, str], str], today: date, progress: Progress) -> Checked | None:
    """`_check_rows` over a large file with two processes: a forked child checks the last part of the lines
    while this process checks the first. The halves are joined only when neither has an error and no household
    number or ID number appears in both; otherwise (or if the child fails) None: the caller checks the whole
    file in one pass, so errors are reported exactly as a single pass reports them."""
    import multiprocessing

    split = int(len(lines) * PARALLEL_SHARE)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_check_part, args=(send, lines, split, index, col, villages, today), daemon=True)
    child.start()
    send.close()
    bar = _progress(progress, "校验 validating", "行", len(lines))  # after the fork: tqdm runs a thread
    try:
        households, errors, _, seen = _check_rows(Lines(lines[:split]), index, col, villages, today, 2, bar)
        try:
            theirs = marshal.loads(receive.recv_bytes())
        except EOFError:  # the child failed before sending
            theirs = None
        bar.update(len(lines) - split)
    finally:
        receive.close()
        child.join()
        bar.close()
    if not theirs or errors or theirs[1]:
        return None
    parts, _, last, numbers = theirs
    if any(map(households.__contains__, (t[0] for t in parts))) or any(map(seen.__contains__, numbers)):
        return None
    for t in parts:
        households[t[0]] = HouseholdRows(*t)
    return households, [], last


def _refused(field: str, zh: str, en: str, cell: str, zh_reason: str = "无法识别") -> tuple[str, str, str]:
    """A row error for a cell the import does not know: "missing …" when it is empty, else the cell echoed."""
    if not cell.strip():
        return field, f"缺少{zh}", f"missing {en}"
    return field, f"{zh} {_shown(cell)} {zh_reason}", f"unknown {en} {_shown(cell)}"


def _shown(cell: str) -> str:
    """A cell echoed in an error: quoted, with any long number masked (a row whose cells slipped a column may put
    an ID number, phone or bank account where a relation or year was expected)."""
    return repr(mask_numbers(cell.strip()))


def _check_part(send: Any, lines: list[str], split: int, index: dict[str, int], col: dict[str, str],
                villages: dict[tuple[str, str], str], today: date) -> None:
    """In the forked child: check `lines[split:]` and send the outcome, households as plain tuples (marshal packs
    them twice as fast as pickle); an empty message if the check failed."""
    try:
        households, errors, last, seen = _check_rows(Lines(lines[split:]), index, col, villages, today, split + 2,
                                                     _NoBar())
        parts = [(hh.household_no, hh.village_code, hh.status, hh.exit_year, hh.phone, hh.bank_account,
                  hh.poverty_cause, hh.people, hh.rows, hh.bad, hh.heads, hh.head_name, hh.head_name_other)
                 for hh in households.values()]
        send.send_bytes(marshal.dumps((parts, bool(errors), last, list(seen))))
    except BaseException:
        send.send_bytes(marshal.dumps(()))
    finally:
        send.close()


def _check_rows(rows: Iterable[list[Any]], index: dict[str, int], col: dict[str, str],
                villages: dict[tuple[str, str], str], today: date, start: int,
                bar: Any) -> tuple[dict[str, HouseholdRows], list[RowError], int, dict[str, int]]:
    """The row-by-row checks of `validate_rows` (all but `_household_checks`) as of `today`, rows numbered from
    `start`; returns the households, the errors, the number of the last row and the first row of each good ID
    number."""
    width = max(index.values()) + 1
    i_hno, i_name, i_id, i_rel, i_labor, i_status, i_village = (index[k] for k in REQUIRED)
    i_exit, i_town, i_phone, i_bank, i_cause, i_head = (
        index.get(k) for k in ("exit_year", "township", "phone", "bank_account", "poverty_cause", "head_name"))
    hno_max, name_max, cause_max = reg.HOUSEHOLD_NO_MAX, reg.NAME_MAX, reg.POVERTY_CAUSE_MAX
    village_names: set[str] | None = None  # every village name and code (for an error)
    village_of: dict[tuple[str, str], str | None] = {}
    labor_of, status_of, relations = LABOR_VALUES, STATUS_VALUES, _RELATIONS
    errors: list[RowError] = []
    households: dict[str, HouseholdRows] = {}
    seen_ids: dict[str, int] = {}
    n = start - 1
    pending = 0

    # Cell value as written → its checked value (or None if bad): a roster repeats few distinct values.
    rel_of: dict[str, str | None] = {}
    labor_of_cell: dict[str, str | None] = {}
    status_of_cell: dict[str, str | None] = {}
    year_of: dict[str, int | None] = {}
    good_start: dict[str, bool] = {}  # first 14 characters of an ID number → birth date and region are good
    check = _CHECK

    for n, row in enumerate(rows, start=start):
        if not any(row):
            continue
        if len(row) < width:
            row = [*row, *([""] * (width - len(row)))]
        pending += 1
        if pending == 4096:
            bar.update(pending)
            pending = 0
        row_errors: list[tuple[str, str, str]] | None = None

        hno = row[i_hno].strip()
        if not hno:
            row_errors = [("household_no", "缺少户编号", "missing household number")]
        elif len(hno) > hno_max:
            row_errors = [_too_long("household_no", "户编号", "household number", hno_max)]
            hno = ""  # not a household of the file
        elif (rewritten := _rewritten_cell(hno, "户编号", "household number")) is not None:
            row_errors = [("household_no", *rewritten)]
            hno = ""  # one such number stands for many households
        name = row[i_name].strip()
        if name[:1] in _FORMULA_START and name != row[i_name].rstrip():
            name = _as_typed(row[i_name])
        if not name:
            (row_errors := row_errors or []).append(("name", "缺少姓名", "missing name"))
        elif len(name) > name_max:
            (row_errors := row_errors or []).append(_too_long("name", "姓名", "name", name_max))
        # The usual case inline (a valid number as written); anything else through the full check.
        number = row[i_id].strip().upper()
        body = number[:17]
        ok = (len(number) == 18 and body.isdigit() and body.isascii()
              and number[17] == check[(1 - 2 * int(body, 13)) % 11])
        if ok:
            prefix = number[:14]
            known = good_start.get(prefix)
            if known is None:
                known = good_start[prefix] = check_resident_id_fast(number, today)[1] is None
            ok = known
        if not ok:
            number, zh, en = check_resident_id_fast(row[i_id], today)
            if zh is not None:
                zh, en = _id_refusal(number, zh, en or "")
        if ok or zh is None:
            first = seen_ids.setdefault(number, n)
            if first != n:
                (row_errors := row_errors or []).append((
                    "id_number", f"身份证号 {mask_id(number)} 与第{first}行重复",
                    f"duplicate resident ID (also on row {first})"))
        else:
            (row_errors := row_errors or []).append(("id_number", zh, en or ""))
        cell = row[i_rel]
        relation = rel_of.get(cell)
        if relation is None:
            relation = cell.strip()
            if relation in relations:
                rel_of[cell] = relation
            else:
                (row_errors := row_errors or []).append(_refused("relation", "与户主关系", "relation", relation))
        cell = row[i_labor]
        labor = labor_of_cell.get(cell)
        if labor is None:
            labor = labor_of_cell[cell] = labor_of.get(cell.strip())
            if labor is None:
                (row_errors := row_errors or []).append(_refused("labor", "劳动能力", "labour value", cell))
        cell = row[i_status]
        status = status_of_cell.get(cell)
        if status is None:
            status = status_of_cell[cell] = status_of.get(cell.strip())
            if status is None:
                (row_errors := row_errors or []).append(_refused("status", "户类型", "household status", cell))
        cells = (row[i_town] if i_town is not None else "", row[i_village])
        vcode = village_of.get(cells, "")
        if vcode == "":
            place = (cells[0].strip(), cells[1].strip())
            # A township given names the village's own: the village is looked up in it alone.
            vcode = village_of[cells] = villages.get(place) or (None if place[0] else villages.get(("", place[1])))
        if vcode is None:
            town, village = cells[0].strip(), cells[1].strip()
            if village_names is None:
                village_names = {v for _t, v in villages}
            if town and village in village_names:
                (row_errors := row_errors or []).append((
                    "village", f"所属村 {_shown(village)} 不属于所属乡镇 {_shown(town)}，两者不一致",
                    f"village {_shown(village)} is not in township {_shown(town)}"))
            else:
                (row_errors := row_errors or []).append(_refused("village", "所属村", "village", cells[1], "不存在"))
        exit_year = None
        cell = row[i_exit] if i_exit is not None else ""
        if cell:
            exit_year = year_of.get(cell)
            if exit_year is None and (ey := cell.strip()):
                exit_year = year_of[cell] = _exit_year(ey, today.year)
                if exit_year is None:
                    (row_errors := row_errors or []).append(_bad_exit_year(ey, today.year))
        phone = bank = None
        cell = row[i_phone] if i_phone is not None else ""
        if cell and (cell := cell.strip()):
            try:
                phone = reg.check_phone(cell)
            except DaipinError as exc:
                rewritten = _rewritten_cell(cell, "联系电话", "phone")
                (row_errors := row_errors or []).append(("phone", *(rewritten or (exc.message_zh, exc.message_en))))
        cell = row[i_bank] if i_bank is not None else ""
        if cell and (cell := cell.strip()):
            try:
                bank = reg.check_bank(cell)
            except DaipinError as exc:
                rewritten = _rewritten_cell(cell, "银行账号", "bank account")
                (row_errors := row_errors or []).append(("bank_account",
                                                         *(rewritten or (exc.message_zh, exc.message_en))))
        if i_cause is not None and len(cell := row[i_cause]) > cause_max and len(cell.strip()) > cause_max:
            (row_errors := row_errors or []).append(_too_long("poverty_cause", "致贫原因", "poverty cause", cause_max))

        hh = None
        if hno:
            hh = households.get(hno)
            if hh is None:
                hh = households[hno] = HouseholdRows(household_no=hno)
            hh.rows.append(n)
            if row_errors is None and hh.village_code and vcode != hh.village_code:
                row_errors = [("village", "同一户的成员所属村不一致", "members of one household are in different villages")]
        if row_errors is not None:
            for key, zh_, en_ in row_errors:
                errors.append(RowError(n, col.get(key, HEADER_OF[key]), f"{zh_} / {en_}", hno))
            if hh is not None:
                hh.bad = True
        elif hh is not None and vcode is not None and status is not None and labor is not None:
            hh.village_code = vcode
            if relation == "户主":
                hh.heads += 1
                hh.status = status
                hh.exit_year, hh.phone, hh.bank_account = exit_year, phone, bank
                hh.poverty_cause = (_typed(row[i_cause]) if i_cause is not None else "") or None
            elif not hh.status:
                hh.status = status
            if i_head is not None and (cell := row[i_head]) and (cell := _typed(cell)):
                if hh.head_name is None:
                    hh.head_name = cell
                elif cell != hh.head_name:
                    hh.head_name_other = cell
            hh.people.append((n, name, number, relation, labor))
    bar.update(pending)
    return households, errors, n, seen_ids


# ---------------------------------------------------------------- what a spreadsheet did to a cell

REWRITTEN = "已被表格软件改写"  # the words every such error carries (all four identifier columns alike)
MASKED_CELL = "已打码"
_FORMULA_START = frozenset(sheets.FORMULA_STARTS)
_SCIENTIFIC = frozenset("0123456789.eE+-")


def _typed(cell: str) -> str:
    """A typed text cell trimmed at both ends, unless its first visible character starts a formula (`_as_typed`)."""
    value = cell.strip()
    return _as_typed(cell) if value[:1] in _FORMULA_START and value != cell.rstrip() else value


def _as_typed(cell: str) -> str:
    """Typed text whose first visible character starts a formula keeps what was typed before it (a space or tab
    a clerk put there so that the spreadsheet would not evaluate it); only the end is trimmed."""
    return cell.rstrip()


def _scientific(value: str) -> bool:
    """2.31002199305211E+17 or 2.31E+017: a number a spreadsheet showed (and saved) in scientific notation."""
    return ("E" in value or "e" in value) and set(value) <= _SCIENTIFIC and re.match(reg.SCIENTIFIC, value) is not None


def _rounded(value: str) -> bool:
    """A digit string of 16 or more digits whose digits after the 15th are all 0: what a spreadsheet keeps of a
    longer number (15 significant digits) — for an ID number or bank account, a sign the file went through one
    as numbers."""
    return len(value) >= 16 and value.isdigit() and value.isascii() and value[15:].strip("0") == ""


def _rewritten_message(zh: str, en: str, cell: str, how_zh: str, how_en: str) -> tuple[str, str]:
    return (f"{zh} {_shown(cell)} {REWRITTEN}（{how_zh}）：表格软件只保留15位有效数字，原号码已丢失。请把 {zh} 列整列设为"
            "文本格式（或使用 xlsx 导入模板），按原件重新填写后再导入",
            f"{en} {_shown(cell)} was rewritten by a spreadsheet ({how_en}): spreadsheets keep 15 significant "
            f"digits, so the number is lost; format the {en} column as text (or use the xlsx template) and enter it "
            "again")


def _rewritten_cell(cell: str, zh: str, en: str) -> tuple[str, str] | None:
    """Why an identifier cell in scientific notation is refused; None for any other."""
    value = cell.strip()
    if _scientific(value):
        return _rewritten_message(zh, en, value, "科学计数法", "scientific notation")
    return None


def _id_refusal(number: str, zh: str, en: str) -> tuple[str, str]:
    """The error for an ID number the check refused, told apart when a spreadsheet rewrote it or an export
    masked it."""
    if "*" in number:
        return (f"证件号码 {number} {MASKED_CELL}（这是导出的脱敏文件？）", f"resident ID {number} is masked")
    if _scientific(number):
        return _rewritten_message("证件号码", "resident ID", number, "科学计数法", "scientific notation")
    if len(number) == 18 and _rounded(number):
        return _rewritten_message("证件号码", "resident ID", number, "末尾几位被改为0", "its last digits became 0")
    return zh, en


def _masked_cells(errors: list[RowError], col: dict[str, str]) -> None:
    """A file whose ID numbers are masked is a daipin export (one saved without its title row): said in one line."""
    column = col["id_number"]
    masked = sum(1 for e in errors if e.column == column and MASKED_CELL in e.message)
    if masked:
        raise InputError(
            f"证件号码有 {masked} 处已打码（如 2310**********1234）：这是本系统导出的脱敏文件，不能作为导入文件；"
            "请在导入模板中填写原始信息后导入",
            f"{masked} resident IDs are masked: this is a masked daipin export and cannot be imported; fill in the "
            "import template instead", field=column)


def _rounded_identifiers(households: dict[str, HouseholdRows], errors: list[RowError], col: dict[str, str]) -> None:
    """Once a file shows that a spreadsheet rewrote its numbers (an identifier in scientific notation, an ID
    number whose last digits became 0), the household numbers and bank accounts of 16 digits or more that end
    in zeros after the 15th digit were rounded too: they look ordinary (…9001 saved as …9000), so each is
    listed, instead of being imported as another household's number."""
    columns = {col.get(k, HEADER_OF[k]) for k in ("household_no", "id_number", "phone", "bank_account")}
    if not any(e.column in columns and REWRITTEN in e.message for e in errors):
        return
    for hh in households.values():
        if _rounded(hh.household_no):
            zh, en = _rewritten_message("户编号", "household number", hh.household_no, "末尾几位被改为0",
                                        "its last digits became 0")
            for r in hh.rows:
                errors.append(RowError(r, col["household_no"], f"{zh} / {en}", hh.household_no))
            hh.bad = True
        elif hh.bank_account is not None and _rounded(hh.bank_account):
            zh, en = _rewritten_message("银行账号", "bank account", hh.bank_account, "末尾几位被改为0",
                                        "its last digits became 0")
            head_row = next((p[0] for p in hh.people if p[3] == "户主"), hh.rows[0])
            errors.append(RowError(head_row, col.get("bank_account", HEADER_OF["bank_account"]), f"{zh} / {en}",
                                   hh.household_no))
            hh.bad = True


def _exit_year(value: str, latest: int | None = None) -> int | None:
    """A 脱贫年度 cell (stripped, not empty) as a year from 2000 to `latest` (the import's year; the actual year
    unless given), None if it is not one."""
    if not value.isdigit():
        return None
    try:
        year = int(value)
    except ValueError:  # digits int() does not read, such as superscripts
        return None
    return year if 2000 <= year <= min(latest or date.today().year, 2100) else None


def _bad_exit_year(value: str, latest: int) -> tuple[str, str, str]:
    """The row error for a 脱贫年度 cell `_exit_year` refuses: after the import's year, or not a year at all."""
    if _exit_year(value, 2100) is not None:
        return "exit_year", f"脱贫年度 {value} 晚于导入年份 {latest}", f"exit year {value} is after the import's year {latest}"
    return "exit_year", f"脱贫年度 {_shown(value)} 无效", f"bad exit year {_shown(value)}"


def _too_long(key: str, zh: str, en: str, limit: int) -> tuple[str, str, str]:
    """The row error for a cell longer than its column: the registry's own wording."""
    exc = inputs.too_long(key, zh, en, limit)
    return key, exc.message_zh, exc.message_en


def _household_checks(session: Session, households: dict[str, HouseholdRows], errors: list[RowError],
                      col: dict[str, str]) -> None:
    """One head per household, the 户主姓名 given on its rows the head's own name; a registered household stays in its village (a move is a registry change: an
    import that could move one would also let a village's cadre change another village's household by listing
    it under their own); an ID number already registered in another household is refused."""
    for hh in households.values():
        if not hh.bad and hh.heads != 1:
            hint = ("；户编号末尾是0，可能是表格软件把不同的户编号改成了同一个（请把该列设为文本格式后按原件重新填写）",
                    "; the household number ends in 0: a spreadsheet may have rounded different numbers to this one") \
                if hh.heads > 1 and _rounded(hh.household_no) else ("", "")
            for r in hh.rows:
                errors.append(RowError(r, col["relation"], f"户 {hh.household_no} 应有且只有一名户主（现有 {hh.heads} 名）"
                                       f"{hint[0]} / household needs exactly one head (has {hh.heads}){hint[1]}",
                                       hh.household_no))
            hh.bad = True
        if not hh.bad and hh.status == "exited" and hh.exit_year is None:
            head_row = next(p[0] for p in hh.people if p[3] == "户主")
            errors.append(RowError(head_row, col.get("exit_year", HEADER_OF["exit_year"]),
                                   "脱贫户须填写脱贫年度 / an exited household needs its exit year", hh.household_no))
            hh.bad = True
        if not hh.bad and hh.head_name is not None:
            head_row, head_name = next((p[0], p[1]) for p in hh.people if p[3] == "户主")
            given = hh.head_name if hh.head_name != head_name else hh.head_name_other
            if given is not None:
                errors.append(RowError(head_row, col["head_name"], f"户主姓名 {_shown(given)} 与户主本人的姓名 "
                                       f"{_shown(head_name)} 不一致 / head's name {_shown(given)} differs from the "
                                       f"name on the head's row {_shown(head_name)}", hh.household_no))
                hh.bad = True
    registered = _registered(session, [hh.household_no for hh in households.values() if not hh.bad])
    if registered:
        names = dict(session.execute(select(Region.code, Region.name).where(Region.level == "village")).all())
        for hh in households.values():
            if hh.household_no not in registered:
                continue
            kept, head = registered[hh.household_no]
            if kept != hh.village_code:
                for r in hh.rows:
                    errors.append(RowError(
                        r, col["village"], f"户 {hh.household_no} 登记在{names.get(kept, '')}（{kept}），导入不能改为"
                        f"{names.get(hh.village_code, '')}（{hh.village_code}），迁户请办理登记变更 / household is "
                        f"registered in village {kept}; an import cannot move it to {hh.village_code}", hh.household_no))
                hh.bad = True
                continue
            row, number = next((p[0], p[2]) for p in hh.people if p[3] == "户主")
            if head is not None and number != head:
                errors.append(RowError(
                    row, col["relation"], f"户 {hh.household_no} 登记的户主是 {mask_id(head)}，导入不能更换户主，"
                    "更换户主请办理登记变更 / the registered head is another person; an import cannot change the head",
                    hh.household_no))
                hh.bad = True
    owner = _owners(session, [p[2] for hh in households.values() for p in hh.people])
    if not owner:
        return
    for hh in households.values():
        for p in hh.people:
            other = owner.get(p[2])
            if other is not None and other != hh.household_no:
                errors.append(RowError(p[0], col["id_number"], f"身份证号 {mask_id(p[2])} 已登记在户 {other} / "
                                       "resident ID already registered in another household", hh.household_no))
                hh.bad = True


def _registered(session: Session, numbers: list[str]) -> dict[str, tuple[str, str | None]]:
    """household_no → (village code, the head's resident ID number) of those among `numbers` that are
    registered."""
    out: dict[str, tuple[str, str | None]] = {}
    if numbers and _any_rows(session, Household):
        head = (select(Person.household_id, Person.id_number).where(Person.relation == literal_column("'户主'"))
                .subquery())
        for i in range(0, len(numbers), QUERY_CHUNK):
            for no, code, number in session.execute(
                    select(Household.household_no, Household.village_code, head.c.id_number)
                    .outerjoin(head, head.c.household_id == Household.id)
                    .where(_in(session, Household.household_no, numbers[i:i + QUERY_CHUNK]))):
                out[no] = (code, number)
    return out


def _owners(session: Session, numbers: list[str]) -> dict[str, str]:
    """ID number → household number of those among `numbers` that are registered."""
    owner: dict[str, str] = {}
    if numbers and _any_rows(session, Person):
        conn = session.connection()
        for i in range(0, len(numbers), QUERY_CHUNK):
            chunk = numbers[i:i + QUERY_CHUNK]
            number_of = dict(zip(sealing.indexes_of(conn, chunk), chunk, strict=True))
            for index, hno in session.execute(select(Person.id_number_bidx, Household.household_no)
                                              .join(Household, Person.household_id == Household.id)
                                              .where(_in(session, Person.id_number_bidx, list(number_of)))):
                owner[number_of[index]] = hno
    return owner


def _any_rows(session: Session, model: Any) -> bool:
    return session.execute(select(model.id).limit(1)).first() is not None


def _in(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(string_to_array(...))`: one text parameter instead of thousands
    (and far cheaper to send than an array parameter)."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    texts = [str(v) for v in values]
    joined = "\x1f".join(texts)
    if joined.count("\x1f") != len(texts) - 1:  # a value holds the separator itself
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column == any_(cast(func.string_to_array(bindparam(None, joined, type_=Text), "\x1f"),
                               ARRAY(column.type)))


def _village_lookup(session: Session) -> dict[tuple[str, str], str]:
    """(township name or '', village name or code) → village code; bare names only when unambiguous."""
    regions = session.execute(select(Region.code, Region.name, Region.level, Region.parent_code)).all()
    town_name = {c: n for c, n, lvl, _p in regions if lvl == "township"}
    out: dict[tuple[str, str], str] = {}
    bare: dict[str, list[str]] = defaultdict(list)
    for code, name, level, parent in regions:
        if level != "village":
            continue
        out[("", code)] = code
        out[(town_name.get(parent or "", ""), name)] = code
        out[(town_name.get(parent or "", ""), code)] = code
        if parent in town_name:  # the township by its code
            out[(parent, name)] = out[(parent, code)] = code
        bare[name].append(code)
    for name, codes in bare.items():
        if len(codes) == 1:
            out[("", name)] = codes[0]
    return out


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


# How an import reports its progress: not at all, a bar on the terminal (True), or a callable that makes the bar
# of each stage from its description, unit and total (the web page's), with `update(n)` and `close()`.
Progress = bool | Callable[[str, str, int | None], Any]


def _progress(on: Progress, desc: str, unit: str, total: int | None = None) -> Any:
    if callable(on):
        return on(desc, unit, total)
    if not on:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(desc=desc, unit=unit, total=total, file=sys.stderr, mininterval=0.5, disable=None)


# ---------------------------------------------------------------- writing


def import_households(session: Session, actor: Actor, path: Path | str, at: datetime, *, skip_bad: bool = False,
                      progress: Progress = False) -> ImportResult:
    """Validate the whole file, then (if clean, or `skip_bad`) write new and changed households. An error
    raised on the way leaves nothing of the import behind (it runs in a savepoint), whatever the caller does."""
    with _gc_paused(), session.begin_nested():
        return _import(session, actor, Path(path), at, skip_bad, progress)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile (process-wide). An import holds millions of row lists and
    tuples at once, none of them in a cycle, and every automatic collection would walk them all again:
    a third of a large import's time went there."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _import(session: Session, actor: Actor, path: Path, at: datetime, skip_bad: bool,
            progress: Progress) -> ImportResult:
    if session.get_bind().dialect.name == "postgresql" and path.suffix.lower() in (".csv", ".txt"):
        done = _import_columnar(session, actor, path, at, progress)
        if done is not None:
            return done
    headers, rows, plain = _read(path)
    households, errors, nrows = validate_rows(session, headers, rows, progress, beijing_date(at))
    result = ImportResult(rows=nrows, errors=errors)
    if errors and not skip_bad:
        return result
    good = [hh for hh in households.values() if not hh.bad]
    result.skipped_households = len(households) - len(good)
    for code in sorted({hh.village_code for hh in good}):
        access.require(actor, "household.write", region=code)
    existing = _existing_ids(session, [hh.household_no for hh in good])
    # New households are written in village and household-number order (ids, rows and ledger batches): the
    # order of the village's list and of the (village_code, household_no) index, which then builds from
    # presorted rows on a bulk load.
    new = sorted((hh for hh in good if hh.household_no not in existing), key=_household_order)
    old = [hh for hh in good if hh.household_no in existing]
    del households, good
    deferred = _write_new(session, actor, new, at, plain, progress)
    result.households_new = len(new)
    result.people_new = sum(len(hh.people) for hh in new)
    if deferred:
        # The new rows are in the database: their Python objects are freed by a thread while the server
        # rebuilds the indexes (this thread waits on the socket meanwhile, without the GIL).
        free = threading.Thread(target=_free, args=(new, rows), name="import-free", daemon=True)
        free.start()
        try:
            _restore_deferred(session, deferred)
        finally:
            free.join()
    for start in range(0, len(old), BATCH):
        batch = old[start:start + BATCH]
        for hh in _changed(session, batch, existing):
            changed, people_changed = _update(session, actor, session.get_one(Household, existing[hh.household_no]),
                                              hh, at)
            result.households_changed += changed
            result.people_changed += people_changed
    result.households_unchanged = len(old) - result.households_changed
    result.imported = True
    return result


def _household_order(hh: HouseholdRows) -> tuple[str, str]:
    """Village code, then household number, compared by code point: PostgreSQL's "C" collation of UTF-8."""
    return hh.village_code, hh.household_no


def _free(new: list[HouseholdRows], rows: Iterable[list[Any]]) -> None:
    new.clear()
    if isinstance(rows, Lines):
        rows.lines.clear()


def _existing_ids(session: Session, numbers: list[str]) -> dict[str, int]:
    """household_no → id of the households already registered among `numbers`."""
    out: dict[str, int] = {}
    if not numbers or not _any_rows(session, Household):
        return out
    for i in range(0, len(numbers), QUERY_CHUNK):
        for no, hid in session.execute(select(Household.household_no, Household.id)
                                       .where(_in(session, Household.household_no, numbers[i:i + QUERY_CHUNK]))):
            out[no] = hid
    return out


def _changed(session: Session, batch: list[HouseholdRows], ids: dict[str, int]) -> list[HouseholdRows]:
    """The households of `batch` whose file rows differ from the database (two queries for the batch)."""
    hids = [ids[hh.household_no] for hh in batch]
    stored = {r[0]: r[1:] for r in session.execute(
        select(Household.id, Household.status, Household.exit_year, Household.phone, Household.bank_account,
               Household.poverty_cause).where(_in(session, Household.id, hids)))}
    people: dict[int, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for hid, number, name, relation, labor in session.execute(
            select(Person.household_id, Person.id_number, Person.name, Person.relation, Person.labor)
            .where(_in(session, Person.household_id, hids))):
        people[hid][number] = (name, relation, labor)
    out = []
    for hh, hid in zip(batch, hids, strict=True):
        status, exit_year, phone, bank, cause = stored[hid]
        members = people[hid]
        if ((hh.status and hh.status != status)
                or (hh.exit_year is not None and hh.exit_year != exit_year)
                or (hh.phone is not None and hh.phone != phone)
                or (hh.bank_account is not None and hh.bank_account != bank)
                or (hh.poverty_cause is not None and hh.poverty_cause != cause)
                or any(members.get(p[2]) != (p[1], p[3], p[4]) for p in hh.people)):
            out.append(hh)
    return out


def _esc(s: str) -> str:
    """A value in PostgreSQL COPY text form."""
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _copy_line(values: Iterable[Any]) -> str:
    """One row in COPY text form (the canonical form of the batch digest): NULL as \\N, dates ISO."""
    out = []
    for v in values:
        if v is None:
            out.append("\\N")
        elif isinstance(v, date):
            out.append(v.isoformat())
        else:
            out.append(_esc(str(v)))
    return "\t".join(out) + "\n"


def _digest_key(session: Session) -> bytes:
    return trace.pii(session, "household.import").encode()


def _write_new(session: Session, actor: Actor, new: list[HouseholdRows], at: datetime, plain: bool,
               progress: Progress) -> list[Deferred]:
    """Write the new households with their members and first status; one ledger entry per batch. Returns what
    a bulk load deferred (see `_drop_deferred`): the caller passes it to `_restore_deferred` before anything
    else touches the roster."""
    if not new:
        return []
    pg = session.get_bind().dialect.name == "postgresql"
    today = beijing_date(at).isoformat()
    null = NULL
    people_total = sum(len(hh.people) for hh in new)
    bulk = pg and people_total >= BULK_FK_THRESHOLD
    deferred: list[Deferred] = []
    person_ids: range | None = None
    status_ids: range | None = None
    freeze = False
    if bulk:
        ids: list[int] | range
        ids, status_ids, person_ids, deferred, freeze = _bulk_start(session, len(new), people_total)
    else:
        ids = _new_household_ids(session, len(new), pg)
    key = _digest_key(session)
    pinned = sealing.active(session.connection())  # read before the COPY thread holds the connection
    esc = (lambda s: s) if plain else _esc
    writer = _CopyWriter(session, with_ids=bulk, freeze=freeze) if pg else None
    # Initials are ASCII letters and digits only: nothing to escape. `reg.name_initials` inline for a
    # validated (stripped, not empty) name; the function itself when a character has no reading.
    initials, surname_initials, table = reg.name_initials, reg.SURNAME_INITIALS, reg._initials_table()
    bar = _progress(progress, "写入 writing", "行", len(new) + people_total)  # households, then people
    entries: list[tuple[str, dict[str, Any]]] = []
    batches = range(0, len(new), BATCH)
    try:
        if writer is not None:
            writer.start()
        # Households and their first status go first (the server stores them while the people are formatted),
        # then the people; a batch's digest covers its three parts in that order.
        hh_parts: list[bytes] = []
        st_parts: list[bytes] = []
        st_batches: list[list[str]] = []
        for start in batches:
            hh_lines: list[str] = []
            hh_sealed: list[str] = []
            st_lines: list[str] = []
            part = new[start:start + BATCH]
            counties = [hh.village_code[:6] for hh in part]
            phones, phone_index = sealing.seal_many(pinned, "households", "phone", [hh.phone for hh in part], counties)
            banks, _ = sealing.seal_many(pinned, "households", "bank_account", [hh.bank_account for hh in part],
                                         counties)
            assert phone_index is not None
            for hh, hid, county, phone, bank, pidx in zip(part, ids[start:start + BATCH], counties, phones, banks,
                                                          phone_index, strict=True):
                labors = [p[4] for p in hh.people]
                summary = "full" if "full" in labors else ("weak" if "weak" in labors else "none")
                pre = (f"{hid}\t{esc(hh.household_no)}\t{hh.village_code}\t{county}\t{hh.status}\t{today}\t"
                       f"{null if hh.exit_year is None else hh.exit_year}\t"
                       f"{null if hh.poverty_cause is None else esc(hh.poverty_cause)}\t{summary}\t")
                hh_lines.append(f"{pre}{null if hh.phone is None else hh.phone}\t"
                                f"{null if hh.bank_account is None else hh.bank_account}\talive\t\\N\n")
                hh_sealed.append(f"{pre}{phone or null}\t{bank or null}\talive\t\\N\t{pidx or null}\n")
                st_lines.append(f"{hid}\t{county}\t{hh.status}\t{today}\t{IMPORT_REASON}\n")
            hh_parts.append("".join(hh_lines).encode())
            st_parts.append("".join(st_lines).encode())
            st_batches.append(st_lines)
            if writer is not None:
                writer.put("households", "".join(hh_sealed).encode())
            else:
                _sqlite_insert(session, "households", hh_sealed)
                _sqlite_insert(session, "household_status_history", st_lines)
            bar.update(len(hh_lines))
        if writer is not None:
            writer.put("households", None)
            for start, chunk, lines in zip(batches, st_parts, st_batches, strict=True):
                if status_ids is not None:  # the same rows led by their ids (not part of the digest's form)
                    chunk = "".join(map("{}\t{}".format, status_ids[start:start + len(lines)], lines)).encode()
                writer.put("household_status_history", chunk)
            writer.put("household_status_history", None)
        next_person = person_ids.start if person_ids is not None else 0
        for b, start in enumerate(batches):
            batch = new[start:start + BATCH]
            pp_lines: list[str] = []
            pp_sealed: list[str] = []
            numbers, index = sealing.seal_many(
                pinned, "people", "id_number", [p[2] for hh in batch for p in hh.people],
                [hh.village_code[:6] for hh in batch for _ in hh.people])
            assert index is not None
            k = 0
            for hh, hid in zip(batch, ids[start:start + BATCH], strict=True):
                pre = f"{hid}\t{hh.village_code[:6]}\t"
                for _row, name, number, relation, labor in hh.people:
                    ini = (surname_initials.get(name[0], name[0]) + name[1:]).translate(table)
                    rest = (f"\t{number[6:10]}-{number[10:12]}-{number[12:14]}\t"
                            f"{'M' if number[16] in '13579' else 'F'}\t{relation}\t{labor}\talive\t\\N\t\\N\t"
                            f"{ini if ini.isascii() else initials(name)}")
                    head = f"{pre}{esc(name)}\t"
                    pp_lines.append(f"{head}{number}{rest}\n")
                    pp_sealed.append(f"{head}{numbers[k]}{rest}\t{index[k]}\n")
                    k += 1
            pp_bytes = "".join(pp_lines).encode()
            digest = hashlib.sha256(key)
            for chunk in (hh_parts[b], st_parts[b], pp_bytes):
                digest.update(chunk)
            if writer is None:
                _sqlite_insert(session, "people", pp_sealed)
            elif person_ids is None:
                writer.put("people", "".join(pp_sealed).encode())
            else:  # the same rows led by their ids (which are not part of the digest's form)
                writer.put("people", "".join(map("{}\t{}".format, range(next_person, next_person + len(pp_lines)),
                                                  pp_sealed)).encode())
                next_person += len(pp_lines)
            first, last = ids[start], ids[start + len(batch) - 1]
            entries.append((batch[0].village_code[:6], {
                "batch": b, "households": len(batch), "people": len(pp_lines), "household_ids": [first, last],
                "digest": digest.hexdigest(), "parts": _parts_of(key, hh_parts[b], st_parts[b], pp_bytes)}))
            bar.update(len(pp_lines))
        if writer is not None:
            writer.put("people", None)
            writer.join()
            writer = None
    finally:
        bar.close()
        if writer is not None:
            writer.abandon()
    for region, facts in entries:
        first, last = facts["household_ids"]
        trace.record(session, actor=actor, type="household.import", subject=f"import:{first}-{last}",
                     region=region, facts=facts, at=at)
    return deferred


class BulkStart(NamedTuple):
    """What `_bulk_start` drew and dropped."""

    ids: range  # of the new households
    status_ids: range  # of their first status
    person_ids: range  # of their people
    deferred: list[Deferred]  # what puts back what was dropped, in order
    freeze: bool  # the roster was empty and is loaded with COPY (FREEZE) (see the module's docstring)


def _bulk_start(session: Session, households: int, people: int) -> BulkStart:
    """Lock the roster, draw the ids of the new households, their first status and their people (so COPY
    does not call a sequence per row), and drop what a bulk load defers; an empty roster is truncated, to be
    loaded frozen. The caller's COPY must run in the same (sub)transaction."""
    # Every writer of the roster waits from here to the end of the transaction, so the ids can be
    # drawn as ranges and the constraints and indexes dropped and restored unseen.
    session.execute(text(f"LOCK TABLE {', '.join(ROSTER_TABLES)} IN ACCESS EXCLUSIVE MODE"))
    ids = _draw_ids(session, "households", households)
    status_ids = _draw_ids(session, "household_status_history", households)
    person_ids = _draw_ids(session, "people", people)
    rebuild = _few_rows(session, people)
    deferred = _drop_deferred(session, rebuild=rebuild)
    # With every index and every foreign key to the roster dropped (`rebuild`), an empty roster can be emptied
    # again: COPY (FREEZE) takes only a table emptied (or created) in its own subtransaction.
    freeze = rebuild and not session.execute(text(
        "SELECT " + " OR ".join(f"EXISTS (SELECT FROM {t})" for t in ROSTER_TABLES))).scalar_one()
    if freeze:
        session.execute(text(f"TRUNCATE {', '.join(ROSTER_TABLES)}"))
        deferred = [d._replace(merge=d.foreign and d.tables <= set(ROSTER_TABLES)) for d in deferred]
    return BulkStart(ids, status_ids, person_ids, deferred, freeze)


def _import_columnar(session: Session, actor: Actor, path: Path, at: datetime, progress: Progress) -> ImportResult | None:
    """A large csv into PostgreSQL by `import_columns` (see its docstring): the result, or None when that path
    is not certain of the file (or the file is small, or some of its households or ID numbers are registered
    already), and the row-by-row path is to import it.

    The rows go to the database while the rest of the file is checked: if a check then fails, everything this
    path did is rolled back (to a savepoint) before the row-by-row path starts."""
    # polars loads (a few tenths of a second) while the file is read.
    loading = threading.Thread(target=_load_columns, name="import-load", daemon=True)
    loading.start()
    raw = path.read_bytes()
    loading.join()
    end = raw.find(b"\n")
    if end < 0 or not _lines_at_least(raw, PARALLEL_ROWS):
        return None
    try:
        headers = [h.strip() for h in raw[:end].decode("utf-8-sig").split(",")]
        index = map_headers(headers)
    except (UnicodeDecodeError, InputError):  # GB 18030, quoted headers, ...: the row path reads those
        return None
    try:
        from daipin.services.imports import columns as columns
    except ImportError:  # polars missing or unusable here: the row-by-row path does the same work
        return None
    today = beijing_date(at)
    p = columns.prepare(raw, headers, index, _village_lookup(session),
                        lambda number: check_resident_id_fast(number, today),
                        lambda year: _exit_year(year, today.year), LABOR_VALUES, STATUS_VALUES, _RELATIONS)
    del raw
    if p is None or p.table.height < BULK_FK_THRESHOLD:
        return None
    for code in sorted(p.households["vcode"].unique()):
        access.require(actor, "household.write", region=code)
    if _any_rows(session, Household) and (found := _existing_ids(session, p.household_numbers)):
        # Imported before: when every household is registered and nothing the row path compares differs,
        # nothing is written (anything else, the row path compares household by household).
        if len(found) == p.households.height and columns.form(p) and columns.verify(p) and _unchanged(session, p,
                                                                                                     columns):
            return ImportResult(rows=p.rows, households_unchanged=len(found), imported=True)
        return None
    if _any_rows(session, Person) and _owners(session, p.id_numbers):
        return None
    n, people_total, rows = p.households.height, p.table.height, p.rows
    key = _digest_key(session)
    pinned = sealing.active(session.connection())  # read before the COPY thread holds the connection
    savepoint = session.begin_nested()
    bar = _progress(progress, "写入 writing", "行", n + people_total)  # households, then people
    entries: list[tuple[str, dict[str, Any]]] = []
    ids, status_ids, person_ids, deferred, freeze = _bulk_start(session, n, people_total)
    # The first status goes first (it needs the heads' rows only), then the households and their people. The
    # writer puts back what it can while it waits for the next table's rows, the rest after the people's COPY,
    # while the file is verified.
    writer = _CopyWriter(session, with_ids=True, deferred=deferred, status_first=True, freeze=freeze)
    verified = False
    try:
        writer.start()
        status = columns.status_copy(p.households, ids, status_ids, today.isoformat(), IMPORT_REASON)
        st_parts = []
        for start in range(0, n, BATCH):
            batch = status.slice(start, BATCH)
            st_parts.append(columns.copy_bytes(batch.drop("id")))
            writer.put("household_status_history", columns.copy_bytes(batch))
        writer.put("household_status_history", None)
        if not columns.form(p):
            raise _Uncertain
        households = columns.household_copy(columns.household_rows(p), ids, today.isoformat())
        hh_parts = []
        for start in range(0, n, BATCH):
            hh_parts.append(columns.copy_bytes(households.slice(start, BATCH)))
            writer.put("households", columns.copy_bytes(columns.sealed(pinned, households.slice(start, BATCH),
                                                                       "households")))
            bar.update(min(BATCH, n - start))
        writer.put("households", None)
        batches = []
        for batch in columns.people_batches(p, households, person_ids, BATCH):
            batches.append(batch)
            writer.put("people", columns.copy_bytes(columns.sealed(pinned, batch, "people")))
            bar.update(batch.height)
        writer.put("people", None)
        # While the database stores the people and rebuilds their indexes: the checks, then the digests.
        if not columns.verify(p):
            raise _Uncertain
        verified = True
        for b, (start, batch) in enumerate(zip(range(0, n, BATCH), batches, strict=True)):
            digest = hashlib.sha256(key)
            pp_bytes = columns.copy_bytes(batch.drop("id"))
            for chunk in (hh_parts[b], st_parts[b], pp_bytes):
                digest.update(chunk)
            entries.append((households["county_code"][start], {
                "batch": b, "households": min(BATCH, n - start), "people": batch.height,
                "household_ids": [ids[start], ids[min(start + BATCH, n) - 1]], "digest": digest.hexdigest(),
                "parts": _parts_of(key, hh_parts[b], st_parts[b], pp_bytes)}))
        writer.join()  # the people's COPY, then their indexes and foreign keys rebuilt
    except Exception as exc:
        # Rows not yet verified may be ones the database refuses: whatever failed, a file `form` or `verify`
        # refuses goes to the row path, which reports it row by row.
        writer.abandon()  # ends the COPY (whatever it reached is rolled back with the savepoint)
        if isinstance(exc, _Uncertain) or not (verified or ((p.members is not None or columns.form(p))
                                                            and columns.verify(p))):
            savepoint.rollback()
            return None
        raise
    finally:
        bar.close()
        writer.abandon()
    for region, facts in entries:
        first, last = facts["household_ids"]
        trace.record(session, actor=actor, type="household.import", subject=f"import:{first}-{last}",
                     region=region, facts=facts, at=at)
    savepoint.commit()
    return ImportResult(rows=rows, households_new=n, people_new=people_total, imported=True)


def _unchanged(session: Session, p: Any, columns: Any) -> bool:
    """Whether the registry holds every household of a verified `p` (see `import_columns`) as `_changed` finds
    it unchanged: the same village and status and, where the file gives them, exit year, phone, bank account and
    poverty cause; each member under the same household with the same name, relation and labour. The households and
    people of the file's villages are read with COPY and compared column-wise."""
    import polars as pl

    codes = sorted(p.households["vcode"].unique())
    if not all(c.isdigit() for c in codes):  # village codes from the regions table; inlined below
        return False
    villages = ", ".join(f"'{c}'" for c in codes)
    stored = _copy_out(session, "SELECT household_no, village_code, status, exit_year, phone, bank_account, "
                       f"poverty_cause FROM households WHERE village_code IN ({villages})",
                       {"hno": pl.String, "s_vcode": pl.String, "s_status": pl.String, "s_exit": pl.Int32,
                        "s_phone": pl.String, "s_bank": pl.String, "s_cause": pl.String})
    stored = stored.with_columns(  # read sealed: compared opened
        pl.Series("s_phone", sealing.open_many("households", "phone", stored["s_phone"].to_list()), dtype=pl.String),
        pl.Series("s_bank", sealing.open_many("households", "bank_account", stored["s_bank"].to_list()),
                  dtype=pl.String))
    f = columns.household_rows(p).join(stored, on="hno", how="left")

    def differs(file: str, kept: str) -> Any:  # given in the file and not as stored
        return pl.col(file).is_not_null() & pl.col(file).ne_missing(pl.col(kept))

    # (registered in another village: the row path refuses the file's rows for it)
    if f.select((pl.col("s_status").is_null() | (pl.col("vcode") != pl.col("s_vcode"))
                 | (pl.col("status") != pl.col("s_status")) | differs("exit_year", "s_exit")
                 | differs("phone", "s_phone") | differs("bank", "s_bank") | differs("cause", "s_cause")).any()).item():
        return False
    members = _copy_out(session, "SELECT p.id_number_bidx, h.household_no, p.name, p.relation, p.labor FROM people p "
                        f"JOIN households h ON h.id = p.household_id WHERE h.village_code IN ({villages})",
                        {"bidx": pl.String, "s_hno": pl.String, "s_name": pl.String, "s_relation": pl.String,
                         "s_labor": pl.String})
    file_people = p.table.select("hno", "number", "name", "relation", labor=pl.col("labor").replace_strict(p.labor))
    file_people = file_people.with_columns(  # matched by the numbers' blind index
        pl.Series("bidx", sealing.indexes_of(session.connection(), file_people["number"].to_list()), dtype=pl.String))
    m = file_people.join(members, on="bidx", how="left")
    return not m.select((pl.col("s_hno").is_null() | (pl.col("hno") != pl.col("s_hno"))
                         | (pl.col("name") != pl.col("s_name")) | (pl.col("relation") != pl.col("s_relation"))
                         | (pl.col("labor") != pl.col("s_labor"))).any()).item()


def _copy_out(session: Session, query: str, schema: dict[str, Any]) -> Any:
    """A query's rows as a polars frame, read with COPY in text form (NULL as \\N; a value COPY had to escape
    is read as escaped, so it compares unequal, which only sends the file to the row path)."""
    import polars as pl

    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT") as cp:
        data = b"".join(bytes(chunk) for chunk in cp)
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(data, has_header=False, separator="\t", quote_char=None, null_values="\\N",
                       empty_string_is_null=False, schema=schema)


def _lines_at_least(raw: bytes, n: int) -> bool:
    """Whether `raw` holds at least `n` line ends (a large file's answer from its first part)."""
    part = 256 * n
    return raw.count(b"\n", 0, part) >= n or (len(raw) > part and raw.count(b"\n") >= n)


def _load_columns() -> None:
    with suppress(ImportError):  # met again where it is used
        import daipin.services.imports.columns  # noqa: F401


class _Uncertain(Exception):
    """The columnar path found something it leaves to the row-by-row path."""


def _new_household_ids(session: Session, n: int, pg: bool) -> list[int]:
    """Ids for `n` new households, drawn up front: from the sequence on PostgreSQL; after the largest on SQLite
    (whose writer holds the database lock for the whole transaction)."""
    if pg:
        # The lock an insert takes anyway: a bulk import (which draws its ids as a range) is waited for.
        session.execute(text("LOCK TABLE households IN ROW EXCLUSIVE MODE"))
        draw = "SELECT nextval(pg_get_serial_sequence('households', 'id')) AS v FROM generate_series(1, :n)"
        low, high = session.execute(text(f"SELECT min(v), max(v) FROM ({draw}) AS d"), {"n": n}).one()
        if int(high) - int(low) + 1 == n:  # the usual case: nobody drew from the sequence meanwhile
            return list(range(int(low), int(high) + 1))
        rows = session.execute(text(draw), {"n": n}).scalars().all()  # gaps: draw a fresh list (the first is lost)
        return [int(r) for r in rows]
    top = int(session.execute(text("SELECT coalesce(max(id), 0) FROM households")).scalar_one())
    return list(range(top + 1, top + n + 1))


def _draw_ids(session: Session, table: str, n: int) -> range:
    """`n` consecutive ids from the id sequence of `table`, which the caller has locked against every inserter
    (so nobody draws between this statement's nextval and setval)."""
    seq = session.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar_one()
    step = session.execute(text("SELECT seqincrement FROM pg_sequence WHERE seqrelid = CAST(:s AS regclass)"),
                           {"s": seq}).scalar_one()
    if step != 1:
        raise DaipinError(f"序列 {seq} 的步长不是 1", f"sequence {seq} does not count by one")
    last = session.execute(text("SELECT setval(CAST(:s AS regclass), nextval(CAST(:s AS regclass)) + :n - 1)"),
                           {"s": seq, "n": n}).scalar_one()
    return range(int(last) - n + 1, int(last) + 1)


def _few_rows(session: Session, new_people: int) -> bool:
    """Whether `people` holds at most `REBUILD_RATIO` times `new_people` rows (counted up to that bound)."""
    cap = REBUILD_RATIO * new_people
    held = session.execute(text("SELECT count(*) FROM (SELECT 1 FROM people LIMIT :cap) AS s"),
                           {"cap": cap + 1}).scalar_one()
    return int(held) <= cap


class Deferred(NamedTuple):
    """A statement that puts back what a bulk load dropped, and the tables it reads."""

    sql: str
    tables: frozenset[str]
    foreign: bool = False  # a foreign key, validated as it is added
    # Validated by merging the two tables' indexes (frozen tables: index-only scans, no table read).
    merge: bool = False

    def statements(self) -> list[str]:
        """`sql`, and for `merge` the settings around it (hash joins off for it alone, then as they were)."""
        if not self.merge:
            return [self.sql]
        return ["SELECT set_config('daipin.enable_hashjoin', current_setting('enable_hashjoin'), true)",
                "SELECT set_config('enable_hashjoin', 'off', true)", self.sql,
                "SELECT set_config('enable_hashjoin', current_setting('daipin.enable_hashjoin'), true)"]


def _drop_deferred(session: Session, rebuild: bool) -> list[Deferred]:
    """Drop the foreign keys of people and status history to households and, with `rebuild`, also every other
    foreign key that points at a roster table, the roster tables' primary keys and every other index and unique
    constraint of theirs; returns the statements that put them back, in order: primary keys, the other
    indexes and constraints, foreign keys."""
    if not rebuild:
        restore: list[Deferred] = []
        for table, con, con_def in session.execute(text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND confrelid = 'households'::regclass "
                "AND conrelid IN ('people'::regclass, 'household_status_history'::regclass) ORDER BY conname")):
            session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"'))
            restore.append(Deferred(f'ALTER TABLE {table} ADD CONSTRAINT "{con}" {con_def}',
                                    frozenset((table, "households")), foreign=True))
        return restore
    # Rebuilt indexes sort in memory; the foreign keys' validation joins hash in memory.
    for setting, value in (("maintenance_work_mem", BULK_MAINTENANCE_MEM), ("work_mem", BULK_WORK_MEM)):
        session.execute(text("SELECT set_config(:s, :m, true) "
                             "WHERE pg_size_bytes(current_setting(:s)) < pg_size_bytes(:m)"), {"s": setting, "m": value})
    session.execute(text("SELECT set_config('max_parallel_maintenance_workers', :n, true) "
                         "WHERE current_setting('max_parallel_maintenance_workers')::int > CAST(:n AS int)"),
                    {"n": str(BULK_INDEX_WORKERS)})
    tables = {"tables": list(ROSTER_TABLES)}
    foreign = session.execute(text(
        "SELECT conrelid::regclass::text, confrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype = 'f' AND confrelid = ANY(CAST(:tables AS regclass[])) ORDER BY 1, 3"),
        tables).all()
    for table, _to, con, _def in foreign:
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"'))
    found = session.execute(text(
        "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
        "c.conname, pg_get_constraintdef(c.oid) FROM pg_index i "
        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
        "AND c.contype IN ('p', 'u', 'x') "
        "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) ORDER BY i.indisprimary DESC, 1, 2"), tables).all()
    restore = []
    for table, index, index_def, con, con_def in found:
        if con is None:
            session.execute(text(f"DROP INDEX {index}"))
            restore.append(Deferred(index_def, frozenset((table,))))
        else:
            session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"'))
            restore.append(Deferred(f'ALTER TABLE {table} ADD CONSTRAINT "{con}" {con_def}', frozenset((table,))))
    return restore + [Deferred(f'ALTER TABLE {table} ADD CONSTRAINT "{con}" {con_def}', frozenset((table, to)),
                               foreign=True) for table, to, con, con_def in foreign]


def _restore_deferred(session: Session, statements: list[Deferred]) -> None:
    """Re-create the indexes and re-add the constraints: a unique index checks every row as it is built, a
    foreign key validates every row in one query; a violation aborts the import."""
    for statement in statements:
        for sql in statement.statements():
            session.execute(text(sql))


def _unline(line: str) -> tuple[str | None, ...]:
    """A COPY text line back to values (for SQLite, which stores dates and numbers given as text the same way)."""
    out: list[str | None] = []
    for v in line[:-1].split("\t"):
        if v == "\\N":
            out.append(None)
        elif "\\" in v:
            out.append(v.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\\\", "\\"))
        else:
            out.append(v)
    return tuple(out)


def _sqlite_insert(session: Session, table: str, lines: list[str]) -> None:
    """executemany of one table's rows of a batch on the session's connection (foreign keys are on: households
    go first)."""
    columns = _CopyWriter.COLUMNS[table]
    text_rows = [_unline(line) for line in lines]
    rows: list[tuple[Any, ...]]
    if table == "households":  # integers stay integers (exit_year); the rest is text as SQLAlchemy stores it
        rows = [(int(r[0] or 0), *r[1:6], None if r[6] is None else int(r[6]), *r[7:]) for r in text_rows]
    else:
        rows = [(int(r[0] or 0), *r[1:]) for r in text_rows]
    conn = session.connection()
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"  # SQLite; PyMySQL (MariaDB, OceanBase, TiDB)
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))})", rows)


def ready_now(pending: list[Deferred], loaded: set[str]) -> int | None:
    """The index in `pending` of the first statement that reads no roster table other than those `loaded`, None
    if there is none. A statement before it that reads another stays before it: whatever comes later and needs
    that one (a foreign key, the primary key it references) reads the same table."""
    return next((i for i, d in enumerate(pending) if d.tables & set(ROSTER_TABLES) <= loaded), None)


class _CopyWriter:
    """COPY into households, then status history, then people on the session's connection from a thread,
    so the server inserts while the next rows are formatted. Chunks are queued per table; None ends a table.
    `with_ids`: status history and people rows start with their id (drawn up front) instead of taking it from
    the sequence. `status_first`: the status history is loaded before the households (its foreign key to them
    must be dropped). `freeze`: COPY (FREEZE), into tables emptied in this subtransaction. `deferred`:
    statements that put back what a bulk load dropped, in order. While the next table's first chunk is not yet
    queued, the thread runs the next of them that reads only tables already loaded (the server rebuilds the
    households' indexes while the people are formatted, and does not wait for them once the people are there);
    the rest run after the last COPY (the caller checks the file meanwhile; `join` waits for them). Once
    abandoned, the thread starts no further statement."""

    # As written: the canonical forms with their personal data sealed and the blind index after them.
    COLUMNS = {"households": (*HOUSEHOLD_COLUMNS, "phone_bidx"), "household_status_history": STATUS_COLUMNS,
               "people": (*PERSON_COLUMNS, "id_number_bidx")}

    def __init__(self, session: Session, with_ids: bool = False, deferred: list[Deferred] | None = None,
                 status_first: bool = False, freeze: bool = False) -> None:
        raw = session.connection().connection.driver_connection
        assert raw is not None
        self.raw = raw
        order = ["households", "household_status_history", "people"]
        if status_first:
            order[:2] = order[1::-1]
        self.tables = [(t, ("id", *self.COLUMNS[t]) if t != "households" and with_ids else self.COLUMNS[t])
                       for t in order]
        self.queues: dict[str, queue.SimpleQueue[bytes | None]] = {t: queue.SimpleQueue() for t in self.COLUMNS}
        self.error: BaseException | None = None
        self.options = " (FREEZE)" if freeze else ""  # see `_bulk_start`
        self.pending = list(deferred or [])
        self.stopped = False
        self.statement = ""  # the one running (for the error)
        self.thread = threading.Thread(target=self._run, name="import-copy", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def put(self, table: str, chunk: bytes | None) -> None:
        if self.error is not None:
            self.join()
        self.queues[table].put(chunk)

    def _run(self) -> None:
        try:
            with self.raw.cursor() as cur:
                loaded: set[str] = set()
                for table, columns in self.tables:
                    q = self.queues[table]
                    while q.empty() and not self.stopped and (ready := ready_now(self.pending, loaded)) is not None:
                        self._execute(cur, [self.pending.pop(ready)])
                    if self.stopped:
                        return
                    self.statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN{self.options}"
                    with cur.copy(self.statement) as cp:
                        while (chunk := q.get()) is not None:
                            cp.write(chunk)
                    loaded.add(table)
                self._execute(cur, self.pending)
        except BaseException as exc:  # handed to the main thread by join()
            self.error = exc

    def _execute(self, cur: Any, statements: list[Deferred]) -> None:
        for statement in statements:
            if self.stopped:  # abandoned: the caller rolls back whatever they would rebuild
                return
            self.statement = statement.sql
            for sql in statement.statements():
                cur.execute(sql)

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            import psycopg
            from sqlalchemy.exc import DBAPIError

            if isinstance(self.error, psycopg.Error):  # as SQLAlchemy raises a failed statement of the session's
                raise DBAPIError.instance(self.statement, None, self.error, psycopg.Error) from self.error
            raise self.error

    def abandon(self) -> None:
        """After an error in the main thread: end every table and run no further statement, so the thread finishes
        (the caller rolls back)."""
        if self.thread.is_alive():
            self.stopped = True
            for q in self.queues.values():
                q.put(None)
            self.thread.join()


def batch_digest_now(session: Session, facts: Mapping[str, Any]) -> str:
    """The digest of a `household.import` entry's batch as the database holds it now (equal if nothing changed)."""
    first, last = (int(v) for v in facts["household_ids"])
    hh_cols = [getattr(Household, c) for c in HOUSEHOLD_COLUMNS]
    digest = hashlib.sha256(_digest_key(session))
    hids = []
    for row in session.execute(select(*hh_cols).where(Household.id.between(first, last)).order_by(Household.id)):
        hids.append(row[0])
        digest.update(_copy_line(row).encode())
    for model, columns in ((HouseholdStatus, STATUS_COLUMNS), (Person, PERSON_COLUMNS)):
        for i in range(0, len(hids), QUERY_CHUNK):
            q = (select(*[getattr(model, c) for c in columns])
                 .where(_in(session, model.household_id, hids[i:i + QUERY_CHUNK]))
                 .order_by(model.household_id, model.id))
            if model is HouseholdStatus:
                q = q.where(HouseholdStatus.reason == IMPORT_REASON)
            for row in session.execute(q):
                digest.update(_copy_line(row).encode())
    return digest.hexdigest()


def _batch_touched(session: Session, facts: Mapping[str, Any], refs: set[tuple[str, str]]) -> bool:
    """Whether any of these row facts (of later entries) is a household of the batch, or a person or status row
    of one."""
    first, last = (int(v) for v in facts["household_ids"])
    if any(t == "households" and i.isdigit() and first <= int(i) <= last for t, i in refs):
        return True
    for model in (Person, HouseholdStatus):
        ids = [int(i) for t, i in refs if t == model.__tablename__ and i.isdigit()]
        for start in range(0, len(ids), QUERY_CHUNK):
            if session.scalar(select(model.id).where(_in(session, model.id, ids[start:start + QUERY_CHUNK]),
                                                     model.household_id.between(first, last)).limit(1)) is not None:
                return True
    return False


PART_HEX = 16  # a household's part of a batch: 64 bits of its keyed digest


def _parts_of(key: bytes, households: bytes, status: bytes, people: bytes) -> dict[str, str]:
    """`household_digests` of a batch as written, from its rows in canonical form (each line led by its household's
    id), without reading them back (and opening their sealed personal data) from the database."""
    parts: dict[int, Any] = {}
    for line in households.split(b"\n")[:-1]:
        h = parts[int(line[:line.index(b"\t")])] = hashlib.sha256(key)
        h.update(line + b"\n")
    for chunk in (status, people):
        for line in chunk.split(b"\n")[:-1]:
            parts[int(line[:line.index(b"\t")])].update(line + b"\n")
    return {str(hid): h.hexdigest()[:PART_HEX] for hid, h in sorted(parts.items())}


def household_digests(session: Session, first: int, last: int) -> dict[str, str]:
    """Each household of ids `first`..`last` with its import status rows and its people, digested on its own (keyed
    like the batch digest), so the households of a batch no later entry restated can still be checked."""
    key = _digest_key(session)
    parts: dict[int, Any] = {}
    hh_cols = [getattr(Household, c) for c in HOUSEHOLD_COLUMNS]
    for row in session.execute(select(*hh_cols).where(Household.id.between(first, last)).order_by(Household.id)):
        parts[row[0]] = hashlib.sha256(key)
        parts[row[0]].update(_copy_line(row).encode())
    for model, columns in ((HouseholdStatus, STATUS_COLUMNS), (Person, PERSON_COLUMNS)):
        q = (select(*[getattr(model, c) for c in columns]).where(model.household_id.between(first, last))
             .order_by(model.household_id, model.id))
        if model is HouseholdStatus:
            q = q.where(HouseholdStatus.reason == IMPORT_REASON)
        for row in session.execute(q):  # household_id leads both column lists
            h = parts.get(row[0])
            if h is None:
                h = parts[row[0]] = hashlib.sha256(key + b"\0no household")
            h.update(_copy_line(row).encode())
    return {str(hid): h.hexdigest()[:PART_HEX] for hid, h in sorted(parts.items())}


def _batch_untouched_ok(session: Session, facts: Mapping[str, Any],
                        refs: set[tuple[str, str]]) -> tuple[int, bool] | None:
    """For a batch some of whose rows later entries restated: whether every household no later entry touched (nor
    any of its people or status rows) still holds what the batch recorded, and how many were checked. None for a
    batch recorded before households had their own digests."""
    recorded = facts.get("parts")
    if not isinstance(recorded, dict):
        return None
    first, last = (int(v) for v in facts["household_ids"])
    touched = {i for t, i in refs if t == "households"}
    for model in (Person, HouseholdStatus):
        ids = [int(i) for t, i in refs if t == model.__tablename__ and i.isdigit()]
        for start in range(0, len(ids), QUERY_CHUNK):
            touched |= {str(h) for h in session.scalars(
                select(model.household_id).where(_in(session, model.id, ids[start:start + QUERY_CHUNK]),
                                                 model.household_id.between(first, last)))}
    now = household_digests(session, first, last)
    checked, ok = 0, True
    for hid in set(recorded) | set(now):
        if hid in touched:
            continue
        checked += 1
        if recorded.get(hid) != now.get(hid):
            ok = False
    return checked, ok


def _batch_covers(session: Session, facts: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The rows a `household.import` entry states, as the database holds them now: its households, their people
    and their import status rows (any of them edited or added since changes the batch's digest)."""
    first, last = (int(v) for v in facts["household_ids"])
    out = {("households", str(i)) for i in session.scalars(select(Household.id).where(Household.id.between(first,
                                                                                                            last)))}
    out |= {("people", str(i)) for i in session.scalars(select(Person.id).where(Person.household_id.between(first,
                                                                                                         last)))}
    out |= {("household_status_history", str(i)) for i in session.scalars(
        select(HouseholdStatus.id).where(HouseholdStatus.household_id.between(first, last),
                                         HouseholdStatus.reason == IMPORT_REASON))}
    return out


def register_ledger_checks() -> None:
    """Let `daipin ledger verify` check each import batch's rows against its entry's digest (`batch_digest_now`);
    called by the composition root (`daipin.bootstrap`)."""
    store.register_batch_check("household.import", store.BatchCheck(
        digest_now=batch_digest_now, touched=_batch_touched,
        size=lambda facts: int(facts.get("households", 0)) + int(facts.get("people", 0)),
        covers=_batch_covers, untouched_ok=_batch_untouched_ok,
        tables=frozenset({Household.__tablename__, Person.__tablename__, HouseholdStatus.__tablename__})))


def _update(session: Session, actor: Actor, hh: Household, rows: HouseholdRows, at: datetime) -> tuple[bool, int]:
    """Apply what changed to an existing household; nothing changed means no write and no ledger entry."""
    people = {p.id_number: p for p in reg.members(session, hh.id)}
    changes: dict[str, Any] = {}
    people_changed = 0
    for _row, name, number, relation, labor in rows.people:
        p = people.get(number)
        if p is None:
            reg.add_member(session, actor, hh.id, {"name": name, "id_number": number,
                                                   "relation": relation, "labor": labor}, at)
            people_changed += 1
            continue
        diff = {k: v for k, v in (("name", name), ("relation", relation), ("labor", labor)) if getattr(p, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(p, k, v)
            if "name" in diff:
                p.name_initials = reg.name_initials(name)
            people_changed += 1
            changes.setdefault("people", []).append(shared_rows.row_fact(session, p))
    for k in ("phone", "bank_account", "poverty_cause"):
        v = getattr(rows, k)
        if v is not None and getattr(hh, k) != v:
            setattr(hh, k, v)
            changes.setdefault("fields", []).append(k)
    if rows.exit_year is not None and hh.exit_year != rows.exit_year:
        hh.exit_year = rows.exit_year
        changes.setdefault("fields", []).append("exit_year")
    if changes or people_changed:
        session.flush()
        reg._refresh_labor(session, hh)
        changes["row"] = shared_rows.row_fact(session, hh)
        trace.record(session, actor=actor, type="household.import_update", subject=f"household:{hh.household_no}",
                     region=hh.village_code, facts=changes, at=at)
    if rows.status and rows.status != hh.status:
        dynamic.change_household_status(session, actor, hh.id, rows.status, beijing_date(at), "建档立卡导入更新", at,
                                    exit_year=rows.exit_year)
        return True, people_changed
    return bool(changes or people_changed), people_changed


# ---------------------------------------------------------------- template


TEMPLATE_KEYS = ("household_no", "head_name", "name", "id_number", "relation", "labor", "status", "exit_year",
                 "township", "village", "phone", "bank_account", "poverty_cause")
# Identifier columns formatted as text for the whole column: typed digits stay the digits typed.
TEXT_KEYS = ("household_no", "id_number", "phone", "bank_account")
TEMPLATE_ROWS = 5000  # rows the template's checks (lists) cover
EXAMPLE = ("示例-0001", "张示例", "张示例", "（18位身份证号，如 11010519491231002X）", "户主", "有劳动能力", "贫困户", "",
           "（乡镇名）", "（村名或12位村代码）", "（11位手机号）", "（12至30位银行账号）", "因病")


def template_villages(session: Session) -> list[tuple[str, str, str]]:
    """(township name, village name, village code) of every village, for the template's lists."""
    town = dict(session.execute(select(Region.code, Region.name).where(Region.level == "township")).all())
    return [(town.get(code[:9], ""), name, code) for code, name in session.execute(
        select(Region.code, Region.name).where(Region.level == "village").order_by(Region.code))]


def write_template(out: Path | str, villages: list[tuple[str, str, str]] | None = None) -> None:
    """The household import sheet for people: the headers only (no row to delete), 户编号, 证件号码, 联系电话 and
    银行账号 formatted as text for the whole column (a spreadsheet then keeps every digit typed), lists for
    与户主关系, 劳动能力, 户类型 and (given the registry's villages) 所属乡镇 and 所属村, the header frozen; a sheet
    of instructions in Chinese with an example row that is marked as one (not a registered household)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "农户导入"
    sheets.append(ws, [HEADER_OF[k] for k in TEMPLATE_KEYS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = {"household_no": 20, "id_number": 22, "bank_account": 24, "phone": 14, "poverty_cause": 16,
              "village": 16, "township": 12}
    letter = {k: get_column_letter(i) for i, k in enumerate(TEMPLATE_KEYS, start=1)}
    for key, col in letter.items():
        ws.column_dimensions[col].width = widths.get(key, 11)
    for key in TEXT_KEYS:
        ws.column_dimensions[letter[key]].number_format = "@"
        for (cell,) in ws.iter_rows(min_row=2, max_row=TEMPLATE_ROWS + 1, min_col=TEMPLATE_KEYS.index(key) + 1,
                                    max_col=TEMPLATE_KEYS.index(key) + 1):
            cell.number_format = "@"
    ws.freeze_panes = "A2"

    def listed(key: str, formula: str, title: str, prompt: str, strict: bool = True) -> None:
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                            errorStyle="stop" if strict else "warning", errorTitle=title,
                            error=prompt, promptTitle=title, prompt=prompt, showInputMessage=True)
        dv.add(f"{letter[key]}2:{letter[key]}{TEMPLATE_ROWS + 1}")
        ws.add_data_validation(dv)

    listed("relation", '"' + ",".join(reg.RELATIONS) + '"', "与户主关系", "请从列表中选择")
    listed("labor", '"' + ",".join(vocabulary.LABOR.labels().values()) + '"', "劳动能力", "请从列表中选择")
    listed("status", '"' + ",".join(vocabulary.HOUSEHOLD_STATUS.labels().values()) + '"', "户类型", "请从列表中选择")
    if villages:
        lists = wb.create_sheet("村名单")
        sheets.append(lists, ["所属乡镇", "所属村", "村代码"])
        for row in villages:
            sheets.append(lists, list(row))
        towns = sorted({t for t, _v, _c in villages if t})
        for i, town in enumerate(towns, start=2):
            lists.cell(row=i, column=5, value=town).data_type = "s"
        ref = quote_sheetname("村名单")
        listed("village", f"{ref}!$B$2:$B${len(villages) + 1}", "所属村",
               "请从列表中选择村名，或填写12位村代码（见“村名单”）", strict=False)
        if towns:
            listed("township", f"{ref}!$E$2:$E${len(towns) + 1}", "所属乡镇", "请从列表中选择", strict=False)
        lists.column_dimensions["A"].width = 14
        lists.column_dimensions["B"].width = 14
        lists.column_dimensions["C"].width = 16

    notes = wb.create_sheet("填写说明", 1)
    sheets.append(notes, ["列", "说明"])
    for key, note in (
            ("household_no", "必填。同一户的每名成员填写同一户编号。整列为文本格式，请勿改为数字或常规格式"),
            ("head_name", "可不填；填写的须与户主本人一行的姓名一致"),
            ("name", "必填。每行一人"),
            ("id_number", "必填。18位居民身份证号；整列为文本格式，请直接键入或粘贴为“仅文本”"),
            ("relation", "必填：" + "、".join(reg.RELATIONS) + "；每户有且只有一名户主"),
            ("labor", "必填：" + " / ".join(vocabulary.LABOR.labels().values())),
            ("status", "必填（以户主一行为准）：" + " / ".join(vocabulary.HOUSEHOLD_STATUS.labels().values())),
            ("exit_year", "脱贫户必填，不晚于导入当年"),
            ("township", "可不填；填写的，所属村须为该乡镇的村"),
            ("village", "必填：村名（同名村请同时填写所属乡镇）或12位村代码，见“村名单”"),
            ("phone", "可不填（以户主一行为准）；整列为文本格式"),
            ("bank_account", "可不填（以户主一行为准）：12至30位数字；整列为文本格式"),
            ("poverty_cause", "可不填")):
        sheets.append(notes, [HEADER_OF[key], note])
    for line in ("", "注意事项",
                 "1. 在“农户导入”表第2行起逐行填写，每行一名成员；不要改动第1行的列名，也不要合并单元格。",
                 "2. 户编号、证件号码、联系电话、银行账号四列已设为文本格式：表格软件只保留15位有效数字，设为数字格式会把"
                 "16位以上的号码改写（末位变0或显示为科学计数法），导入会列出每一个被改写的单元格。",
                 "3. 单元格请填写文字，不要填写公式：含公式的单元格导入时会被拒绝并指出位置。",
                 "4. 用 LibreOffice 或 WPS 编辑后，请保存为 xlsx；另存为 csv 时须选择 UTF-8 或 GB 18030 编码。",
                 "5. csv 模板供其他系统对接使用；人工填写请使用本 xlsx 模板。",
                 "6. 本系统导出的农户表已脱敏（证件号码等已打码），不能作为导入文件。",
                 "", "示例（仅为示意，不是登记的农户，请勿填入“农户导入”表）："):
        sheets.append(notes, [line])
    sheets.append(notes, [HEADER_OF[k] for k in TEMPLATE_KEYS])
    sheets.append(notes, list(EXAMPLE))
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 90
    wb.save(str(out))
