"""Quorum from the registry (WORKFLOW.md "Rules every path obeys"): a village meeting's eligible adults and
households are counted from the registry for the meeting's day, its representatives from the village's recorded
list (kept through the CLI, the API and a page, each change a ledger entry), never typed in."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Household, Person, VillageRepresentative
from daipin.db.models.workflow import Meeting
from daipin.db.session import session_scope
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError, NotFound
from daipin.domain.identity import make_resident_id
from daipin.ledger import store
from daipin.services.dynamic import service as dynamic
from daipin.services.matters import commands
from daipin.services.matters import service as wf
from daipin.services.registry import service as reg
from daipin.services.rosters import service as rosters
from daipin.services.villages import service as villages
from tests.integration.api_support import OWN_VILLAGE, World, app_on_session, build_world, cli, client
from tests.integration.test_workflow import (
    AUDITOR,
    CADRE,
    COUNTY,
    DAY,
    OTHER_VILLAGE,
    T0,
    TOWNSHIP,
    seed,
)

NEIGHBOUR = Actor(id="cadre-2", role=Role.VILLAGE_CADRE, region=OTHER_VILLAGE)
SITS = T0 + 11 * DAY  # 2024-03-12 17:00 北京时间
MEETING_DAY = date(2024, 3, 12)


@pytest.fixture
def ctx(session: Session, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    store.ensure_log(session, county=COUNTY, at=T0 - 30 * DAY)
    return seed(session)


_seq = iter(range(10_000))


def _member(birth: date, relation: str, sex: str = "M") -> dict[str, Any]:
    n = next(_seq)
    return {"name": f"村民{n}", "id_number": make_resident_id("231002", birth, n % 500, sex),
            "relation": relation, "labor": "full"}


def household(session: Session, no: str, *births: date) -> Household:
    """A registered household of 红星村 (OTHER_VILLAGE), its members born on the given days, the first its head."""
    members = [_member(b, "户主" if i == 0 else "子", "M" if i % 2 == 0 else "F") for i, b in enumerate(births)]
    return reg.register_household(session, NEIGHBOUR, household_no=no, village_code=OTHER_VILLAGE, status="poor",
                                  members=members, at=T0 - 20 * DAY, status_since=date(2020, 1, 1))


def roster(session: Session) -> int:
    return rosters.draft_roster(session, NEIGHBOUR, village_code=OTHER_VILLAGE, year=2024, at=T0).id


def entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


def last_body(session: Session, type_: str) -> dict[str, Any]:
    body = session.scalar(select(LedgerEntry.body).where(LedgerEntry.type == type_).order_by(LedgerEntry.idx.desc())
                          .limit(1))
    assert body is not None, type_
    return dict(json.loads(body))


# ---------------------------------------------------------------- the reported case


def test_four_typed_adults_are_refused_and_the_meeting_is_judged_on_the_registry_s_seventy(
        session: Session, ctx: dict) -> None:
    """Reported: a 村民会议 declared with 4 eligible adults, 3 present, passed, while the registry holds 70."""
    for n in range(35):
        household(session, f"R-{n:03d}", date(1970, 1, 1 + n % 28), date(1972, 2, 1 + n % 28), date(2015, 6, 1))
    mid = roster(session)
    before = entries(session)
    typed = {"type": "村民会议", "scheduled_at": SITS, "place": "村委会", "eligible_adults": 4, "eligible_households": 3}
    with pytest.raises(InputError) as exc:
        commands.run(session, NEIGHBOUR, mid, commands.CallMeeting.parse(typed), at=T0)
    assert exc.value.field == "eligible_adults" and "登记册" in exc.value.message_zh
    assert entries(session) == before and session.scalar(select(Meeting.id).where(Meeting.matter_id == mid)) is None

    command = commands.CallMeeting.parse({"type": "村民会议", "scheduled_at": SITS, "place": "村委会"})
    mt = commands.run(session, NEIGHBOUR, mid, command, at=T0)
    assert (mt.eligible_adults, mt.eligible_households) == (70, 35)  # the children are not counted
    # Attendance cannot exceed the registry's numbers.
    with pytest.raises(InputError) as too_many:
        wf.record_attendance(session, NEIGHBOUR, mid, present_adults=71, first_secretary_present=True, at=SITS)
    assert too_many.value.field == "present.adults"
    wf.record_attendance(session, NEIGHBOUR, mid, present_adults=3, first_secretary_present=True, at=SITS)
    wf.record_votes(session, NEIGHBOUR, mid, votes_for=3, against=0, abstain=0, at=SITS)
    decided = wf.decide(session, NEIGHBOUR, mid, at=SITS)
    assert decided.quorum_met is False and decided.passed is None  # 3 of 70: no quorum, nothing decided
    assert "3/70" in decided.outcome_reasons[0]["zh"]
    assert wf.get_matter(session, NEIGHBOUR, mid).state == "draft"


def test_the_eligible_adults_leave_out_minors_on_the_day_the_dead_and_the_moved_away(
        session: Session, ctx: dict) -> None:
    household(session, "R-001", date(1960, 5, 1), date(2006, 3, 12), date(2006, 3, 13))  # 18 on the day; one day short
    dying = household(session, "R-002", date(1950, 1, 1), date(1955, 1, 1))
    moving = household(session, "R-003", date(1980, 1, 1), date(1982, 1, 1))
    household(session, "R-004", date(2010, 1, 1))  # a household of a minor only: no adult represents it
    died_out = household(session, "R-005", date(1940, 1, 1))
    at = T0 - 5 * DAY
    first = reg.members(session, dying.id)[0]
    dynamic.record_death(session, NEIGHBOUR, first.id, date(2024, 2, 1), at)
    dynamic.record_death(session, NEIGHBOUR, reg.members(session, died_out.id)[0].id, date(2024, 2, 2), at)
    dynamic.record_move(session, NEIGHBOUR, moving.id, date(2024, 2, 3), at, destination="外省")
    # A household of another village counts nowhere here.
    reg.register_household(session, CADRE, household_no="X-001", village_code=ctx["project"].village_code,
                           status="poor", members=[_member(date(1970, 1, 1), "户主")], at=at)

    counted = villages.registry_counts(session, OTHER_VILLAGE, MEETING_DAY)
    assert (counted.adults, counted.households) == (3, 2)  # R-001's head and the one just 18, R-002's survivor
    assert villages.registry_counts(session, OTHER_VILLAGE, MEETING_DAY + timedelta(days=1)).adults == 4

    mid = roster(session)
    mt = wf.call_meeting(session, NEIGHBOUR, mid, type="村民会议", scheduled_at=SITS, place="村委会", at=T0)
    assert (mt.eligible_adults, mt.eligible_households, mt.eligible_representatives) == (3, 2, 0)
    facts = last_body(session, "matter.call_meeting")["facts"]
    assert facts["eligible"]["adults"] == 3 and facts["eligible"]["households"] == 2
    assert facts["eligible_counted"]["source"] == "registry" and facts["eligible_counted"]["day"] == "2024-03-12"
    # Fixed when called: a later death does not change the meeting's numbers.
    dynamic.record_death(session, NEIGHBOUR, reg.members(session, dying.id)[1].id, date(2024, 3, 2), T0 + DAY)
    session.refresh(mt)
    assert mt.eligible_adults == 3


# ---------------------------------------------------------------- representatives


def test_a_representatives_meeting_without_a_recorded_list_is_refused_naming_why(session: Session, ctx: dict) -> None:
    household(session, "R-001", date(1960, 5, 1))
    mid = roster(session)
    before = entries(session)
    with pytest.raises(Conflict) as exc:
        wf.call_meeting(session, NEIGHBOUR, mid, type="村民代表会议", scheduled_at=SITS, place="村委会", at=T0)
    assert exc.value.field == "type" and exc.value.code == "no_representatives"
    assert "村民代表" in exc.value.message_zh and "representatives" in exc.value.message_en
    assert entries(session) == before and wf.get_matter(session, NEIGHBOUR, mid).state == "draft"


def test_the_representatives_counted_are_those_serving_on_the_meeting_day(session: Session, ctx: dict) -> None:
    hhs = [household(session, f"R-{n:03d}", date(1970, 1, 1), date(1972, 1, 1)) for n in range(4)]
    people = [p for hh in hhs for p in reg.members(session, hh.id)]
    minor_hh = household(session, "R-009", date(1975, 1, 1), date(2010, 1, 1))
    at = T0 - 10 * DAY
    serving = [villages.add_representative(session, NEIGHBOUR, OTHER_VILLAGE, person_id=p.id,
                                           from_date=date(2023, 1, 1), at=at) for p in people[:5]]
    assert last_body(session, "village.representative.add")["facts"]["row"]["table"] == "village_representatives"
    # Ended before the day, starting after it, dead: not counted.
    villages.end_representative(session, TOWNSHIP, OTHER_VILLAGE, serving[0].id, to_date=date(2024, 2, 24),
                                reason="辞职", at=at + 5 * DAY)
    end = last_body(session, "village.representative.end")
    assert end["facts"]["reason"] == "辞职" and end["subject"] == f"village:{OTHER_VILLAGE}"
    villages.add_representative(session, NEIGHBOUR, OTHER_VILLAGE, person_id=people[5].id,
                                from_date=date(2024, 3, 13), at=at)
    dynamic.record_death(session, NEIGHBOUR, people[4].id, date(2024, 2, 20), at)
    assert len(villages.registry_counts(session, OTHER_VILLAGE, MEETING_DAY).representatives) == 3

    # Refusals name the field and write nothing.
    before = entries(session)
    with pytest.raises(Conflict):  # overlapping terms of one person
        villages.add_representative(session, NEIGHBOUR, OTHER_VILLAGE, person_id=people[1].id,
                                    from_date=date(2024, 1, 1), at=at)
    with pytest.raises(InputError) as minor:
        villages.add_representative(session, NEIGHBOUR, OTHER_VILLAGE,
                                    person_id=reg.members(session, minor_hh.id)[1].id, from_date=date(2024, 1, 1),
                                    at=at)
    assert minor.value.field == "from_date"
    foreign = session.scalar(select(Person.id).join(Household).where(Household.village_code != OTHER_VILLAGE))
    with pytest.raises(InputError) as elsewhere:
        villages.add_representative(session, NEIGHBOUR, OTHER_VILLAGE, person_id=foreign, from_date=date(2024, 1, 1),
                                    at=at)
    assert elsewhere.value.field == "person_id"
    with pytest.raises(NotFound):  # the cadre of another village; an auditor keeps no list
        villages.add_representative(session, CADRE, OTHER_VILLAGE, person_id=people[6].id,
                                    from_date=date(2024, 1, 1), at=at)
    with pytest.raises(Forbidden):
        villages.add_representative(session, AUDITOR, OTHER_VILLAGE, person_id=people[6].id,
                                    from_date=date(2024, 1, 1), at=at)
    assert entries(session) == before

    mid = roster(session)
    mt = wf.call_meeting(session, NEIGHBOUR, mid, type="村民代表会议", scheduled_at=SITS, place="村委会", at=T0)
    assert mt.eligible_representatives == 3
    facts = last_body(session, "matter.call_meeting")["facts"]["eligible_counted"]
    assert facts["representatives"] == 3 and len(facts["representative_terms"]) == 3
    with pytest.raises(InputError):  # attendance cannot exceed the list
        wf.record_attendance(session, NEIGHBOUR, mid, present_representatives=4, first_secretary_present=True,
                             at=SITS)
    wf.record_attendance(session, NEIGHBOUR, mid, present_representatives=2, first_secretary_present=True, at=SITS)
    wf.record_votes(session, NEIGHBOUR, mid, votes_for=2, against=0, abstain=0, at=SITS)
    assert wf.decide(session, NEIGHBOUR, mid, at=SITS).quorum_met is True  # 2 of 3 is two thirds


# ---------------------------------------------------------------- the API and the page


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _adult_not_serving(session: Session, village: str) -> int:
    serving = select(VillageRepresentative.person_id)
    pid = session.scalar(select(Person.id).join(Household).where(
        Household.village_code == village, Person.relation == "配偶", Person.id.not_in(serving)).order_by(Person.id))
    assert pid is not None
    return int(pid)


def test_the_api_keeps_the_representatives_list_with_its_ledger_entries(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    url = f"/api/v1/villages/{OWN_VILLAGE}/representatives"
    listed = c.get(url, headers=world.headers("village_cadre"))
    assert listed.status_code == 200, listed.text
    serving = listed.json()["serving"]
    assert serving > 0 and listed.json()["may_write"] is True
    person = _adult_not_serving(session, OWN_VILLAGE)
    body = {"person_id": person, "from_date": "2026-01-01"}
    assert c.post(url, json=body, headers=world.headers("auditor")).status_code == 403
    assert c.post(url.replace(OWN_VILLAGE, "231002002001"), json=body,
                  headers=world.headers("village_cadre")).status_code == 404
    refused = c.post(url, json={**body, "eligible": 1}, headers=world.headers("village_cadre"))
    assert refused.status_code == 422 and refused.json()["error"]["field"].endswith("eligible")
    before = entries(session)
    added = c.post(url, json=body, headers=world.headers("village_cadre"))
    assert added.status_code == 201, added.text
    term = added.json()["id"]
    assert entries(session) == before + 1 and last_body(session, "village.representative.add")["facts"]["person"] == person
    assert c.get(url, headers=world.headers("township_official")).json()["serving"] == serving + 1
    ended = c.post(f"{url}/{term}/end", json={"to_date": "2026-03-01", "reason": "换届"},
                   headers=world.headers("township_official"))
    assert ended.status_code == 200, ended.text
    assert ended.json()["to"] == "2026-03-01" and entries(session) == before + 2
    assert c.get(url, headers=world.headers("district_admin")).json()["serving"] == serving
    # Outside the reader's region the village is not found.
    assert c.get(url.replace(OWN_VILLAGE, "231002002001"), headers=world.headers("village_cadre")).status_code == 404


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_the_page_records_and_ends_a_representative_through_the_same_commands(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    c.cookies.set("daipin_session", world.tokens["village_cadre"])
    url = f"/villages/{OWN_VILLAGE}/representatives"
    page = c.get(url)
    assert page.status_code == 200 and 'id="add-representative"' in page.text
    person = _adult_not_serving(session, OWN_VILLAGE)
    assert f'<option value="{person}"' in page.text
    before = entries(session)
    bad = c.post(url, data={"csrf_token": _csrf(page.text), "person_id": str(person), "from_date": "2026-13-01"},
                 follow_redirects=False)
    assert bad.status_code == 422 and "from_date" in bad.text and entries(session) == before
    done = c.post(url, data={"csrf_token": _csrf(page.text), "person_id": str(person), "from_date": "2026-01-01"},
                  follow_redirects=False)
    assert done.status_code == 303, done.text
    assert entries(session) == before + 1
    term = session.scalar(select(VillageRepresentative.id).where(VillageRepresentative.person_id == person))
    shown = c.get(url)
    assert f'id="term-{term}"' in shown.text
    ended = c.post(f"{url}/{term}/end", data={"csrf_token": _csrf(shown.text), "to_date": "2026-03-01",
                                              "reason": "迁出"}, follow_redirects=False)
    assert ended.status_code == 303 and entries(session) == before + 2
    assert last_body(session, "village.representative.end")["facts"]["reason"] == "迁出"
    # An auditor reads the list but is offered no form.
    c.cookies.set("daipin_session", world.tokens["auditor"])
    read = c.get(url)
    assert read.status_code == 200 and 'id="add-representative"' not in read.text


# ---------------------------------------------------------------- the command line


def _cli(*args: str, code: int = 0) -> Any:
    return cli(*args, code=code)


def test_the_command_line_keeps_the_representatives_list_with_its_ledger_entries(
        cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.api_support import command_line_clock

    clock = command_line_clock(monkeypatch, datetime(2024, 3, 1, 1, 0, tzinfo=UTC))
    village = "231002001001"
    cadre = f"village_cadre:c1@{village}"
    assert "在任村民代表 25 人" in _cli("village", "representatives", "list", village, "--on", "2024-03-01").output
    with session_scope() as s:
        hh = s.scalar(select(Household).where(Household.village_code == village).order_by(Household.id))
        assert hh is not None
        newcomer = Person(household_id=hh.id, county_code=COUNTY, name="新代表", id_number="231002199001010011",
                          birth_date=date(1990, 1, 1), relation="女", labor="full", life_state="alive")
        s.add(newcomer)
        s.flush()
        pid = newcomer.id
    bad = _cli("village", "representatives", "add", village, "--person", str(pid), "--from", "2024-13-01",
               "--as", cadre, code=2)
    assert bad.stderr.startswith("错误 / error: from_date:")
    out = _cli("village", "representatives", "add", village, "--person", str(pid), "--from", "2024-03-01",
               "--as", cadre).output
    term = re.search(r"任期 (\d+)", out)
    assert term
    assert "在任村民代表 26 人" in _cli("village", "representatives", "list", village, "--on", "2024-03-02").output
    clock.at = datetime(2024, 3, 6, 1, 0, tzinfo=UTC)
    _cli("village", "representatives", "end", village, term.group(1), "--to", "2024-03-05", "--reason", "辞职",
         "--as", cadre)
    assert "在任村民代表 25 人" in _cli("village", "representatives", "list", village, "--on", "2024-03-06").output
    denied = _cli("village", "representatives", "end", village, term.group(1), "--to", "2024-03-05", "--reason",
                  "x", "--as", "village_cadre:c2@231002001002", code=2)
    assert "错误 / error" in denied.stderr
    with session_scope() as s:
        types = list(s.scalars(select(LedgerEntry.type).where(LedgerEntry.subject == f"village:{village}")))
    assert types == ["village.representative.add", "village.representative.end"]
    # The old typed count is gone from the command line.
    gone = _cli("matter", "call-meeting", "1", "--type", "村民代表会议", "--scheduled-at", "2024-03-20T09:00:00",
                "--place", "村委会", "--representatives", "25", code=2)
    assert "--representatives" in gone.output + gone.stderr


def test_a_meeting_called_now_records_when_the_count_was_taken(session: Session, ctx: dict) -> None:
    """The counts are fixed on the meeting row when it is called: the row and its ledger entry agree."""
    household(session, "R-001", date(1960, 5, 1), date(1962, 5, 1))
    mid = roster(session)
    mt = wf.call_meeting(session, NEIGHBOUR, mid, type="villagers_meeting", scheduled_at=SITS, place="村委会",
                         at=T0)
    body = last_body(session, "matter.call_meeting")
    assert body["facts"]["eligible"] == {"adults": mt.eligible_adults, "households": mt.eligible_households,
                                         "representatives": mt.eligible_representatives, "members": 0}
