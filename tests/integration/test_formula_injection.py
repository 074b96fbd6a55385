"""Spreadsheet formula injection: text a person typed that starts with = + - @ (or a tab or carriage return) comes
out of every export as text a spreadsheet will not evaluate, and reads back as typed; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.db.session import reset_engine
from daipin.domain.identity import make_uscc
from daipin.services.auth import service as auth_service
from daipin.services.contracts import service as contracts
from daipin.services.imports import exports
from tests.integration.api_support import app_rolling_back, client
from tests.integration.registry_support import ACTOR, AT, TOWN, VILLAGE, person_id, reg
from tests.integration.registry_support import rs_fixture as rs_fixture  # noqa: F401
from tests.integration.test_runs import _ok

# What a person might type: each a formula to a spreadsheet if written as it is.
TYPED = ['=HYPERLINK("http://x","点击")', "+86-1+1", "-2+3", "@SUM(1,2)", "=1+1"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADERS = ["户编号", "户主姓名", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村",
           "致贫原因"]


def _no_formula(rows: list[tuple[Any, ...]], cells: list[Any]) -> None:
    """No cell is a formula, and every text that starts like one is marked as text to whoever edits it."""
    for cell in cells:
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        if isinstance(cell.value, str) and cell.value[:1] in FORMULA_STARTS:
            assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)


def _cells(data: bytes | Path) -> tuple[list[tuple[Any, ...]], list[Any]]:
    wb = load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return rows, [c for r in ws.iter_rows() for c in r]


@pytest.fixture
def cli(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DAIPIN_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.chdir(tmp_path)
    reset_engine(None)
    runner = CliRunner()
    _ok(runner, "init")
    yield runner
    reset_engine(None)


def test_names_that_start_like_formulas_are_imported_and_exported_by_the_cli_as_text(cli: CliRunner,
                                                                                     tmp_path: Path) -> None:
    with (tmp_path / "hh.csv").open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for i, typed in enumerate(TYPED):
            w.writerow([f"H-{i}", typed, typed, person_id(2000 + i), "户主", "有劳动能力", "贫困户", "", "", "兴隆村",
                        typed])
    _ok(cli, "sample", "load")
    _ok(cli, "import", "households", "hh.csv")
    _ok(cli, "export", "households", "out.xlsx", "--village", "兴隆村")
    rows, cells = _cells(tmp_path / "out.xlsx")
    _no_formula(rows, cells)
    rows = rows[2:]  # below the title and header rows
    by_no = {r[0]: r for r in rows}
    for i, typed in enumerate(TYPED):
        row = by_no[f"H-{i}"]
        assert (row[1], row[2], row[12]) == (typed, typed, typed)  # read back exactly as typed
    years = [r[7] for r in rows if r[7] not in ("", None)]
    assert years and all(isinstance(y, int) for y in years)  # exit years the system writes: numbers


def test_every_export_writes_typed_text_as_text(rs: Session, tmp_path: Path) -> None:
    e = reg.register_entity(rs, ACTOR, name='=HYPERLINK("http://x","合作社")', kind="cooperative",
                            uscc=make_uscc("93231002MA0010000"), legal_representative="@法人",
                            county_code="231002", region_code=TOWN, at=AT)
    p, _ = reg.register_project(rs, ACTOR, code="-P-1", name="+项目", category="特色种养业", entity_id=e.id,
                                township_code=TOWN, village_code=VILLAGE,
                                funding=[{"source": "财政扶贫资金", "amount_fen": 100_000_00}], expected_return="0.06",
                                at=AT)
    reg.register_household(rs, ACTOR, household_no="H-1", village_code=VILLAGE, status="poor", at=AT,
                           status_since=date(2020, 1, 1), poverty_cause="-因病",
                           members=[{"name": "=1+1", "id_number": person_id(1), "relation": "户主", "labor": "full"}])
    contracts.sign_contract(rs, ACTOR, code="=C-1", model="fund_support", project_id=p.id, start_date=AT.date(),
                            end_date=AT.date().replace(year=AT.year + 1),
                            terms={"amount_fen": 100, "purpose": "=购买种苗", "support_type": "grant"},
                            payee_village_code=VILLAGE, at=AT)
    for name, export in (("e", exports.export_entities), ("p", exports.export_projects),
                         ("c", exports.export_contracts), ("h", exports.export_households)):
        export(rs, tmp_path / f"{name}.xlsx")
        rows, cells = _cells(tmp_path / f"{name}.xlsx")
        _no_formula(rows, cells)
    texts = {v for name in "epch" for r in _cells(tmp_path / f"{name}.xlsx")[0] for v in r}
    assert {'=HYPERLINK("http://x","合作社")', "@法人", "-P-1", "+项目", "=C-1", "=1+1", "-因病"} <= texts
    contract_rows = _cells(tmp_path / "c.xlsx")[0]
    assert contract_rows[2][7] == 1 and isinstance(contract_rows[2][7], int)  # the version: a number


def test_the_page_export_writes_a_typed_head_name_as_text(rs: Session) -> None:
    for i, typed in enumerate(TYPED):
        reg.register_household(rs, ACTOR, household_no=f"H-{i}", village_code=VILLAGE, status="poor", at=AT,
                               status_since=date(2020, 1, 1),
                               members=[{"name": typed, "id_number": person_id(3000 + i), "relation": "户主",
                                         "labor": "full"}])
    user = auth_service.create_user(rs, actor=ACTOR, username="cadre", password="matrix-pass-1",
                                    role="village_cadre", region=VILLAGE, at=AT)
    token = auth_service.start_session(rs, user, at=AT).token
    web, clock = app_rolling_back(rs)
    clock.at = AT
    c = client(web)
    c.cookies.set("daipin_session", token)
    r = c.get("/households/export.xlsx")
    assert r.status_code == 200, r.text
    rows, cells = _cells(r.content)
    _no_formula(rows, cells)
    assert sorted(r[1] for r in rows[2:]) == sorted(TYPED)  # below the title and header rows
