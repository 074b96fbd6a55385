"""The template and the exports in a real spreadsheet application: LibreOffice Calc, headless (issue 20).

A clerk's work is done by LibreOffice itself (`libreoffice_clerk.py`, run by the system's python3 with the `uno`
bridge; one soffice per job): rows typed into the template through Calc's own input parsing, saved as xlsx and as
csv in UTF-8 and in GB 18030, and imported — first time, every digit kept; the same rows typed into a plain sheet
are refused with every rewritten cell named. Every export is opened in Calc and saved as csv, PDF and xlsx: money,
rates and dates are numbers to Calc, identifiers exact, text that looks like a formula never evaluated, the
header on every printed page and every column on the page's width.

Where LibreOffice (`libreoffice-calc-nogui`, `python3-uno`; `scripts/ensure-system-packages` installs them) is
missing, the tests skip and say why."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person
from daipin.domain.errors import InputError
from daipin.domain.identity import make_uscc
from daipin.services.contracts import service as contracts
from daipin.services.imports import exports
from daipin.services.imports import service as imports
from tests.integration.registry_support import ACTOR, AT, TOWN, VILLAGE, person_id, reg
from tests.integration.registry_support import rs_fixture as rs_fixture  # noqa: F401

CLERK = Path(__file__).with_name("libreoffice_clerk.py")
SYSTEM_PYTHON = "/usr/bin/python3"
XLSX = "Calc MS Excel 2007 XML"
CSV = "Text - txt - csv (StarCalc)"
UTF8, GB18030 = 76, 85  # LibreOffice's numbers for the encodings (rtl/textenc.h)
PDF = "calc_pdf_Export"
HEADERS = ["户编号", "户主姓名", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村",
           "联系电话", "银行账号", "主要致贫原因"]
VILLAGES = [("兴隆镇", "兴隆村", VILLAGE), ("兴隆镇", "新民村", "231002001002")]


def _libreoffice() -> str:
    """soffice's path; the test skips, saying why, where LibreOffice or its Python bridge is missing."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice 未安装 / LibreOffice is not installed (apt-get install libreoffice-calc-nogui "
                    "python3-uno, or scripts/ensure-system-packages)")
    bridge = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True, check=False) \
        if Path(SYSTEM_PYTHON).exists() else None
    if bridge is None or bridge.returncode != 0:
        pytest.skip("LibreOffice 的 Python 接口未安装 / LibreOffice's Python bridge is missing (apt-get install "
                    "python3-uno)")
    return soffice


