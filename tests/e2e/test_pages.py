"""Every page a user can reach, opened in the browser on a 375-pixel phone screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e
_fits_the_phone = fits_the_phone


def _first_link(page: Any, pattern: str) -> str:
    href = page.locator(f"main table a[href^='{pattern}'], main ul a[href^='{pattern}']").first.get_attribute("href")
    assert href and re.match(rf"^{pattern}\d+$", href), href
    return str(href)


def test_the_district_administrator_reaches_every_page_on_a_phone(browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "district")
    page.wait_for_selector("[data-chart-ready]")  # ECharts drew the dashboard from the vendored file
    assert page.locator(".kpi").count() == 4
    # The demo's settlements leave arrears: the figure and its chart are filled, not blank.
    assert page.inner_text("#kpi-arrears") != "0.00"
    page.wait_for_selector("#chart-arrears[data-chart-ready]")
    assert page.locator("#chart-arrears-empty").count() == 0
    assert "东安区" in page.inner_text("main")  # the region by name, not its code
    _fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "dashboard")

    page.goto("/households")
    page.fill("#q", "w")  # pinyin initial: heads whose surname starts with w (王, 吴, 魏, …)
    page.wait_for_function("document.querySelectorAll('#household-table tbody tr a').length > 0")
    page.wait_for_url(re.compile(r"q=w"))
    _fits_the_phone(page)
    shots(page, "household-search")
    with page.expect_download() as dl:
        page.click("#export-link")
    assert dl.value.suggested_filename == "households.xlsx"
    page.goto(_first_link(page, "/households/"))
    assert page.locator("#members tbody tr").count() >= 1
    assert re.search(r"\d{4}\*{10}[\dX]{4}", page.inner_text("#members"))  # ID numbers masked
    _fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "household")

    page.goto("/entities")
    page.goto(_first_link(page, "/entities/"))
    page.wait_for_selector("#credit")
    # Dues and arrears per contract from the sample year's settlement; payees by name, not row ids.
    assert page.locator("#dues tbody tr").count() >= 1
    assert page.inner_text("#arrears") != "0.00"
    box = page.locator("#dues tbody tr td:last-child").first.bounding_box()  # the row stacks, arrears last
    assert box and box["x"] + box["width"] <= 375, "the arrears are off the phone's screen"
    assert "拖欠" in page.evaluate("getComputedStyle(document.querySelector('#dues tbody td:last-child'), "
                                  "'::before').content")
    assert "#" not in page.inner_text("#contracts")
    _fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "entity")
    page.goto("/projects")
    no_raw_codes(page)
    page.goto(_first_link(page, "/projects/"))
    no_raw_codes(page)
    page.goto(_first_link(page, "/assets/"))
    assert page.locator("h1").inner_text()
    no_raw_codes(page)
    shots(page, "asset")

    page.goto("/contracts/new")
    page.wait_for_selector("#terms-asset_lease")
    page.select_option("#model", "employment")
    page.wait_for_selector("#terms-employment input[name=t_wage_fen]")
    assert page.locator("#terms input[name=t_annual_rent_fen]").count() == 0  # only this model's terms
    assert page.locator("select[name=t_wage_basis] option").first.inner_text() == "按日"
    _fits_the_phone(page)
    shots(page, "contract-form")

    page.goto("/matters")
    _fits_the_phone(page)
    no_raw_codes(page)
    page.goto("/ledger")
    page.goto("/admin/users")
    page.fill("input[name=username]", "cadre-two")
    page.fill("input[name=password]", "spring-field-73")
    page.select_option("select[name=role]", "village_cadre")
    page.select_option("select[name=region]", "231002001002")  # chosen by name: 新民村
    page.click("form.form button[type=submit]")
    page.wait_for_selector("text=cadre-two")
    assert "新民村" in page.inner_text("table")  # the new account's village by name
    shots(page, "users")

    page.goto("/nowhere")
    assert page.locator("h1").inner_text() == "404"
    page.goto("/lang/en")
    page.goto("/public")
    assert page.locator("h1").inner_text() == "Public notices"
    page.goto("/lang/zh_CN")
    shots(page, "language")
    assert page.js_errors == [], page.js_errors


OWN_PASSWORD = "lotus-pond-58"


def _entity_account_of_its_own(server: Server, username: str) -> None:
    """An account for the entity's own user that only this test signs in with: the session's server is shared by
    every test of its worker, so the demo's `entity` keeps its password for them."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from daipin.db.models.auth import User
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.auth import service as auth_service

    with Session(server.engine) as s:
        demo = s.execute(select(User).where(User.username == "entity")).scalar_one()
        auth_service.create_user(s, actor=SYSTEM_ACTOR, username=username, password=OWN_PASSWORD, role=demo.role,
                                 region=demo.region_code, entity_id=demo.entity_id, at=server.clock.at,
                                 display_name=demo.display_name)
        s.commit()


