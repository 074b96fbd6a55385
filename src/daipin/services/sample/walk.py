"""The demo's matters, one waiting at each step of the decision path (WORKFLOW.md), so a new user sees every page
of the path at once and can take any matter on from where it waits (the training clock passes the windows).

Every step goes through the workflow service, dated in the past as a paper record would be, and is ledgered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Region
from daipin.db.models.workflow import Matter
from daipin.domain.actors import Actor
from daipin.services.matters import service as wf
from daipin.services.rosters import service as rosters
from daipin.services.runs import service as runs
from daipin.services.sample.service import DISTRICT, YEAR

DAY = timedelta(days=1)
MARK = "（演示）"  # every demo matter's title ends so: a second setup finds them and adds none


def _meeting(session: Session, actor: Actor, m: Matter, t: datetime, *, vote: bool = True) -> datetime:
    """Call the village's representatives 11 days ahead, hold the meeting, and (if `vote`) vote and decide."""
    mt = wf.call_meeting(session, actor, m.id, type="representatives_meeting", scheduled_at=t + 11 * DAY,
                         place="村委会议室", at=t)
    n = mt.eligible_representatives
    t += 11 * DAY + timedelta(hours=1)
    wf.record_attendance(session, actor, m.id, at=t, present_representatives=n, first_secretary_present=True)
    if vote:
        wf.record_votes(session, actor, m.id, at=t, votes_for=n - 1, against=1, abstain=0)
        wf.decide(session, actor, m.id, at=t)
    return t


def _to_notice(session: Session, actor: Actor, m: Matter, t: datetime) -> datetime:
    wf.submit_for_review(session, actor, m.id, at=t)
    t += timedelta(hours=2)
    wf.review(session, actor, m.id, decision="approve", comments="经审核，符合规定", at=t)
    wf.publish_notice(session, actor, m.id, at=t)
    return t


def _villages(session: Session) -> list[str]:
    return list(session.scalars(select(Region.code).where(Region.level == "village").order_by(Region.code)))


