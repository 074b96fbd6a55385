"""A new user on the demo, in a real browser: drafts of every kind by the role that drafts them (desktop and phone),
the matters list and 待我处理, and the demo's draft walked to the archive with the training clock's own control."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from daipin.domain.workflow import STATE_LABELS, State
from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the clock it advances moves no other test's."""
    with running_server(tmp_path_factory.mktemp("demo-walk")) as srv:
        yield srv


def _step(page: Any, form_id: str) -> None:
    page.click(f"#{form_id} button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#action-error").count() == 0, page.locator("#action-error").inner_text()


def _advance(page: Any) -> None:
    """The training clock's control on the banner (the district administrator's)."""
    page.click("#training-advance button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", [1200, 375])
def test_a_village_cadre_drafts_a_roster_and_an_allocation(browser: Any, demo: Server, shots: Shots,
                                                          width: int) -> None:
    page = new_page(browser, demo, width=width, height=850)
    login(page, "village")
    page.goto("/matters")
    assert "起草乡镇" not in page.inner_text("main") and "起草区级" not in page.inner_text("main")
    page.click("#draft-buttons >> text=起草收益扶贫对象确认")
    page.wait_for_selector("#document-readable")
    year = "2027" if width > 400 else "2028"
    page.fill("#year", year)
    page.click("#regenerate")
    page.wait_for_selector(f"#document-readable dd:text-is('{year}')")
    # The columns' names: the table's head on a desktop, each cell's label on a phone (where the table stacks).
    labels = page.eval_on_selector_all("#document-readable td", "tds => tds.map(td => td.dataset.label || '')")
    readable = page.inner_text("#document-readable") + " ".join(labels if width < 400 else [])
    assert "户编号" in readable and "households" not in readable
    if width < 400:
        fits_the_phone(page)
    no_raw_codes(page)
    shots(page, f"roster-form-{width}")
    page.fill("input[name=title]", f"{year}年度兴隆村收益扶贫对象确认")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r"/matters/\d+$"))
    assert page.inner_text("#matter-state") == STATE_LABELS[State.DRAFT]
    assert "户编号" in (page.text_content("#matter-document") or "")
    if width > 400:
        # The allocation of the sample year: its preview arrives as the page loads, then it is saved.
        page.goto("/matters/new?kind=village_allocation")
        page.wait_for_selector("#preview-total")
        assert "可分配收益" in page.inner_text("#document-readable")
        page.fill("input[name=title]", "2025年度兴隆村集体收益分配方案")
        page.click("#save-draft")
        page.wait_for_url(re.compile(r"/matters/\d+$"))
        shots(page, "allocation-drafted")


@pytest.mark.parametrize("width", [1200, 375])
def test_a_township_official_drafts_a_township_project(browser: Any, demo: Server, shots: Shots,
                                                       width: int) -> None:
    page = new_page(browser, demo, width=width, height=850)
    login(page, "township")
    page.goto("/matters/new")
    kinds = page.inner_text("#draft-kinds")
    assert "村级收益分配" not in kinds and "乡镇" in kinds
    page.fill("input[name=title]", f"兴隆镇到户产业扶持（{width}）")
    page.click("#save-draft")  # no project content: refused beside the field, nothing saved
    page.wait_for_selector("#error-d_description")
    assert "项目内容" in page.inner_text("#error-d_description")
    page.fill("textarea[name=d_description]", "为脱贫户发放鸡苗，每户 50 只")
    page.fill("textarea[name=d_households]", "2310020010010001\n2310020010010002")
    if width < 400:
        fits_the_phone(page)
    page.click("#save-draft")
    page.wait_for_url(re.compile(r"/matters/\d+$"))
    assert "为脱贫户发放鸡苗" in (page.text_content("#matter-document") or "")
    no_raw_codes(page)
    shots(page, f"township-project-{width}")


