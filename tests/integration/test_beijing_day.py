"""The day of an action is its day in Beijing: at 01:00 on 2 June there (17:00 UTC on 1 June) it is 2 June."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from daipin.domain.identity import make_resident_id
from daipin.services.dynamic import service as dynamic
from daipin.services.rosters import service as rosters
from tests.integration.registry_support import (
    ACTOR,
    VILLAGE,
    person_id,
    reg,
    rs_fixture,  # noqa: F401
)

NIGHT = datetime(2025, 6, 1, 17, 0, tzinfo=UTC)


def test_registering_a_household_and_a_child_born_that_day_take_the_day_in_beijing(rs: Session) -> None:
    hh = reg.register_household(rs, ACTOR, household_no="N-1", village_code=VILLAGE, status="poor",
                                members=[{"name": "甲", "id_number": person_id(3001), "relation": "户主",
                                          "labor": "full"}], at=NIGHT)
    assert hh.status_since == date(2025, 6, 2)
    child = reg.add_member(rs, ACTOR, hh.id, {"name": "乙", "id_number": make_resident_id("231002", date(2025, 6, 2),
                                                                                             8, "F"),
                                              "relation": "女", "labor": "none"}, NIGHT)
    assert child.birth_date == date(2025, 6, 2)


def test_a_roster_drafted_that_night_sees_the_status_recorded_for_that_day(rs: Session) -> None:
    hh = reg.register_household(rs, ACTOR, household_no="N-2", village_code=VILLAGE, status="non_poor",
                                members=[{"name": "丙", "id_number": person_id(3002), "relation": "户主",
                                          "labor": "full"}], at=NIGHT, status_since=date(2020, 1, 1))
    dynamic.change_household_status(rs, ACTOR, hh.id, "monitored", date(2025, 6, 2), "走访发现", NIGHT)
    matter = rosters.draft_roster(rs, ACTOR, village_code=VILLAGE, year=2025, at=NIGHT)
    assert {"id": "N-2", "status": "monitored"} in matter.document["households"]
