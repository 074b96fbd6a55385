"""The decision path on a real database: a village allocation walked through every state, and every refusal."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Entity, Household, Person, Project, Region, Run, VillageRepresentative
from daipin.db.models.workflow import Matter, MatterEvent, PaymentBatch, PaymentLine
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError, NotFound
from daipin.ledger import store
from daipin.services.matters import service as wf
from daipin.services.payments import service as payments
from daipin.services.rosters import service as rosters
from daipin.services.shared import rows

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "village-allocation-pv.json"
COUNTY, TOWN, VILLAGE, OTHER_VILLAGE = "231002", "231002001", "231002001001", "231002001002"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

CADRE = Actor(id="cadre-1", role=Role.VILLAGE_CADRE, region=VILLAGE)
OTHER_CADRE = Actor(id="cadre-2", role=Role.VILLAGE_CADRE, region=OTHER_VILLAGE)
TOWNSHIP = Actor(id="town-1", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
DISTRICT = Actor(id="district-1", role=Role.DISTRICT_ADMIN, region=COUNTY)
AUDITOR = Actor(id="audit-1", role=Role.AUDITOR, region=COUNTY)
PUBLIC = Actor(id="anon", role=Role.PUBLIC, region="")

REPRESENTATIVES = 25  # the village's recorded representatives (seed)
HEADS = {"H-001": "赵一", "H-002": "钱二", "H-003": "孙三", "H-004": "李四", "H-005": "周五", "H-006": "吴六"}


def allocation_doc() -> dict[str, Any]:
    if EXAMPLE.exists():
        return json.loads(EXAMPLE.read_text(encoding="utf-8"))
    raise RuntimeError(f"missing {EXAMPLE}")


from daipin.ledger.verify import adopt_unstated  # noqa: E402


def seed(session: Session) -> dict[str, Any]:
    """Regions, the six households of the spec example (heads' names, a bank account), an entity and project."""
    session.add_all([
        Region(code=COUNTY, name="东安区", level="district", parent_code=None, county_code=COUNTY),
        Region(code=TOWN, name="兴隆镇", level="township", parent_code=COUNTY, county_code=COUNTY),
        Region(code=VILLAGE, name="新立村", level="village", parent_code=TOWN, county_code=COUNTY, poor_village=True),
        Region(code=OTHER_VILLAGE, name="红星村", level="village", parent_code=TOWN, county_code=COUNTY),
    ])
    statuses = {h["id"]: h["status"] for h in allocation_doc()["households"]}
    households: list[Household] = []
    for i, (no, name) in enumerate(HEADS.items()):
        hh = Household(household_no=no, village_code=VILLAGE, county_code=COUNTY, status=statuses[no], labor="full",
                       phone="13812345678", bank_account=f"62220212345678{i:05d}", life_state="alive")
        session.add(hh)
        session.flush()
        session.add(Person(household_id=hh.id, county_code=COUNTY, name=name, id_number=f"23100219800101{i:03d}X",
                           relation="户主", labor="full", life_state="alive", health_note="慢性病"))
        households.append(hh)
    # The village's 25 representatives (村民代表), whom a 村民代表会议 counts: the six heads and 19 grown
    # children of the households (the meeting's eligible number comes from this list, no longer typed in).
    session.flush()
    people = list(session.scalars(select(Person).order_by(Person.id)))
    for n in range(REPRESENTATIVES - len(people)):
        child = Person(household_id=households[n % len(households)].id, county_code=COUNTY, name=f"村民{n + 1}",
                       id_number=f"23100219950101{n:03d}X", birth_date=date(1995, 1, 1), relation="子",
                       labor="full", life_state="alive")
        session.add(child)
        people.append(child)
    session.flush()
    session.add_all([VillageRepresentative(village_code=VILLAGE, county_code=COUNTY, person_id=p.id,
                                           from_date=date(2020, 1, 1), end_reason="") for p in people])
    entity = Entity(name="新立光伏合作社", kind="cooperative", uscc="93231002MA1234567X", legal_representative="法人",
                    county_code=COUNTY, region_code=VILLAGE, credit_status="normal")
    session.add(entity)
    session.flush()
    project = Project(code="P-PV-01", name="新立村光伏电站", category="光伏", entity_id=entity.id, township_code=TOWN,
                      village_code=VILLAGE, county_code=COUNTY)
    session.add(project)
    session.flush()
    # Put in place directly (not through the registry's services), then stated by the ledger as they are.
    adopt_unstated(session, actor="operator:seed", at=T0, reason="测试用登记数据")
    return {"entity": entity, "project": project}


def through_meeting(session: Session, matter_id: int, start: datetime, *, present: int = 20, votes_for: int = 15,
                    actor: Actor = CADRE) -> datetime:
    """Call a representatives' meeting 10 days ahead, record attendance and votes, decide. Returns the time after."""
    sits = start + 10 * DAY
    wf.call_meeting(session, actor, matter_id, type="村民代表会议", scheduled_at=sits, place="村委会会议室", at=start)
    wf.record_attendance(session, actor, matter_id, present_representatives=present, first_secretary_present=True,
                         cadres_present=["第一书记"], minutes_ref="sha256:minutes", attendance_sheet_ref="scan-001.pdf",
                         at=sits)
    wf.record_votes(session, actor, matter_id, votes_for=votes_for, against=present - votes_for, abstain=0, at=sits)
    wf.decide(session, actor, matter_id, at=sits + timedelta(hours=2))
    return sits + DAY


def through_review(session: Session, matter_id: int, start: datetime) -> datetime:
    wf.submit_for_review(session, CADRE, matter_id, at=start)
    wf.review(session, TOWNSHIP, matter_id, decision="approve", comments="程序合规", at=start + timedelta(hours=3))
    return start + DAY


def confirm_roster(session: Session, start: datetime = T0, year: int = 2024) -> Matter:
    """The year's roster (poor and monitored households of the registry) confirmed along the village path."""
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=year, at=start)
    t = through_meeting(session, m.id, start)
    t = through_review(session, m.id, t)
    n = wf.publish_notice(session, CADRE, m.id, at=t)
    assert n.window_days == 10  # poor and monitored households: 10 days, as every kind (5 only for monitoring alone)
    t = t + 10 * DAY
    wf.close_notice(session, CADRE, m.id, at=t)
    ex = wf.execute(session, TOWNSHIP, m.id, at=t)
    assert ex.batch is None and ex.run is None
    return m


