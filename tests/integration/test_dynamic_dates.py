"""Dynamic management dates: a status change, a death or a move is refused, naming its field and writing nothing,
when its date is in the future (Beijing time), before a birth, or would send the status history backwards; an
exit needs its exit year; the same status twice is refused however it is dated or recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, HouseholdStatus, Person
from daipin.domain.identity import make_resident_id
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import records as records
from tests.integration.registry_support import ACTOR, household, ledger_size, reg
from tests.integration.registry_support import rs_fixture as rs_fixture  # noqa: F401 - the rs fixture
from tests.integration.test_bad_input import _refused

# The walk-through's operation time: 2026-11-29 in Beijing.
NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def _history(session: Session, household_id: int) -> list[tuple[str, date]]:
    return [(s, d) for s, d in session.execute(select(HouseholdStatus.status, HouseholdStatus.from_date)
                                               .where(HouseholdStatus.household_id == household_id)
                                               .order_by(HouseholdStatus.id)).all()]


def _states(session: Session) -> list[tuple[str, date | None]]:
    return [(s, d) for s, d in session.execute(select(Person.life_state, Person.life_state_date)
                                               .order_by(Person.id)).all()] + \
        [(s, d) for s, d in session.execute(select(Household.life_state, Household.life_state_date)
                                            .order_by(Household.id)).all()]


def test_a_status_change_dated_after_the_day_of_the_operation_is_refused(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    err = _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2030, 11, 1),
                                                           "返贫风险", NOW), "from_date")
    assert "2030-11-01" in err.message_zh and "北京时间" in err.message_zh
    assert (hh.status, _history(rs, hh.id)) == ("poor", [("poor", date(2020, 1, 1))])
    # The day of the operation is the day in Beijing: 2026-11-29 16:30 UTC is already the 30th there.
    late = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2026, 12, 1), "返贫风险",
                                                     late), "from_date")
    dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2026, 11, 30), "返贫风险", late)
    assert hh.status == "monitored"


def test_a_death_in_the_future_or_before_the_birth_is_refused(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    head = reg.members(rs, hh.id)[0]
    young = reg.add_member(rs, ACTOR, hh.id, {"name": "成员子", "relation": "子", "labor": "weak",
                                             "id_number": make_resident_id("231002", date(2005, 3, 1), 8, "M")}, NOW)
    before = _states(rs)
    err = _refused(rs, lambda: dynamic.record_death(rs, ACTOR, head.id, date(2030, 9, 1), NOW), "on")
    assert "2030-09-01" in err.message_zh
    err = _refused(rs, lambda: dynamic.record_death(rs, ACTOR, young.id, date(1999, 1, 1), NOW), "on")
    assert "出生日期" in err.message_zh and "2005" not in err.message_zh  # the birth date is personal data
    assert _states(rs) == before
    dynamic.record_death(rs, ACTOR, young.id, date(2026, 11, 1), NOW)
    assert young.life_state == "deceased"


def test_a_move_in_the_future_is_refused(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    before = _states(rs)
    _refused(rs, lambda: dynamic.record_move(rs, ACTOR, hh.id, date(2027, 1, 1), NOW, destination="外省"), "on")
    assert _states(rs) == before
    dynamic.record_move(rs, ACTOR, hh.id, date(2026, 11, 29), NOW, destination="外省")
    assert hh.life_state == "moved"


def test_the_status_history_does_not_go_backwards(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2026, 10, 1), "稳定脱贫", NOW, exit_year=2026)
    err = _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2026, 9, 30),
                                                           "返贫风险", NOW), "from_date")
    assert "2026-10-01" in err.message_zh
    # Before the registration's own entry too.
    other = household(rs, "H-2", 2)
    _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, other.id, "monitored", date(2019, 12, 31),
                                                     "返贫风险", NOW), "from_date")
    # The same day as the latest entry is not backwards.
    dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2026, 10, 1), "返贫风险", NOW)
    assert [s for s, _ in _history(rs, hh.id)] == ["poor", "exited", "monitored"]


def test_an_exit_needs_its_exit_year_and_not_one_after_the_change(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    err = _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2026, 3, 1), "脱贫",
                                                           NOW), "exit_year")
    assert "脱贫年度" in err.message_zh
    err = _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2026, 3, 1), "脱贫",
                                                           NOW, exit_year=2027), "exit_year")
    assert "2027" in err.message_zh
    dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2026, 3, 1), "脱贫", NOW, exit_year=2025)
    assert (hh.status, hh.exit_year) == ("exited", 2025)


def test_the_same_status_again_is_refused_whatever_its_date(rs: Session) -> None:
    """The old check compared the date too: the same status from another date wrote a second history row."""
    hh = household(rs, "H-1", 1)
    dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2026, 5, 1), "返贫风险", NOW)
    err = _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2026, 11, 1),
                                                           "返贫风险", NOW), "status")
    assert err.code == "unchanged"
    # The status it was registered with, too.
    other = household(rs, "H-2", 2)
    _refused(rs, lambda: dynamic.change_household_status(rs, ACTOR, other.id, "poor", date(2026, 1, 1), "复核", NOW),
             "status")
    assert _history(rs, hh.id) == [("poor", date(2020, 1, 1)), ("monitored", date(2026, 5, 1))]


def test_records_refuse_the_same_dates_naming_the_record_s_fields(rs: Session) -> None:
    """`daipin record household-status|death|move` goes through the same checks; nothing of the file is kept."""
    hh = household(rs, "H-1", 1)
    head = reg.members(rs, hh.id)[0]
    born = make_resident_id("231002", date(2005, 6, 1), 7, "F")
    reg.add_member(rs, ACTOR, hh.id, {"name": "成员女", "id_number": born, "relation": "女", "labor": "weak"}, NOW)
    size, history = ledger_size(rs), _history(rs, hh.id)
    cases = [
        ("death", {"person": head.id_number, "on": "2030-09-01"}, "on"),
        ("death", {"person": born, "on": "1999-01-01"}, "on"),
        ("move", {"household": "H-1", "on": "2030-01-01"}, "on"),
        ("household-status", {"household": "H-1", "status": "monitored", "from_date": "2030-11-01",
                              "reason": "返贫风险"}, "from_date"),
        ("household-status", {"household": "H-1", "status": "exited", "from_date": "2026-11-01",
                              "reason": "脱贫"}, "exit_year"),
        ("household-status", {"household": "H-1", "status": "poor", "from_date": "2026-11-01",
                              "reason": "复核"}, "status"),
    ]
    for kind, record, field in cases:
        _refused(rs, lambda k=kind, r=record: records.record_all(rs, ACTOR, k, [r], NOW),  # type: ignore[misc]
                 f"[0].{field}")
    assert (ledger_size(rs), _history(rs, hh.id)) == (size, history)
    # The walk-through's repeat: the same status recorded again from a later date.
    records.record_all(rs, ACTOR, "household-status", {"household": "H-1", "status": "monitored",
                                                       "from_date": "2026-11-01", "reason": "返贫风险"}, NOW)
    _refused(rs, lambda: records.record_all(rs, ACTOR, "household-status", {
        "household": "H-1", "status": "monitored", "from_date": "2026-11-20", "reason": "返贫风险"}, NOW), "status")
    assert [s for s, _ in _history(rs, hh.id)] == ["poor", "monitored"]
