"""Typed reads behind the printed papers of a matter (the PDFs are drawn by `reports/matter_pdf.py`).

Each paper is offered only where the matter's state has it (`available`): the meeting notice and sign-in sheet
once a meeting is called, the minutes once the vote is recorded, the review form once the matter is submitted,
the result announcement once announced, the dossier once archived. Names of people appear only where the paper
needs them (the sign-in sheet, the beneficiaries); never an ID number, a phone or a bank account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, Region, VillageRepresentative
from daipin.db.models.workflow import Matter, MatterEvent, Meeting, Notice, Objection, Review
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import NotFound
from daipin.domain.localtime import beijing_date
from daipin.domain.money import format_yuan
from daipin.domain.privacy import mask_free_text
from daipin.domain.vocabulary import MATTER_STATE, MEETING_TYPE
from daipin.services.matters import service as wfs
from daipin.services.villages import service as villages

# Papers in the order of the path, with their Chinese titles.
PAPERS: dict[str, str] = {
    "meeting-notice": "召开会议通知",
    "sign-in": "会议签到表",
    "minutes": "会议记录",
    "review": "乡镇审核意见表",
    "announcement": "执行结果公告",
    "dossier": "事项档案",
}
SUBMITTED = frozenset({wf.State.UNDER_REVIEW.value, wf.State.APPROVED.value, wf.State.IN_NOTICE.value,
                       wf.State.NOTICE_CLOSED.value, wf.State.EXECUTED.value, wf.State.ARCHIVED.value})


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    href: str


def _readable(session: Session, actor: Actor, matter_id: int) -> Matter:
    m = wfs.get_matter(session, actor, matter_id)
    if not access.allowed(actor, "matter.detail", region=m.region_code):
        raise NotFound(f"事项 {matter_id} 不存在", f"matter {matter_id} not found", "matter_id")
    return m


def _meeting(session: Session, m: Matter) -> Meeting | None:
    return wfs.current_meeting(session, m) if wf.has_meeting(m.kind) else None


def available(session: Session, actor: Actor, m: Matter) -> list[Paper]:
    """The papers this matter's state has, for this actor (the dossier for those who may export it)."""
    keys: list[str] = []
    mt = _meeting(session, m)
    if mt is not None:
        keys += ["meeting-notice", "sign-in"]
        if mt.votes_at is not None:
            keys.append("minutes")
    if m.state in SUBMITTED or session.scalar(select(Review.id).where(Review.matter_id == m.id).limit(1)):
        keys.append("review")
    if m.announced_at is not None:
        keys.append("announcement")
    if m.state == wf.State.ARCHIVED.value and access.allowed(actor, "dossier.export", region=m.region_code):
        keys.append("dossier")
    return [Paper(k, PAPERS[k], f"/matters/{m.id}/papers/{k}.pdf") for k in keys]


def _names(session: Session, m: Matter) -> dict[str, str]:
    codes = {m.region_code, m.region_code[:9], m.region_code[:6]}
    found = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())
    village = found.get(m.region_code, "") if len(m.region_code) == 12 else ""
    township = found.get(m.region_code[:9], "") if len(m.region_code) >= 9 else ""
    return {"village": village, "township": township, "district": found.get(m.region_code[:6], ""),
            "region": found.get(m.region_code, m.region_code)}


def _issuer(names: dict[str, str], m: Matter) -> str:
    if len(m.region_code) == 12:
        return f"{names['village']}村民委员会"
    if len(m.region_code) == 9:
        return f"{names['township']}人民政府"
    return f"{names['district']}巩固拓展脱贫攻坚成果领导小组"


def _day_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _head(session: Session, m: Matter) -> dict[str, Any]:
    names = _names(session, m)
    return {"matter": {"id": m.id, "title": m.title, "kind": m.kind, "kind_label": wf.KIND_LABELS[wf.MatterKind(m.kind)],
                       "year": m.year, "state": m.state, "state_label": MATTER_STATE.zh(m.state),
                       "funding_source": m.funding_source, "responsible_person": m.responsible_person,
                       "justification": m.justification, "region_code": m.region_code},
            "names": names, "issuer": _issuer(names, m),
            "beneficiaries": wfs.beneficiaries(session, m)}


