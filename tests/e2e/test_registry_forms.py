"""The registry's writes in a browser, on a desktop and a phone: a village cadre registers a household, adds a
member and records a status change (a wrong ID number refused beside its field first); a township official
registers an entity, a project with its funding, an asset with a valuation, and a profit."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from daipin.domain.identity import make_resident_id, make_uscc
from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1200, 900), "phone": (375, 812)}


def _check(page: Any, phone: bool) -> None:
    assert page.js_errors == []
    no_raw_codes(page)
    if phone:
        fits_the_phone(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_a_village_cadre_registers_a_household_adds_a_member_and_records_a_status_change(
        browser: Any, server: Server, shots: Shots, size: str) -> None:
    n = list(SIZES).index(size)
    width, height = SIZES[size]
    page = new_page(browser, server, width=width, height=height)
    login(page, "village")
    page.goto("/households")
    page.click("#new-household")
    page.wait_for_selector("#household-form")
    village = page.locator("select[name=village_code] option").nth(1).get_attribute("value")
    assert village
    page.select_option("select[name=village_code]", village)
    number = f"{village}98{n}"
    page.fill("input[name=household_no]", number)
    page.select_option("select[name=status]", "poor")
    page.fill("input[name=poverty_cause]", "因病")
    head = make_resident_id(village[:6], date(1968, 4, 5), 810 + n, "M")
    page.fill("input[name='members[0].name']", "林国庆")
    page.fill("input[name='members[0].id_number']", head[:-1] + ("0" if head[-1] != "0" else "1"))
    page.select_option("select[name='members[0].labor']", "full")
    page.click("#household-form button[type=submit]")
    # A mistyped ID number: refused beside its field, what was typed kept, nothing saved.
    error = page.locator("small.field-err[data-field='members[0].id_number']")
    error.wait_for()
    assert "身份证" in error.inner_text() and page.locator("small.field-err").count() == 1
    assert "members[0]" not in page.inner_text("main")
    assert page.input_value("input[name='members[0].name']") == "林国庆"
    _check(page, size == "phone")
    shots(page, "household-refused")
    page.fill("input[name='members[0].id_number']", head)
    page.click("#household-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert number in page.inner_text("h1")
    assert head not in page.content()  # the ID number shown masked only
    shots(page, "household-registered")

    page.click("#member summary")
    page.fill("input[name='member.name']", "王秀兰")
    page.fill("input[name='member.id_number']", make_resident_id(village[:6], date(1970, 6, 7), 820 + n, "F"))
    page.select_option("select[name='member.relation']", "配偶")
    page.select_option("select[name='member.labor']", "weak")
    page.click("#member-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert "王秀兰" in page.inner_text("#members")
    _check(page, size == "phone")

    page.click("#status summary")
    page.select_option("#status-form select[name=status]", "monitored")
    page.fill("#status-form input[name=reason]", "收入骤减纳入监测")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert "监测户" in page.inner_text("main dl")
    assert "收入骤减纳入监测" in page.inner_text("#history")
    _check(page, size == "phone")
    shots(page, "status-changed")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_township_official_registers_an_entity_a_project_an_asset_with_a_valuation_and_a_profit(
        browser: Any, server: Server, shots: Shots, size: str) -> None:
    n = list(SIZES).index(size)
    width, height = SIZES[size]
    page = new_page(browser, server, width=width, height=height)
    login(page, "township")
    page.goto("/entities")
    page.click("#new-entity")
    page.wait_for_selector("#entity-form")
    page.fill("input[name=name]", f"兴旺种植合作社{n}")
    page.select_option("select[name=kind]", "cooperative")
    page.fill("input[name=uscc]", make_uscc(f"93231002MA0066{n:03d}"))
    page.fill("input[name=legal_representative]", "赵大勇")
    page.select_option("select[name=region_code]", index=1)
    page.click("#entity-form button[type=submit]")
    page.wait_for_url("**/entities/*")
    assert f"兴旺种植合作社{n}" in page.inner_text("h1")
    _check(page, size == "phone")

    page.goto("/projects")
    page.click("#new-project")
    page.wait_for_selector("#project-form")
    page.fill("input[name=code]", f"XM-E2E-{n}")
    page.fill("input[name=name]", f"兴旺大棚{n}")
    page.select_option("select[name=category]", index=1)
    page.select_option("select[name=entity_id]", label=f"兴旺种植合作社{n}")
    page.select_option("select[name=township_code]", index=1)
    page.select_option("select[name=village_code]", index=1)
    page.fill("input[name=expected_return]", "0.06")
    page.select_option("select[name='funding[0].source']", "财政扶贫资金")
    page.fill("input[name='funding[0].amount_fen']", "12.345")  # a fraction of a fen: refused beside it
    page.click("#project-form button[type=submit]")
    page.locator("small.field-err[data-field='funding[0].amount_fen']").wait_for()
    _check(page, size == "phone")
    shots(page, "project-refused")
    page.fill("input[name='funding[0].amount_fen']", "200,000.00")
    page.click("#project-form button[type=submit]")
    page.wait_for_url("**/projects/*")
    assert f"兴旺大棚{n}" in page.inner_text("h1")
    assert "200,000.00" in page.inner_text("main")

    page.click("#profit summary")
    page.fill("#profit-form input[name=period_start]", "2025-01-01")
    page.fill("#profit-form input[name=period_end]", "2025-12-31")
    page.fill("#profit-form input[name=profit_fen]", "36000")
    page.fill("#profit-form input[name=audit_ref]", "审字2026第8号")
    page.click("#profit-form button[type=submit]")
    page.wait_for_selector("#profit-list li:has-text('36,000.00')")
    _check(page, size == "phone")

    page.click("#new-asset")
    page.wait_for_selector("#asset-form")
    statuses = page.locator("select[name=status] option").all_inner_texts()
    assert statuses == ["使用中", "闲置"]  # leased, pledged, disposed go by a decided matter
    page.fill("input[name=code]", f"ZC-E2E-{n}")
    page.fill("input[name=name]", f"兴旺大棚{n}号棚")
    page.select_option("select[name=kind]", index=1)
    page.fill("input[name=value_fen]", "180000")
    page.select_option("select[name=owner_region_code]", index=1)
    page.click("#asset-form button[type=submit]")
    page.wait_for_url("**/assets/*")
    page.click("#valuation summary")
    page.fill("#valuation-form input[name=valuer]", "正信资产评估有限公司")
    page.fill("#valuation-form input[name=valued_on]", "2026-02-01")
    page.fill("#valuation-form input[name=value_fen]", "175000")
    page.fill("#valuation-form input[name=report_ref]", "正信评报字2026第2号")
    page.click("#valuation-form button[type=submit]")
    page.wait_for_selector("#valuation-list li:has-text('175,000.00')")
    _check(page, size == "phone")
    shots(page, "asset-valued")


def _import_csv(server: Server, n: int, *, bad: bool) -> bytes:
    import csv
    import io

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from daipin.db.models.registry import Region

    with Session(server.engine) as s:
        village = s.scalars(select(Region).where(Region.level == "village").order_by(Region.code)).first()
        assert village is not None
        town = s.scalar(select(Region.name).where(Region.code == village.parent_code))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["序号", "所属乡镇", "所属村", "户编号", "户主姓名", "姓名", "身份证号", "家庭关系", "劳动能力", "户类型",
                "脱贫年度", "联系电话", "银行账号"])
    for i in range(4):
        idn = make_resident_id(village.code[:6], date(1966, 1 + i, 9), 850 + 10 * n + i, "M")
        if bad and i == 2:
            idn = idn[:-1] + ("0" if idn[-1] != "0" else "1")
        w.writerow([str(i + 1), town, village.name, f"{village.code}6{n}{i}", "张庆余", "张庆余", idn, "户主",
                    "有劳动能力", "贫困户", "", "", ""])
    return buf.getvalue().encode("utf-8-sig")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_village_cadre_uploads_a_bad_import_downloads_its_errors_then_uploads_a_good_one(
        browser: Any, server: Server, shots: Shots, size: str, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    n = list(SIZES).index(size)
    width, height = SIZES[size]
    page = new_page(browser, server, width=width, height=height)
    login(page, "village")
    page.goto("/households")
    page.click("#import-households")
    page.wait_for_selector("#import-form")
    page.set_input_files("input[name=file]", files=[{"name": "农户.csv", "mimeType": "text/csv",
                                                       "buffer": _import_csv(server, n, bad=True)}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert "发现 1 处错误，未导入任何数据" in page.inner_text("#import-summary")
    assert page.locator("#import-done").is_visible()
    row = page.locator("#import-errors tbody tr").first.inner_text()
    assert "4" in row and "身份证号" in row
    _check(page, size == "phone")
    shots(page, "import-refused")
    with page.expect_download() as got:
        page.click("#errors-download")
    path = tmp_path / "errors.xlsx"
    got.value.save_as(str(path))
    ws = load_workbook(path).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "户编号", "错误原因") and rows[1][0] == 4 and rows[1][1] == "身份证号"

    page.goto("/households/import")
    page.set_input_files("input[name=file]", files=[{"name": "农户.csv", "mimeType": "text/csv",
                                                       "buffer": _import_csv(server, n, bad=False)}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert "新增 4 户 4 人" in page.inner_text("#import-summary")
    _check(page, size == "phone")
    shots(page, "import-done")


@pytest.mark.parametrize("size", list(SIZES))
def test_an_official_pages_and_filters_the_household_and_contract_lists(browser: Any, server: Server, shots: Shots,
                                                                       size: str) -> None:
    width, height = SIZES[size]
    page = new_page(browser, server, width=width, height=height)
    login(page, "district")
    page.goto("/households")
    total = page.inner_text("#household-total")
    assert total.startswith("共 ") and total.endswith(" 户")
    page.click("#pager a:text-is('2')")
    page.wait_for_selector("#pager strong:text-is('2')")
    # A township of the filter narrows the list (htmx swaps the results in, the address follows).
    township = page.locator("#region optgroup option").first
    value = township.get_attribute("value")
    assert value and len(value) == 9
    page.select_option("#region", value)
    page.wait_for_url(f"**village={value}**")
    page.wait_for_function(f"document.querySelector('#household-total').innerText !== {total!r}")
    _check(page, size == "phone")
    shots(page, "households-filtered")

    page.goto("/projects")
    page.click("#contract-list")
    page.wait_for_selector("#contract-table")
    assert page.inner_text("#contract-total").startswith("共 ")
    page.select_option("#model", "asset_lease")
    page.wait_for_url("**model=asset_lease**")
    page.wait_for_selector("#contract-table")
    models = page.locator("#contract-table tbody tr td:nth-child(2)").all_inner_texts()
    assert models and set(models) == {"资产租赁"}
    _check(page, size == "phone")
    shots(page, "contracts-filtered")


def test_a_village_cadre_saves_the_village_s_yearly_plan(browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server, width=375, height=812)
    login(page, "village")
    page.goto("/households")
    page.locator("#household-table a").first.click()
    page.click("main dl a:text-is('年度分配方案')")
    page.wait_for_selector("#plan-form")
    page.fill("#plan-form input[name=year]", "2027")
    page.fill("input[name=pool_fen]", "80000")
    page.check("input[name='eligible_statuses[0]']")
    page.fill("input[name='buckets[0].name']", "兜底保障")
    page.fill("input[name='buckets[0].share']", "0.7")
    page.select_option("select[name='buckets[0].rule']", "direct_support")
    page.select_option("select[name='buckets[0].per']", "person")
    page.fill("input[name='buckets[1].name']", "村集体留存")
    page.fill("input[name='buckets[1].share']", "0.2")
    page.select_option("select[name='buckets[1].rule']", "retain")
    page.click("#plan-form button[type=submit]")
    page.locator("small.field-err[data-field='buckets']").wait_for()  # 0.7 + 0.2 is not 1
    page.fill("input[name='buckets[1].share']", "0.3")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert "80,000.00" in page.inner_text("#plan") and "兜底保障" in page.inner_text("#buckets")
    _check(page, True)
    shots(page, "plan-saved")