def test_a_roster_runs_ten_days_and_five_only_when_every_household_on_it_is_a_monitoring_household(
        session: Session) -> None:
    seed(session)
    # H-003 alone is a monitoring household in the registry.
    only = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2024, at=T0,
                                households=[{"id": "H-003", "status": "monitored"}])
    t = through_review(session, only.id, through_meeting(session, only.id, T0))
    n = wf.publish_notice(session, CADRE, only.id, at=t)
    assert n.window_days == 5 and rows.utc(n.ends_at) == t + 5 * DAY
    assert "防返贫监测对象" in n.content["window"]["basis"] and "5" in n.content["window"]["basis"]
    # A roster that also lists a poor household, or calls a poor household a monitoring one, runs 10 days.
    for year, listed in ((2025, [{"id": "H-003", "status": "monitored"}, {"id": "H-001", "status": "poor"}]),
                         (2026, [{"id": "H-003", "status": "monitored"}, {"id": "H-001", "status": "monitored"}])):
        m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=year, at=t,
                                 households=listed)
        tm = through_review(session, m.id, through_meeting(session, m.id, t))
        with pytest.raises(InputError) as exc:
            wf.publish_notice(session, CADRE, m.id, at=tm, window_days=5)
        assert exc.value.field == "window_days" and "10" in exc.value.message_zh
        n = wf.publish_notice(session, CADRE, m.id, at=tm)
        assert n.window_days == 10 and "不少于10天" in n.content["window"]["basis"]
    # A county may lengthen the monitoring rosters' days, never shorten them below 5.
    wf.set_county_rules(session, DISTRICT, COUNTY, {"monitoring_roster_notice_days": 7}, at=t)
    with pytest.raises(InputError) as exc:
        wf.set_county_rules(session, DISTRICT, COUNTY, {"monitoring_roster_notice_days": 4}, at=t)
    assert exc.value.field == "monitoring_roster_notice_days"
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2027, at=t,
                             households=[{"id": "H-003", "status": "monitored"}])
    tm = through_review(session, m.id, through_meeting(session, m.id, t))
    n = wf.publish_notice(session, CADRE, m.id, at=tm)
    assert n.window_days == 7 and "本县规定不少于7天" in n.content["window"]["basis"]


def draft_allocation(session: Session, at: datetime, doc: dict[str, Any] | None = None, **kw: Any) -> Matter:
    ctx = kw.pop("ctx", None)
    return wf.draft_matter(session, CADRE, kind="village_allocation", region=VILLAGE, title="2024年光伏收益分配",
                           document=doc or allocation_doc(), year=2024, at=at,
                           project_id=ctx["project"].id if ctx else None, funding_source="光伏电站收益",
                           responsible_person="村委会主任", **kw)


def to_notice(session: Session, ctx: dict[str, Any], start: datetime, **kw: Any) -> tuple[Matter, datetime]:
    m = draft_allocation(session, start, ctx=ctx, **kw)
    t = through_meeting(session, m.id, start + DAY)
    t = through_review(session, m.id, t)
    wf.publish_notice(session, CADRE, m.id, at=t)
    return m, t


@pytest.fixture
def ctx(session: Session) -> dict[str, Any]:
    return seed(session)


def ledger_types(session: Session, subject: str) -> list[str]:
    return list(session.scalars(select(LedgerEntry.type).where(LedgerEntry.subject == subject)
                                .order_by(LedgerEntry.idx)))


