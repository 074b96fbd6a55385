"""The spreadsheet downloads in a real browser, signed in: each list saves as the file its name says, with the
title row, money as numbers and the print layout (the sample district of `make demo`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from daipin.services.sample.service import YEAR
from tests.e2e.conftest import Server, login, new_page

pytestmark = pytest.mark.e2e


def _download(page: Any, href: str, tmp: Path) -> Path:
    """Follow a link the way a person clicks it, and keep the file the browser saves."""
    with page.expect_download() as dl:
        page.evaluate("""href => { const a = document.createElement('a'); a.href = href;
                                   document.body.appendChild(a); a.click(); a.remove(); }""", href)
    path = tmp / dl.value.suggested_filename
    dl.value.save_as(path)
    return path


def test_a_district_official_downloads_every_list_as_xlsx_and_csv(browser: Any, server: Server,
                                                                  tmp_path: Path) -> None:
    page = new_page(browser, server)
    login(page, "district")
    page.goto("/")
    for href, sheet_title in (("/exports/matters", "事项清单"), ("/exports/dashboard", "工作台数据"),
                              ("/exports/households", "农户查询结果")):
        path = _download(page, href, tmp_path)
        assert path.suffix == ".xlsx"
        ws = load_workbook(path).worksheets[0]
        assert sheet_title in str(ws["A1"].value) and ws.freeze_panes == "A3" and ws.print_title_rows == "$1:$2"
        assert ws.page_setup.orientation == "landscape"
    pools = load_workbook(_download(page, f"/exports/payments?year={YEAR}", tmp_path)).worksheets[0]
    assert pools["F2"].value == "资金池合计（元）" and pools["A3"].value
    csv_file = _download(page, "/exports/households?format=csv", tmp_path)
    assert csv_file.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert "已脱敏" in rows[0][0] and rows[1][0] == "户编号" and len(rows) > 10


def test_each_list_page_links_its_download(browser: Any, server: Server, tmp_path: Path) -> None:
    page = new_page(browser, server)
    login(page, "district")
    for url, link, title in (("/matters", "#export-link", "事项清单"), ("/", "#export-link", "工作台数据"),
                             (f"/payments/pools?year={YEAR}", "#export-batches", None)):
        page.goto(url)
        with page.expect_download() as dl:
            page.click(link)
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        ws = load_workbook(path).worksheets[0]
        assert path.suffix == ".xlsx" and (title is None or title in str(ws["A1"].value))
    page.goto("/entities")
    page.click("main table a[href^='/entities/']")
    with page.expect_download() as dl:
        page.click("#export-dues")
    assert dl.value.suggested_filename.endswith(".xlsx")
