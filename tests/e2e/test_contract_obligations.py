"""Work, wages and repayments recorded on a contract's page in a browser, on a desktop and a phone: a village cadre
finds an employment contract from the contract list, records a month's work, has a mistyped wage refused beside its
field, records the wage; then records a repayment of a revolving fund; the entity and project lists filter and
count."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1200, 900), "phone": (375, 812)}


def _check(page: Any, phone: bool) -> None:
    assert page.js_errors == []
    no_raw_codes(page)
    if phone:
        fits_the_phone(page)


def _first_with(page: Any, model: str, form: str) -> bool:
    """Open the first contract of `model` in the list whose page offers `form`."""
    page.goto(f"/contracts?model={model}")
    links = [str(a.get_attribute("href")) for a in page.locator("#contract-table a[href^='/contracts/']").all()]
    for href in links:
        page.goto(href)
        if page.locator(f"#{form}").count():
            return True
    return False


@pytest.mark.parametrize("size", list(SIZES))
def test_a_village_cadre_records_work_a_wage_and_a_repayment_on_contract_pages(
        browser: Any, server: Server, shots: Shots, size: str) -> None:
    n = list(SIZES).index(size)
    width, height = SIZES[size]
    phone = size == "phone"
    page = new_page(browser, server, width=width, height=height)
    login(page, "village")
    assert _first_with(page, "employment", "work-form"), "no employment contract the cadre may record on"
    page.click("#work summary")
    page.fill("#work-form input[name=period_start]", f"2025-0{n + 1}-01")
    page.fill("#work-form input[name=period_end]", f"2025-0{n + 1}-20")
    page.fill("#work-form input[name=days]", "18")
    page.click("#work-form button[type=submit]")
    page.wait_for_selector("#work-records")
    assert f"2025-0{n + 1}-01 — 2025-0{n + 1}-20" in page.inner_text("#work-records")
    _check(page, phone)

    # A wage with three decimals: refused beside its field, what was typed kept, nothing saved.
    page.click("#wage summary")
    page.fill("#wage-form input[name=amount_fen]", "1800.555")
    page.fill("#wage-form input[name=note]", f"{n + 1}月工资")
    page.click("#wage-form button[type=submit]")
    error = page.locator("#wage-form small.field-err[data-field='amount_fen']")
    error.wait_for()
    assert "金额" in error.inner_text() and "amount_fen" not in page.inner_text("main")
    assert page.input_value("#wage-form input[name=note]") == f"{n + 1}月工资"
    _check(page, phone)
    shots(page, "wage-refused")
    page.fill("#wage-form input[name=amount_fen]", "1800.50")
    page.click("#wage-form button[type=submit]")
    page.wait_for_url(lambda u: "done=wage" in u)
    assert "1,800.50" in page.inner_text("#wage-payments") and f"{n + 1}月工资" in page.inner_text("#wage-payments")
    _check(page, phone)
    shots(page, "wage-recorded")

    if _first_with(page, "fund_support", "repayment-form"):
        before = page.inner_text("#contract-repaid")
        page.click("#repayment summary")
        page.fill("#repayment-form input[name=amount_fen]", "10.00")
        page.click("#repayment-form button[type=submit]")
        page.wait_for_url(lambda u: "done=repayment" in u)
        assert page.inner_text("#contract-repaid") != before
        _check(page, phone)
        shots(page, "repayment-recorded")


def test_the_project_and_entity_lists_filter_count_and_export(browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "district")
    page.goto("/projects")
    total = page.inner_text("#project-total")
    assert "共" in total
    region = page.locator("#region option").nth(2).get_attribute("value")
    assert region
    page.select_option("#region", region)
    page.wait_for_function("t => document.querySelector('#project-total').innerText !== t", arg=total)
    assert f"region={region}" in page.url and f"region={region}" in str(page.get_attribute("#export-link", "href"))
    with page.expect_download() as download:
        page.click("#export-link")
    assert download.value.suggested_filename.endswith(".xlsx")
    fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "projects-filtered")
    page.goto("/entities")
    assert "共" in page.inner_text("#entity-total")
    page.fill("#q", "合作社")
    page.wait_for_url(lambda u: "q=" in u)
    fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "entities-search")