# ---------------------------------------------------------------- the full walk


def test_a_village_allocation_walks_every_state_and_every_step_is_in_the_ledger(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    start = T0 + 20 * DAY
    m = draft_allocation(session, start, ctx=ctx)
    assert m.state == "draft" and m.preview is not None
    assert {w["code"] for w in m.warnings} == {"wages_scaled", "cap_applied"}
    states = [m.state]
    t = through_meeting(session, m.id, start + DAY)
    states.append(m.state)
    wf.submit_for_review(session, CADRE, m.id, at=t)
    states.append(m.state)
    wf.review(session, TOWNSHIP, m.id, decision="approve", comments="同意", at=t)
    states.append(m.state)
    n = wf.publish_notice(session, CADRE, m.id, at=t + timedelta(hours=1))
    states.append(m.state)
    assert n.window_days == 10 and rows.utc(n.ends_at) == t + timedelta(hours=1) + 10 * DAY
    o = wf.file_objection(session, PUBLIC, m.id, text="H-004 的贡献积分是否核实？", at=t + 2 * DAY)
    wf.answer_objection(session, TOWNSHIP, o.id, outcome="dismissed", reasons="经核实，积分有村民小组会议记录", at=t + 3 * DAY)
    wf.close_notice(session, CADRE, m.id, at=rows.utc(n.ends_at))
    states.append(m.state)
    ex = wf.execute(session, TOWNSHIP, m.id, at=rows.utc(n.ends_at) + DAY)
    states.append(m.state)
    assert ex.created and ex.run is not None and ex.batch is not None
    assert ex.run.output_digest == m.approved_preview_digest
    assert ex.batch.total_fen == sum(ex.run.output_json["households"].values()) == 1780000
    lines = payments.lines(session, ex.batch)
    assert {ln.payee_ref: ln.amount_fen for ln in lines} == ex.run.output_json["households"]
    assert all(ln.bank_account_masked.startswith("*") and ln.bank_account_masked[-4:].isdigit() for ln in lines)
    for ln in lines:
        payments.mark_paid(session, TOWNSHIP, ln.id, payment_ref=f"BANK-{ln.id}", at=rows.utc(n.ends_at) + 2 * DAY)
    assert ex.batch.status == "paid"
    content = wf.announce_result(session, CADRE, m.id, at=rows.utc(n.ends_at) + 3 * DAY)
    assert content["payments"]["total_fen"] == 1780000
    wf.archive(session, CADRE, m.id, at=rows.utc(n.ends_at) + 4 * DAY)
    states.append(m.state)
    assert states == ["draft", "decided", "under_review", "approved", "in_notice", "notice_closed", "executed",
                      "archived"]
    events = wf.events(session, m)
    assert [e.action for e in events] == [
        "draft", "call_meeting", "record_attendance", "record_votes", "decide", "submit", "approve", "publish",
        "file_objection", "answer_objection", "close_notice", "execute", "announce", "archive"]
    indices = [e.ledger_index for e in events]
    assert len(set(indices)) == len(indices)
    assert ledger_types(session, f"matter:{m.id}") == [f"matter.{e.action}" for e in events]
    assert ledger_types(session, f"payment_batch:{ex.batch.id}") == ["payment.batch"]
    assert ledger_types(session, f"run:{ex.run.id}") == ["run.village_allocation"]


def test_the_notice_names_beneficiaries_and_amounts_but_no_personal_data(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m, _ = to_notice(session, ctx, T0 + 20 * DAY)
    n = wf.current_notice(session, m)
    assert n is not None
    c = n.content
    names = {b["name"]: b["amount_fen"] for b in c["beneficiaries"]}
    assert names == {"钱二": 530000, "孙三": 800000, "赵一": 200000, "吴六": 100000, "李四": 150000}
    assert c["project"] == {"code": "P-PV-01", "name": "新立村光伏电站"}
    assert c["implementing_entity"] == "新立光伏合作社" and c["funding_source"] == "光伏电站收益"
    assert c["responsible_person"] == "村委会主任"
    assert [ch["level"] for ch in c["complaint_channels"]] == ["village", "township", "hotline"]
    assert c["complaint_channels"][-1]["number"] == "12317"
    cp = store.latest_checkpoint(session)
    assert cp is not None and n.checkpoint == cp.note and c["ledger_checkpoint"]["size"] == cp.size
    text = json.dumps(c, ensure_ascii=False)
    for secret in ("13812345678", "6222021234567800000", "231002198001010", "慢性病"):
        assert secret not in text


# ---------------------------------------------------------------- refusals


def test_a_meeting_called_less_than_ten_days_ahead_is_refused_and_changes_nothing(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    with pytest.raises(InputError) as exc:
        wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=T0 + 29 * DAY, place="村委会", at=T0 + 20 * DAY)
    assert exc.value.field == "scheduled_at"
    assert m.state == "draft"
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before


def test_a_meeting_without_quorum_decides_nothing_and_cannot_be_reviewed(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY, present=16, votes_for=16)  # 16 of 25 < two thirds
    # Not rejected: nothing was decided. The matter is back where a new meeting can be called.
    assert m.state == "draft" and m.state != "rejected"
    inquorate = wf.current_meeting(session, m)
    assert inquorate is not None and inquorate.quorum_met is False and inquorate.passed is None
    assert ledger_types(session, f"matter:{m.id}")[-1] == "matter.no_quorum"
    assert "matter.decide" not in ledger_types(session, f"matter:{m.id}")
    assert [e.to_state for e in wf.events(session, m)][-1] == "draft"
    with pytest.raises(Conflict):
        wf.submit_for_review(session, CADRE, m.id, at=t)
    # Even if the state were forced past the meeting, the review itself refuses.
    m.state = "under_review"
    with pytest.raises(Conflict) as exc:
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    assert exc.value.code == "no_quorum"
    m.state = "draft"
    # A new meeting is called 10 days ahead; with quorum it decides and the path goes on.
    t = through_meeting(session, m.id, t)
    assert m.state == "decided" and m.round == 1
    second = wf.current_meeting(session, m)
    assert second is not None and second.id != inquorate.id and second.quorum_met and second.passed
    wf.submit_for_review(session, CADRE, m.id, at=t)
    wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    assert m.state == "approved"


@pytest.mark.edits_rows_behind_the_ledger
def test_a_new_meeting_not_yet_decided_cannot_be_reviewed(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY, present=10, votes_for=10)
    assert m.state == "draft"
    wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=t + 10 * DAY, place="村委会", at=t)
    m.state = "under_review"  # forced: the review must still see that no meeting has decided
    with pytest.raises(Conflict) as exc:
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=t + 11 * DAY)
    assert exc.value.code == "no_meeting"


