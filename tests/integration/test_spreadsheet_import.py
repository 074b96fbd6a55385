"""What a spreadsheet does to a roster, caught by the import (issue 20): the template keeps identifiers as text,
a formula is refused naming its cell, numbers a spreadsheet rewrote (scientific notation, rounded to 15 digits)
are listed every one at once with the same words for all four identifier columns, a masked export is refused in
one line, tab-separated text is read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person
from daipin.domain.errors import InputError
from daipin.services.imports import exports
from daipin.services.imports import service as imports
from tests.integration.registry_support import ACTOR, AT, ledger_size, person_id, reg
from tests.integration.registry_support import rs_fixture as rs_fixture  # noqa: F401

HEADERS = ["户编号", "户主姓名", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村",
           "联系电话", "银行账号", "主要致贫原因"]


def _row(hno: str, name: str, idn: str, rel: str = "户主", phone: str = "", bank: str = "") -> list[str]:
    return [hno, name if rel == "户主" else "", name, idn, rel, "有劳动能力", "贫困户", "", "兴隆镇", "兴隆村", phone,
            bank, ""]


def _households(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Household)) or 0)


def _csv(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(HEADERS)
        w.writerows(rows)
    return path


def _refused(session: Session, path: Path) -> InputError:
    size, count = ledger_size(session), _households(session)
    with pytest.raises(InputError) as refused:
        imports.import_households(session, ACTOR, path, AT)
    assert (ledger_size(session), _households(session)) == (size, count)  # nothing changed
    return refused.value


def test_the_template_keeps_identifiers_as_text_lists_choices_and_shows_its_example_apart(rs: Session,
                                                                                         tmp_path: Path) -> None:
    imports.write_template(tmp_path / "t.xlsx", imports.template_villages(rs))
    wb = load_workbook(tmp_path / "t.xlsx")
    ws = wb["农户导入"]
    assert wb.sheetnames[:2] == ["农户导入", "填写说明"] and "村名单" in wb.sheetnames
    headers = [c.value for c in ws[1]]
    assert headers == HEADERS
    assert all(c.value is None for r in ws.iter_rows(min_row=2) for c in r)  # no row to delete before importing
    for header in ("户编号", "证件号码", "联系电话", "银行账号"):
        letter = ws.cell(row=1, column=headers.index(header) + 1).column_letter
        assert ws.column_dimensions[letter].number_format == "@", header  # the whole column
        assert ws[f"{letter}2"].number_format == "@" and ws[f"{letter}3000"].number_format == "@", header
    lists = {str(dv.sqref).split(":")[0][:1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert "户主" in lists["E"] and "弱劳动力" in lists["F"] and "监测户" in lists["G"] and "村名单" in lists["J"]
    villages = [r[1] for r in wb["村名单"].iter_rows(min_row=2, values_only=True)]
    assert {"兴隆村", "新民村"} <= set(villages)
    notes = [c for r in wb["填写说明"].iter_rows(values_only=True) for c in r if c]
    assert any("文本格式" in str(n) for n in notes) and any("示例" in str(n) for n in notes)
    assert "2310020010010001" not in notes and any(str(n).startswith("示例") for n in notes)
    # The template as saved imports nothing and refuses nothing; the instructions' example is no household.
    result = imports.import_households(rs, ACTOR, tmp_path / "t.xlsx", AT)
    assert result.errors == [] and result.households_new == 0


def test_a_formula_is_refused_naming_its_cell_and_a_leading_space_before_one_is_kept(rs: Session,
                                                                                  tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(_row("H-1", "甲", person_id(1)))
    ws.append(_row("H-2", "乙", person_id(2)))
    ws["C2"] = "=1+1"  # a formula: the file keeps its cached result, never to be taken
    ws["M3"] = "=A2&A3"
    wb.save(tmp_path / "f.xlsx")
    refused = _refused(rs, tmp_path / "f.xlsx")
    assert "C2" in refused.message_zh and "M3" in refused.message_zh and "公式" in refused.message_zh
    assert refused.field == "姓名"
    ws["C2"], ws["M3"] = "\t=1+1", " =2+2"  # text a clerk kept from being evaluated
    ws["B2"] = "\t=1+1"
    wb.save(tmp_path / "f.xlsx")
    result = imports.import_households(rs, ACTOR, tmp_path / "f.xlsx", AT)
    assert result.errors == [] and result.households_new == 2
    hh = reg.household_by_no(rs, "H-1")
    assert rs.scalars(select(Person.name).where(Person.household_id == hh.id)).all() == ["\t=1+1"]
    assert reg.household_by_no(rs, "H-2").poverty_cause == " =2+2"


def test_every_long_number_in_a_numeric_cell_is_listed_at_once(rs: Session, tmp_path: Path) -> None:
    number = next(n for n in map(person_id, range(1, 30)) if n.isdigit())
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append([2310020010019001, "甲", "甲", int(number), "户主", "有劳动能力", "贫困户", "", "", "兴隆村",
               13900001111, 6228481234567890123, ""])
    wb.save(tmp_path / "n.xlsx")
    refused = _refused(rs, tmp_path / "n.xlsx")
    for cell in ("A2（第2行 户编号）", "D2（第2行 证件号码）", "L2（第2行 银行账号）"):
        assert cell in refused.message_zh
    assert "K2" not in refused.message_zh and "文本格式" in refused.message_zh  # an 11-digit phone keeps its digits
    assert number[:12] not in refused.text() and "6228481" not in refused.text()


def test_numbers_a_spreadsheet_rewrote_are_named_with_the_same_words_in_every_identifier_column(
        rs: Session, tmp_path: Path) -> None:
    rows = [_row("2.31002001001E+15", "甲", person_id(1)),
            _row("H-2", "乙", "2.31002199305211E+17"),
            _row("H-3", "丙", person_id(3), phone="1.39000011E+10"),
            _row("H-4", "丁", person_id(4), bank="6.22848123456789E+18")]
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "s.csv", rows), AT)
    assert not result.imported
    got = {(e.row, e.column) for e in result.errors if "已被表格软件改写（科学计数法）" in e.message}
    assert got == {(2, "户编号"), (3, "证件号码"), (4, "联系电话"), (5, "银行账号")}
    assert all("文本格式" in e.message for e in result.errors)


def test_numbers_rounded_to_fifteen_digits_are_each_listed_not_imported_as_other_households(
        rs: Session, tmp_path: Path) -> None:
    """The csv template filled, opened in a spreadsheet and saved: every 16+ digit number kept 15 digits. The ID
    numbers give it away (their last three digits became 0), so the household numbers and bank accounts that end
    in zeros past the 15th digit are listed too, instead of households imported as …9000 or refused as "two
    heads"."""
    def rounded(number: str) -> str:
        return number[:15] + "0" * (len(number) - 15)

    rows = [_row(rounded("2310020010019001"), "甲", rounded(person_id(1)), bank=rounded("6228481234567890123")),
            _row(rounded("2310020010019002"), "乙", rounded(person_id(2))),
            _row(rounded("2310020010019003"), "丙", person_id(3), bank=rounded("6228481234567890123"))]
    result = imports.import_households(rs, ACTOR, _csv(tmp_path / "r.csv", rows), AT)
    assert not result.imported and _households(rs) == 0
    rewritten = {(e.row, e.column) for e in result.errors if "已被表格软件改写（末尾几位被改为0）" in e.message}
    assert {(2, "证件号码"), (3, "证件号码"), (2, "户编号"), (3, "户编号"), (4, "户编号")} <= rewritten
    assert all("两" not in e.message and "户主" not in e.message for e in result.errors)
    # Without such a sign a number ending in 0 is an ordinary number.
    ok = [_row("2310020010019010", "甲", person_id(1), bank="6228481234567890000")]
    assert imports.import_households(rs, ACTOR, _csv(tmp_path / "ok.csv", ok), AT).households_new == 1


