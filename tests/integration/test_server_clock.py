"""The server's clock decides (WORKFLOW.md, rules every path obeys): every step is stamped with the time the system
records it; only an event held on paper may declare its own time (in the past, not before the previous step, at most
30 days before it is recorded); only a training database may have its clock advanced, and its pages and printed
notices say 演示/培训数据; checkpoints are never dated ahead of the clock."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import daipin.commands
from daipin.cli import app
from daipin.db.session import make_engine, reset_engine
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import Conflict, InputError
from daipin.http.deps import NowDep
from daipin.ledger import clock as ledger_clock
from daipin.ledger import store
from daipin.services.matters import service as wf
from daipin.services.rosters import service as rosters
from daipin.services.shared import clock
from tests.integration.api_support import Clock, app_on_session, client
from tests.integration.test_workflow import CADRE, DAY, T0, VILLAGE, seed, through_meeting, through_review

VILLAGE_AS = "village_cadre:c1@231002001001"


def _training(session: Session) -> None:
    store.ensure_log(session, county="231002", origin=ledger_clock.training_origin("231002"), at=T0)


# ---------------------------------------------------------------- the command line takes no typed time


@pytest.fixture
def cli_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The command line's clock, injected: the test moves it."""
    c = Clock(T0)
    monkeypatch.setattr(daipin.commands, "CLOCK", c)
    return c


def _cli_db(url: str, *, training: bool = False) -> Any:
    engine = make_engine(url)
    with Session(engine) as s:
        if training:
            _training(s)
        else:
            store.ensure_log(s, county="231002", at=T0)
        seed(s)
        s.commit()
    reset_engine(engine)
    return engine


@pytest.fixture
def cli_db(fresh_db_url: str) -> Iterator[str]:
    engine = _cli_db(fresh_db_url)
    yield fresh_db_url
    reset_engine(None)
    engine.dispose()


@pytest.fixture
def training_cli_db(fresh_db_url: str) -> Iterator[str]:
    engine = _cli_db(fresh_db_url, training=True)
    yield fresh_db_url
    reset_engine(None)
    engine.dispose()


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.output


def _to_notice_by_cli(c: Clock, tmp: Any) -> None:
    run("matter", "roster", "231002001001", "2024", "--as", VILLAGE_AS)
    sits = c.at + 10 * DAY
    run("matter", "call-meeting", "1", "--type", "村民代表会议", "--scheduled-at", sits.isoformat(), "--place", "村委会",
        "--as", VILLAGE_AS)
    c.at = sits + timedelta(hours=1)
    run("matter", "attend", "1", "--representatives", "21", "--first-secretary", "--as", VILLAGE_AS)
    run("matter", "vote", "1", "--for", "18", "--against", "2", "--abstain", "1", "--as", VILLAGE_AS)
    run("matter", "decide", "1", "--as", VILLAGE_AS)
    run("matter", "submit", "1", "--as", VILLAGE_AS)
    run("matter", "review", "1", "approve", "--comments", "同意", "--as", "township_official:t1@231002001")
    c.advance(hours=1)
    run("matter", "publish", "1", "--as", VILLAGE_AS)


def test_a_notice_cannot_be_closed_early_by_typing_a_later_time(cli_db: str, cli_clock: Clock, tmp_path: Any) -> None:
    _to_notice_by_cli(cli_clock, tmp_path)
    future = (cli_clock.at + 10 * DAY).isoformat()
    typed = run("matter", "close", "1", "--at", future, "--as", VILLAGE_AS, code=2)
    assert "--at" in typed  # no such option: nobody types the time of a step
    early = run("matter", "close", "1", "--as", VILLAGE_AS, code=2)
    assert "window_not_over" in early or "公示期未满" in early
    assert '"state": "in_notice"' in run("matter", "show", "1")
    cli_clock.advance(days=10)  # a roster of poor and monitored households: 10 days
    assert "(notice_closed)" in run("matter", "close", "1", "--as", VILLAGE_AS)


def test_the_record_command_takes_no_typed_time(cli_db: str, cli_clock: Clock, tmp_path: Any) -> None:
    assert "--at" not in run("record", "--help")
    assert "--at" not in run("matter", "publish", "--help")


def test_a_production_database_refuses_to_advance_its_clock(cli_db: str, cli_clock: Clock) -> None:
    out = run("clock", "advance", "10d", code=2)
    assert "生产数据库不能调整时钟" in out and "production_clock" not in out
    assert "生产数据库" in run("clock", "show")


def test_a_training_database_walks_a_notice_window_by_advancing_its_clock(
        training_cli_db: str, cli_clock: Clock, tmp_path: Any) -> None:
    _to_notice_by_cli(cli_clock, tmp_path)
    run("matter", "close", "1", "--as", VILLAGE_AS, code=2)
    run("clock", "advance", "2x", code=2)
    assert "时钟已调快 10d" in run("clock", "advance", "10d")
    assert "10 days" in run("clock", "show")
    assert "(notice_closed)" in run("matter", "close", "1", "--as", VILLAGE_AS)
    assert "ledger verified" in run("ledger", "verify")


# ---------------------------------------------------------------- the steps' times


@pytest.fixture
def ctx(session: Session) -> dict[str, Any]:
    return seed(session)


@pytest.fixture
def training_ctx(session: Session) -> dict[str, Any]:
    """The seed on a training database: its log is created as one before the seed's rows are stated in it."""
    _training(session)
    return seed(session)


def test_a_meeting_cannot_be_called_before_its_draft(session: Session, ctx: dict[str, Any]) -> None:
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2024, at=T0)
    with pytest.raises(InputError) as exc:
        wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=T0 + 10 * DAY, place="村委会",
                        at=T0 - timedelta(hours=1))
    assert exc.value.field == "at" and exc.value.code == "before_previous_step"
    assert m.state == "draft"


