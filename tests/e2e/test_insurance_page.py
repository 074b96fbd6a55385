"""The insurance register in a real browser, on a phone: the auditor opens it from the supervision page, reads each
operating asset with its policy or the lack of one, and downloads the register as xlsx; an entity's account is
refused it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e


def test_the_auditor_reads_the_insurance_register_and_downloads_it(browser: Any, server: Server, shots: Shots,
                                                                   tmp_path: Path) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "auditor")
    page.goto("/supervision")
    page.click("a[href='/supervision/insurance']")
    page.wait_for_selector("#insured-assets")
    rows = page.locator("#insured-assets tbody tr")
    assert rows.count() >= 1 and "暂无数据" not in rows.first.inner_text()
    summary = page.inner_text("#insurance-summary")
    assert summary.startswith("经营性资产") and "无有效保单" in summary
    statuses = {page.locator("#insured-assets tbody tr td:nth-child(3)").nth(i).inner_text().strip()
                for i in range(rows.count())}
    assert statuses <= {"有效", "无有效保单"} and statuses
    fits_the_phone(page)
    # On a phone each asset stacks under its labels: the insurance status is on the screen, not scrolled away.
    beyond = page.evaluate("""() => [...document.querySelectorAll('#insured-assets td')]
        .filter(td => td.getBoundingClientRect().right > window.innerWidth + 1).length""")
    assert beyond == 0
    no_raw_codes(page)
    shots(page, "supervision-insurance")
    with page.expect_download() as dl:
        page.click("#insurance-xlsx")
    path = tmp_path / "insurance.xlsx"
    dl.value.save_as(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["资产保险", "保费补贴"]
    assert wb["资产保险"].max_row == rows.count() + 1
    page.close()

    entity = new_page(browser, server, width=375, height=812)
    login(entity, "entity")
    response = entity.goto("/supervision/insurance")
    assert response is not None and response.status == 403
    entity.close()
