"""A village allocation walks from draft to archive in a real browser, every role doing its own step."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from daipin.domain.workflow import STATE_LABELS, State
from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the clock it moves three weeks on moves no other test's, whichever
    test worker runs them and in whatever order."""
    with running_server(tmp_path_factory.mktemp("matter-story")) as srv:
        yield srv


def _matter_id(page: Any) -> int:
    m = re.search(r"/matters/(\d+)", page.url)
    assert m, page.url
    return int(m.group(1))


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _step(page: Any, form_id: str) -> None:
    page.click(f"#{form_id} button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#action-error").count() == 0, page.locator("#action-error").inner_text()


def test_a_village_allocation_goes_from_draft_to_archive_through_every_role(
    browser: Any, server: Server, shots: Shots
) -> None:
    # The village cadre drafts the allocation on a phone; the engine's preview arrives by htmx as the page loads.
    village = new_page(browser, server, width=375, height=812)
    login(village, "village")
    village.goto("/matters/new")
    village.wait_for_selector("#preview-total")
    assert "分配到户合计" in village.inner_text("#preview-total")
    fits_the_phone(village)
    shots(village, "draft-preview")
    village.fill("input[name=title]", "2025年度兴隆村集体收益分配方案")
    village.fill("input[name=responsible_person]", "村委会主任")
    village.click("#draft-form > button[type=submit]")
    village.wait_for_url(re.compile(r"/matters/\d+$"))
    mid = _matter_id(village)
    assert village.inner_text("#matter-state") == STATE_LABELS[State.DRAFT]
    fits_the_phone(village)
    no_raw_codes(village)
    shots(village, "drafted")

    # The meeting is called at least ten days ahead, then sits: attendance, votes, outcome.
    village.select_option("#form-call_meeting select[name=type]", "representatives_meeting")
    # The number of representatives is not typed: it is the village's recorded list, counted for the meeting day.
    assert village.locator("#form-call_meeting input[name=eligible_representatives]").count() == 0
    scheduled = datetime.fromisoformat(village.input_value("#form-call_meeting input[name=scheduled_at]"))
    _step(village, "form-call_meeting")
    assert village.inner_text("#matter-state") == STATE_LABELS[State.MEETING_CALLED]
    found = re.search(r"村民代表 (\d+)", village.inner_text("#meeting-eligible"))
    assert found and int(found.group(1)) >= 2
    representatives = int(found.group(1))
    shots(village, "meeting-called")
    server.clock.advance(days=11)
    login(village, "village")  # the old session expired with the clock
    village.goto(f"/matters/{mid}")
    village.fill("#form-record_attendance input[name=present_representatives]", str(representatives))
    # The meeting was held on paper and is entered the next day: its own time (Beijing), as `--held-at` gives it.
    held = scheduled + timedelta(hours=1)
    village.fill("#attendance-held-at", f"{held:%Y-%m-%dT%H:%M}")
    _step(village, "form-record_attendance")
    village.fill("#form-record_votes input[name=votes_for]", str(representatives - 1))
    village.fill("#form-record_votes input[name=against]", "1")
    village.fill("#form-record_votes input[name=abstain]", "0")
    # A vote's time before the meeting was held is refused, naming the field; nothing is recorded.
    village.fill("#votes-held-at", f"{held - timedelta(hours=2):%Y-%m-%dT%H:%M}")
    village.click("#form-record_votes button[type=submit]")
    village.wait_for_load_state("networkidle")
    assert "召开时间" in village.inner_text("#action-error")  # the field named by its label
    village.fill("#form-record_votes input[name=votes_for]", str(representatives - 1))
    village.fill("#form-record_votes input[name=against]", "1")
    village.fill("#form-record_votes input[name=abstain]", "0")
    village.fill("#votes-held-at", f"{held + timedelta(minutes=50):%Y-%m-%dT%H:%M}")
    _step(village, "form-record_votes")
    history = village.inner_text("#events")  # the history names the paper record's own time beside the recording
    assert f"纸质记录时间 {held:%Y-%m-%d %H:%M} 北京时间" in history, history
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
    # The paper notice went up on the village's board at 10:00 (Beijing) and is recorded at 12:00: the page takes
    # the posting's own time, and the window still runs from the recording.
    approved_at = server.clock.at
    server.clock.advance(hours=3)
    township.goto(f"/matters/{mid}")
    township.fill("#publish-posted-at", f"{approved_at + timedelta(hours=8, minutes=-30):%Y-%m-%dT%H:%M}")
    township.click("#form-publish button[type=submit]")  # before the approval: refused, naming the field
    township.wait_for_load_state("networkidle")
    assert "张贴时间" in township.inner_text("#action-error")  # the field named by its label
    township.fill("#publish-posted-at", f"{approved_at + timedelta(hours=9):%Y-%m-%dT%H:%M}")
    _step(township, "form-publish")
    assert township.inner_text("#matter-state") == STATE_LABELS[State.IN_NOTICE]
    assert re.search(r"\d{4}-\d\d-\d\d 10:00 北京时间", township.inner_text("#notice-paper-posted"))
    shots(township, "approved-and-posted")

    # The notice is on the public portal; a villager objects without logging in.
    public = new_page(browser, server, width=375, height=800)
    public.goto("/public")
    public.click("text=2025年度兴隆村集体收益分配方案")
    public.wait_for_selector("#objection-form")
    assert public.locator("#beneficiaries tbody tr").count() > 0
    assert "12317" in public.inner_text("#objection")
    # The window in Beijing time, from the recording (the clock read 04:00 UTC, i.e. 12:00 北京时间), not from the
    # paper notice's 10:00, which the notice names beside it.
    window = public.inner_text("#notice-window")
    assert re.search(r"\d{4}-\d\d-\d\d 12:00 北京时间 — \d{4}-\d\d-\d\d 12:00 北京时间", window), window
    assert re.search(r"\d{4}-\d\d-\d\d 10:00 北京时间", public.inner_text("#notice-paper-posted"))
    assert "不少于10天" in public.inner_text("#notice-days-basis")
    assert "UTC" not in public.inner_text("main")
    fits_the_phone(public)
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
    assert "异议不成立" in village.inner_text("#notice")
    no_raw_codes(village)
    shots(village, "objection-dismissed")

    # The window runs out; the notice closes, the matter is executed, announced and archived.
    server.clock.advance(days=11, hours=-3)
    login(village, "village")
    village.goto(f"/matters/{mid}")
    for form_id in ("form-close_notice", "form-execute"):
        _step(village, form_id)
    assert village.locator("#batch").count() == 1

    # The village sees the payment batch but does not mark it: the township records the bank's slips.
    village.click("#payments-link")
    village.wait_for_selector("#read-only-note")
    assert village.locator(".pay-form").count() == 0
    fits_the_phone(village)
    pay = new_page(browser, server, width=375, height=812)
    login(pay, "township")
    pay.goto(f"/matters/{mid}")
    pay.click("#payments-link")
    pay.wait_for_selector(".pay-form")
    first, second = pay.locator(".pay-line").nth(0), pay.locator(".pay-line").nth(1)
    first_id, second_id = first.get_attribute("id"), second.get_attribute("id")
    first.locator("input[name=payment_ref]").fill("NX-2026-0001")
    first.locator("button[value=paid]").click()
    pay.wait_for_load_state("networkidle")
    assert pay.inner_text(f"#{first_id} .line-status") == "已支付"
    assert re.search(r"\d{4}-\d\d-\d\d 09:00", pay.inner_text(f"#{first_id}"))  # paid at 01:00 UTC
    line = pay.locator(f"#{second_id}")
    line.locator("summary").click()
    line.locator("button[value=failed]").click()  # no reason given: refused, nothing recorded
    pay.wait_for_load_state("networkidle")
    assert "原因" in pay.inner_text("#action-error")
    line = pay.locator(f"#{second_id}")
    line.locator("summary").click()
    line.locator("input[name=reason]").fill("账户冻结，待户主到银行解冻")
    line.locator("button[value=failed]").click()
    pay.wait_for_load_state("networkidle")
    assert pay.inner_text(f"#{second_id} .line-status") == "支付失败"
    assert pay.inner_text("#batch-status") == "部分支付"
    fits_the_phone(pay)
    no_raw_codes(pay)
    shots(pay, "payments-recorded")

    # The announcement waits while lines are pending or failed.
    village.goto(f"/matters/{mid}")
    village.click("#form-announce button[type=submit]")
    village.wait_for_load_state("networkidle")
    assert "未结清" in village.inner_text("#action-error")

    # The township sends the rest to the bank, reads the bank's return, and writes off the failed line.
    pay.click("#batch-link")
    pay.wait_for_selector("#reconciliation")
    assert "平衡" in pay.inner_text("#balance")
    pay.select_option("#bank-file-form select[name=format]", "csv")
    with pay.expect_download() as dl:
        pay.click("#bank-file-form button[type=submit]")
    with open(dl.value.path(), "rb") as fh:
        sent = list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"))))
    assert sent[0] == ["序号", "户名", "账号", "开户行", "金额（元）", "用途"] and sent[-1][0] == "笔数"
    assert all(len(r[2]) >= 12 for r in sent[1:-1])  # the bank file is the one place the full account leaves
    rows = [[*sent[0], "状态", "失败原因", "流水号"]]
    rows += [[*r, "成功", "", f"YH-E2E-{r[0]}"] for r in sent[1:-1]]
    bad = [row[:] for row in rows]
    bad[1][4] = "0.01"  # another amount: the whole file is refused, each problem listed
    pay.reload()
    pay.set_input_files("#return-form input[type=file]", files=[{"name": "back.csv", "mimeType": "text/csv",
                                                                 "buffer": _csv(bad)}])
    pay.click("#return-form button[type=submit]")
    pay.wait_for_load_state("networkidle")
    assert "金额" in pay.inner_text("#problems")
    shots(pay, "return-refused")
    pay.set_input_files("#return-form input[type=file]", files=[{"name": "back.csv", "mimeType": "text/csv",
                                                                 "buffer": _csv(rows)}])
    pay.click("#return-form button[type=submit]")
    pay.wait_for_selector("#done")
    failed_card = pay.locator(".pay-line", has=pay.locator(".line-status", has_text="支付失败")).first
    failed_card.locator("details.writeoff summary").click()
    failed_card.locator("input[name=reason]").fill("户主已迁出，经村民代表会议同意核销")
    failed_card.locator("input[name=decision]").fill("某村〔2026〕2号")
    failed_card.locator(".write-off-form button[type=submit]").click()
    pay.wait_for_selector("#done")
    assert "平衡" in pay.inner_text("#balance")
    assert pay.locator(".line-status", has_text="支付失败").count() == 0
    pdf = pay.request.get(server.url + pay.locator("#recon-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    slip = pay.request.get(server.url + pay.locator(".slip-link").first.get_attribute("href"))
    assert slip.status == 200 and slip.body()[:5] == b"%PDF-"
    fits_the_phone(pay)
    no_raw_codes(pay)
    shots(pay, "reconciled")
    pay.goto("/payments/pools")
    pay.wait_for_selector("#pools")
    assert "平衡" in pay.inner_text("#pools-balance")
    fits_the_phone(pay)
    no_raw_codes(pay)
    shots(pay, "pools")

    village.goto(f"/matters/{mid}")
    for form_id in ("form-announce", "form-archive"):
        _step(village, form_id)
    assert village.inner_text("#matter-state") == STATE_LABELS[State.ARCHIVED]
    assert "已核销 1 笔" in village.inner_text("#batch")
    fits_the_phone(village)
    no_raw_codes(village)
    shots(village, "archived")
    public.goto("/public")
    public.click("text=2025年度兴隆村集体收益分配方案")
    public.wait_for_selector("#result")
    assert "已核销" in public.inner_text("#result") and "户主已迁出" in public.inner_text("#written-off")
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
    for p in (village, township, public, pay, auditor):
        assert p.js_errors == [], p.js_errors