def test_the_list_and_the_todo_show_the_demo_s_matters_on_a_phone(browser: Any, demo: Server, shots: Shots) -> None:
    page = new_page(browser, demo, width=375, height=812)
    login(page, "township")
    page.goto("/")
    assert page.locator("#todo-notices li").count() >= 1
    assert page.locator("#todo-payments li").count() == 0 or "待支付" in page.inner_text("#todo-payments")
    page.goto("/matters")
    assert re.search(r"共 \d+ 项", page.inner_text("#matter-total"))
    # On a phone each row is stacked: the state, the deadline and who acts next are all on the screen.
    for cls in ("col-state", "col-due", "col-taker"):
        box = page.locator(f"#matter-table td.{cls}").first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 376, (cls, box)
    fits_the_phone(page)
    shots(page, "matters-phone")
    page.select_option("select[name=state]", "in_notice")
    page.click("#matter-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "state=in_notice" in page.url
    assert all(t == STATE_LABELS[State.IN_NOTICE] for t in page.locator("#matter-table td.col-state").all_inner_texts())


def test_a_new_user_walks_the_demo_s_draft_to_the_archive_with_the_training_clock(
        browser: Any, demo: Server, shots: Shots) -> None:
    village = new_page(browser, demo)
    login(village, "village")
    admin = new_page(browser, demo)
    login(admin, "district")
    township = new_page(browser, demo)
    login(township, "township")

    village.goto("/matters?q=（演示）&state=draft")
    village.click("#matter-table a")
    village.wait_for_url(re.compile(r"/matters/\d+$"))
    url = village.url
    assert village.inner_text("#matter-state") == STATE_LABELS[State.DRAFT]
    village.select_option("#form-call_meeting select[name=type]", "representatives_meeting")
    _step(village, "form-call_meeting")
    found = re.search(r"村民代表 (\d+)", village.inner_text("#meeting-eligible"))
    assert found
    n = int(found.group(1))

    # Ten days' notice of the meeting: the administrator moves the training clock on from the banner.
    admin.goto("/training/clock")
    before = admin.inner_text("#clock-now")
    _advance(admin)
    assert admin.inner_text("#clock-now") != before and "11 天" in admin.inner_text("#clock-offset")
    shots(admin, "clock-advanced")

    village.goto(url)
    village.fill("#form-record_attendance input[name=present_representatives]", str(n))
    _step(village, "form-record_attendance")
    village.fill("#form-record_votes input[name=votes_for]", str(n))
    village.fill("#form-record_votes input[name=against]", "0")
    village.fill("#form-record_votes input[name=abstain]", "0")
    _step(village, "form-record_votes")
    _step(village, "form-decide")
    _step(village, "form-submit")
    assert village.inner_text("#matter-state") == STATE_LABELS[State.UNDER_REVIEW]

    township.goto(url)
    township.fill("#form-review textarea[name=comments]", "名单与登记一致")
    township.click("#form-review button[value=approve]")
    township.wait_for_load_state("networkidle")
    assert township.locator("#action-error").count() == 0
    _step(township, "form-publish")
    assert township.inner_text("#matter-state") == STATE_LABELS[State.IN_NOTICE]

    # The notice's window: the clock again, then the notice closes and the matter runs to the archive.
    admin.goto("/")
    _advance(admin)
    village.goto(url)
    for form_id in ("form-close_notice", "form-execute", "form-announce", "form-archive"):
        _step(village, form_id)
    assert village.inner_text("#matter-state") == STATE_LABELS[State.ARCHIVED]
    no_raw_codes(village)
    shots(village, "archived")


@pytest.mark.parametrize("width", [1200, 375])
def test_a_district_admin_disables_an_account_and_resets_a_password(browser: Any, demo: Server, shots: Shots,
                                                                    width: int) -> None:
    admin = new_page(browser, demo, width=width, height=850)
    login(admin, "district")
    name = f"cadre-{width}"
    admin.goto("/admin/users")
    admin.fill("form.form input[name=username]", name)
    admin.fill("form.form input[name=password]", "first-pass-2026")
    admin.select_option("form.form select[name=role]", "village_cadre")
    admin.select_option("form.form select[name=region]", "231002001002")
    admin.click("form.form button[type=submit]")
    admin.wait_for_load_state("networkidle")
    admin.click(f"a:text-is('{name}')")
    admin.wait_for_selector("#manage")
    account = admin.url
    _step(admin, "form-active")
    assert admin.inner_text("#account-state") == "停用"
    assert "停用账户" in admin.inner_text("#activity")
    user = new_page(browser, demo, width=width, height=850)
    user.goto("/login")
    user.fill("input[name=username]", name)
    user.fill("input[name=password]", "first-pass-2026")
    user.click("form.form button[type=submit]")
    user.wait_for_load_state("networkidle")
    assert "/login" in user.url  # a disabled account does not sign in
    admin.goto(account)
    _step(admin, "form-active")
    assert admin.inner_text("#account-state") == "启用"
    admin.fill("#form-password input[name=new_password]", "short")
    admin.click("#form-password button[type=submit]")
    admin.wait_for_selector("#error-new_password")
    admin.fill("#form-password input[name=new_password]", "second-pass-2026")
    _step(admin, "form-password")
    assert "管理员重置密码" in admin.inner_text("#activity")
    if width < 400:
        fits_the_phone(admin)
    no_raw_codes(admin)
    shots(admin, f"account-{width}")
    user.goto("/login")
    user.fill("input[name=username]", name)
    user.fill("input[name=password]", "second-pass-2026")
    user.click("form.form button[type=submit]")
    user.wait_for_url(lambda u: "/login" not in u)
    user.goto("/account/activity")
    assert "管理员重置密码" in user.inner_text("#activity")
