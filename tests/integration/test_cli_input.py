"""The command line on bad files and values: one line naming the problem in both languages and exit 2, nothing
written, no traceback; and Chinese names, not codes, wherever it prints a status, a model or a labour capacity."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db.models.registry import Household
from daipin.db.session import reset_engine, session_scope
from daipin.domain.contracts import MODELS
from daipin.services.registry.service import LABOR
from tests.integration.test_runs import _ok

HEADERS = ["户编号", "户主姓名", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村"]


@pytest.fixture
def cli(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A command line on a fresh, initialised database."""
    monkeypatch.setenv("DAIPIN_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.chdir(tmp_path)
    reset_engine(None)
    runner = CliRunner()
    _ok(runner, "init")
    yield runner
    reset_engine(None)


def _refused(runner: CliRunner, *args: str, says: str) -> str:
    """Exit 2 with one `错误 / error:` line that contains `says`, and no traceback."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误 / error:"), result.stderr
    assert says in lines[0] and "Traceback" not in result.output, lines[0]
    assert re.search(r"[\u4e00-\u9fff]", lines[0].split("(")[0]), lines[0]  # Chinese first
    return lines[0]


def _households() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Household)) or 0)


def test_an_import_of_a_utf16_csv_a_damaged_xlsx_or_a_missing_file_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    for name, sep in (("unicode.csv", ","), ("unicode.txt", "\t")):  # Excel's "Unicode text": UTF-16 with a BOM
        (tmp_path / name).write_text(sep.join(HEADERS) + "\n", encoding="utf-16")
        _refused(cli, "import", "households", name, says="UTF-8")
    _ok(cli, "import", "template", "households", "t.xlsx")
    whole = (tmp_path / "t.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    _refused(cli, "import", "households", "cut.xlsx", says="已损坏")
    (tmp_path / "junk.xlsx").write_bytes(b"not a spreadsheet")
    _refused(cli, "import", "households", "junk.xlsx", says="已损坏")
    for missing in ("missing.xlsx", "missing.csv"):
        _refused(cli, "import", "households", missing, says="找不到文件")
    _refused(cli, "import", "households", str(tmp_path), says="不是文件")
    assert _households() == 0


def test_an_export_to_a_folder_that_is_not_there_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    for kind in ("households", "entities", "projects", "contracts"):
        _refused(cli, "export", kind, str(tmp_path / "nonexistdir" / "x.xlsx"), says="目录不存在")
    _refused(cli, "export", "households", str(tmp_path), says="是一个目录")
    assert _ok(cli, "export", "households", "h.xlsx").startswith("0 rows")


def test_an_export_s_format_follows_its_name_and_other_names_are_refused(cli: CliRunner, tmp_path: Path) -> None:
    for kind in ("households", "entities", "projects", "contracts"):
        _ok(cli, "export", kind, f"{kind}.csv")
        raw = (tmp_path / f"{kind}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and not raw.startswith(b"PK")  # csv text, UTF-8 with BOM
        _ok(cli, "export", kind, f"{kind}.xlsx")
        assert (tmp_path / f"{kind}.xlsx").read_bytes().startswith(b"PK")
        for name in (f"{kind}.txt", kind, f"{kind}.xls"):
            _refused(cli, "export", kind, name, says=".xlsx 或 .csv")
            assert not (tmp_path / name).exists()


def test_a_settlement_or_allocation_year_out_of_range_is_refused(cli: CliRunner) -> None:
    """Refused for the year, before the project or village is looked up."""
    for year in ("0", "-1", "99999", "1999"):
        _refused(cli, "settle", "--project", "DA-2022-001", "--year", year, says=f"年度 {year} 无效")
        _refused(cli, "allocate", "--village", "231002001001", "--year", year, says=f"年度 {year} 无效")


def test_the_template_is_csv_when_asked_for_csv_and_other_suffixes_are_refused(cli: CliRunner, tmp_path: Path) -> None:
    _ok(cli, "import", "template", "households", "tpl.csv")
    _ok(cli, "import", "template", "households", "tpl.xlsx")
    raw = (tmp_path / "tpl.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not raw.startswith(b"PK")  # UTF-8 with BOM, not a zip
    with (tmp_path / "tpl.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    sheet = [["" if v is None else str(v) for v in row]
             for row in load_workbook(tmp_path / "tpl.xlsx").worksheets[0].iter_rows(values_only=True)]
    # The csv (for other systems): the xlsx's header row alone; no example row to delete (or to be rounded).
    assert rows == sheet[:1] and rows[0][: len(HEADERS)] == HEADERS and not any(map(any, sheet[1:]))
    for name in ("tpl.txt", "tpl", "tpl.xls"):
        _refused(cli, "import", "template", "households", name, says=".xlsx 或 .csv")
        assert not (tmp_path / name).exists()
    _refused(cli, "import", "template", "households", str(tmp_path / "nonexistdir" / "t.csv"), says="目录不存在")


def test_the_sample_district_is_shown_with_chinese_names(cli: CliRunner) -> None:
    """`settle --format table` names the benefit model and `households list` the labour capacity in Chinese; a
    year out of range is refused for a project and a village that exist."""
    _ok(cli, "sample", "load")
    # The year is checked before the registry is read (year 0 once ended in a ValueError traceback).
    _refused(cli, "settle", "--project", "DA-2022-001", "--year", "0", "--format", "table", says="年度 0 无效")
    _refused(cli, "allocate", "--village", "231002001001", "--year", "0", says="年度 0 无效")
    table = _ok(cli, "settle", "--project", "DA-2022-001", "--year", "2025", "--format", "table").splitlines()
    kinds = {line.split()[2] for line in table[1:] if line.startswith("HT-")}
    assert kinds and kinds <= set(MODELS.values()), kinds
    assert not any(code in "\n".join(table) for code in MODELS)
    listed = [line.split("\t") for line in _ok(cli, "households", "list").splitlines()]
    assert listed and {row[3] for row in listed} <= set(LABOR.values())


def test_a_sample_district_too_small_for_its_contracts_is_refused_in_one_line(cli: CliRunner) -> None:
    for n in ("3", "29", "1001"):
        _refused(cli, "sample", "load", "--households-per-village", n, says="每村户数应在 30 至 1000 之间")
    assert _households() == 0
