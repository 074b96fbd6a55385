"""The insurance and premium-subsidy forms in a real browser, on a desktop and on a phone: the district records a
policy for an entity and one of its assets (a wrong period is refused beside its field, nothing written), sets the
entity's account, applies for a subsidy, approves it and drafts the year's premium-subsidy matter, which lists it
with its amount; a township official gets the forms its role allows and no decision or draft."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import START, Server, Shots, fits_the_phone, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e
YEAR = str(START.year)


def _choose(page: Any, select: str, contains: str) -> str:
    """Select the option whose text contains `contains`; its text."""
    options = page.locator(f"{select} option")
    for i in range(options.count()):
        text = options.nth(i).inner_text()
        if contains in text:
            page.select_option(select, value=options.nth(i).get_attribute("value"))
            return str(text)
    raise AssertionError(f"no option with {contains!r} in {select}")


@pytest.mark.parametrize("width", [1200, 375])
def test_the_district_records_a_policy_applies_approves_and_drafts_the_years_subsidies(
        browser: Any, server: Server, shots: Shots, width: int) -> None:
    page = new_page(browser, server, width=width, height=900)
    login(page, "district")
    page.goto("/supervision/insurance")
    page.wait_for_selector("#policy-form")
    assert page.title() == "资产保险 · daipin"  # the tab's title, not the page's forms as text
    fits_the_phone(page)
    no_raw_codes(page)
    policy_no = f"PICC-E2E-{width}"
    # A policy: the first entity, one of the assets it operates when it has one; the period backwards first.
    entity = page.locator("#policy-form select[name=entity] option").nth(1).inner_text()
    page.select_option("#policy-form select[name=entity]", index=1)
    page.fill("#policy-form input[name=insurer]", "中国人民财产保险")
    page.fill("#policy-form input[name=policy_no]", policy_no)
    page.select_option("#policy-form select[name=kind]", label="财产保险")
    page.fill("#policy-form input[name=insured_sum_fen]", "120000")
    page.fill("#policy-form input[name=valid_from]", f"{YEAR}-12-31")
    page.fill("#policy-form input[name=valid_to]", f"{YEAR}-01-01")
    page.click("#policy-form button[type=submit]")
    error = page.locator("#policy-form small.field-err[data-field=valid_from]")
    assert "起期晚于止期" in error.inner_text()
    assert page.input_value("#policy-form input[name=policy_no]") == policy_no  # what was typed comes back
    assert page.locator("#apply-form select[name=policy] option", has_text=policy_no).count() == 0  # not written
    fits_the_phone(page)
    page.fill("#policy-form input[name=valid_from]", f"{YEAR}-01-01")
    page.fill("#policy-form input[name=valid_to]", f"{YEAR}-12-31")
    page.click("#policy-form button[type=submit]")
    page.wait_for_url("**/supervision/insurance#policy-form")
    # The entity's account, shown masked afterwards.
    page.select_option("#account-form select[name=entity]", index=1)
    page.fill("#account-form input[name=bank_account]", f"62170000111122{width:04d}3")
    page.click("#account-form button[type=submit]")
    page.wait_for_url("**/supervision/insurance#account-form")
    shown = page.locator("#account-form select[name=entity] option").nth(1).inner_text()
    assert "收款账户" in shown and f"111122{width:04d}3" not in page.content()
    # The application: the premium in yuan, the subsidy above it refused beside its field.
    _choose(page, "#apply-form select[name=policy]", policy_no)
    page.fill("#apply-form input[name=year]", YEAR)
    page.fill("#apply-form input[name=premium_fen]", "2000")
    page.fill("#apply-form input[name=subsidy_fen]", "2500.50")
    page.click("#apply-form button[type=submit]")
    assert "补贴不能超过保费" in page.locator("#apply-form small.field-err[data-field=subsidy_fen]").inner_text()
    page.fill("#apply-form input[name=subsidy_fen]", "1200.50")
    page.click("#apply-form button[type=submit]")
    page.wait_for_url("**/supervision/insurance#subsidies")
    row = page.locator("#subsidies tbody tr", has_text=policy_no)
    assert "待审批" in row.inner_text() and "1,200.50" in row.inner_text()
    # The district approves it; a refusal without reasons is refused beside the field first.
    row.locator("button[value=refuse]").click()
    row = page.locator("#subsidies tbody tr", has_text=policy_no)
    assert row.locator("small.field-err[data-field=reason]").count() == 1
    row.locator("button[value=approve]").click()
    page.wait_for_url("**/supervision/insurance#subsidies")
    row = page.locator("#subsidies tbody tr", has_text=policy_no)
    assert "已批准待支付" in row.inner_text() and row.locator("button").count() == 0
    fits_the_phone(page)
    shots(page, f"insurance-forms-{width}")
    # The year's matter lists the approved subsidy: the entity and its amount.
    page.fill("#draft-form input[name=year]", YEAR)
    page.click("#draft-form button[type=submit]")
    page.wait_for_url("**/matters/*")
    body = page.inner_text("main")
    assert "区级保费补贴" in body and entity.split("（")[0] in body and "1,200.50" in body
    fits_the_phone(page)
    no_raw_codes(page)
    page.close()


def test_a_township_official_applies_but_neither_decides_nor_drafts(browser: Any, server: Server) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "township")
    page.goto("/supervision/insurance")
    page.wait_for_selector("#insured-assets")
    assert page.locator("#draft-form").count() == 0
    assert page.locator("#subsidies button[value=approve]").count() == 0
    fits_the_phone(page)
    page.close()
