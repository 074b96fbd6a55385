"""The steps' commands on their own: a form, a JSON body and the command line's values make the same command;
a bad value is refused naming its field in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import get_args

import pytest

from daipin.domain.errors import InputError, NotFound
from daipin.domain.workflow import MeetingType
from daipin.services.matters import commands as c
from daipin.services.payments.commands import RecordPayment


def test_a_meeting_from_the_form_the_api_and_the_command_line_is_one_command() -> None:
    # A village meeting's eligible numbers are counted from the registry: none is typed (a blank box is no value).
    form = c.CallMeeting.from_form({"csrf_token": "t", "type": "representatives_meeting",
                                    "scheduled_at": "2026-03-13T09:00", "place": " 村委会 ",
                                    "eligible_adults": "", "eligible_households": ""})
    api = c.CallMeeting.model_validate({"type": "representatives_meeting", "scheduled_at": "2026-03-13T09:00:00+08:00",
                                        "place": "村委会"})
    cli = c.CallMeeting.parse({"type": "村民代表会议", "scheduled_at": datetime(2026, 3, 13, 1, 0, tzinfo=UTC),
                               "place": "村委会", "eligible_members": 0})
    assert form == api == cli
    assert form.type is MeetingType.REPRESENTATIVES and form.eligible_members == 0
    assert set(form.model_dump()) == {"type", "scheduled_at", "place", "eligible_members"}
    assert form.scheduled_at == datetime(2026, 3, 13, 1, 0, tzinfo=UTC) and form.scheduled_at.tzinfo is UTC


@pytest.mark.parametrize("name", ["eligible_adults", "eligible_households", "eligible_representatives"])
def test_a_typed_eligible_number_of_a_village_meeting_is_refused_naming_it_and_the_registry(name: str) -> None:
    """The reported case: a cadre typed 4 eligible adults (the registry holds 70); the number is no longer taken."""
    values = {"type": "villagers_meeting", "scheduled_at": "2026-03-13T09:00", "place": "村委会", name: 4}
    for front_door in (c.CallMeeting.parse, c.CallMeeting.from_form):
        with pytest.raises(InputError) as exc:
            front_door({k: str(v) for k, v in values.items()} if front_door == c.CallMeeting.from_form else values)
        assert exc.value.field == name
        assert "登记册" in exc.value.message_zh and "registry" in exc.value.message_en
    assert name not in c.CallMeeting.model_json_schema()["properties"]


def test_a_time_without_its_zone_is_beijing_time_and_one_with_a_zone_keeps_it() -> None:
    naive = c.CallMeeting.model_validate({"type": "leading_group_meeting", "scheduled_at": "2026-03-13T09:00:00",
                                          "place": "区政府", "eligible_members": 9})
    assert naive.scheduled_at == datetime(2026, 3, 13, 1, 0, tzinfo=UTC)
    zoned = naive.model_copy(update={"scheduled_at": datetime(2026, 3, 13, 9, 0, tzinfo=timezone(timedelta(hours=-5)))})
    assert c.CallMeeting.parse(zoned.model_dump()).scheduled_at == datetime(2026, 3, 13, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("step", "form", "field", "zh"), [
    (c.CallMeeting, {"type": "villagers_meeting", "scheduled_at": "2026-03-13T09:00", "place": "x",
                     "eligible_adults": "三十"}, "eligible_adults", "按登记册计算"),
    (c.CallMeeting, {"type": "leading_group_meeting", "scheduled_at": "2026-03-13T09:00", "place": "x",
                     "eligible_members": "九"}, "eligible_members", "应为整数"),
    (c.CallMeeting, {"type": "villagers_meeting", "scheduled_at": "13/03/2026", "place": "x"}, "scheduled_at",
     "YYYY-MM-DD"),
    (c.CallMeeting, {"type": "村民大会", "scheduled_at": "2026-03-13T09:00", "place": "x"}, "type", "之一"),
    (c.CallMeeting, {"type": "villagers_meeting", "scheduled_at": "2026-03-13T09:00", "place": ""}, "place", "缺少"),
    (c.RecordAttendance, {"present_adults": "-1", "first_secretary_present": "yes"}, "present_adults", "不能小于 0"),
    (c.RecordAttendance, {"present_adults": "3"}, "first_secretary_present", "缺少"),
    (c.RecordVotes, {"votes_for": "1.5"}, "votes_for", "应为整数"),
    (c.Review, {"decision": "maybe"}, "decision", "之一"),
    (c.PublishNotice, {"window_days": "0"}, "window_days", "不能小于 1"),
    (c.AnswerObjection, {"outcome": "dismissed", "reasons": "核实无误"}, "objection_id", "缺少"),
    (c.DraftMatter, {"region": "231002001001", "title": "t", "document": "[1]"}, "document", "JSON 对象"),
    (c.DraftMatter, {"region": "231002001001", "title": "t", "document": "{", "year": "2024"}, "document",
     "不是有效的 JSON"),
    (RecordPayment, {"payment_ref": "NX-1"}, "outcome", "缺少"),
])
def test_a_bad_form_field_is_refused_naming_it_in_chinese_and_english(
        step: type[c.Command], form: dict[str, str], field: str, zh: str) -> None:
    with pytest.raises(InputError) as exc:
        step.from_form(form)
    assert exc.value.field == field and zh in exc.value.message_zh
    assert exc.value.message_en and exc.value.message_en != exc.value.message_zh


def test_a_form_reads_only_its_step_s_fields_and_leaves_blank_ones_to_the_defaults() -> None:
    attendance = c.RecordAttendance.from_form({"csrf_token": "t", "go": "1", "present_representatives": "21",
                                               "present_adults": "", "first_secretary_present": "no",
                                               "cadres_present": "第一书记， 驻村工作队员,", "minutes_ref": ""})
    assert attendance == c.RecordAttendance(present_representatives=21, first_secretary_present=False,
                                            cadres_present=["第一书记", "驻村工作队员"])
    assert c.Decide.from_form({"csrf_token": "t", "go": "1"}) == c.Decide()
    assert c.PublishNotice.from_form({"go": "1"}).window_days is None
    assert c.RecordVotes.from_form({"votes_for": "18", "against": "2", "abstain": "0"}) == c.RecordVotes(
        votes_for=18, against=2, abstain=0)


def test_an_emptied_justification_is_a_change_and_a_blank_title_is_none() -> None:
    update = c.UpdateDraft.from_form({"justification": "  ", "title": ""})
    assert update.justification == "" and update.title is None and update.document is None
    draft = c.DraftMatter.from_form({"kind": "village_allocation", "region": "231002001001", "title": "分配",
                                     "document": '{"kind": "village_allocation", "pool_fen": 100}', "year": "2024"})
    assert draft.document == {"kind": "village_allocation", "pool_fen": 100} and draft.year == 2024
    assert draft.proposer == "村民委员会"


def test_attendees_and_ballots_are_typed_and_a_field_no_list_collects_is_refused() -> None:
    att = c.RecordAttendance.parse({"present_members": 2, "first_secretary_present": False,
                                    "attendees": ["m1", {"key": "m2", "role": "组长"}]})
    assert [a.model_dump(exclude_none=True) for a in att.attendees or []] == [{"key": "m1"},
                                                                            {"key": "m2", "role": "组长"}]
    with pytest.raises(InputError) as exc:
        c.RecordAttendance.parse({"first_secretary_present": True, "attendees": [{"key": "m1", "id_number": "x"}]})
    assert exc.value.field == "attendees.0.id_number"
    with pytest.raises(InputError) as exc:
        c.RecordVotes.parse({"ballots": [{"attendee": "", "vote": "for"}]})
    assert exc.value.field == "ballots.0.attendee"


def test_a_command_is_not_changed_once_built_and_takes_no_unknown_field() -> None:
    cmd = c.Review(decision="approve")
    with pytest.raises(ValueError, match="frozen"):
        cmd.comments = "x"  # type: ignore[misc]
    with pytest.raises(InputError) as exc:
        c.Review.parse({"decision": "approve", "comment": "typo"})
    assert exc.value.field == "comment" and "不接受此项" in exc.value.message_zh


def test_every_step_the_urls_name_has_its_command_and_no_other_name_does() -> None:
    from daipin.api.routers.workflow import Action

    assert set(get_args(Action)) == set(c.STEPS)
    with pytest.raises(NotFound) as exc:
        c.step_of("delete")
    assert exc.value.field == "action"
