"""Wages (due, paid, arrears) and fund-support repayments on the entity and project pages, on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e


def test_an_official_sees_wage_arrears_on_the_entity_page_and_repayments_on_the_project_page_on_a_phone(
        browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "district")
    page.goto("/entities")
    links = [str(a.get_attribute("href")) for a in page.locator("main table a[href^='/entities/']").all()]
    assert links
    owing = None
    for href in links:
        page.goto(href)
        page.wait_for_selector("#wages-title")
        if page.inner_text("#wage-arrears") != "0.00":
            owing = href
            break
    # The sample's cash-short entities have not paid October's wages: the arrears show by worker and in the credit
    # line, with the days overdue.
    assert owing is not None
    row = page.locator("#wages tbody tr.arrears-row").first
    assert "逾期" in row.inner_text() and "按日" in row.inner_text()
    assert "含欠薪" in page.inner_text("#credit")
    box = page.locator("#wages tbody tr td:last-child").first.bounding_box()  # the row stacks, arrears last
    assert box and box["x"] + box["width"] <= 375, "the arrears are off the phone's screen"
    assert "欠薪" in page.evaluate("getComputedStyle(document.querySelector('#wages tbody td:last-child'), "
                                  "'::before').content")
    assert page.locator("#repayments tbody tr").count() >= 1
    fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "entity-wages")

    page.goto(str(page.locator("main ul a[href^='/projects/']").first.get_attribute("href")))
    page.wait_for_selector("#repayments-title")
    text = page.inner_text("#repayments")
    assert "下期" in text and "扶持" in text  # the next instalment of the revolving fund
    assert page.inner_text("#repayments-overdue") == "0.00"
    assert page.locator("#wages tbody tr").count() >= 1
    fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "project-obligations")
