"""Every time a person reads is Beijing time with the zone named, near midnight where UTC and Beijing differ in
the day: error messages (service, API, page), pages, the printed notice, the command line and the API's text."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import Conflict
from daipin.services.auth import service as auth_service
from daipin.services.matters import service as wf
from daipin.services.rosters import service as rosters
from tests.integration.api_support import Clock, app_on_session, cli, client, command_line_clock
from tests.integration.test_workflow import CADRE, PUBLIC, TOWNSHIP, VILLAGE, seed

DAY = timedelta(days=1)
# The notice window ends at 16:33 UTC on 16 December, which is 00:33 on 17 December in Beijing: a time shown
# in UTC (or UTC passed off as Beijing time) is 8 hours and one day off, and "16:33" must appear nowhere.
ENDS = datetime(2026, 12, 16, 16, 33, tzinfo=UTC)
ENDS_TEXT = "2026-12-17 00:33 北京时间"
ENDS_EN = "2026-12-17 00:33 Beijing time"
POSTED = ENDS - 10 * DAY  # a roster of poor and monitored households: 10 days; 2026-12-07 00:33 in Beijing
POSTED_TEXT = "2026-12-07 00:33 北京时间"
START = POSTED - 12 * DAY  # the meeting is called then, and sits 10 days later
SITS = START + 10 * DAY
SITS_TEXT = "2026-12-05 00:33 北京时间"
UTC_CLOCK = "16:33"


def iso(at: datetime) -> str:
    return at.isoformat()


def walk_to_notice(session: Session, year: int = 2026) -> Matter:
    """The village's roster of `year`, decided, approved and posted at POSTED (every step at 16:33 UTC)."""
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=year, at=START)
    wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=SITS, place="村委会", at=START)
    wf.record_attendance(session, CADRE, m.id, present_representatives=20, first_secretary_present=True, at=SITS)
    wf.record_votes(session, CADRE, m.id, votes_for=18, against=2, abstain=0, at=SITS)
    wf.decide(session, CADRE, m.id, at=SITS)
    wf.submit_for_review(session, CADRE, m.id, at=SITS + DAY)
    wf.review(session, TOWNSHIP, m.id, decision="approve", comments="同意", at=SITS + DAY)
    n = wf.publish_notice(session, CADRE, m.id, at=POSTED)
    assert n.window_days == 10
    return m


@pytest.fixture
def posted(session: Session) -> Matter:
    seed(session)
    return walk_to_notice(session)


def test_the_services_messages_name_the_beijing_time(session: Session, posted: Matter) -> None:
    with pytest.raises(Conflict) as early:
        wf.close_notice(session, CADRE, posted.id, at=ENDS - timedelta(minutes=1))
    assert early.value.code == "window_not_over"
    assert early.value.message_zh == f"公示期未满，{ENDS_TEXT} 后方可结束"
    assert ENDS_EN in early.value.message_en and UTC_CLOCK not in early.value.text()

    with pytest.raises(Conflict) as late:
        wf.file_objection(session, PUBLIC, posted.id, text="迟到的异议", at=ENDS + timedelta(minutes=1))
    assert late.value.message_zh == f"公示期已于 {ENDS_TEXT} 结束，不能再提出异议"
    assert ENDS_EN in late.value.message_en and UTC_CLOCK not in late.value.text()

    # Another year's roster whose meeting has not sat yet.
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2027, at=START)
    wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=SITS, place="村委会", at=START)
    with pytest.raises(Conflict) as unsat:
        wf.record_attendance(session, CADRE, m.id, present_representatives=20, first_secretary_present=True,
                             at=SITS - timedelta(minutes=1))
    assert f"定于 {SITS_TEXT}" in unsat.value.message_zh
    assert "2026-12-05 00:33 Beijing time" in unsat.value.message_en and UTC_CLOCK not in unsat.value.text()