def _called(session: Session, ctx: dict[str, Any]) -> tuple[int, datetime]:
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2024, at=T0)
    sits = T0 + 10 * DAY
    wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=sits, place="村委会", at=T0)
    return m.id, sits


def _attend(session: Session, matter_id: int, *, at: datetime, held_at: datetime) -> Any:
    return wf.record_attendance(session, CADRE, matter_id, present_representatives=20, first_secretary_present=True,
                                at=at, held_at=held_at)


def test_a_meeting_held_more_than_30_days_before_it_is_recorded_is_refused(
        session: Session, ctx: dict[str, Any]) -> None:
    mid, sits = _called(session, ctx)
    with pytest.raises(InputError) as exc:
        _attend(session, mid, at=sits + 31 * DAY, held_at=sits)
    assert exc.value.field == "held_at" and "30" in exc.value.message_zh


def test_a_declared_meeting_time_lies_in_the_past_and_not_before_the_meeting_was_called_for(
        session: Session, ctx: dict[str, Any]) -> None:
    mid, sits = _called(session, ctx)
    for held, why in ((sits + 2 * DAY, "晚于登记时间"), (sits - DAY, "早于上一步骤")):
        with pytest.raises(InputError) as exc:
            _attend(session, mid, at=sits + DAY, held_at=held)
        assert exc.value.field == "held_at" and why in exc.value.message_zh
    mt = _attend(session, mid, at=sits + 20 * DAY, held_at=sits + timedelta(hours=1))
    assert mt.attendance_at is not None
    ev = wf.events(session, wf.get_matter(session, CADRE, mid))[-1]
    assert ev.details["held_at"] == (sits + timedelta(hours=1)).isoformat()
    with pytest.raises(InputError) as exc:  # the vote, not before the meeting it was taken at
        wf.record_votes(session, CADRE, mid, votes_for=15, against=5, abstain=0, at=sits + 20 * DAY,
                        held_at=sits + timedelta(minutes=30))
    assert exc.value.field == "held_at"


def test_a_county_may_ask_for_paper_records_sooner_but_not_later(session: Session, ctx: dict[str, Any]) -> None:
    from daipin.domain.workflow import CountyRules

    assert CountyRules.from_dict({"declared_time_days": 7}).declared_time_days == 7
    with pytest.raises(InputError) as exc:
        CountyRules.from_dict({"declared_time_days": 31})
    assert exc.value.field == "declared_time_days"


# ---------------------------------------------------------------- training databases and checkpoints


def test_a_production_database_refuses_a_clock_change_and_a_training_one_records_it(session: Session) -> None:
    store.ensure_log(session, county="231002", at=T0)
    with pytest.raises(Conflict) as exc:
        clock.advance(session, SYSTEM_ACTOR, timedelta(days=10), Clock(T0))
    assert exc.value.field == "clock" and "生产数据库" in exc.value.message_zh
    assert clock.now(session, Clock(T0)) == T0


def test_a_training_databases_clock_moves_by_its_ledger_entry(session: Session) -> None:
    _training(session)
    assert clock.training(session)
    clock.advance(session, SYSTEM_ACTOR, clock.parse_duration("10d"), Clock(T0))
    clock.advance(session, SYSTEM_ACTOR, clock.parse_duration("12h"), Clock(T0))
    assert clock.now(session, Clock(T0)) == T0 + timedelta(days=10, hours=12)
    with pytest.raises(InputError):
        clock.advance(session, SYSTEM_ACTOR, timedelta(0), Clock(T0))


def test_checkpoints_are_never_dated_ahead_of_the_real_time_on_a_production_database(session: Session) -> None:
    ahead = datetime.now(UTC) + timedelta(days=20)
    store.append(session, type="test.entry", actor="system:system", region="231002", subject="x", facts={},
                 at=ahead)
    session.commit()
    cp = store.latest_checkpoint(session)
    assert cp is not None and cp.size == 1
    assert cp.at <= datetime.now(UTC).replace(tzinfo=None)


def test_a_training_database_watermarks_its_pages_and_its_printed_notices(
        session: Session, training_ctx: dict[str, Any]) -> None:
    from pypdf import PdfReader

    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2024, at=T0)
    t = through_review(session, m.id, through_meeting(session, m.id, T0))
    wf.publish_notice(session, CADRE, m.id, at=t)
    notice = wf.current_notice(session, m)
    assert notice is not None
    web, _ = app_on_session(session)
    c = client(web)
    page = c.get(f"/public/notices/{notice.id}")
    assert page.status_code == 200 and "演示/培训数据" in page.text
    pdf = c.get(f"/public/notices/{notice.id}.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "演示/培训数据" in text


def test_a_production_database_shows_no_watermark(session: Session, ctx: dict[str, Any]) -> None:
    store.ensure_log(session, county="231002", at=T0)
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2024, at=T0)
    t = through_review(session, m.id, through_meeting(session, m.id, T0))
    notice = wf.publish_notice(session, CADRE, m.id, at=t)
    web, _ = app_on_session(session)
    page = client(web).get(f"/public/notices/{notice.id}")
    assert page.status_code == 200 and "演示/培训数据" not in page.text


def test_the_api_records_a_step_at_the_training_clock(session: Session, training_ctx: dict[str, Any]) -> None:
    real = Clock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    clock.advance(session, SYSTEM_ACTOR, timedelta(days=3), real)
    web, _ = app_on_session(session, real)
    seen: list[datetime] = []

    @web.get("/test-now")
    async def test_now(now: NowDep) -> dict[str, str]:
        seen.append(now)
        return {"now": now.isoformat()}

    assert client(web).get("/test-now").status_code == 200
    assert seen == [real.at + timedelta(days=3)]
