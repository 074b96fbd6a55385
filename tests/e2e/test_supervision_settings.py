"""Supervision's thresholds and downloads in a real browser, on a phone: the district administrator sets a threshold
(a bad value named beside its field, nothing kept), the discipline commission (纪检监察) signs in, reads the district's
findings and thresholds without a form, and downloads the findings and the inspections as xlsx, read back here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the thresholds set here change no other test's scan."""
    with running_server(tmp_path_factory.mktemp("supervision-settings")) as srv:
        yield srv


def test_the_district_sets_a_threshold_and_the_discipline_commission_reads_and_downloads_the_findings(
        browser: Any, server: Server, shots: Shots, tmp_path: Path) -> None:
    district = new_page(browser, server, width=375, height=812)
    login(district, "district")
    district.goto("/supervision")
    district.click("#scan button[type=submit]")
    district.wait_for_selector("#scan-result")
    district.click("#thresholds-link")
    district.wait_for_selector("#thresholds-form")
    assert district.input_value("#arrears_days") == "30"
    district.fill("#arrears_days", "-1")
    district.click("#thresholds-form button[type=submit]")
    district.wait_for_selector("#error-arrears_days")
    assert "拖欠超过应付日的天数应为 0 到 3650 的整数" in district.inner_text("#error-arrears_days")
    district.fill("#arrears_days", "45")
    district.click("#thresholds-form button[type=submit]")
    district.wait_for_selector("#thresholds-saved")
    assert district.input_value("#arrears_days") == "45"
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "supervision-thresholds")

    discipline = new_page(browser, server, width=375, height=812)
    login(discipline, "discipline")
    discipline.goto("/supervision")
    assert discipline.locator("#findings tbody a[href^='/supervision/findings/']").count() >= 1
    assert discipline.locator("#scan").count() == 0
    discipline.click("#thresholds-link")
    discipline.wait_for_selector("#thresholds")
    assert discipline.locator("#thresholds-form").count() == 0
    assert "45" in discipline.inner_text("#thresholds") and "拖欠超过应付日的天数" in discipline.inner_text("#thresholds")
    fits_the_phone(discipline)
    no_raw_codes(discipline)

    discipline.goto("/supervision")
    with discipline.expect_download() as dl:
        discipline.click("#findings-xlsx")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "问题线索.xlsx"
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:7] == ("编号", "规则", "严重程度", "区划", "对象", "问题", "状态")
    shown = discipline.locator("#findings tbody tr").count()
    assert len(rows) - 1 >= shown >= 1
    assert all(str(r[10]).endswith("北京时间") for r in rows[1:])
    assert not any(str(r[1]).isupper() for r in rows[1:])  # rule labels, not rule ids

    discipline.goto("/supervision/inspections")
    with discipline.expect_download() as dl:
        discipline.click("#inspections-xlsx")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert next(load_workbook(path).worksheets[0].iter_rows(values_only=True))[:3] == ("编号", "区划", "检查日期")
    discipline.goto("/ledger")  # the discipline commission verifies the ledger as the auditors do
    assert discipline.locator("h1").count() == 1 and "403" not in discipline.title()
    for p in (district, discipline):
        p.close()