def _meeting_facts(mt: Meeting) -> dict[str, Any]:
    return {"type": mt.type, "type_label": MEETING_TYPE.zh(mt.type), "called_at": mt.called_at,
            "scheduled_at": mt.scheduled_at, "place": mt.place,
            "eligible": {"representatives": mt.eligible_representatives, "adults": mt.eligible_adults,
                         "households": mt.eligible_households, "members": mt.eligible_members},
            "present": {"representatives": mt.present_representatives, "adults": mt.present_adults,
                        "households": mt.present_households, "members": mt.present_members},
            "attendance_at": mt.attendance_at, "first_secretary_present": mt.first_secretary_present,
            "cadres_present": [mask_free_text(str(c)) for c in mt.cadres_present or []],
            "minutes_ref": mask_free_text(mt.minutes_ref or ""),
            "votes": None if mt.votes_at is None else {"for": mt.votes_for or 0, "against": mt.votes_against or 0,
                                                       "abstain": mt.votes_abstain or 0, "at": mt.votes_at},
            "decided_at": mt.decided_at, "passed": mt.passed, "quorum_met": mt.quorum_met,
            "outcome_reasons": [r.get("zh", "") if isinstance(r, dict) else str(r) for r in mt.outcome_reasons or []]}


def _require_meeting(session: Session, m: Matter, *, voted: bool = False) -> Meeting:
    mt = _meeting(session, m)
    if mt is None or (voted and mt.votes_at is None):
        raise NotFound("该事项尚无此文书", "this matter has no such paper yet", "paper")
    return mt


