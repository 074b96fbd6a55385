"""Every paper of a matter opens from its page in a real browser as a PDF that reads back; the annual report's
charts draw."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, login, new_page, no_raw_codes

pytestmark = pytest.mark.e2e


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF")
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def test_a_village_cadre_prints_every_paper_of_an_executed_matter(browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server)
    login(page, "village")
    page.goto("/matters?state=executed")
    page.locator("table a[href^='/matters/']").first.click()
    page.wait_for_selector("#papers")
    shots(page, "papers")
    links = page.locator("#papers a.paper-link")
    keys = [links.nth(i).get_attribute("id") for i in range(links.count())]
    assert {"paper-meeting-notice", "paper-sign-in", "paper-minutes", "paper-review", "paper-notice"} <= set(keys)
    title = page.inner_text("h1")
    seen: dict[str, str] = {}
    for key in keys:
        link = page.locator(f"#{key}")
        with page.context.expect_page() as opened:  # each paper opens in a tab of its own
            link.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url.endswith(".pdf"), tab.url
        answer = page.context.request.get(tab.url)  # the bytes the tab shows, with the same session
        assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
        seen[key] = _pdf_text(answer.body())
        tab.close()
        assert "北京时间" in seen[key], key
    assert "签到表" in seen["paper-sign-in"] and "村民代表" in seen["paper-sign-in"]
    assert "赞成" in seen["paper-minutes"] and "反对" in seen["paper-minutes"] and "弃权" in seen["paper-minutes"]
    assert "人民政府（盖章）" in seen["paper-review"] and "村民委员会" in seen["paper-meeting-notice"]
    assert any(word in seen["paper-minutes"] for word in title.split()) or "会议记录" in seen["paper-minutes"]
    assert page.js_errors == []


def test_the_annual_report_draws_its_charts(browser: Any, server: Server, shots: Shots) -> None:
    page = new_page(browser, server)
    login(page, "district")
    page.click("nav a[href='/reports/annual']")
    page.wait_for_selector("#chart-pools[data-chart-ready='1']")
    page.wait_for_selector("#chart-household[data-chart-ready='1']")
    no_raw_codes(page)
    shots(page, "annual")
    with page.expect_download() as got:
        page.click("#annual-xlsx")
    assert got.value.suggested_filename.endswith(".xlsx")
    assert page.js_errors == []


def test_anyone_checks_a_notice_s_signed_note_on_the_public_check_page(browser: Any, server: Server,
                                                                       shots: Shots) -> None:
    page = new_page(browser, server, width=375, height=812)
    page.goto("/public")
    page.locator("a[href^='/public/notices/']").first.click()
    assert not page.is_visible("#cp-note")  # the signed note is folded away: a screen reader skips it unasked
    page.click("#cp-details summary")
    page.wait_for_selector("#cp-note")
    note = page.inner_text("#cp-note")
    page.click("#checkpoint-link")
    page.fill("textarea[name=note]", note.replace("\u2014", "--"))  # as typed on a keyboard without an em dash
    page.click("#checkpoint-form button[type=submit]")
    page.wait_for_selector("#checkpoint-ok")
    shots(page, "checkpoint-ok")
    assert page.js_errors == []
