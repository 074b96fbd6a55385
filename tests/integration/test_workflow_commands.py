"""One typed command per step behind every front door: the API's body, the page's form and the command line's
options reach the workflow as the same command, and a bad field is refused by name before anything is written."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.workflow import Matter, Meeting
from daipin.db.session import session_scope
from daipin.services.villages.service import registry_counts
from tests.integration.api_support import (
    START,
    World,
    app_on_session,
    build_world,
    cli,
    client,
    command_line_clock,
)

DISTRICT_DOC = Path(__file__).resolve().parents[2] / "docs" / "examples" / "district-allocation.json"


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


def _meetings(session: Session, matter_id: int) -> list[Meeting]:
    return list(session.scalars(select(Meeting).where(Meeting.matter_id == matter_id).order_by(Meeting.id)))


def _district_matter(c: Any, w: World) -> int:
    body = {"kind": "district_allocation", "region": "231002", "title": "2026年区级收益资金分配", "year": 2026,
            "document": json.loads(DISTRICT_DOC.read_text(encoding="utf-8"))}
    r = c.post("/api/v1/matters", json=body, headers=w.headers("district_admin"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_the_api_calls_a_leading_group_meeting_with_its_members_and_the_group_decides(session: Session,
                                                                                      world: World) -> None:
    app, clock = app_on_session(session)
    c = client(app)
    mid = _district_matter(c, world)
    url = f"/api/v1/matters/{mid}/actions"
    admin = world.headers("district_admin")
    r = c.post(f"{url}/call_meeting", headers=admin,
               json={"type": "leading_group_meeting", "scheduled_at": "2026-03-02T14:00:00+08:00",
                     "place": "区政府第一会议室", "eligible_members": 9})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "meeting_called" and r.json()["meeting"]["type"] == "leading_group_meeting"
    (meeting,) = _meetings(session, mid)
    assert meeting.eligible_members == 9 and meeting.place == "区政府第一会议室"
    # A leading group needs no ten days' notice (the login lasts 12 hours: the group sits the same day).
    assert meeting.scheduled_at.replace(tzinfo=UTC) == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    clock.advance(hours=6)
    r = c.post(f"{url}/record_attendance", headers=admin, json={"present_members": 7, "first_secretary_present": False})
    assert r.status_code == 200, r.text
    assert c.post(f"{url}/record_votes", headers=admin, json={"votes_for": 6, "against": 1, "abstain": 0}
                  ).status_code == 200
    decided = c.post(f"{url}/decide", headers=admin)
    assert decided.status_code == 200 and decided.json()["state"] == "decided", decided.text
    session.refresh(meeting)
    assert (meeting.present_members, meeting.votes_for, meeting.quorum_met, meeting.passed) == (7, 6, True, True)


@pytest.mark.parametrize(("body", "field"), [
    ({"eligible_members": -1}, "eligible_members"),
    ({"eligible_members": "九"}, "eligible_members"),
    ({"eligible_member": 9}, "eligible_member"),  # a misspelt field is named, not dropped
    ({"votes_for": 6}, "votes_for"),  # another step's field
    ({"scheduled_at": "下周三"}, "scheduled_at"),
    ({"scheduled_at": "0001-01-01T00:00:00"}, "scheduled_at"),
    ({"type": "村民大会"}, "type"),
    ({"eligible_members": None}, "eligible.members"),  # well-formed, but a leading group needs its count
])
def test_a_bad_field_in_a_step_s_body_is_refused_by_name_and_nothing_is_written(
        session: Session, world: World, body: dict[str, Any], field: str) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    mid = _district_matter(c, world)
    before = _entries(session)
    good = {"type": "领导小组会议", "scheduled_at": "2026-03-04T10:00:00+08:00", "place": "区政府",
            "eligible_members": 9}
    sent = {k: v for k, v in {**good, **body}.items() if v is not None}
    r = c.post(f"/api/v1/matters/{mid}/actions/call_meeting", json=sent, headers=world.headers("district_admin"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == field, error
    assert re.search(r"[\u4e00-\u9fff]", error["message_zh"]) and error["message_en"]
    assert _entries(session) == before and _meetings(session, mid) == []
    assert session.get(Matter, mid).state == "draft"  # type: ignore[union-attr]


def test_a_step_s_body_is_read_only_after_the_login_and_a_body_that_is_not_json_is_refused(session: Session,
                                                                                           world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    url = f"/api/v1/matters/{world.ids['matter_own']}/actions/call_meeting"
    assert c.post(url, json={"eligible_members": -1}).status_code == 401
    r = c.post(url, content=b"{not json", headers={**world.headers("village_cadre"),
                                                     "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_the_matter_page_s_form_calls_the_meeting_through_the_same_command(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    mid = world.ids["matter_own"]
    c.cookies.set("daipin_session", world.tokens["village_cadre"])
    page = c.get(f"/matters/{mid}")
    assert page.status_code == 200 and "form-call_meeting" in page.text
    form = {"csrf_token": _csrf(page.text), "type": "representatives_meeting", "scheduled_at": "2026-03-13T09:00",
            "place": "村委会议室", "eligible_adults": "", "eligible_households": ""}
    before = _entries(session)
    # A number typed for the representatives (as the form once asked) is refused: it comes from the registry.
    refused = c.post(f"/matters/{mid}/call_meeting", data={**form, "eligible_representatives": "30"},
                     follow_redirects=False)
    # (the field named by its label, as people read it)
    assert refused.status_code == 422 and "应到代表人数" in refused.text and "登记册" in refused.text
    assert _entries(session) == before and _meetings(session, mid) == []
    assert 'name="eligible_representatives"' not in page.text and "eligible-from-registry" in page.text
    done = c.post(f"/matters/{mid}/call_meeting", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    (meeting,) = _meetings(session, mid)
    # The datetime-local field is Beijing time: 09:00 there is 01:00 UTC.
    assert meeting.scheduled_at.replace(tzinfo=UTC) == datetime(2026, 3, 13, 1, 0, tzinfo=UTC)
    counted = registry_counts(session, "231002001001", date(2026, 3, 13))
    assert (meeting.eligible_representatives, meeting.eligible_adults, meeting.place) == (
        len(counted.representatives), counted.adults, "村委会议室")
    assert meeting.eligible_representatives > 0 and meeting.eligible_adults > meeting.eligible_representatives
    assert meeting.scheduled_at.replace(tzinfo=UTC) - START > timedelta(days=10)


def _cli(*args: str, code: int = 0) -> Any:
    return cli(*args, code=code)


def test_the_command_line_calls_a_leading_group_meeting_and_names_a_bad_count_as_the_api_does(
        cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = command_line_clock(monkeypatch, datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    district = "district_admin:d1@231002"
    _cli("matter", "draft", "district_allocation", "231002", str(DISTRICT_DOC), "--title", "2024年区级收益资金分配",
         "--year", "2024", "--as", district)
    clock.advance(hours=1)
    bad = _cli("matter", "call-meeting", "1", "--type", "领导小组会议", "--scheduled-at", "2024-03-03T09:00:00+00:00",
               "--place", "区政府", "--members", "-1", "--as", district, code=2)
    assert bad.stderr.startswith("错误 / error: eligible_members:") and "不能小于 0" in bad.stderr
    assert json.loads(_cli("matter", "show", "1").output)["meeting"] is None
    called = _cli("matter", "call-meeting", "1", "--type", "领导小组会议", "--scheduled-at", "2024-03-03T09:00:00+00:00",
                  "--place", "区政府", "--members", "9", "--as", district)
    assert "区政府" in called.output
    shown = json.loads(_cli("matter", "show", "1").output)
    assert shown["state"] == "meeting_called" and shown["meeting"]["type"] == "leading_group_meeting"
    with session_scope() as s:
        assert s.scalar(select(Meeting.eligible_members)) == 9