def test_a_masked_export_is_refused_in_one_line_with_or_without_its_title_row(rs: Session, tmp_path: Path) -> None:
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", [_row("H-1", "甲", person_id(1),
                                                                        phone="13900001111")]), AT)
    for name in ("x.xlsx", "x.csv"):
        exports.export_households(rs, tmp_path / name)
        refused = _refused(rs, tmp_path / name)
        assert "脱敏" in refused.message_zh and "\n" not in refused.message_zh
    # The title row deleted: the masked ID numbers say it, once.
    lines = (tmp_path / "x.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    (tmp_path / "y.csv").write_text("\n".join(lines * 1) + "\n", encoding="utf-8-sig")
    refused = _refused(rs, tmp_path / "y.csv")
    assert "脱敏" in refused.message_zh and refused.field == "证件号码"


@pytest.mark.parametrize(("suffix", "encoding"), [(".txt", "utf-8-sig"), (".tsv", "gb18030")])
def test_tab_separated_text_is_read(rs: Session, tmp_path: Path, suffix: str, encoding: str) -> None:
    path = _csv(tmp_path / f"t{suffix}", [_row("H-1", "甲", person_id(1), phone="13900001111"),
                                          _row("H-1", "乙", person_id(2), rel="配偶")], "\t", encoding)
    result = imports.import_households(rs, ACTOR, path, AT)
    assert result.errors == [] and (result.households_new, result.people_new) == (1, 2)
    assert reg.household_by_no(rs, "H-1").phone == "13900001111"


def test_an_export_s_format_follows_its_name(rs: Session, tmp_path: Path) -> None:
    imports.import_households(rs, ACTOR, _csv(tmp_path / "a.csv", [_row("H-1", "甲", person_id(1))]), AT)
    assert exports.export_households(rs, tmp_path / "x.csv") == 1
    assert (tmp_path / "x.csv").read_bytes().startswith("\ufeff".encode())  # text, not a zip
    with pytest.raises(InputError) as refused:
        exports.export_households(rs, tmp_path / "x.txt")
    assert refused.value.field == "out" and not (tmp_path / "x.txt").exists()