def walk_demo_matters(session: Session, actor: Actor, at: datetime) -> dict[str, int]:
    """One matter waiting at each step, in the first township (whose accounts the demo gives): returns each
    matter's id by the step it waits at. The first villages' rosters of the sample year must be confirmed."""
    done = {m.title: m.id for m in session.scalars(select(Matter).where(Matter.title.endswith(MARK)))}
    if done:
        return {}
    v1, v2, v3 = _villages(session)[:3]
    township = v1[:9]
    nxt = YEAR + 1
    out: dict[str, int] = {}

    def allocation(village: str, title: str, t: datetime) -> Matter:
        doc = runs.build_village_allocation_document(session, village, YEAR)
        return wf.draft_matter(session, actor, kind="village_allocation", region=village, title=title + MARK,
                               document=doc, at=t, year=YEAR, justification="按贡献与困难程度分档分配",
                               funding_source="村集体经营性收益", responsible_person="村委会主任")

    # 1. 草稿: the next year's roster of the first village (the README walks it from here to the archive).
    m = rosters.draft_roster(session, actor, village_code=v1, year=nxt, at=at - DAY,
                             title=f"{nxt}年度收益扶贫对象确认{MARK}")
    out["draft"] = m.id
    # 2. 已召集会议: the second village's allocation, its meeting nine days ahead (advance the clock to hold it).
    m = allocation(v2, f"{YEAR}年度村集体收益分配", at - 2 * DAY)
    wf.call_meeting(session, actor, m.id, type="representatives_meeting", scheduled_at=at + 9 * DAY,
                    place="村委会议室", at=at - 2 * DAY)
    out["meeting_called"] = m.id
    # 3. 会议已表决: the third village's allocation, voted on: to be submitted for review.
    m = allocation(v3, f"{YEAR}年度村集体收益分配", at - 20 * DAY)
    _meeting(session, actor, m, at - 20 * DAY)
    out["decided"] = m.id
    # 4. 乡镇审核中: the second village's next-year roster, submitted to the township.
    m = rosters.draft_roster(session, actor, village_code=v2, year=nxt, at=at - 20 * DAY,
                             title=f"{nxt}年度收益扶贫对象确认{MARK}")
    t = _meeting(session, actor, m, at - 20 * DAY)
    wf.submit_for_review(session, actor, m.id, at=t)
    out["under_review"] = m.id
    # 5. 公示中，有异议待答复: the third village's next-year roster, posted three days ago.
    m = rosters.draft_roster(session, actor, village_code=v3, year=nxt, at=at - 25 * DAY,
                             title=f"{nxt}年度收益扶贫对象确认{MARK}")
    t = _meeting(session, actor, m, at - 25 * DAY)
    _to_notice(session, actor, m, max(t, at - 3 * DAY))
    wf.file_objection(session, actor, m.id, text="我家去年因病返贫，名单中没有我家，请核实。", at=at - DAY, name="村民")
    out["in_notice"] = m.id
    # 6. 公示结束，待执行: a township project (reviewed by the district), its notice run and closed.
    t = at - 15 * DAY
    households = [h["id"] for h in rosters.roster_document(session, v1, YEAR, t.date())["households"][:3]]
    m = wf.draft_matter(session, actor, kind="township_project", region=township, title=f"到户产业扶持（鸡苗）{MARK}",
                        document={"description": "为脱贫户发放鸡苗，每户 50 只", "households": households}, at=t,
                        funding_source="乡镇衔接资金", responsible_person="乡镇分管领导")
    _to_notice(session, actor, m, t)
    wf.close_notice(session, actor, m.id, at=t + 11 * DAY)
    out["notice_closed"] = m.id
    # 7. 已执行，待支付: the district's allocation of the sample year, executed: its lines wait for the bank.
    t = at - 30 * DAY
    villages = [{"id": code, "poor_people": 40 + 7 * i, "key_village": i % 3 == 0}
                for i, code in enumerate(_villages(session)[:6])]
    doc: dict[str, Any] = {"version": 1, "kind": "district_allocation", "fund_fen": 30_000_000,
                           "key_village_weight": "1.5", "villages": villages}
    m = wf.draft_matter(session, actor, kind="district_allocation", region=DISTRICT[0],
                        title=f"{YEAR}年度区级收益资金分配{MARK}", document=doc, at=t, year=YEAR,
                        funding_source="区级扶贫资产收益")
    wf.call_meeting(session, actor, m.id, type="leading_group_meeting", scheduled_at=t + 2 * DAY, place="区政府会议室",
                    eligible_members=9, at=t)
    t += 2 * DAY
    wf.record_attendance(session, actor, m.id, present_members=8, first_secretary_present=False, at=t)
    wf.record_votes(session, actor, m.id, votes_for=8, against=0, abstain=0, at=t)
    wf.decide(session, actor, m.id, at=t)
    wf.publish_notice(session, actor, m.id, at=t + DAY)
    wf.close_notice(session, actor, m.id, at=t + 12 * DAY)
    wf.execute(session, actor, m.id, at=t + 12 * DAY)
    out["executed"] = m.id
    # 8. 已归档: a township project of the year before, done, announced and archived.
    t = at - 60 * DAY
    m = wf.draft_matter(session, actor, kind="township_project", region=township, title=f"到户产业扶持（种苗）{MARK}",
                        document={"description": "为脱贫户发放玉米良种", "households": households}, at=t,
                        funding_source="乡镇衔接资金", responsible_person="乡镇分管领导")
    _to_notice(session, actor, m, t)
    t += 11 * DAY
    wf.close_notice(session, actor, m.id, at=t)
    wf.execute(session, actor, m.id, at=t)
    wf.announce_result(session, actor, m.id, at=t + DAY)
    wf.archive(session, actor, m.id, at=t + DAY)
    out["archived"] = m.id
    session.flush()
    return out
