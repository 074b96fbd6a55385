"""Each role's main job on a phone (390×844), end to end on one village allocation: the village cadre drafts it and
holds the meeting, the township official reviews, approves and posts the notice and executes it, the district
administrator sends the bank file and records the bank's return, the village announces and archives, and the auditor
reads the dossier and verifies the ledger. Every page on the way fits the screen, its tables stacked."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from daipin.domain.workflow import STATE_LABELS, State
from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
TITLE = "兴隆村年度收益分配（手机办理）"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the village's pool for the year is free (the shared server's story
    takes it), and the clock it advances moves no other test's."""
    with running_server(tmp_path_factory.mktemp("role-stories")) as srv:
        yield srv


def _phone(browser: Any, server: Server, user: str) -> Any:
    page = new_page(browser, server, **PHONE)
    login(page, user)
    return page


def _step(page: Any, form_id: str) -> None:
    page.click(f"#{form_id} button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#action-error").count() == 0, page.locator("#action-error").inner_text()


def _on_screen(page: Any) -> None:
    """The page fits the phone, and every cell of its tables is on the screen under its label."""
    fits_the_phone(page)
    beyond = page.evaluate("""() => [...document.querySelectorAll('main td, main th')].filter(c => {
        const b = c.getBoundingClientRect(); return b.width > 0 && b.right > window.innerWidth + 1; }).length""")
    assert beyond == 0, f"{page.url}: {beyond} table cells beyond the screen"
    no_raw_codes(page)


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_each_role_does_its_main_job_on_a_phone(browser: Any, demo: Server, shots: Shots) -> None:
    # The village cadre: the draft with the engine's preview, then the meeting called ten days ahead.
    village = _phone(browser, demo, "village")
    village.goto("/matters/new")
    village.wait_for_selector("#preview-total")
    _on_screen(village)
    village.fill("input[name=title]", TITLE)
    village.fill("input[name=responsible_person]", "村委会主任")
    village.click("#draft-form > button[type=submit]")
    village.wait_for_url(re.compile(r"/matters/\d+$"))
    mid = int(re.findall(r"\d+", village.url)[-1])
    assert village.inner_text("#matter-state") == STATE_LABELS[State.DRAFT]
    village.select_option("#form-call_meeting select[name=type]", "representatives_meeting")
    scheduled = datetime.fromisoformat(village.input_value("#form-call_meeting input[name=scheduled_at]"))
    _step(village, "form-call_meeting")
    assert village.inner_text("#matter-state") == STATE_LABELS[State.MEETING_CALLED]
    found = re.search(r"村民代表 (\d+)", village.inner_text("#meeting-eligible"))
    assert found
    representatives = int(found.group(1))
    _on_screen(village)
    shots(village, "village-meeting-called")
    # The meeting sits: attendance, votes, the outcome, and the matter goes to the township.
    demo.clock.advance(days=11)
    login(village, "village")
    village.goto(f"/matters/{mid}")
    village.fill("#form-record_attendance input[name=present_representatives]", str(representatives))
    village.fill("#attendance-held-at", f"{scheduled + timedelta(hours=1):%Y-%m-%dT%H:%M}")
    _step(village, "form-record_attendance")
    village.fill("#form-record_votes input[name=votes_for]", str(representatives))
    village.fill("#form-record_votes input[name=against]", "0")
    village.fill("#form-record_votes input[name=abstain]", "0")
    _step(village, "form-record_votes")
    _step(village, "form-decide")
    _step(village, "form-submit")
    assert village.inner_text("#matter-state") == STATE_LABELS[State.UNDER_REVIEW]
    _on_screen(village)
    shots(village, "village-submitted")

    # The township official: reads the matter on the phone, approves it and posts the notice.
    township = _phone(browser, demo, "township")
    township.goto("/matters")
    township.click(f"#matter-table a[href='/matters/{mid}']")
    township.wait_for_selector("#form-review")
    _on_screen(township)
    township.fill("#form-review textarea[name=comments]", "经审核，符合分配方案")
    township.click("#form-review button[value=approve]")
    township.wait_for_load_state("networkidle")
    assert township.locator("#action-error").count() == 0
    _step(township, "form-publish")
    assert township.inner_text("#matter-state") == STATE_LABELS[State.IN_NOTICE]
    assert "北京时间" in township.inner_text("#notice")
    _on_screen(township)
    shots(township, "township-notice-posted")
    # The notice window runs out without objection: the township closes it and executes the allocation.
    demo.clock.advance(days=11)
    login(township, "township")
    township.goto(f"/matters/{mid}")
    for form_id in ("form-close_notice", "form-execute"):
        _step(township, form_id)
    assert township.locator("#batch").count() == 1
    _on_screen(township)

    # The district administrator: the batch's bank file out, the bank's return in, the pool balanced to the fen.
    district = _phone(browser, demo, "district")
    district.goto(f"/matters/{mid}")
    assert district.locator("#form-execute").count() == 0  # a village's matter is executed by its keepers
    district.click("#payments-link")
    district.wait_for_selector(".pay-form")
    district.click("#batch-link")
    district.wait_for_selector("#reconciliation")
    _on_screen(district)
    district.select_option("#bank-file-form select[name=format]", "csv")
    with district.expect_download() as dl:
        district.click("#bank-file-form button[type=submit]")
    with open(dl.value.path(), "rb") as fh:
        sent = list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"))))
    assert sent[0][:2] == ["序号", "户名"] and sent[-1][0] == "笔数" and len(sent) > 2
    back = [[*sent[0], "状态", "失败原因", "流水号"]] + [[*r, "成功", "", f"YH-ROLE-{r[0]}"] for r in sent[1:-1]]
    district.reload()
    district.set_input_files("#return-form input[type=file]",
                             files=[{"name": "back.csv", "mimeType": "text/csv", "buffer": _csv(back)}])
    district.click("#return-form button[type=submit]")
    district.wait_for_selector("#done")
    assert "平衡" in district.inner_text("#balance")
    assert district.locator(".line-status", has_text="已支付").count() == len(sent) - 2
    _on_screen(district)
    shots(district, "district-return-recorded")

    # The village announces the result and archives the matter.
    login(village, "village")  # its session ended with the clock's eleven days
    village.goto(f"/matters/{mid}")
    for form_id in ("form-announce", "form-archive"):
        _step(village, form_id)
    assert village.inner_text("#matter-state") == STATE_LABELS[State.ARCHIVED]
    _on_screen(village)
    shots(village, "village-archived")

    # The auditor: the matter's dossier read, and the ledger verified.
    auditor = _phone(browser, demo, "auditor")
    auditor.goto(f"/matters/{mid}")
    _on_screen(auditor)
    with auditor.expect_download() as dl:
        auditor.click("#dossier-link")
    with open(dl.value.path(), "rb") as fh:
        dossier = zipfile.ZipFile(io.BytesIO(fh.read()))
    manifest = json.loads(dossier.read("manifest.json"))
    assert TITLE in json.dumps(manifest, ensure_ascii=False)
    assert any(n.startswith("dossier/") for n in dossier.namelist())
    auditor.goto("/ledger")
    auditor.click("#verify-button")
    auditor.wait_for_selector("#verify-ok")
    _on_screen(auditor)
    shots(auditor, "auditor-ledger-verified")
    for p in (village, township, district, auditor):
        assert p.js_errors == [], p.js_errors


def test_the_demo_s_province_account_reads_every_county_and_changes_nothing(browser: Any, demo: Server) -> None:
    page = new_page(browser, demo, **PHONE)
    page.goto("/login")
    hints = page.inner_text("#demo-accounts")  # the sign-in page of the demo names its accounts, one per role
    for username, role in (("district", "区级管理员"), ("village", "村干部"), ("auditor", "审计"), ("province", "省级")):
        assert username in hints and role in hints, hints
    assert "daipin-demo" in hints
    fits_the_phone(page)
    login(page, "province")
    page.goto("/matters")
    assert page.locator("#matter-table tbody tr a[href^='/matters/']").count() > 0  # the county's matters
    _on_screen(page)
    assert page.locator("a[href='/matters/new']").count() == 0
    assert page.goto("/matters/new").status == 403  # reads only: drafts nothing
    assert page.goto("/households/new").status == 403
    page.goto("/ledger")
    page.click("#verify-button")
    page.wait_for_selector("#verify-ok")
    _on_screen(page)
    page.goto("/province/duplicates")
    assert page.locator("h1").count() == 1
    fits_the_phone(page)
    assert page.js_errors == [], page.js_errors
