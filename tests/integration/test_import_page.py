"""The household import on the web: a file with a bad row imports nothing and lists the error (row, column,
reason) on the page and in the downloadable spreadsheet; asked to, it imports the good households only; a clean
file imports whole. Refused: a role that may not write households, a file of another kind, households of a
village outside the importer's reach (nothing written)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Region
from daipin.domain.identity import make_resident_id
from tests.integration.api_support import FOREIGN_VILLAGE, OWN_VILLAGE, World, app_on_session, build_world
from tests.integration.registry_support import ledger_size
from tests.integration.test_contract_page import as_role, csrf_of

HEADERS = ["序号", "所属乡镇", "所属村", "户编号", "户主姓名", "姓名", "身份证号", "家庭关系", "劳动能力", "户类型",
           "脱贫年度", "联系电话", "银行账号"]


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _names(session: Session, village: str) -> tuple[str, str]:
    v = session.scalar(select(Region).where(Region.code == village))
    t = session.scalar(select(Region).where(Region.code == village[:9]))
    assert v is not None and t is not None
    return t.name, v.name


def _csv(session: Session, *, bad: bool = False, village: str = OWN_VILLAGE) -> bytes:
    town, name = _names(session, village)
    rows = []
    for i in range(3):
        idn = make_resident_id("231002", date(1975, 1 + i, 3), 900 + i, "M")
        if bad and i == 1:
            idn = idn[:-1] + ("0" if idn[-1] != "0" else "1")
        rows.append([str(i + 1), town, name, f"{village}77{i}", "李四海", "李四海", idn, "户主", "有劳动能力", "贫困户",
                     "", "", ""])
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def _count(session: Session, village: str = OWN_VILLAGE) -> int:
    return int(session.scalar(select(func.count()).select_from(Household).where(
        Household.household_no.like(f"{village}77%"))) or 0)


def _post(c: Any, data: bytes, name: str = "hh.csv", **form: str) -> Any:
    token = csrf_of(c.get("/households/import").text)
    return c.post("/households/import", data={"csrf_token": token, **form}, files={"file": (name, data, "text/csv")})


def test_a_bad_file_imports_nothing_lists_its_error_and_downloads_it(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    entries = ledger_size(session)
    r = _post(cadre, _csv(session, bad=True))
    assert r.status_code == 200
    assert "发现 1 处错误，未导入任何数据" in r.text
    row = re.search(r'<table id="import-errors"[^>]*>.*?<tbody>(.*?)</tbody>', r.text, re.S)
    assert row and re.search(r'<td class="num"[^>]*>3</td>', row.group(1)) and "身份证号" in row.group(1)
    assert _count(session) == 0 and ledger_size(session) == entries
    assert r.text.count("<progress") >= 2  # a bar while validating, then done
    errors = re.search(r'name="errors" value="([^"]*)"', r.text)
    assert errors
    import html

    rows = json.loads(html.unescape(errors.group(1)))
    sheet = cadre.post("/households/import/errors.xlsx", data={"csrf_token": csrf_of(r.text),
                                                                 "errors": json.dumps(rows, ensure_ascii=False)})
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(sheet.content)).active
    assert ws is not None
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == ("行号", "列", "户编号", "错误原因")
    assert values[1][0] == 3 and values[1][1] == "身份证号" and values[1][2] == f"{OWN_VILLAGE}771"


def test_asked_to_it_imports_the_good_households_only_and_a_clean_file_whole(session: Session,
                                                                              world: World) -> None:
    app, _ = app_on_session(session)
    cadre = as_role(app, world, "village_cadre")
    r = _post(cadre, _csv(session, bad=True), skip_bad="1")
    assert r.status_code == 200 and "跳过有错误的 1 户" in r.text and "新增 2 户 2 人" in r.text
    assert _count(session) == 2
    r = _post(cadre, _csv(session))
    assert "新增 1 户 1 人" in r.text and "未变化 2 户" in r.text
    assert _count(session) == 3


def test_refusals(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    entries = ledger_size(session)
    auditor = as_role(app, world, "auditor")
    assert auditor.get("/households/import").status_code == 403
    cadre = as_role(app, world, "village_cadre")
    r = _post(cadre, b"not a sheet", name="hh.pdf")
    assert r.status_code == 422 and 'data-field="file"' in r.text and ".pdf" in r.text
    r = _post(cadre, _csv(session, village=FOREIGN_VILLAGE))
    assert "无权" in re.search(r'id="import-summary">([^<]*)', r.text).group(1)  # type: ignore[union-attr]
    assert _count(session, FOREIGN_VILLAGE) == 0 and ledger_size(session) == entries
    template = cadre.get("/households/import/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
