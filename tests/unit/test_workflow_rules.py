"""The pure decision-path rules: transitions, quorum and majority, meeting notice, windows, review blockers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daipin.domain.errors import Conflict, InputError
from daipin.domain.workflow import (
    Action,
    CountyRules,
    Eligible,
    MatterKind,
    MeetingType,
    Present,
    State,
    Tally,
    Threshold,
    allowed_actions,
    check_meeting_notice,
    check_notice_days,
    check_tally,
    decide,
    monitoring_roster,
    next_state,
    notice_days_for,
    notice_window,
    parse_meeting_type,
    personal_data_in,
    review_blockers,
    tally_ballots,
    window_open,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)  # 17:00 in Beijing

VILLAGE_WALK = [
    (Action.CALL_MEETING, State.MEETING_CALLED),
    (Action.RECORD_ATTENDANCE, State.MEETING_CALLED),
    (Action.RECORD_VOTES, State.MEETING_CALLED),
    (Action.DECIDE, State.DECIDED),
    (Action.SUBMIT, State.UNDER_REVIEW),
    (Action.APPROVE, State.APPROVED),
    (Action.PUBLISH, State.IN_NOTICE),
    (Action.CLOSE_NOTICE, State.NOTICE_CLOSED),
    (Action.EXECUTE, State.EXECUTED),
    (Action.ANNOUNCE, State.EXECUTED),
    (Action.ARCHIVE, State.ARCHIVED),
]


def test_a_village_matter_walks_every_state_in_order() -> None:
    state = State.DRAFT
    for action, expected in VILLAGE_WALK:
        state = next_state(MatterKind.VILLAGE_ALLOCATION, state, action, passed=True)
        assert state is expected


def test_a_failed_vote_rejects_the_matter_and_nothing_follows_but_its_withdrawal() -> None:
    assert next_state("village_allocation", State.MEETING_CALLED, Action.DECIDE, passed=False) is State.REJECTED
    assert allowed_actions("village_allocation", State.REJECTED) == [Action.WITHDRAW]


def test_a_matter_is_withdrawn_only_before_it_executed() -> None:
    for kind in MatterKind:
        for state in State:
            can = Action.WITHDRAW in allowed_actions(kind, state)
            assert can == (state not in (State.EXECUTED, State.ARCHIVED, State.WITHDRAWN)), (kind, state)
    assert allowed_actions("village_allocation", State.WITHDRAWN) == []


def test_a_meeting_without_quorum_decides_nothing_and_the_matter_may_call_a_new_meeting() -> None:
    for kind in (MatterKind.VILLAGE_ALLOCATION, MatterKind.DISTRICT_ALLOCATION):
        after = next_state(kind, State.MEETING_CALLED, Action.NO_QUORUM)
        assert after is State.DRAFT and after is not State.REJECTED
        assert next_state(kind, after, Action.CALL_MEETING) is State.MEETING_CALLED
        with pytest.raises(Conflict):
            next_state(kind, after, Action.SUBMIT if kind is MatterKind.VILLAGE_ALLOCATION else Action.PUBLISH)
    with pytest.raises(Conflict):
        next_state(MatterKind.TOWNSHIP_PROJECT, State.MEETING_CALLED, Action.NO_QUORUM)


def test_a_decision_without_quorum_neither_passes_nor_rejects() -> None:
    d = decide(MeetingType.REPRESENTATIVES, Eligible(representatives=30), Present(representatives=19), Tally(19, 0, 0))
    assert d.action is Action.NO_QUORUM and d.outcome is State.DRAFT
    failed = decide(MeetingType.REPRESENTATIVES, Eligible(representatives=30), Present(representatives=20),
                    Tally(10, 10, 0))
    assert failed.action is Action.DECIDE and failed.outcome is State.REJECTED


def test_outcomes_of_other_steps_are_not_offered_as_next_steps() -> None:
    assert Action.NO_QUORUM not in allowed_actions("village_allocation", State.MEETING_CALLED)
    assert Action.DECIDE in allowed_actions("village_allocation", State.MEETING_CALLED)
    assert Action.REOPEN not in allowed_actions("village_allocation", State.IN_NOTICE)
    assert Action.ANSWER_OBJECTION in allowed_actions("village_allocation", State.IN_NOTICE)


def test_returned_and_reopened_matters_go_back_to_draft() -> None:
    assert next_state("contract", State.UNDER_REVIEW, Action.RETURN) is State.DRAFT
    assert next_state("contract", State.IN_NOTICE, Action.REOPEN) is State.DRAFT


def test_an_invalid_transition_names_the_state_and_the_wanted_action() -> None:
    with pytest.raises(Conflict) as exc:
        next_state("village_allocation", State.DRAFT, Action.EXECUTE)
    assert "draft" in exc.value.message_en and "execute" in exc.value.message_en
    assert "草拟" in exc.value.message_zh and "执行" in exc.value.message_zh


@pytest.mark.parametrize("state", [State.DRAFT, State.MEETING_CALLED, State.DECIDED, State.UNDER_REVIEW,
                                   State.APPROVED, State.IN_NOTICE])
def test_no_matter_executes_before_its_notice_has_closed(state: State) -> None:
    for kind in MatterKind:
        with pytest.raises(Conflict):
            next_state(kind, state, Action.EXECUTE)


def test_the_district_leading_group_decides_then_posts_without_review() -> None:
    kind = MatterKind.DISTRICT_ALLOCATION
    assert next_state(kind, State.MEETING_CALLED, Action.DECIDE, passed=True) is State.DECIDED
    assert next_state(kind, State.DECIDED, Action.PUBLISH) is State.IN_NOTICE
    with pytest.raises(Conflict):
        next_state(kind, State.DECIDED, Action.SUBMIT)


def test_a_township_project_has_no_village_meeting_but_is_reviewed() -> None:
    kind = MatterKind.TOWNSHIP_PROJECT
    with pytest.raises(Conflict):
        next_state(kind, State.DRAFT, Action.CALL_MEETING)
    assert next_state(kind, State.DRAFT, Action.SUBMIT) is State.UNDER_REVIEW
    assert next_state(kind, State.UNDER_REVIEW, Action.APPROVE) is State.APPROVED


def test_meeting_type_must_suit_the_path_and_accepts_chinese_names() -> None:
    assert parse_meeting_type("村民代表会议", "village_allocation") is MeetingType.REPRESENTATIVES
    with pytest.raises(InputError) as exc:
        parse_meeting_type("村民会议", "district_allocation")
    assert exc.value.field == "type"


def test_a_villagers_meeting_needs_more_than_half_the_adults() -> None:
    eligible = Eligible(adults=100, households=40)
    half = decide(MeetingType.VILLAGERS, eligible, Present(adults=50, households=20), Tally(50, 0, 0))
    assert not half.quorum_met and half.outcome is State.DRAFT and half.action is Action.NO_QUORUM
    more = decide(MeetingType.VILLAGERS, eligible, Present(adults=51, households=20), Tally(26, 25, 0))
    assert more.quorum_met and more.passed


def test_two_thirds_of_households_represented_is_also_a_quorum() -> None:
    eligible = Eligible(adults=100, households=30)
    d = decide(MeetingType.VILLAGERS, eligible, Present(adults=20, households=20), Tally(11, 9, 0))
    assert d.quorum_met and d.passed
    d = decide(MeetingType.VILLAGERS, eligible, Present(adults=20, households=19), Tally(20, 0, 0))
    assert not d.quorum_met


def test_a_representatives_meeting_needs_two_thirds_present() -> None:
    eligible = Eligible(representatives=30)
    assert decide(MeetingType.REPRESENTATIVES, eligible, Present(representatives=20), Tally(11, 0, 9)).passed
    no = decide(MeetingType.REPRESENTATIVES, eligible, Present(representatives=19), Tally(19, 0, 0))
    assert not no.quorum_met and "法定人数" in no.reasons_zh[0]


def test_half_of_those_present_voting_for_is_not_a_majority() -> None:
    d = decide(MeetingType.REPRESENTATIVES, Eligible(representatives=30), Present(representatives=30),
               Tally(15, 10, 5))
    assert d.quorum_met and not d.passed
    assert "赞成票" in d.reasons_zh[0]


def test_abstentions_count_against_the_majority_of_those_present() -> None:
    d = decide(MeetingType.REPRESENTATIVES, Eligible(representatives=9), Present(representatives=9), Tally(4, 1, 4))
    assert not d.passed


@given(st.integers(1, 500), st.data())
def test_a_threshold_is_met_exactly_from_its_needed_count(whole: int, data: st.DataObject) -> None:
    num = data.draw(st.integers(1, 9))
    den = data.draw(st.integers(num, 10))
    t = Threshold(Fraction(num, den), data.draw(st.booleans()))
    need = t.needed(whole)
    assert t.met(need, whole)
    assert need == 0 or not t.met(need - 1, whole)


def test_a_county_may_configure_stricter_rules_but_not_looser_ones() -> None:
    rules = CountyRules.from_dict({"quorum": {"passing": ">=2/3"}, "meeting_notice_days": 15,
                                   "notice_days": {"village_allocation": 15}})
    assert rules.quorum.passing == Threshold(Fraction(2, 3), False)
    d = decide(MeetingType.REPRESENTATIVES, Eligible(representatives=9), Present(representatives=9), Tally(5, 4, 0),
               rules.quorum)
    assert not d.passed
    assert CountyRules.from_dict(rules.to_dict()) == rules
    with pytest.raises(InputError) as exc:
        CountyRules.from_dict({"quorum": {"representatives": ">=1/2"}})
    assert exc.value.field == "quorum.representatives"
    with pytest.raises(InputError) as exc:
        CountyRules.from_dict({"meeting_notice_days": 7})
    assert exc.value.field == "meeting_notice_days"
    with pytest.raises(InputError) as exc:
        CountyRules.from_dict({"notice_days": {"beneficiary_roster": 3}})
    assert exc.value.field == "notice_days.beneficiary_roster"


def test_a_meeting_called_less_than_ten_days_ahead_is_refused() -> None:
    check_meeting_notice(T0, T0 + timedelta(days=10))
    with pytest.raises(InputError) as exc:
        check_meeting_notice(T0, T0 + timedelta(days=10) - timedelta(minutes=1))
    assert exc.value.field == "scheduled_at" and exc.value.code == "meeting_notice_too_short"
    # The times in the message are Beijing time with the zone named, in both languages.
    assert "召集于 2024-03-01 17:00 北京时间，开会于 2024-03-11 16:59 北京时间" in exc.value.message_zh
    assert "called at 2024-03-01 17:00 Beijing time, sitting at 2024-03-11 16:59 Beijing time" in exc.value.message_en
    assert "09:00" not in exc.value.message_zh + exc.value.message_en


def test_the_meeting_notice_rule_refuses_a_time_with_no_zone() -> None:
    # The core has no clock and no zone of its own: a naive time cannot be shown to people as Beijing time.
    with pytest.raises(ValueError):
        check_meeting_notice(T0.replace(tzinfo=None), T0 + timedelta(days=3))


def test_notices_run_ten_days_and_five_only_for_rosters_of_monitoring_households_alone() -> None:
    # Ten days for every kind, a roster too (case 11); five only for a roster of monitoring households alone.
    for kind in MatterKind:
        check_notice_days(kind, 10)
        with pytest.raises(InputError) as exc:
            check_notice_days(kind, 9)
        assert exc.value.field == "window_days"
    with pytest.raises(InputError):
        check_notice_days("beneficiary_roster", 5)
    check_notice_days("beneficiary_roster", 5, monitoring_only=True)
    with pytest.raises(InputError):
        check_notice_days("beneficiary_roster", 4, monitoring_only=True)
    with pytest.raises(InputError):  # only a roster is ever a monitoring roster
        check_notice_days("village_allocation", 5, monitoring_only=True)
    assert monitoring_roster("beneficiary_roster", ["monitored", "monitored"])
    assert not monitoring_roster("beneficiary_roster", ["monitored", "poor"])
    assert not monitoring_roster("beneficiary_roster", [])
    assert not monitoring_roster("village_allocation", ["monitored"])
    least = notice_days_for("beneficiary_roster", monitoring_only=True)
    assert least.days == 5 and "防返贫监测对象" in least.basis() and "monitoring household" in least.basis("en")
    assert "不少于10天" in notice_days_for("beneficiary_roster").basis()
    assert notice_days_for("beneficiary_roster").basis(posted_days=12).endswith("本次公示12天")


def test_a_county_may_lengthen_notices_but_never_below_the_minimum() -> None:
    rules = CountyRules.from_dict({"notice_days": {"beneficiary_roster": 12}, "monitoring_roster_notice_days": 7})
    assert notice_days_for("beneficiary_roster", rules).days == 12
    assert notice_days_for("beneficiary_roster", rules, monitoring_only=True).days == 7
    assert "本县规定不少于7天" in notice_days_for("beneficiary_roster", rules, monitoring_only=True).basis()
    assert CountyRules.from_dict(rules.to_dict()) == rules
    for bad, field in (({"notice_days": {"beneficiary_roster": 5}}, "notice_days.beneficiary_roster"),
                       ({"monitoring_roster_notice_days": 4}, "monitoring_roster_notice_days")):
        with pytest.raises(InputError) as exc:
            CountyRules.from_dict(bad)
        assert exc.value.field == field
    # Settings saved when every roster's minimum was 5 carry that number: read as the monitoring rosters' days.
    old = CountyRules().to_dict() | {"notice_days": {k.value: 10 for k in MatterKind} | {"beneficiary_roster": 5}}
    del old["monitoring_roster_notice_days"]
    stored = CountyRules.from_stored(old)
    assert stored.notice_days[MatterKind.BENEFICIARY_ROSTER] == 10 and stored.monitoring_roster_notice_days == 5
    assert CountyRules.from_stored({"notice_days": {"beneficiary_roster": 8}}).monitoring_roster_notice_days == 8


    ends = notice_window(T0, 10)
    assert window_open(T0, ends, ends - timedelta(seconds=1))
    assert not window_open(T0, ends, ends)


def test_votes_cannot_outnumber_those_present_and_each_attendee_votes_once() -> None:
    with pytest.raises(InputError):
        check_tally(Tally(5, 3, 3), 10)
    assert tally_ballots([("a", "for"), ("b", "against"), ("c", "abstain")], ["a", "b", "c"]) == Tally(1, 1, 1)
    with pytest.raises(InputError) as exc:
        tally_ballots([("a", "for"), ("a", "for")], ["a", "b"])
    assert exc.value.field == "ballots[1].attendee"
    with pytest.raises(InputError):
        tally_ballots([("z", "for")], ["a"])


def test_review_is_blocked_by_no_quorum_flat_without_justification_and_blacklist() -> None:
    flat = [{"code": "flat_distribution", "bucket": "人人有份"}]
    codes = [b.code for b in review_blockers(quorum_met=False, passed=False, warnings=flat, justification="",
                                             blacklisted=["某公司"])]
    assert codes == ["no_quorum", "flat_without_justification", "blacklisted_party"]
    assert review_blockers(quorum_met=True, passed=True, warnings=flat, justification="因灾全员受损，经议定平均分配",
                           blacklisted=[]) == []
    assert [b.code for b in review_blockers(quorum_met=True, passed=False, warnings=[], justification=None,
                                            blacklisted=[])] == ["vote_failed"]


def test_posted_content_with_an_id_number_phone_or_bank_account_is_caught() -> None:
    clean = {"matter": "2024年村级收益分配", "village": "231002001001", "beneficiaries": [{"name": "户一", "amount_fen": 100}]}
    assert personal_data_in(clean) == []
    dirty = {"beneficiaries": [{"name": "231002199001011234"}, {"name": "13812345678"}],
             "note": "卡号6222021234567890123", "phone": ""}
    assert personal_data_in(dirty) == ["$.beneficiaries[0].name", "$.beneficiaries[1].name", "$.note", "$.phone"]


def test_a_registered_household_number_as_long_as_a_bank_card_is_not_taken_for_one() -> None:
    household_no = "2310020010010001"  # village code and a four-digit serial: 16 digits
    posted = {"beneficiaries": [{"ref": household_no, "name": "户一"}, {"ref": "6222021234567890", "name": "户二"}]}
    assert personal_data_in(posted) == ["$.beneficiaries[0].ref", "$.beneficiaries[1].ref"]
    assert personal_data_in(posted, known_ids=frozenset({household_no})) == ["$.beneficiaries[1].ref"]


# ---------------------------------------------------------------- eligible villagers from the registry


def test_an_adult_is_eighteen_on_the_meeting_day_the_birthday_itself_counting() -> None:
    from datetime import date

    from daipin.domain.workflow import adult_on

    day = date(2026, 3, 13)
    assert adult_on(date(2008, 3, 13), day)  # the 18th birthday is the meeting day
    assert not adult_on(date(2008, 3, 14), day)  # one day short
    assert adult_on(date(1950, 1, 1), day)
    # Born on 29 February: of age on 1 March of a common year, not on 28 February.
    assert not adult_on(date(2008, 2, 29), date(2026, 2, 28)) and adult_on(date(2008, 2, 29), date(2026, 3, 1))
    # A meeting on 29 February: those born on 28 February 18 years before are of age, on 1 March are not.
    assert adult_on(date(2010, 2, 28), date(2028, 2, 29)) and not adult_on(date(2010, 3, 1), date(2028, 2, 29))


def test_the_villagers_counted_are_the_adults_and_the_households_they_make_up() -> None:
    from datetime import date

    from daipin.domain.workflow import count_villagers

    day = date(2026, 3, 13)
    members = [("h1", date(1970, 1, 1)), ("h1", date(2010, 5, 5)),  # an adult and a child
               ("h2", date(2009, 1, 1)),  # only a minor: the household is not counted
               ("h3", None),  # birth unknown: counted (the stricter quorum) and reported
               ("h4", date(2008, 3, 13)), ("h4", date(1980, 6, 1))]
    c = count_villagers(members, day)
    assert (c.adults, c.households, c.unknown_birth) == (4, 3, 1)


def test_no_one_is_of_age_on_a_day_in_the_calendar_s_first_eighteen_years() -> None:
    from datetime import date

    from daipin.domain.workflow import adult_on

    assert not adult_on(date(1, 1, 1), date(10, 1, 1))