@pytest.mark.edits_rows_behind_the_ledger
def test_a_failed_vote_rejects_the_matter(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY, present=20, votes_for=10)
    assert m.state == "rejected"
    m.state = "under_review"
    with pytest.raises(Conflict) as exc:
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    assert exc.value.code == "vote_failed"


def flat_doc() -> dict[str, Any]:
    doc = allocation_doc()
    doc["buckets"] = [{"name": "人人有份", "share": "1", "rule": "equal", "per": "household"}]
    doc.pop("cap_per_household_fen")
    return doc


def test_a_flat_distribution_without_written_justification_is_refused_at_review(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, doc=flat_doc(), ctx=ctx)
    assert "flat_distribution" in {w["code"] for w in m.warnings}
    t = through_meeting(session, m.id, T0 + 21 * DAY)
    wf.submit_for_review(session, CADRE, m.id, at=t)
    with pytest.raises(Conflict) as exc:
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    assert exc.value.code == "flat_without_justification" and "书面说明" in exc.value.message_zh
    assert m.state == "under_review"
    wf.review(session, TOWNSHIP, m.id, decision="return", comments="请补充平均分配的书面说明", at=t)
    assert m.state == "draft" and m.round == 2
    wf.update_draft(session, CADRE, m.id, justification="全村因灾减产，经村民代表会议议定本年度平均分配", at=t + DAY)
    t = through_meeting(session, m.id, t + DAY)
    wf.submit_for_review(session, CADRE, m.id, at=t)
    wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    assert m.state == "approved"


