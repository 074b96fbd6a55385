"""Dashboard aggregations, scoped to the actor's region: linked households, income, arrears, waiting matters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Entity, Household, Person, Project, Region, Run
from daipin.db.models.workflow import PaymentBatch, PaymentLine
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.money import format_yuan
from daipin.domain.privacy import mask_name
from daipin.domain.vocabulary import BENEFIT_MODEL
from daipin.services.matters import service as wfs
from daipin.services.runs.views import latest_settlements
from daipin.services.shared import scope


@dataclass
class Overview:
    households: int = 0
    poor_households: int = 0
    linked_households: int = 0
    entities: int = 0
    projects: int = 0
    by_model: list[tuple[str, int]] = field(default_factory=list)
    income_by_year: list[tuple[str, int]] = field(default_factory=list)  # fen per paid household
    arrears_by_entity: list[tuple[str, int]] = field(default_factory=list)  # fen
    arrears_total_fen: int = 0
    settled_projects: int = 0
    region_name: str = ""


def overview(session: Session, *, actor: Actor, today: date) -> Overview:
    out = Overview()
    access.require(actor, "dashboard.read")
    reach = access.reach(actor, "dashboard.read")
    entity_only = reach.scope is access.Scope.ENTITY  # an entity's users: its own contracts, no registry
    in_scope = scope.where(reach, region=Household.village_code)
    if not entity_only:
        out.households = session.scalar(select(func.count()).select_from(Household).where(in_scope)) or 0
        out.poor_households = int(session.scalar(select(func.count()).select_from(Household).where(
            in_scope, Household.status.in_(("poor", "monitored")))) or 0)
    contracts = (select(Contract.model, func.count(distinct(Contract.payee_household_id)))
                 .join(Household, Household.id == Contract.payee_household_id)
                 .where(Contract.status == "active"))
    contracts = contracts.where(scope.where(reach, region=Household.village_code, entity=Contract.entity_id))
    rows = session.execute(contracts.group_by(Contract.model)).all()
    out.by_model = sorted(((BENEFIT_MODEL.zh(m), int(n)) for m, n in rows), key=lambda x: -x[1])
    linked = select(func.count(distinct(Contract.payee_household_id))).join(
        Household, Household.id == Contract.payee_household_id).where(Contract.status == "active")
    linked = linked.where(scope.where(reach, region=Household.village_code, entity=Contract.entity_id))
    out.linked_households = int(session.scalar(linked) or 0)
    out.income_by_year = [] if entity_only else _income(session, in_scope)
    ranked, out.settled_projects = _arrears(session, actor)
    out.arrears_total_fen = sum(v for _, v in ranked)
    out.arrears_by_entity = ranked[:10]
    out.region_name = _region_name(session, actor, reach)
    return out


def _region_name(session: Session, actor: Actor, reach: access.Reach) -> str:
    code = reach.prefix or actor.region[:6]  # an entity's users: their county
    return session.scalar(select(Region.name).where(Region.code == code)) or code


def _income(session: Session, in_scope: Any) -> list[tuple[str, int]]:
    stmt = (select(PaymentBatch.created_at, PaymentLine.household_id, PaymentLine.amount_fen)
            .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
            .join(Household, Household.id == PaymentLine.household_id)
            .where(in_scope, PaymentLine.status == "paid"))  # money paid only: pending money is not income yet
    totals: dict[str, int] = defaultdict(int)
    paid: dict[str, set[int]] = defaultdict(set)
    for at, hid, amount in session.execute(stmt):
        if hid is None:
            continue
        year = str(at.year)
        totals[year] += int(amount)
        paid[year].add(int(hid))
    # Average per paid household, rounded half-up to the fen.
    return [(y, (2 * totals[y] + len(paid[y])) // (2 * len(paid[y]))) for y in sorted(totals) if paid[y]]


def _line_amounts(run: Run) -> list[dict[str, Any]]:
    return [ln for ln in (run.output_json or {}).get("lines", []) if isinstance(ln, dict)]


def _arrears(session: Session, actor: Actor) -> tuple[list[tuple[str, int]], int]:
    """Unpaid dues per entity (top ten) from the latest settlement of each project the actor reads, and how
    many projects have been settled at all (so an empty chart can say why)."""
    projects = select(Project.code, Project.entity_id).where(scope.where(
        access.reach(actor, "project.read"), region=func.coalesce(Project.village_code, Project.township_code),
        entity=Project.entity_id))
    owners: dict[str, int] = dict(session.execute(projects).all())
    if not owners:
        return [], 0
    per_entity: dict[int, int] = defaultdict(int)
    runs = latest_settlements(session, list(owners))
    for run in runs:
        lines = _line_amounts(run)
        due = sum(int(ln.get("due_fen", 0)) for ln in lines)
        paid = sum(int(ln.get("paid_fen", 0)) for ln in lines)
        if due > paid:
            per_entity[owners[run.subject]] += due - paid
    names = dict(session.execute(select(Entity.id, Entity.name).where(Entity.id.in_(list(per_entity)))).all())
    ranked = sorted(((names.get(k, str(k)), v) for k, v in per_entity.items()), key=lambda x: -x[1])
    return ranked, len({r.subject for r in runs})


def entity_dues(session: Session, actor: Actor, entity_id: int) -> dict[str, Any]:
    """An entity's dues, payments and arrears per contract, from the latest settlement run of each of its
    projects and years; scoped like the entity page (NotFound outside the actor's view).

    A line is listed only when its contract is inside the actor's reach (`registry.views.contract_in_reach`: the
    payee's region, or the entity's own users); other lines are counted (`dues_outside`), never named or summed,
    so another village's households, numbers and amounts stay out. A payee is named in full and linked only
    for those who read its village's households; an entity's users see the name masked."""
    from daipin.services.registry import views as rv

    e = rv.entity(session, actor, entity_id)
    projects: dict[str, str] = dict(session.execute(
        select(Project.code, Project.name).where(Project.entity_id == e.id)).all())
    runs = latest_settlements(session, list(projects))
    payees: set[str] = {str(ln.get("payee", "")) for r in runs for ln in _line_amounts(r)}
    households = {no: (hid, head, village) for hid, no, head, village in session.execute(
        select(Household.id, Household.household_no, Person.name, Household.village_code)
        .join(Person, (Person.household_id == Household.id) & (Person.relation == "户主"), isouter=True)
        .where(Household.household_no.in_(payees)))} if payees else {}
    villages: dict[str, str] = dict(session.execute(
        select(Region.code, Region.name).where(Region.code.in_(payees))).all()) if payees else {}
    codes = {str(ln.get("contract", "")) for r in runs for ln in _line_amounts(r)}
    contracts: dict[str, Contract] = {c.code: c for c in session.scalars(
        select(Contract).join(Project, Project.id == Contract.project_id)
        .where(Project.entity_id == e.id, Contract.code.in_(codes)))} if codes else {}
    reached = {code: rv.contract_in_reach(session, actor, c) for code, c in contracts.items()}
    rows = []
    outside = 0
    for run in runs:
        for ln in _line_amounts(run):
            payee = str(ln.get("payee", ""))
            code = str(ln.get("contract", ""))
            hh = households.get(payee)
            region = hh[2] if hh else payee if payee in villages else None
            inside = reached[code] if code in reached else region is not None and access.allowed(
                actor, "contract.read", region=region, entity_id=e.id)
            if not inside:
                outside += 1
                continue
            how = rv.payee_shown(actor, hh[2], e.id) if hh else "full"
            head = (hh[1] if how == "full" else mask_name(hh[1])) if hh and hh[1] else ""
            due, paid = int(ln.get("due_fen", 0)), int(ln.get("paid_fen", 0))
            rows.append({"run": run.id, "year": run.year, "project": projects.get(run.subject, run.subject),
                         "project_code": run.subject, "contract": code,
                         "contract_id": contracts[code].id if code in contracts else None, "payee": payee,
                         "payee_name": villages.get(payee) or head, "household_id": hh[0] if hh else None,
                         "household_viewable": bool(hh) and how == "full",
                         "due_fen": due, "paid_fen": paid, "arrears_fen": max(due - paid, 0),
                         "basis": str(ln.get("basis", "")), "settled_at": run.at})
    shown_runs = {r["run"] for r in rows}
    return {"dues": rows, "runs": [{"run": r.id, "project": projects.get(r.subject, r.subject), "year": r.year,
                                    "at": r.at} for r in runs if r.id in shown_runs],
            "dues_outside": outside,
            "due_total_fen": sum(r["due_fen"] for r in rows), "paid_total_fen": sum(r["paid_fen"] for r in rows),
            "arrears_total_fen": sum(r["arrears_fen"] for r in rows)}


def contract_payees(session: Session, contracts: list[dict[str, Any]]) -> dict[int, str]:
    """Who each contract pays, as people read it: the village's name or the household's number."""
    hh_ids = {int(c["payee_household_id"]) for c in contracts if c.get("payee_household_id")}
    codes = {str(c["payee_village_code"]) for c in contracts if c.get("payee_village_code")}
    numbers: dict[int, str] = dict(session.execute(
        select(Household.id, Household.household_no).where(Household.id.in_(hh_ids))).all()) if hh_ids else {}
    names: dict[str, str] = dict(session.execute(
        select(Region.code, Region.name).where(Region.code.in_(codes))).all()) if codes else {}
    out = {}
    for c in contracts:
        if c.get("payee_village_code"):
            out[int(c["id"])] = names.get(c["payee_village_code"], c["payee_village_code"])
        elif c.get("payee_household_id"):
            out[int(c["id"])] = numbers.get(c["payee_household_id"], "")
    return out


# 待我处理 from features built later (supervision's overdue rectifications): each source gives the actor's items
# as dicts with `title`, `url`, `detail` and `due` (a datetime or None), and its section's heading.
TodoSource = Callable[[Session, Actor, datetime], list[dict[str, Any]]]
TODO_SOURCES: dict[str, tuple[str, TodoSource]] = {}


def register_todo(key: str, heading: str, source: TodoSource) -> None:
    """A later feature's part of 待我处理 (for example `overdue_rectifications`, "逾期未整改")."""
    TODO_SOURCES[key] = (heading, source)