def _login(session: Session, at: datetime) -> str:
    user = auth_service.create_user(session, actor=SYSTEM_ACTOR, username="cadre-bj", password="beijing-pass-1",
                                    role="village_cadre", region=VILLAGE, at=at)
    return auth_service.start_session(session, user, at=at).token


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_api_and_the_pages_show_beijing_time_in_messages_and_text(session: Session, posted: Matter) -> None:
    now = ENDS - timedelta(minutes=1)
    token = _login(session, now)
    app, _ = app_on_session(session, Clock(now))
    c = client(app)
    bearer = {"Authorization": f"Bearer {token}"}

    # The API's message, in both languages, names the Beijing time; the code and field stay machine words.
    r = c.post(f"/api/v1/matters/{posted.id}/actions/close_notice", json={}, headers=bearer)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "window_not_over"
    assert err["message_zh"] == f"公示期未满，{ENDS_TEXT} 后方可结束"
    assert ENDS_EN in err["message_en"] and ENDS_TEXT in err["message"] and UTC_CLOCK not in r.text

    # The API's text for people (the list's last change) is Beijing time; its timestamps stay ISO UTC.
    listed = c.get("/api/v1/matters", headers=bearer)
    assert listed.status_code == 200
    row = next(x for x in listed.json()["items"] if x["id"] == posted.id)
    assert row["updated"] == POSTED_TEXT
    shown = c.get(f"/api/v1/matters/{posted.id}", headers=bearer).json()
    assert shown["notice"]["ends_at"] == iso(ENDS) and shown["notice"]["posted_at"] == iso(POSTED)
    public = c.get(f"/api/v1/public/notices/{shown['notice']['id']}").json()
    assert public["ends_at"] == iso(ENDS) and public["posted_at"] == iso(POSTED)

    # The matter page shows the window, the meeting and the history in Beijing time.
    c.cookies.set("daipin_session", token)
    page = c.get(f"/matters/{posted.id}").text
    window = re.search(r'<p id="notice-window">(.*?)</p>', page, re.S)
    assert window and f"{POSTED_TEXT} — {ENDS_TEXT}" in window.group(1)
    assert SITS_TEXT in page and UTC_CLOCK not in page
    # The matters list shows the last change in Beijing time.
    assert POSTED_TEXT in c.get("/matters").text

    # Closing early from the page: the error shown on the page names the Beijing time.
    refused = c.post(f"/matters/{posted.id}/close_notice", data={"csrf_token": _csrf(page)})
    assert refused.status_code == 409
    assert f"公示期未满，{ENDS_TEXT} 后方可结束" in refused.text and UTC_CLOCK not in refused.text

    # An English page says "Beijing time", in its times and in its error.
    c.cookies.set("daipin_lang", "en")
    english = c.get(f"/matters/{posted.id}").text
    assert f"2026-12-07 00:33 Beijing time — {ENDS_EN}" in english and "北京时间 —" not in english
    refused_en = c.post(f"/matters/{posted.id}/close_notice", data={"csrf_token": _csrf(english)})
    assert refused_en.status_code == 409 and ENDS_EN in refused_en.text and UTC_CLOCK not in refused_en.text


def test_the_portal_and_the_printed_notice_show_beijing_time(session: Session, posted: Matter) -> None:
    from pypdf import PdfReader

    app, _ = app_on_session(session, Clock(ENDS - timedelta(minutes=1)))
    c = client(app)
    notice_id = wf.current_notice(session, posted).id  # type: ignore[union-attr]
    page = c.get(f"/public/notices/{notice_id}").text
    assert f"{POSTED_TEXT} — {ENDS_TEXT}" in page and UTC_CLOCK not in page
    assert POSTED_TEXT in c.get("/public").text
    pdf = c.get(f"/public/notices/{notice_id}.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert f"{POSTED_TEXT} 至 {ENDS_TEXT}" in flat and UTC_CLOCK not in flat


# ---------------------------------------------------------------- the command line, on a database of its own


def run(*args: str, code: int = 0) -> str:
    return str(cli(*args, code=code).output)


def test_the_command_line_prints_beijing_time(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = command_line_clock(monkeypatch, START)
    cadre, town = "village_cadre:c1@231002001001", "township_official:t1@231002001"
    run("matter", "roster", VILLAGE, "2026", "--as", cadre)
    short = run("matter", "call-meeting", "1", "--type", "村民代表会议", "--scheduled-at", iso(START + 9 * DAY),
                "--place", "村委会", "--as", cadre, code=2)
    assert "召集于 2026-11-25 00:33 北京时间，开会于 2026-12-04 00:33 北京时间" in short
    assert "Beijing time" in short and UTC_CLOCK not in short
    called = run("matter", "call-meeting", "1", "--type", "村民代表会议", "--scheduled-at", iso(SITS),
                 "--place", "村委会", "--as", cadre)
    assert f"定于 {SITS_TEXT} 在 村委会 召开" in called and UTC_CLOCK not in called
    clock.at = SITS
    run("matter", "attend", "1", "--representatives", "20", "--first-secretary", "--as", cadre)
    run("matter", "vote", "1", "--for", "18", "--against", "2", "--abstain", "0", "--as", cadre)
    run("matter", "decide", "1", "--as", cadre)
    clock.at = SITS + DAY
    run("matter", "submit", "1", "--as", cadre)
    run("matter", "review", "1", "approve", "--comments", "同意", "--as", town)
    clock.at = POSTED
    published = run("matter", "publish", "1", "--as", cadre).splitlines()[0]
    assert published == f"公示 1：10 天，至 {ENDS_TEXT} 止"
    clock.at = ENDS - timedelta(minutes=1)
    early = run("matter", "close", "1", "--as", cadre, code=2)
    assert f"公示期未满，{ENDS_TEXT} 后方可结束" in early and ENDS_EN in early and UTC_CLOCK not in early
    clock.at = ENDS
    assert "(notice_closed)" in run("matter", "close", "1", "--as", cadre)  # at the end, it may