def test_a_user_changes_their_password_and_logs_out(browser: Any, server: Server, shots: Shots) -> None:
    _entity_account_of_its_own(server, "entity-own")
    page = new_page(browser, server, width=375, height=812)
    page.goto("/login")
    page.fill("input[name=username]", "entity-own")
    page.fill("input[name=password]", OWN_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)
    page.goto("/account/password")
    page.fill("input[name=old_password]", OWN_PASSWORD)
    page.fill("input[name=new_password]", "river-stone-42")
    page.fill("input[name=new_password2]", "river-stone-42")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("p.ok")
    shots(page, "password-changed")
    page.click("button.navbtn")  # the phone menu
    page.click("nav form button")  # log out
    page.wait_for_url(re.compile(r"/login"))
    page.fill("input[name=username]", "entity-own")
    page.fill("input[name=password]", OWN_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("p.err")
    shots(page, "old-password-refused")
    page.fill("input[name=username]", "entity-own")
    page.fill("input[name=password]", "river-stone-42")
    page.click("form.form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)
    page.goto("/entities")
    assert page.locator("table tbody tr").count() == 1  # an entity user sees only its own entity
    page.goto("/households")
    assert page.locator("h1").inner_text() == "403"


def test_a_village_cadre_opens_a_contract_from_its_project_and_amends_it_on_a_phone(
        browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "village")
    page.goto("/projects")
    page.goto(_first_link(page, "/projects/"))
    page.goto(_first_link(page, "/contracts/"))  # the project's first contract leases its asset to the village
    assert page.locator("h1").inner_text().startswith("利益联结协议")
    assert "年租金" in page.inner_text("#terms")  # terms by their names, money in yuan
    assert re.search(r"[\d,]+\.\d\d 元", page.inner_text("#terms"))
    assert page.locator("#versions tbody tr").count() == 1
    assert page.inner_text("#version-1 .standing") == "现行"
    _fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "contract")

    page.click("#amend summary")
    page.wait_for_selector("#amend-form input[name=t_annual_rent_fen]")
    assert page.input_value("#amend-form input[name=t_annual_rent_fen]")  # filled with the terms in force
    page.fill("#amend-form input[name=t_annual_rent_fen]", "40000")
    page.fill("#amend-form textarea[name=reason]", "补充协议：租金上调")
    _fits_the_phone(page)
    shots(page, "amend-form")
    page.click("#amend-form button[type=submit]")
    page.wait_for_selector("#version-2")
    assert page.inner_text("#version-2 .standing") == "现行"
    assert page.inner_text("#version-1 .standing") == "已被第2版取代"
    assert "年租金" in page.inner_text("#version-2 .changes") and "40,000.00 元" in page.inner_text("#terms")
    assert "补充协议：租金上调" in page.inner_text("#version-2")
    _fits_the_phone(page)
    no_raw_codes(page)
    shots(page, "contract-amended")
    assert page.js_errors == [], page.js_errors