_DONE = (wf.State.ARCHIVED.value, wf.State.REJECTED.value, wf.State.WITHDRAWN.value)
# Steps shown in their own sections (a notice to close, an objection to answer), or not waiting on anyone.
_APART = (wf.Action.FILE_OBJECTION, wf.Action.UPDATE_DRAFT, wf.Action.CLOSE_NOTICE, wf.Action.ANSWER_OBJECTION,
          wf.Action.WITHDRAW)
TODO_LIMIT = 20


def _step_pairs(actor: Actor) -> list[tuple[str, str]]:
    """The (kind, state) pairs in which the actor's role takes a next step somewhere."""
    out = []
    for kind in wf.MatterKind:
        for state in wf.State:
            if state.value in _DONE:
                continue
            acts = [a for a in wf.allowed_actions(kind.value, state.value) if a not in _APART]
            if any(access.may(actor, wfs.step_action(kind.value, a)) for a in acts):
                out.append((kind.value, state.value))
    return out


def todo(session: Session, actor: Actor, *, now: datetime) -> dict[str, Any]:
    """待我处理: the steps waiting for the actor, the notices it may close (and when), the payments pending or
    failed, the objections it answers with their deadlines; later features' sections (TODO_SOURCES) after them."""
    from sqlalchemy import and_, or_

    from daipin.db.models.workflow import Matter, Notice, Objection
    from daipin.domain.localtime import for_people
    from daipin.domain.vocabulary import PAYMENT_OPEN

    out: dict[str, Any] = {"steps": [], "steps_total": 0, "notices": [], "payments": [], "objections": [],
                           "extra": []}
    read = wfs.matters_in_reach(actor)
    names: dict[str, str] = {}
    pairs = _step_pairs(actor)
    if pairs:
        waiting = and_(read, or_(*(and_(Matter.kind == k, Matter.state == st) for k, st in pairs)))
        out["steps_total"] = int(session.scalar(select(func.count()).select_from(Matter).where(waiting)) or 0)
        for m in session.scalars(select(Matter).where(waiting).order_by(Matter.updated_at, Matter.id)
                                 .limit(TODO_LIMIT * 5)):
            acts = [a for a in wf.allowed_actions(m.kind, m.state) if a not in _APART and wfs.may_act(actor, m, a)]
            if acts and len(out["steps"]) < TODO_LIMIT:
                out["steps"].append({"id": m.id, "title": m.title, "url": f"/matters/{m.id}", "region": m.region_code,
                                     "state": m.state, "next_actions": [a.value for a in acts],
                                     "since": for_people(m.updated_at)})
    # Open notices: when each may close, and what still holds it.
    open_notices = session.execute(
        select(Notice, Matter).join(Matter, Matter.id == Notice.matter_id)
        .where(read, Notice.status == "open", Matter.state == wf.State.IN_NOTICE.value, Notice.round == Matter.round)
        .order_by(Notice.ends_at).limit(200)).all()
    open_objections: dict[int, list[Objection]] = defaultdict(list)
    if open_notices:
        for o in session.scalars(select(Objection).where(
                Objection.notice_id.in_([n.id for n, _ in open_notices]), Objection.status == "open")
                .order_by(Objection.filed_at)):
            open_objections[o.notice_id].append(o)
    for n, m in open_notices:
        pending = open_objections.get(n.id, [])
        if wfs.may_act(actor, m, wf.Action.CLOSE_NOTICE) and len(out["notices"]) < TODO_LIMIT:
            ended = utc_of(n.ends_at) <= utc_of(now)
            out["notices"].append({"id": m.id, "title": m.title, "url": f"/matters/{m.id}#close_notice",
                                   "region": m.region_code, "ends_at": for_people(n.ends_at),
                                   "can_close": ended and not pending, "ended": ended,
                                   "open_objections": len(pending)})
        if wfs.may_act(actor, m, wf.Action.ANSWER_OBJECTION):
            for o in pending:
                if len(out["objections"]) < TODO_LIMIT:
                    out["objections"].append({"id": o.id, "matter": m.id, "title": m.title,
                                              "url": f"/matters/{m.id}#objection-{o.id}", "region": m.region_code,
                                              "filed_at": for_people(o.filed_at), "due": for_people(n.ends_at),
                                              "overdue": utc_of(n.ends_at) <= utc_of(now)})
    # Payments not yet paid (pending or sent to the bank) or failed, by matter.
    if not access.reach(actor, "payment.read").nothing:
        in_pay = scope.where(access.reach(actor, "payment.read"), region=Matter.region_code)
        rows = session.execute(
            select(Matter.id, Matter.title, Matter.region_code, PaymentLine.status, func.count(),
                   func.coalesce(func.sum(PaymentLine.amount_fen), 0))
            .join(PaymentBatch, PaymentBatch.matter_id == Matter.id)
            .join(PaymentLine, PaymentLine.batch_id == PaymentBatch.id)
            .where(in_pay, PaymentLine.status.in_(PAYMENT_OPEN))
            .group_by(Matter.id, Matter.title, Matter.region_code, PaymentLine.status)
            .order_by(Matter.id)).all()
        by_matter: dict[int, dict[str, Any]] = {}
        for mid, title, region, status, count, amount in rows:
            item = by_matter.setdefault(mid, {"id": mid, "title": title, "url": f"/matters/{mid}/payments",
                                              "region": region, "pending": 0, "pending_fen": 0, "failed": 0,
                                              "failed_fen": 0})
            key = "failed" if status == "failed" else "pending"
            item[key] += int(count)
            item[f"{key}_fen"] += int(amount)
        out["payments"] = sorted(by_matter.values(), key=lambda i: (-i["failed"], i["id"]))[:TODO_LIMIT]
    for key, (heading, source) in TODO_SOURCES.items():
        items = source(session, actor, now)
        if items:
            out["extra"].append({"key": key, "heading": heading, "entries": items})
    codes = {i["region"] for part in ("steps", "notices", "payments", "objections") for i in out[part]}
    if codes:
        names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())
    for part in ("steps", "notices", "payments", "objections"):
        for i in out[part]:
            i["region_name"] = names.get(i["region"], i["region"])
    out["empty"] = not any(out[p] for p in ("steps", "notices", "payments", "objections", "extra"))
    return out


