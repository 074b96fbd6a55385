"""A village allocation walks from draft to archive in a real browser, every role doing its own step."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest

from daipin.domain.workflow import STATE_LABELS, State
from tests.e2e.conftest import Server, Shots, login, new_page

pytestmark = pytest.mark.e2e


def _matter_id(page: Any) -> int:
    m = re.search(r"/matters/(\d+)", page.url)
    assert m, page.url
    return int(m.group(1))


def _step(page: Any, form_id: str) -> None:
    page.click(f"#{form_id} button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#action-error").count() == 0, page.locator("#action-error").inner_text()


def test_a_village_allocation_goes_from_draft_to_archive_through_every_role(
    browser: Any, server: Server, shots: Shots
) -> None:
    # The village cadre drafts the allocation; the engine's preview arrives by htmx as the page loads.
    village = new_page(browser, server)
    login(village, "village")
    village.goto("/matters/new")
    village.wait_for_selector("#preview-total")
    assert "分配到户合计" in village.inner_text("#preview-total")
    shots(village, "draft-preview")
    village.fill("input[name=title]", "2025年度兴隆村集体收益分配方案")
    village.fill("input[name=responsible_person]", "村委会主任")
    village.click("#draft-form > button[type=submit]")
    village.wait_for_url(re.compile(r"/matters/\d+$"))
    mid = _matter_id(village)
    assert village.inner_text("#matter-state") == STATE_LABELS[State.DRAFT]
    shots(village, "drafted")

    # The meeting is called at least ten days ahead, then sits: attendance, votes, outcome.
    village.select_option("#form-call_meeting select[name=type]", "representatives_meeting")
    village.fill("#form-call_meeting input[name=eligible_representatives]", "30")
    _step(village, "form-call_meeting")
    assert village.inner_text("#matter-state") == STATE_LABELS[State.MEETING_CALLED]
    shots(village, "meeting-called")
    server.clock.advance(days=11)
    login(village, "village")  # the old session expired with the clock
    village.goto(f"/matters/{mid}")
    village.fill("#form-record_attendance input[name=present_representatives]", "25")
    _step(village, "form-record_attendance")
    village.fill("#form-record_votes input[name=votes_for]", "22")
    village.fill("#form-record_votes input[name=against]", "2")
    village.fill("#form-record_votes input[name=abstain]", "1")
    _step(village, "form-record_votes")
    _step(village, "form-decide")
    assert "通过" in village.inner_text("#meeting-outcome")
    _step(village, "form-submit")
    assert village.inner_text("#matter-state") == STATE_LABELS[State.UNDER_REVIEW]
    shots(village, "meeting-recorded")

    # The township approves and posts the notice.
    township = new_page(browser, server)
    login(township, "township")
    township.goto(f"/matters/{mid}")
    township.fill("#form-review textarea[name=comments]", "经审核，符合分配方案")
    township.click("#form-review button[value=approve]")
    township.wait_for_load_state("networkidle")
    assert township.locator("#action-error").count() == 0
    _step(township, "form-publish")
    assert township.inner_text("#matter-state") == STATE_LABELS[State.IN_NOTICE]
    shots(township, "approved-and-posted")

    # The notice is on the public portal; a villager objects without logging in.
    public = new_page(browser, server, width=375, height=800)
    public.goto("/public")
    public.click("text=2025年度兴隆村集体收益分配方案")
    public.wait_for_selector("#objection-form")
    assert public.locator("#beneficiaries tbody tr").count() > 0
    assert "12317" in public.inner_text("#objection")
    pdf = public.request.get(public.url + ".pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:5] == b"%PDF-"
    shots(public, "public-notice")
    public.fill("#objection-form textarea[name=text]", "我家去年公益岗位天数登记少了，请核实。")
    public.click("#objection-form button[type=submit]")
    public.wait_for_selector("#objection-filed")
    shots(public, "objection-filed")

    # The village answers: dismissed, with the reasons found.
    village.goto(f"/matters/{mid}")
    form = village.locator("form[id^=form-answer-]").first
    form.locator("textarea[name=reasons]").fill("经核对考勤表，公益岗位天数登记无误，异议不成立。")
    form.locator("button[value=dismissed]").click()
    village.wait_for_load_state("networkidle")
    assert village.locator("#action-error").count() == 0
    assert "dismissed" in village.inner_text("#notice")
    shots(village, "objection-dismissed")

    # The window runs out; the notice closes, the matter is executed, announced and archived.
    server.clock.advance(days=11)
    login(village, "village")
    village.goto(f"/matters/{mid}")
    for form_id in ("form-close_notice", "form-execute", "form-announce", "form-archive"):
        _step(village, form_id)
    assert village.inner_text("#matter-state") == STATE_LABELS[State.ARCHIVED]
    assert village.locator("#batch").count() == 1
    shots(village, "archived")
    public.goto("/public")
    public.click("text=2025年度兴隆村集体收益分配方案")
    public.wait_for_selector("#result")
    shots(public, "result-announced")

    # The auditor verifies the ledger and downloads the dossier.
    auditor = new_page(browser, server)
    login(auditor, "auditor")
    auditor.goto("/ledger")
    auditor.click("#verify-button")
    auditor.wait_for_selector("#verify-ok")
    shots(auditor, "ledger-verified")
    auditor.goto(f"/matters/{mid}")
    with auditor.expect_download() as dl:
        auditor.click("#dossier-link")
    with open(dl.value.path(), "rb") as fh:
        data = fh.read()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "manifest.json" in names
    assert any(n.startswith("dossier/") for n in names)
    shots(auditor, "dossier")
    for p in (village, township, public, auditor):
        assert p.js_errors == [], p.js_errors