@pytest.mark.edits_rows_behind_the_ledger  # the entity is blacklisted by setting its row
def test_a_matter_with_a_blacklisted_entity_is_refused_at_review(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = through_meeting(session, m.id, T0 + 21 * DAY)
    wf.submit_for_review(session, CADRE, m.id, at=t)
    ctx["entity"].credit_status = "blacklisted"
    with pytest.raises(Conflict) as exc:
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    assert exc.value.code == "blacklisted_party" and "新立光伏合作社" in exc.value.message_zh


def test_the_notice_cannot_close_before_the_window_ends_or_with_an_open_objection(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m, t = to_notice(session, ctx, T0 + 20 * DAY)
    ends = t + 10 * DAY
    with pytest.raises(Conflict) as exc:
        wf.close_notice(session, CADRE, m.id, at=ends - timedelta(minutes=1))
    assert exc.value.code == "window_not_over"
    o = wf.file_objection(session, PUBLIC, m.id, text="公示名单有误", name="村民甲", contact="13900001111", at=t + DAY)
    with pytest.raises(Conflict) as exc:
        wf.close_notice(session, CADRE, m.id, at=ends)
    assert exc.value.code == "objections_open"
    wf.answer_objection(session, TOWNSHIP, o.id, outcome="dismissed", reasons="名单与登记一致", at=ends)
    assert not o.objector_notified  # answered is not told: "notified" is its own step, saying how and when
    wf.notify_objector(session, TOWNSHIP, o.id, via="phone", at=ends)
    assert o.objector_notified and o.notified_via == "phone" and o.notified_at is not None
    wf.close_notice(session, CADRE, m.id, at=ends)
    assert m.state == "notice_closed"


def test_an_objection_after_the_window_is_refused(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m, t = to_notice(session, ctx, T0 + 20 * DAY)
    with pytest.raises(Conflict) as exc:
        wf.file_objection(session, PUBLIC, m.id, text="迟到的异议", at=t + 10 * DAY)
    assert exc.value.code == "window_closed"


def test_an_upheld_objection_reopens_the_matter_and_a_new_notice_restarts_the_window(
        session: Session, ctx: dict) -> None:
    confirm_roster(session)
    m, t = to_notice(session, ctx, T0 + 20 * DAY)
    first = wf.current_notice(session, m)
    o = wf.file_objection(session, PUBLIC, m.id, text="H-004 积分有误", at=t + 8 * DAY)
    wf.answer_objection(session, TOWNSHIP, o.id, outcome="upheld", reasons="经核实，积分登记错误", at=t + 9 * DAY)
    assert m.state == "draft" and m.round == 2 and first is not None and first.status == "withdrawn"
    with pytest.raises(Conflict):
        wf.execute(session, TOWNSHIP, m.id, at=t + 30 * DAY)
    doc = allocation_doc()
    doc["contribution"][2]["points"] = "150"
    wf.update_draft(session, CADRE, m.id, document=doc, at=t + 9 * DAY)
    t2 = through_meeting(session, m.id, t + 9 * DAY)
    t2 = through_review(session, m.id, t2)
    second = wf.publish_notice(session, CADRE, m.id, at=t2)
    assert second.id != first.id and rows.utc(second.ends_at) == t2 + 10 * DAY
    with pytest.raises(Conflict):
        wf.close_notice(session, CADRE, m.id, at=t2 + 9 * DAY)
    wf.close_notice(session, CADRE, m.id, at=t2 + 10 * DAY)
    ex = wf.execute(session, TOWNSHIP, m.id, at=t2 + 11 * DAY)
    assert ex.run is not None and ex.run.input_json["contribution"][2]["points"] == "150"
    assert "matter.reopen" in ledger_types(session, f"matter:{m.id}")


def closed(session: Session, ctx: dict) -> tuple[Matter, datetime]:
    confirm_roster(session)
    m, t = to_notice(session, ctx, T0 + 20 * DAY)
    wf.close_notice(session, CADRE, m.id, at=t + 10 * DAY)
    return m, t + 11 * DAY


@pytest.mark.edits_rows_behind_the_ledger
def test_execution_stops_when_the_inputs_changed_since_approval(session: Session, ctx: dict) -> None:
    m, t = closed(session, ctx)
    changed = copy.deepcopy(m.document)
    changed["pool_fen"] = 2100000
    session.execute(update(Matter).where(Matter.id == m.id).values(document=changed))
    session.expire(m)
    with pytest.raises(Conflict) as exc:
        wf.execute(session, TOWNSHIP, m.id, at=t)
    assert exc.value.code == "inputs_changed"
    assert session.scalar(select(func.count()).select_from(PaymentBatch).where(PaymentBatch.matter_id == m.id)) == 0


@pytest.mark.edits_rows_behind_the_ledger
def test_execution_stops_when_the_result_differs_from_the_approved_preview(session: Session, ctx: dict) -> None:
    m, t = closed(session, ctx)
    m.approved_preview_digest = "0" * 64  # as if the engine's rules had changed since the preview
    with pytest.raises(Conflict) as exc:
        wf.execute(session, TOWNSHIP, m.id, at=t)
    assert exc.value.code == "result_changed"
    assert m.state == "notice_closed" and m.run_id is None


def test_execution_stops_when_registry_inputs_rebuilt_differ(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    store = {"doc": allocation_doc()}
    wf.DOCUMENT_SOURCES["test_store"] = lambda s, src: store["doc"]
    try:
        m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx, source={"type": "test_store"})
        t = through_meeting(session, m.id, T0 + 21 * DAY)
        t = through_review(session, m.id, t)
        wf.publish_notice(session, CADRE, m.id, at=t)
        wf.close_notice(session, CADRE, m.id, at=t + 10 * DAY)
        store["doc"] = {**allocation_doc(), "pool_fen": 1}
        with pytest.raises(Conflict) as exc:
            wf.execute(session, TOWNSHIP, m.id, at=t + 11 * DAY)
        assert exc.value.code == "inputs_changed"
    finally:
        wf.DOCUMENT_SOURCES.pop("test_store")


def test_executing_twice_pays_once(session: Session, ctx: dict) -> None:
    m, t = closed(session, ctx)
    first = wf.execute(session, TOWNSHIP, m.id, at=t)
    again = wf.execute(session, TOWNSHIP, m.id, at=t + DAY)
    assert first.created and not again.created
    assert again.batch is not None and first.batch is not None and again.batch.id == first.batch.id
    assert session.scalar(select(func.count()).select_from(PaymentBatch).where(PaymentBatch.matter_id == m.id)) == 1
    assert session.scalar(select(func.count()).select_from(Run)) == 1
    assert session.scalar(select(func.count()).select_from(PaymentLine)) == 5
    assert ledger_types(session, f"matter:{m.id}").count("matter.execute") == 1
    assert ledger_types(session, f"payment_batch:{first.batch.id}") == ["payment.batch"]
    with pytest.raises(Conflict):
        payments.create_batch(session, TOWNSHIP, m, first.run, at=t)  # type: ignore[arg-type]


@pytest.mark.parametrize("stop", ["draft", "decided", "under_review", "approved", "in_notice"])
def test_a_matter_cannot_reach_payment_without_its_meeting_review_and_notice(
        session: Session, ctx: dict, stop: str) -> None:
    confirm_roster(session)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    t = T0 + 21 * DAY
    if stop != "draft":
        t = through_meeting(session, m.id, t)
    if stop in ("under_review", "approved", "in_notice"):
        wf.submit_for_review(session, CADRE, m.id, at=t)
    if stop in ("approved", "in_notice"):
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=t)
    if stop == "in_notice":
        wf.publish_notice(session, CADRE, m.id, at=t)
    assert m.state == stop
    with pytest.raises(Conflict) as exc:
        wf.execute(session, SYSTEM_ACTOR, m.id, at=t + 60 * DAY)
    assert stop in exc.value.message_en
    assert session.scalar(select(func.count()).select_from(PaymentBatch)) == 0


def test_an_allocation_may_only_pay_households_on_the_confirmed_roster(session: Session, ctx: dict) -> None:
    with pytest.raises(InputError) as exc:
        draft_allocation(session, T0, ctx=ctx)
    assert exc.value.code == "no_confirmed_roster"
    confirm_roster(session)
    doc = allocation_doc()
    doc["households"].append({"id": "H-999", "status": "poor", "labor": "none", "members": 1})
    with pytest.raises(InputError) as exc:
        draft_allocation(session, T0 + 20 * DAY, doc=doc, ctx=ctx)
    assert exc.value.code == "not_on_roster" and "H-999" in exc.value.message_zh
    assert exc.value.field == "document.households[6].id"


@pytest.mark.edits_rows_behind_the_ledger
def test_execution_is_refused_when_a_household_left_the_confirmed_roster(session: Session, ctx: dict) -> None:
    m, t = closed(session, ctx)
    roster = rosters.confirmed_roster(session, VILLAGE, 2024)
    assert roster is not None
    roster.document = {**roster.document, "households": [h for h in roster.document["households"]
                                                         if h["id"] != "H-003"]}
    with pytest.raises(Conflict) as exc:
        wf.execute(session, TOWNSHIP, m.id, at=t)
    assert exc.value.code == "not_on_roster" and "H-003" in exc.value.message_zh


# ---------------------------------------------------------------- who may do what


def test_roles_and_regions_are_enforced(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    with pytest.raises(NotFound):
        wf.draft_matter(session, OTHER_CADRE, kind="village_allocation", region=VILLAGE, title="越权",
                        document=allocation_doc(), year=2024, at=T0 + 20 * DAY)
    with pytest.raises(Forbidden):
        wf.draft_matter(session, AUDITOR, kind="village_allocation", region=VILLAGE, title="只读",
                        document=allocation_doc(), year=2024, at=T0 + 20 * DAY)
    m = draft_allocation(session, T0 + 20 * DAY, ctx=ctx)
    with pytest.raises(NotFound):
        wf.get_matter(session, OTHER_CADRE, m.id)
    with pytest.raises(NotFound):
        wf.get_matter(session, PUBLIC, m.id)  # not posted yet
    t = through_meeting(session, m.id, T0 + 21 * DAY)
    wf.submit_for_review(session, CADRE, m.id, at=t)
    with pytest.raises(Forbidden):
        wf.review(session, CADRE, m.id, decision="approve", at=t)  # a village may not approve its own matter
    with pytest.raises(Forbidden):
        wf.review(session, AUDITOR, m.id, decision="approve", at=t)
    with pytest.raises(InputError):
        wf.review(session, TOWNSHIP, m.id, decision="return", comments="  ", at=t)


def test_a_district_allocation_is_decided_by_the_leading_group_then_posted(session: Session, ctx: dict) -> None:
    doc = json.loads((EXAMPLE.parent / "district-allocation.json").read_text(encoding="utf-8"))
    m = wf.draft_matter(session, DISTRICT, kind="district_allocation", region=COUNTY, title="2024年区级收益资金分配",
                        document=doc, at=T0, year=2024)
    wf.call_meeting(session, DISTRICT, m.id, type="领导小组会议", scheduled_at=T0 + 2 * DAY, place="区政府",
                    eligible_members=9, at=T0)
    wf.record_attendance(session, DISTRICT, m.id, present_members=7, first_secretary_present=False, at=T0 + 2 * DAY)
    wf.record_votes(session, DISTRICT, m.id, votes_for=6, against=1, abstain=0, at=T0 + 2 * DAY)
    wf.decide(session, DISTRICT, m.id, at=T0 + 2 * DAY)
    assert m.state == "decided"
    with pytest.raises(Conflict):
        wf.submit_for_review(session, DISTRICT, m.id, at=T0 + 3 * DAY)
    with pytest.raises(NotFound):
        wf.publish_notice(session, TOWNSHIP, m.id, at=T0 + 3 * DAY)  # a township does not see district matters
    with pytest.raises(Forbidden):
        wf.publish_notice(session, AUDITOR, m.id, at=T0 + 3 * DAY)
    wf.publish_notice(session, DISTRICT, m.id, at=T0 + 3 * DAY)
    wf.close_notice(session, DISTRICT, m.id, at=T0 + 13 * DAY)
    ex = wf.execute(session, DISTRICT, m.id, at=T0 + 14 * DAY)
    assert ex.batch is not None and ex.batch.total_fen == 5000000
    assert {ln.payee_type for ln in payments.lines(session, ex.batch)} == {"village"}


def test_a_township_project_skips_the_village_meeting_and_is_reviewed_by_the_district(
        session: Session, ctx: dict) -> None:
    m = wf.draft_matter(session, TOWNSHIP, kind="township_project", region=TOWN, title="兴隆镇到户产业扶持",
                        document={"description": "到户发放鸡苗", "households": ["H-001", "H-002"]}, at=T0)
    with pytest.raises(Conflict):
        wf.call_meeting(session, TOWNSHIP, m.id, type="村民会议", scheduled_at=T0 + 11 * DAY, place="x", at=T0)
    wf.submit_for_review(session, TOWNSHIP, m.id, at=T0)
    with pytest.raises(Forbidden):
        wf.review(session, TOWNSHIP, m.id, decision="approve", at=T0)
    wf.review(session, DISTRICT, m.id, decision="approve", at=T0 + DAY)
    wf.publish_notice(session, TOWNSHIP, m.id, at=T0 + DAY)
    wf.close_notice(session, TOWNSHIP, m.id, at=T0 + 11 * DAY)
    ex = wf.execute(session, TOWNSHIP, m.id, at=T0 + 12 * DAY)
    assert m.state == "executed" and ex.batch is None


def test_a_county_may_require_a_longer_meeting_notice(session: Session, ctx: dict) -> None:
    wf.set_county_rules(session, DISTRICT, COUNTY, {"meeting_notice_days": 15}, at=T0)
    m = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2024, at=T0)
    with pytest.raises(InputError):
        wf.call_meeting(session, CADRE, m.id, type="村民代表会议", scheduled_at=T0 + 14 * DAY, place="村委会", at=T0)
    with pytest.raises(Forbidden):
        wf.set_county_rules(session, CADRE, COUNTY, {"meeting_notice_days": 20}, at=T0)


def test_every_event_points_at_its_own_ledger_entry(session: Session, ctx: dict) -> None:
    m = confirm_roster(session)
    events = session.scalars(select(MatterEvent).where(MatterEvent.matter_id == m.id)).all()
    for e in events:
        entry = session.get(LedgerEntry, (m.county_code, e.ledger_index))  # the index within the matter's county
        assert entry is not None and entry.subject == f"matter:{m.id}"
        body = json.loads(entry.body)
        assert body["facts"]["action"] == e.action and body["facts"]["to"] == e.to_state


def test_an_allocation_built_from_the_registry_stops_when_a_household_status_changed(
        session: Session, ctx: dict) -> None:
    from daipin.services.runs import service as runs

    confirm_roster(session)
    runs.save_allocation_plan(session, SYSTEM_ACTOR, village_code=VILLAGE, year=2024, pool_fen=600000,
                              buckets=[{"name": "到户", "share": "0.5", "rule": "equal", "per": "household"},
                                       {"name": "小型公益事业", "share": "0.5", "rule": "retain"}], at=T0)
    m = wf.draft_allocation_from_plan(session, CADRE, village=VILLAGE, year=2024, at=T0 + 20 * DAY,
                                      justification="到户部分为产业扶持物资折价，按户均等")
    assert m.preview is not None and sum(m.preview["households"].values()) == 300000
    t = through_meeting(session, m.id, T0 + 21 * DAY)
    t = through_review(session, m.id, t)
    wf.publish_notice(session, CADRE, m.id, at=t)
    wf.close_notice(session, CADRE, m.id, at=t + 10 * DAY)
    hh = session.scalar(select(Household).where(Household.household_no == "H-002"))
    assert hh is not None
    hh.status = "exited"
    with pytest.raises(Conflict) as exc:
        wf.execute(session, TOWNSHIP, m.id, at=t + 11 * DAY)
    assert exc.value.code == "inputs_changed"
    hh.status = "poor"
    ex = wf.execute(session, TOWNSHIP, m.id, at=t + 11 * DAY)
    assert ex.batch is not None and ex.batch.total_fen == 300000


def test_a_sixteen_digit_household_number_may_be_posted_but_a_bank_card_may_not(session: Session, ctx: dict) -> None:
    long_no = f"{VILLAGE}0099"  # village code and a serial: as long as a bank card
    hh = Household(household_no=long_no, village_code=VILLAGE, county_code=COUNTY, status="poor", labor="full",
                   life_state="alive")
    session.add(hh)
    session.flush()
    session.add(Person(household_id=hh.id, county_code=COUNTY, name="郑七", id_number="231002198001019999",
                       relation="户主", labor="full", life_state="alive"))
    adopt_unstated(session, actor="operator:seed", at=T0, reason="测试用登记数据")
    m = confirm_roster(session)
    n = session.scalars(select(wf.Notice).where(wf.Notice.matter_id == m.id)).one()
    assert {"ref": long_no, "type": "household", "name": "郑七"} in n.content["beneficiaries"]
    card = rosters.draft_roster(session, CADRE, village_code=VILLAGE, year=2025, at=T0,
                                households=[{"id": "6222021234567890", "status": "poor"}])
    t = through_meeting(session, card.id, T0)
    t = through_review(session, card.id, t)
    with pytest.raises(Conflict) as exc:
        wf.publish_notice(session, CADRE, card.id, at=t)
    assert exc.value.code == "personal_data_in_notice" and card.state == "approved"


def test_a_matter_naming_a_project_or_entity_of_another_county_is_refused(session: Session, ctx: dict) -> None:
    confirm_roster(session)
    session.add(Region(code="231003", name="邻区", level="district", parent_code=None, county_code="231003"))
    stranger = Entity(name="邻区合作社", kind="cooperative", uscc="93231003MA7654321X", legal_representative="法人",
                      county_code="231003", region_code="231003", credit_status="normal")
    session.add(stranger)
    session.flush()
    theirs = Project(code="P-OTHER", name="邻区项目", category="光伏", entity_id=stranger.id, township_code="231003001",
                     village_code=None, county_code="231003")
    session.add(theirs)
    session.flush()
    adopt_unstated(session, actor="operator:seed", at=T0, reason="测试用登记数据")
    before = session.scalar(select(func.count()).select_from(Matter))
    with pytest.raises(InputError) as exc:
        draft_allocation(session, T0 + 20 * DAY, ctx={"project": theirs})
    assert exc.value.field == "project_id" and "P-OTHER" in exc.value.message_zh
    with pytest.raises(InputError) as exc:
        draft_allocation(session, T0 + 20 * DAY, ctx=ctx, entity_id=stranger.id)
    assert exc.value.field == "entity_id"
    assert session.scalar(select(func.count()).select_from(Matter)) == before
    assert draft_allocation(session, T0 + 20 * DAY, ctx=ctx, entity_id=ctx["entity"].id).project_id == ctx["project"].id


def test_a_paper_notice_declares_when_it_was_put_up_and_its_window_runs_from_the_recording(
        session: Session, ctx: dict) -> None:
    confirm_roster(session)
    start = T0 + 20 * DAY
    m = draft_allocation(session, start, ctx=ctx)
    t = through_review(session, m.id, through_meeting(session, m.id, start + DAY))
    approved = t - DAY + timedelta(hours=3)  # the review's time (through_review)
    recorded = approved + 40 * DAY
    for posted, why in ((recorded + timedelta(hours=1), "不能晚于登记时间"),
                        (approved - timedelta(minutes=1), "不能早于上一步骤"),
                        (recorded - 31 * DAY, "超过 30 天")):
        with pytest.raises(InputError) as exc:
            wf.publish_notice(session, CADRE, m.id, at=recorded, posted_at=posted)
        assert exc.value.field == "posted_at" and why in exc.value.message_zh, exc.value.message_zh
    assert m.state == "approved"
    posted = recorded - 20 * DAY
    n = wf.publish_notice(session, CADRE, m.id, at=recorded, posted_at=posted)
    # The window is judged from the recording, never from the declared time.
    assert rows.utc(n.posted_at) == recorded and rows.utc(n.ends_at) == recorded + 10 * DAY
    assert n.content["window"]["paper_posted_at"] == posted.isoformat()
    event = wf.events(session, m)[-1]
    assert event.action == "publish" and event.details["held_at"] == posted.isoformat()
    body = json.loads(session.scalar(select(LedgerEntry.body).where(LedgerEntry.idx == event.ledger_index)))
    assert body["facts"]["held_at"] == posted.isoformat()