def utc_of(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def chart_options(data: Overview) -> dict[str, dict[str, Any]]:
    """ECharts options; amounts leave as yuan strings computed from fen (no float arithmetic on money), without
    thousands separators: the chart reads them as numbers."""

    def yuan(fen: int) -> str:
        return format_yuan(fen, grouping=False)

    return {
        "by_model": {
            "title": {"text": "联结农户（按利益联结模式）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "item", "formatter": "{b}：{c} 户（{d}%）"},
            # A legend under the ring instead of leader-line labels, which a phone screen cuts off.
            "legend": {"bottom": 0, "itemWidth": 14, "itemGap": 8, "textStyle": {"fontSize": 11}},
            "series": [{"type": "pie", "radius": ["26%", "48%"], "center": ["50%", "42%"],
                        "label": {"show": True, "position": "inside", "formatter": "{c}"},
                        "data": [{"name": k, "value": v} for k, v in data.by_model]}],
        },
        "income": {
            "title": {"text": "户均收益（元，按支付年度）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 8, "right": 16, "containLabel": True},
            "xAxis": {"type": "category", "data": [y for y, _ in data.income_by_year]},
            "yAxis": {"type": "value"},
            "series": [{"type": "bar", "data": [yuan(v) for _, v in data.income_by_year]}],
        },
        "arrears": {
            "title": {"text": "拖欠金额（元，按实施主体）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 8, "right": 24, "containLabel": True},
            "xAxis": {"type": "value", "splitNumber": 2, "axisLabel": {"hideOverlap": True, "fontSize": 11}},
            # Long entity names wrap onto two lines rather than pushing the bars off a phone screen.
            "yAxis": {"type": "category", "inverse": True, "data": [k for k, _ in data.arrears_by_entity],
                      "axisLabel": {"width": 96, "overflow": "break", "fontSize": 11}},
            "series": [{"type": "bar", "data": [yuan(v) for _, v in data.arrears_by_entity]}],
        },
    }


def chart_notes(data: Overview) -> dict[str, str]:
    """Why a chart is empty, in words a village cadre can act on (shown instead of a blank chart)."""
    notes = {}
    if not data.by_model:
        notes["by_model"] = "辖区内还没有有效的利益联结协议。"
    if not data.income_by_year:
        notes["income"] = "辖区内还没有执行过的分配，暂无到户收益。"
    if not data.arrears_by_entity:
        notes["arrears"] = ("已结算的项目均足额支付，没有拖欠。" if data.settled_projects
                            else "尚未对项目进行年度结算，结算后这里显示各实施主体的拖欠金额。")
    return notes