def _run(soffice: str, tmp: Path, steps: list[dict[str, Any]]) -> None:
    job = tmp / f"job-{len(list(tmp.glob('job-*.json')))}.json"
    job.write_text(json.dumps({"soffice": soffice, "steps": steps}, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([SYSTEM_PYTHON, str(CLERK), str(job)], capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == str(len(steps)), done.stdout + done.stderr


def _ids() -> list[str]:
    """ID numbers of digits only (an X at the end is text to any spreadsheet: no test of rounding)."""
    return [n for n in map(person_id, range(1, 60)) if n.isdigit()]


def _typed_rows() -> list[list[str]]:
    """What the clerk types: three households, 16-digit household numbers, 18-digit IDs, 19-digit accounts."""
    ids = _ids()
    rows = []
    for h in range(3):
        hno = f"231002001001900{h + 1}"
        rows.append([hno, f"户主{h}", f"户主{h}", ids[2 * h], "户主", "有劳动能力", "贫困户", "", "兴隆镇", "兴隆村",
                     f"1390000{h:04d}", f"622848123456789012{h}", "因病"])
        rows.append([hno, "", f"配偶{h}", ids[2 * h + 1], "配偶", "弱劳动力", "贫困户", "", "兴隆镇", "兴隆村", "", "",
                     ""])
    return rows


def _typing(rows: list[list[str]]) -> list[list[Any]]:
    return [[r, c, text] for r, row in enumerate(rows, start=1) for c, text in enumerate(row) if text]


@pytest.fixture(scope="module")
def clerk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One LibreOffice job: the rows typed into the template and into a plain sheet, each saved as xlsx and as csv
    in UTF-8 and in GB 18030; a formula typed into the template, saved as xlsx."""
    soffice = _libreoffice()
    tmp = tmp_path_factory.mktemp("clerk")
    imports.write_template(tmp / "template.xlsx", VILLAGES)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    wb.save(tmp / "plain.xlsx")
    typed = _typing(_typed_rows())
    saves = [[str(tmp / "{}.xlsx"), XLSX, ""], [str(tmp / "{}-utf8.csv"), CSV, f"44,34,{UTF8},1"],
             [str(tmp / "{}-gb18030.csv"), CSV, f"44,34,{GB18030},1"]]
    steps = [{"open": str(tmp / f"{name}.xlsx"), "type": typed,
              "save": [[path.format(f"{name}-typed"), f, o] for path, f, o in saves]}
             for name in ("template", "plain")]
    steps.append({"open": str(tmp / "template.xlsx"), "type": [*typed, [2, 2, "=1+1"], [5, 12, "=A2&A3"]],
                  "save": [[str(tmp / "formula.xlsx"), XLSX, ""]]})
    _run(soffice, tmp, steps)
    return tmp


def _stored(session: Session) -> dict[str, tuple[str | None, list[str]]]:
    out: dict[str, tuple[str | None, list[str]]] = {}
    for no, bank, number in session.execute(select(Household.household_no, Household.bank_account, Person.id_number)
                                            .join(Person, Person.household_id == Household.id)
                                            .order_by(Person.id)):
        out.setdefault(no, (bank, []))[1].append(number)
    return out


def test_rows_typed_into_the_template_in_libreoffice_import_first_time_from_xlsx_and_csv(rs: Session,
                                                                                        clerk: Path) -> None:
    rows = _typed_rows()
    result = imports.import_households(rs, ACTOR, clerk / "template-typed.xlsx", AT)
    assert result.errors == [] and (result.households_new, result.people_new) == (3, 6)
    want = {r[0]: (r[11], [r[3], rows[i + 1][3]]) for i, r in enumerate(rows) if r[4] == "户主"}
    assert _stored(rs) == want  # every digit as typed
    assert reg.household_by_no(rs, "2310020010019002").phone == "13900000001"
    for saved in ("template-typed-utf8.csv", "template-typed-gb18030.csv"):
        again = imports.import_households(rs, ACTOR, clerk / saved, AT)
        assert again.errors == [] and (again.households_new, again.households_unchanged) == (0, 3), saved
    gb = (clerk / "template-typed-gb18030.csv").read_bytes()
    assert "户编号".encode("gb18030") in gb and "户编号".encode() not in gb  # GB 18030 indeed
    assert _stored(rs) == want


def test_rows_typed_into_a_plain_sheet_are_refused_with_every_rewritten_cell_named(rs: Session,
                                                                                    clerk: Path) -> None:
    with pytest.raises(InputError) as refused:
        imports.import_households(rs, ACTOR, clerk / "plain-typed.xlsx", AT)
    text = refused.value.message_zh
    for cell in ("A2", "A7", "D2", "D7", "L2", "L6"):  # household numbers, ID numbers, accounts: all at once
        assert f"{cell}（" in text, cell
    assert "K2" not in text  # an 11-digit phone survives as a number
    for saved in ("plain-typed-utf8.csv", "plain-typed-gb18030.csv"):
        result = imports.import_households(rs, ACTOR, clerk / saved, AT)
        assert not result.imported and not result.households_new
        rewritten = {(e.row, e.column) for e in result.errors if "已被表格软件改写" in e.message}
        # Saved as Calc shows them: every ID number and account in scientific notation, each named.
        assert {(r, "证件号码") for r in range(2, 8)} | {(r, "银行账号") for r in (2, 4, 6)} <= rewritten
    assert reg_households(rs) == 0


def reg_households(session: Session) -> int:
    return len(session.scalars(select(Household.id)).all())


def test_a_formula_typed_in_libreoffice_is_refused_naming_its_cell(rs: Session, clerk: Path) -> None:
    with pytest.raises(InputError) as refused:
        imports.import_households(rs, ACTOR, clerk / "formula.xlsx", AT)
    assert "C3" in refused.value.message_zh and "M6" in refused.value.message_zh and "公式" in refused.value.message_zh
    assert reg_households(rs) == 0


# ---------------------------------------------------------------- exports opened in Calc


def _fill(session: Session, tmp: Path, people: int) -> None:
    e = reg.register_entity(session, ACTOR, name='=HYPERLINK("http://x","合作社")', kind="cooperative",
                            uscc=make_uscc("93231002MA0010000"), legal_representative="@法人",
                            county_code="231002", region_code=TOWN, at=AT)
    p, _ = reg.register_project(session, ACTOR, code="P-2024-01", name="+光伏项目", category="特色种养业",
                                entity_id=e.id, township_code=TOWN, village_code=VILLAGE,
                                funding=[{"source": "财政扶贫资金", "amount_fen": 640_000_00},
                                         {"source": "自筹", "amount_fen": 10_000_50}],
                                expected_return="0.0625", at=AT)
    contracts.sign_contract(session, ACTOR, code="C-1", model="fund_support", project_id=p.id,
                            start_date=date(2024, 1, 1), end_date=date(2026, 12, 31),
                            terms={"amount_fen": 100, "purpose": "购买种苗", "support_type": "grant"},
                            payee_village_code=VILLAGE, at=AT)
    ids = _ids() + [person_id(n) for n in range(60, 60 + people)]
    with (tmp / "roster.csv").open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for i in range(people):
            w.writerow([f"23100200100{1 + i // 2:05d}", "", "=1+1" if i == 0 else f"成员{i}", ids[i],
                        "户主" if i % 2 == 0 else "配偶", "有劳动能力", "贫困户", "", "兴隆镇", "兴隆村",
                        "13900001111" if i % 2 == 0 else "", "6228481234567890123" if i % 2 == 0 else "",
                        "因病致贫，缺少劳动力与技术"])
    result = imports.import_households(session, ACTOR, tmp / "roster.csv", AT)
    assert result.errors == [] and result.people_new == people


def _pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def test_every_export_opens_in_libreoffice_with_numbers_dates_exact_identifiers_and_a_print_layout(
        rs: Session, tmp_path: Path) -> None:
    soffice = _libreoffice()
    people = 160
    _fill(rs, tmp_path, people)
    at = datetime(2026, 12, 7, 2, 0, tzinfo=AT.tzinfo)
    names = {"households": exports.export_households, "entities": exports.export_entities,
             "projects": exports.export_projects, "contracts": exports.export_contracts}
    for name, export in names.items():
        export(rs, tmp_path / f"{name}.xlsx", at=at)
    _run(soffice, tmp_path, [{"open": str(tmp_path / f"{name}.xlsx"), "save": [
        [str(tmp_path / f"{name}-lo.csv"), CSV, f"44,34,{UTF8},1"], [str(tmp_path / f"{name}.pdf"), PDF, ""],
        [str(tmp_path / f"{name}-lo.xlsx"), XLSX, ""]]} for name in names])

    def shown(name: str) -> list[list[str]]:  # the cells as Calc shows them (its csv "as shown")
        return list(csv.reader(io.StringIO((tmp_path / f"{name}-lo.csv").read_text(encoding="utf-8"))))

    def kept(name: str) -> list[tuple[Any, ...]]:  # the cells' values as Calc keeps them (its own xlsx)
        ws = load_workbook(tmp_path / f"{name}-lo.xlsx").worksheets[0]
        return list(ws.iter_rows(values_only=True))

    households = shown("households")
    assert "已脱敏" in households[0][0] and "2026-12-07" in households[0][0] and "东安区" in households[0][0]
    assert households[1][:4] == ["户编号", "户主姓名", "姓名", "证件号码"]
    by_no = {r[0]: r for r in households[2:]}
    assert "2310020010000001" in by_no and len(households) == people + 2  # identifiers exact, not 2.31E+15
    first = next(r for r in households[2:] if r[0] == "2310020010000001")
    assert first[2] == "=1+1" and first[11] == "*" * 15 + "0123"  # never evaluated; the account masked
    projects, funding_kept = shown("projects"), kept("projects")
    row = projects[2]
    assert row[0] == "P-2024-01" and row[1] == "+光伏项目" and row[6] == "650,000.50" and row[7] == "6.25%"
    assert funding_kept[2][6] == 650000.5 and funding_kept[2][7] == 0.0625  # numbers to Calc
    funding = load_workbook(tmp_path / "projects-lo.xlsx")["资金来源"]
    assert [r[1:] for r in funding.iter_rows(min_row=3, values_only=True)] == [("财政扶贫资金", 640000),
                                                                               ("自筹", 10000.5)]
    contract = kept("contracts")[2]
    assert contract[4] == datetime(2024, 1, 1) and contract[5] == datetime(2026, 12, 31) and contract[7] == 1
    assert shown("contracts")[2][4] == "2024-01-01"
    entity = shown("entities")[2]
    assert entity[0] == '=HYPERLINK("http://x","合作社")' and entity[3] == "@法人"  # text, not a link
    # Printed: the header on every page, every column across one page's width, a page count that fits.
    for name in names:
        pages = _pdf_pages(tmp_path / f"{name}.pdf")
        header = households[1] if name == "households" else shown(name)[1]
        for page in pages:  # (the projects' second sheet, their funding sources, prints its own header)
            assert header[0] in page and (header[-1] in page or name == "projects" and "资金来源" in page), name
            assert "第 " in page and f"共 {len(pages)} 页" in page
    pages = _pdf_pages(tmp_path / "households.pdf")
    assert 2 <= len(pages) <= math.ceil((people + 2) / 25), len(pages)
