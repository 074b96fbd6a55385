"""The year close's third step (`draft`, 起草分配事项): every village allocated by the close gets its allocation matter
drafted from its plan, once per pool (WORKFLOW.md "One decision per pool").

A small synthetic province (its rosters of the year confirmed) on SQLite and PostgreSQL: a close stopped midway in
the draft step continues when started again and every pool ends with exactly one matter, a village's own draft is
kept (the close drafts no second one), a second full close drafts nothing, and the ledger verifies; in a year whose
rosters are not confirmed nothing is drafted and the villages are reported, until a roster is confirmed and the
close started again drafts that village; a village that drafts its own while the close is drafting keeps it. A
district official drafts a village's allocation only through the close, and the command names what it skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter, MatterEvent
from daipin.db.models.yearclose import YearCloseProgress
from daipin.db.session import make_engine
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import Forbidden, InputError, NotFound
from daipin.ledger import store
from daipin.ledger.verify import verify_log
from daipin.services.matters import service as matters
from daipin.services.rosters import service as rosters
from daipin.services.runs import service as runs
from daipin.services.sample import province as prov
from daipin.services.yearclose import bulk
from daipin.services.yearclose import service as yc

AT = datetime(2026, 3, 1, 2, tzinfo=UTC)
CLOSE_AT = datetime(2026, 3, 2, 2, tzinfo=UTC)
YEAR = 2025
SIZE = prov.ProvinceSize(counties=2, townships=4, villages=12, households=240, people=800, entities=8, contracts=160,
                         events=6)
COUNTIES = ("231002", "231003")
DISTRICT = Actor(id="d1", role=Role.DISTRICT_ADMIN, region="231002")


class Stop(Exception):
    """The close's process killed (as a kill would leave it: what was committed stays)."""


def _load(s: Session, seed: int = 11, *, rosters: bool = True) -> None:
    store.ensure_log(s, at=AT)
    prov.load_province(s, SYSTEM_ACTOR, AT, seed=seed, year=YEAR, size=SIZE, confirm_rosters=rosters)
    s.commit()


def _allocation_matters(s: Session) -> list[Matter]:
    """The closed year's allocation matters (the earlier years' are the province's paid history)."""
    return list(s.scalars(select(Matter).where(Matter.kind == "village_allocation", Matter.year == YEAR)
                          .order_by(Matter.id)))


def _draft_rows(s: Session, county: str | None = None) -> int:
    q = select(func.count()).select_from(YearCloseProgress).where(YearCloseProgress.step == "draft")
    if county is not None:
        q = q.where(YearCloseProgress.county_code == county)
    return s.scalar(q) or 0


@pytest.mark.parametrize("bulk_path", [True, False], ids=["bulk", "one_by_one"])
def test_a_close_stopped_while_drafting_resumes_and_every_pool_gets_one_matter(
        fresh_db_url: str, bulk_path: bool, monkeypatch: Any) -> None:
    monkeypatch.setattr(yc, "BATCH", 2)
    monkeypatch.setattr(bulk, "BATCH", 2)
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            _load(s)
            status = {r.county: r for r in yc.status(s, SYSTEM_ACTOR, YEAR)}
            assert status["231002"].total["draft"] == 6 and status["231002"].unconfirmed == []
            # The first village drafts its own allocation before the close: its pool is taken.
            own_village = yc.subjects(s, "231002", YEAR, "draft")[0]
            cadre = Actor(id="v1", role=Role.VILLAGE_CADRE, region=own_village)
            own = matters.draft_allocation_from_plan(s, cadre, village=own_village, year=YEAR, at=AT)
            s.commit()

            def stop_once_drafting(n: int) -> None:
                if _draft_rows(s, "231002") >= 3:
                    raise Stop

            with pytest.raises(Stop):
                yc.close_county(s, DISTRICT, "231002", YEAR, CLOSE_AT, progress=stop_once_drafting, bulk=bulk_path)
            s.rollback()
            done = _draft_rows(s, "231002")
            assert 3 <= done < 6, "stopped midway through the drafts"
            # What was committed is whole: each village done holds one matter, the first its own.
            assert len(_allocation_matters(s)) == done

            ran = yc.close_county(s, DISTRICT, "231002", YEAR, CLOSE_AT, bulk=bulk_path)
            assert ran == {"settle": 0, "allocate": 0, "draft": 6 - done}
            ran = yc.close_county(s, SYSTEM_ACTOR, "231003", YEAR, CLOSE_AT, bulk=bulk_path)
            assert (ran["allocate"], ran["draft"]) == (6, 6)

            found = _allocation_matters(s)
            assert len(found) == 12
            assert sorted(m.pool_key or "" for m in found) == sorted(
                f"village_allocation:{v}:{YEAR}" for c in COUNTIES for v in yc.subjects(s, c, YEAR, "draft"))
            assert all(m.state == "draft" and m.source == {"type": "village_plan", "village": m.region_code,
                                                           "year": YEAR} for m in found)
            # The village's own draft is kept as it was; the others are the close's, said so by their events.
            assert [m.id for m in found if m.created_by == "village_cadre:v1"] == [own.id]
            by = {m.id: (ev.details or {}).get("by") for m in found
                  for ev in s.scalars(select(MatterEvent).where(MatterEvent.matter_id == m.id))}
            assert by[own.id] is None and sum(1 for v in by.values() if v == "year_close") == 11
            assert {m.created_by for m in found if m.id != own.id} == {"district_admin:d1", "system:system"}
            # Each draft is the plan's document as the allocation run read it.
            for m in found:
                assert m.document == runs.build_village_allocation_document(s, m.region_code, YEAR)

            again = [yc.close_county(s, SYSTEM_ACTOR, c, YEAR, CLOSE_AT, bulk=bulk_path) for c in COUNTIES]
            assert again == [{"settle": 0, "allocate": 0, "draft": 0}] * 2
            assert len(_allocation_matters(s)) == 12 and _draft_rows(s) == 12
            assert all(r.finished and r.done["draft"] == 6 for r in yc.status(s, SYSTEM_ACTOR, YEAR))
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
    finally:
        engine.dispose()