def meeting_notice(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """召开会议通知: who calls, when and where it sits, what it decides, who may attend."""
    m = _readable(session, actor, matter_id)
    mt = _require_meeting(session, m)
    head = _head(session, m)
    return {**head, "meeting": _meeting_facts(mt), "date": _day_text(beijing_date(mt.called_at))}


def sign_in(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """会议签到表: the names of those entitled to attend, to sign beside; for a representatives' meeting the
    representatives serving on the day, for a villagers' meeting each living household by its head, for a leading
    group blank rows. Names and household numbers only."""
    m = _readable(session, actor, matter_id)
    mt = _require_meeting(session, m)
    day = beijing_date(mt.scheduled_at)
    rows: list[dict[str, str]] = []
    if mt.type == "representatives_meeting" and len(m.region_code) == 12:
        terms = villages.registry_counts(session, m.region_code, day).representatives
        if terms:
            found = session.execute(
                select(Person.name, Household.household_no).select_from(VillageRepresentative)
                .join(Person, VillageRepresentative.person_id == Person.id)
                .join(Household, Person.household_id == Household.id)
                .where(VillageRepresentative.id.in_(terms)).order_by(Household.household_no, Person.id)).all()
            rows = [{"name": n, "ref": no, "role": "村民代表"} for n, no in found]
    elif mt.type == "villagers_meeting" and len(m.region_code) == 12:
        found = session.execute(
            select(Person.name, Household.household_no).join(Household, Person.household_id == Household.id)
            .where(Household.village_code == m.region_code, Household.life_state == "alive",
                   Person.life_state == "alive", Person.relation == "户主")
            .order_by(Household.household_no)).all()
        rows = [{"name": n, "ref": no, "role": "户代表"} for n, no in found]
    else:
        rows = [{"name": "", "ref": "", "role": "成员"} for _ in range(max(mt.eligible_members, 1))]
    head = _head(session, m)
    return {**head, "meeting": _meeting_facts(mt), "rows": rows, "day": _day_text(day)}


def minutes(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """会议记录: the meeting, attendance, the tally and the outcome, with what was decided."""
    m = _readable(session, actor, matter_id)
    mt = _require_meeting(session, m, voted=True)
    head = _head(session, m)
    return {**head, "meeting": _meeting_facts(mt), "date": _day_text(beijing_date(mt.votes_at or mt.scheduled_at)),
            "total_fen": sum(int(b.get("amount_fen", 0)) for b in head["beneficiaries"])}


def review_form(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """乡镇审核意见表: the matter as submitted, its meeting's result, and the township's opinion (blank until given)."""
    m = _readable(session, actor, matter_id)
    if m.state not in SUBMITTED and session.scalar(select(Review.id).where(Review.matter_id == m.id).limit(1)) is None:
        raise NotFound("该事项尚未报审", "this matter has not been submitted", "paper")
    head = _head(session, m)
    mt = _meeting(session, m)
    reviews = list(session.scalars(select(Review).where(Review.matter_id == m.id).order_by(Review.id)))
    who = _actor_names(session, {r.reviewer for r in reviews})
    return {**head, "meeting": _meeting_facts(mt) if mt is not None else None,
            "total_fen": sum(int(b.get("amount_fen", 0)) for b in head["beneficiaries"]),
            "reviews": [{"decision": r.decision, "comments": mask_free_text(r.comments or ""), "at": r.at,
                         "reviewer": who.get(r.reviewer, r.reviewer), "round": r.round,
                         "date": _day_text(beijing_date(r.at))} for r in reviews],
            "reviewer_body": f"{head['names']['township']}人民政府" if head["names"]["township"] else
            f"{head['names']['district']}人民政府"}


def announcement(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """执行结果公告 as announced (the announcement's own content, already checked for personal data)."""
    m = _readable(session, actor, matter_id)
    if m.announced_at is None or not m.announcement:
        raise NotFound("该事项尚未公告执行结果", "this matter's result is not announced", "paper")
    head = _head(session, m)
    return {**head, "content": m.announcement, "announced_at": m.announced_at,
            "date": _day_text(beijing_date(m.announced_at))}


def dossier(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """The archive dossier as people read it: every step with its time, actor and ledger entry, the meeting, the
    reviews, the notice and its objections (as the public sees them), the payments, and the checkpoint."""
    from daipin.services.matters import views as matter_views
    from daipin.services.payments import service as payments

    m = _readable(session, actor, matter_id)
    access.require(actor, "dossier.export", region=m.region_code, field="actor")
    if m.state != wf.State.ARCHIVED.value:
        raise NotFound("该事项尚未归档", "this matter is not archived", "paper")
    head = _head(session, m)
    events = list(session.scalars(select(MatterEvent).where(MatterEvent.matter_id == m.id).order_by(MatterEvent.id)))
    who = matter_views.actor_names(session, {e.actor for e in events})
    mt = _meeting(session, m)
    notices = list(session.scalars(select(Notice).where(Notice.matter_id == m.id).order_by(Notice.id)))
    objections = list(session.scalars(select(Objection).where(Objection.matter_id == m.id).order_by(Objection.id)))
    reviews = review_form(session, actor, matter_id)["reviews"]
    batch = payments.batch_for_matter(session, m.id)
    return {**head, "archived_at": m.archived_at, "created_at": m.created_at,
            "archived_day": _day_text(beijing_date(m.archived_at)) if m.archived_at else "",
            "events": [{"at": e.at, "action": e.action, "to": e.to_state, "actor": who.get(e.actor, e.actor),
                        "ledger_index": e.ledger_index} for e in events],
            "meeting": _meeting_facts(mt) if mt is not None else None, "reviews": reviews,
            "notices": [{"id": n.id, "posted_at": n.posted_at, "ends_at": n.ends_at, "days": n.window_days,
                         "status": n.status, "checkpoint": n.checkpoint,
                         "root": (n.content or {}).get("ledger_checkpoint", {}).get("root", "")} for n in notices],
            "objections": [{"id": o.id, "filed_at": o.filed_at, "status": o.status,
                            "text": o.public_text if o.public_text is not None else mask_free_text(o.text),
                            "answer": o.public_answer if o.public_answer is not None else mask_free_text(o.answer)}
                           for o in objections],
            "payments": payments.public_summary(session, batch) if batch is not None else None,
            "document_digest": m.document_digest, "total_fen": sum(int(b.get("amount_fen", 0))
                                                                    for b in head["beneficiaries"])}


def _actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    from daipin.services.matters import views as matter_views

    return matter_views.actor_names(session, actors)


def render(session: Session, actor: Actor, matter_id: int, paper: str, *, at: datetime,
           training: bool = False) -> tuple[str, bytes]:
    """A paper of the matter as PDF bytes with its file name; NotFound for a paper its state does not have."""
    from daipin.reports import matter_pdf
    from daipin.services.matters.views import ACTION_LABELS

    kw: dict[str, Any] = {"printed_at": at, "training": training}
    if paper == "meeting-notice":
        pdf = matter_pdf.meeting_notice(meeting_notice(session, actor, matter_id), **kw)
    elif paper == "sign-in":
        pdf = matter_pdf.sign_in(sign_in(session, actor, matter_id), **kw)
    elif paper == "minutes":
        pdf = matter_pdf.minutes(minutes(session, actor, matter_id), **kw)
    elif paper == "review":
        pdf = matter_pdf.review_form(review_form(session, actor, matter_id), **kw)
    elif paper == "announcement":
        pdf = matter_pdf.announcement(announcement(session, actor, matter_id), **kw)
    elif paper == "dossier":
        pdf = matter_pdf.dossier(dossier(session, actor, matter_id), **kw,
                                 action_label=lambda a: ACTION_LABELS.get(a, a), state_label=MATTER_STATE.zh)
    else:
        raise NotFound(f"没有文书“{paper}”", f"no paper {paper!r}", "paper")
    return f"matter-{matter_id}-{paper}.pdf", pdf



def contract(session: Session, actor: Actor, contract_id: int) -> dict[str, Any]:
    """利益联结协议 as printed for signing and filing: the parties, the term in force, each term by its name with
    money in 元 and capitals, and the versions; read as the contract page reads it (`contract.read` scope; the
    payee by name only)."""
    from daipin.domain.vocabulary import TERM_CHOICE, TERM_ITEM
    from daipin.services.registry import views as registry_views

    ctx = registry_views.contract_page(session, actor, contract_id)

    def shown(kind: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if kind == "money":
            return f"{format_yuan(int(value))} 元（大写：{capitals_text(int(value))}）"
        if kind == "rate":
            from decimal import Decimal

            return f"{value}（{format(Decimal(str(value)) * 100, 'f').rstrip('0').rstrip('.')}%）"
        if kind == "choice":
            return TERM_CHOICE.zh(value)
        if kind == "list" and isinstance(value, list):
            return "；".join("，".join(f"{TERM_ITEM.zh(k)} {format_yuan(int(v)) + ' 元' if k.endswith('_fen') else v}"
                                      for k, v in x.items()) if isinstance(x, dict) else str(x) for x in value)
        return str(value)

    return {"contract": ctx["contract"],
            "terms": [{"label": t["label"], "value": shown(t["type"], t["value"])} for t in ctx["terms"]],
            "history": [{"version": v["version"], "reason": v["reason"], "at": v["at"], "actor": v["actor_name"],
                         "effective_from": v.get("effective_from", "")} for v in ctx["history"]]}


def capitals_text(fen: int) -> str:
    from daipin.reports.payment_pdf import capitals

    return capitals(fen)


def render_contract(session: Session, actor: Actor, contract_id: int, *, at: datetime,
                    training: bool = False) -> tuple[str, bytes]:
    from daipin.reports import matter_pdf

    ctx = contract(session, actor, contract_id)
    return f"contract-{ctx['contract']['code']}.pdf", matter_pdf.contract(ctx, printed_at=at, training=training)