def _confirm_roster(s: Session, village: str, year: int, t: datetime) -> Matter:
    """The village's roster of `year` taken through a villagers' meeting, review, notice and execution, listing the
    households the year's allocation pays (poor or monitored at the year's end)."""
    doc = runs.build_village_allocation_document(s, village, year)
    households = [{"id": h["id"], "status": h["status"]} for h in doc["households"]
                  if h["status"] in ("poor", "monitored")]
    m = rosters.draft_roster(s, SYSTEM_ACTOR, village_code=village, year=year, at=t, households=households)
    mt = matters.call_meeting(s, SYSTEM_ACTOR, m.id, type="villagers_meeting", scheduled_at=t + timedelta(days=11),
                              place="村委会议室", at=t)
    t += timedelta(days=11, hours=1)
    matters.record_attendance(s, SYSTEM_ACTOR, m.id, at=t, present_adults=mt.eligible_adults,
                              first_secretary_present=True)
    matters.record_votes(s, SYSTEM_ACTOR, m.id, at=t, votes_for=mt.eligible_adults, against=0, abstain=0)
    matters.decide(s, SYSTEM_ACTOR, m.id, at=t)
    matters.submit_for_review(s, SYSTEM_ACTOR, m.id, at=t)
    t += timedelta(hours=2)
    matters.review(s, SYSTEM_ACTOR, m.id, decision="approve", comments="名单与系统登记一致", at=t)
    matters.publish_notice(s, SYSTEM_ACTOR, m.id, at=t)
    t += timedelta(days=11)
    matters.close_notice(s, SYSTEM_ACTOR, m.id, at=t)
    matters.execute(s, SYSTEM_ACTOR, m.id, at=t)
    return m


def test_villages_without_a_confirmed_roster_are_reported_and_drafted_once_it_is(fresh_db_url: str) -> None:
    """A province loaded without its last year's rosters confirmed: a close of that year drafts nothing, finishes, and
    names every village; once one village's roster is confirmed, the close started again drafts that one (the
    earlier years are the province's paid history: their pools are decided)."""
    earlier = YEAR
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            _load(s, rosters=False)
            first = yc.close_county(s, SYSTEM_ACTOR, "231002", earlier, CLOSE_AT)
            assert first["allocate"] == 6 and first["draft"] == 0
            assert _allocation_matters(s) == [] and _draft_rows(s) == 0
            [row] = yc.status(s, SYSTEM_ACTOR, earlier, "231002")
            villages = yc.subjects(s, "231002", earlier, "draft")
            assert [code for code, _ in row.unconfirmed] == villages and len(villages) == 6
            assert all(name.endswith("村") for _, name in row.unconfirmed)
            assert row.finished  # the close has done all it can
            assert yc.close_county(s, SYSTEM_ACTOR, "231002", earlier, CLOSE_AT)["draft"] == 0

            roster = _confirm_roster(s, villages[2], earlier, AT - timedelta(days=40))
            s.commit()
            [row] = yc.status(s, SYSTEM_ACTOR, earlier, "231002")
            assert villages[2] not in [code for code, _ in row.unconfirmed] and not row.finished
            assert yc.close_county(s, SYSTEM_ACTOR, "231002", earlier, CLOSE_AT)["draft"] == 1
            [m] = _allocation_matters(s)
            assert (m.region_code, m.year, m.state) == (villages[2], earlier, "draft") and m.id > roster.id
            [row] = yc.status(s, SYSTEM_ACTOR, earlier, "231002")
            assert len(row.unconfirmed) == 5 and row.finished and row.done["draft"] == 1
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
    finally:
        engine.dispose()


def test_a_district_official_drafts_a_village_allocation_only_through_the_close(session: Session) -> None:
    store.ensure_log(session, at=AT)
    prov.load_province(session, SYSTEM_ACTOR, AT, seed=3, year=YEAR, size=prov.ProvinceSize(
        counties=2, townships=2, villages=2, households=20, people=40, entities=2, contracts=4, events=0))
    own, other = "231002001001", "231003001001"
    # The village path's draft is the village's: the district is refused it by hand.
    with pytest.raises(Forbidden):
        matters.draft_allocation_from_plan(session, DISTRICT, village=own, year=YEAR, at=AT)
    # A village cadre may not pass itself off as the close, nor may the close draft another kind.
    cadre = Actor(id="v", role=Role.VILLAGE_CADRE, region=own)
    with pytest.raises(Forbidden):
        matters.draft_allocation_from_plan(session, cadre, village=own, year=YEAR, at=AT, by=matters.BY_YEAR_CLOSE)
    with pytest.raises(InputError) as e:
        matters.draft_matter(session, DISTRICT, kind="beneficiary_roster", region=own, title="名单",
                             document=rosters.roster_document(session, own, YEAR + 1, AT.date()), year=YEAR + 1,
                             at=AT, by=matters.BY_YEAR_CLOSE)
    assert e.value.field == "by"
    # Another county's village is not the district's to reach.
    with pytest.raises(NotFound):
        matters.draft_allocation_from_plan(session, DISTRICT, village=other, year=YEAR, at=AT,
                                           by=matters.BY_YEAR_CLOSE)
    m = matters.draft_allocation_from_plan(session, DISTRICT, village=own, year=YEAR, at=AT, by=matters.BY_YEAR_CLOSE)
    assert (m.state, m.created_by, m.pool_key) == ("draft", "district_admin:d1", f"village_allocation:{own}:{YEAR}")
    # The next steps stay the village's: the district cannot call the meeting on it.
    with pytest.raises(Forbidden):
        matters.call_meeting(session, DISTRICT, m.id, type="villagers_meeting", scheduled_at=AT + timedelta(days=11),
                             place="村委会议室", at=AT)


def test_the_command_reports_each_step_and_names_the_villages_it_could_not_draft(
        fresh_db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from daipin.cli import app
    from daipin.db.session import reset_engine

    monkeypatch.setenv("DAIPIN_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.chdir(tmp_path)
    reset_engine(None)
    runner = CliRunner()
    try:
        for args in (["init"], ["sample", "province", "--counties", "2", "--townships", "4", "--villages", "12",
                                "--households", "240", "--entities", "8", "--contracts", "160", "--year", str(YEAR),
                                "--no-rosters"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
        assert "rosters" not in result.output
        result = runner.invoke(app, ["year", "close", "--year", str(YEAR), "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert "起草分配事项 0/6" in result.output
        assert f"6 个村未确认 {YEAR} 年度收益扶贫对象名单，未起草分配事项" in result.output
        assert "231002001001" in result.output and "12 个村待确认名册，未起草" in result.output
        engine = make_engine(fresh_db_url)
        try:
            with Session(engine, expire_on_commit=False) as s:
                _confirm_roster(s, "231002001001", YEAR, AT - timedelta(days=40))
                s.commit()
        finally:
            engine.dispose()
        reset_engine(None)
        result = runner.invoke(app, ["year", "close", "--year", str(YEAR), "--workers", "2"])
        assert result.exit_code == 0, result.output
        assert "东安区（231002）：项目收益结算 6/6，村级收益分配 6/6，起草分配事项 1/6" in result.output
        assert f"5 个村未确认 {YEAR} 年度收益扶贫对象名单" in result.output and "11 个村待确认名册" in result.output
    finally:
        reset_engine(None)


def test_a_pool_a_village_takes_while_the_close_drafts_is_not_drafted_twice(fresh_db_url: str, monkeypatch: Any) -> None:
    """The set-based close reads the pools held per batch; a village that drafts its own after that read makes the
    batch's insert fail on the unique key, and the batch is drafted one at a time instead: that village keeps its
    own matter, the others get theirs."""
    monkeypatch.setattr(bulk, "BATCH", 2)
    reads = matters.draft_reads

    def stale(session: Session, villages: Any, year: int) -> matters.DraftReads:
        found = reads(session, villages, year)
        found.held = set()  # as read before the village's draft
        return found

    monkeypatch.setattr(matters, "draft_reads", stale)
    engine = make_engine(fresh_db_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            _load(s)
            villages = yc.subjects(s, "231002", YEAR, "draft")
            cadre = Actor(id="v5", role=Role.VILLAGE_CADRE, region=villages[4])
            own: list[Matter] = []

            def village_drafts_meanwhile(n: int) -> None:
                if not own and _draft_rows(s, "231002") >= 2:
                    own.append(matters.draft_allocation_from_plan(s, cadre, village=villages[4], year=YEAR, at=AT))
                    s.commit()

            ran = yc.close_county(s, SYSTEM_ACTOR, "231002", YEAR, CLOSE_AT, progress=village_drafts_meanwhile)
            assert own and ran["draft"] == 6
            found = _allocation_matters(s)
            assert sorted(m.region_code for m in found) == villages
            assert [m.id for m in found if m.region_code == villages[4]] == [own[0].id]
            assert _draft_rows(s, "231002") == 6
            report = verify_log(s)
            assert report.ok, [str(p) for p in report.problems]
    finally:
        engine.dispose()
