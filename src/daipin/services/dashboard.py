"""Dashboard aggregations, scoped to the actor's region: linked households, income, arrears, waiting matters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Entity, Household, Project, Run
from daipin.db.models.workflow import PaymentBatch, PaymentLine
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor, Role


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
    waiting: list[dict[str, Any]] = field(default_factory=list)


def _prefix(actor: Actor) -> str:
    if actor.role in (Role.DISTRICT_ADMIN, Role.AUDITOR):
        return actor.region[:6]
    if actor.role is Role.SYSTEM:
        return ""
    return actor.region


def overview(session: Session, *, actor: Actor, today: date) -> Overview:
    from daipin.services.registry_views import MODEL_LABELS

    out = Overview()
    prefix = _prefix(actor)
    entity_only = actor.role is Role.ENTITY_USER
    if not entity_only:
        in_scope = Household.village_code.startswith(prefix)
        out.households = session.scalar(select(func.count()).select_from(Household).where(in_scope)) or 0
        out.poor_households = int(session.scalar(select(func.count()).select_from(Household).where(
            in_scope, Household.status.in_(("poor", "monitored")))) or 0)
    contracts = (select(Contract.model, func.count(distinct(Contract.payee_household_id)))
                 .join(Household, Household.id == Contract.payee_household_id)
                 .where(Contract.status == "active"))
    if entity_only:
        contracts = contracts.where(Contract.entity_id == actor.entity_id)
    else:
        contracts = contracts.where(Household.village_code.startswith(prefix))
    rows = session.execute(contracts.group_by(Contract.model)).all()
    out.by_model = sorted(((MODEL_LABELS.get(m, m), int(n)) for m, n in rows), key=lambda x: -x[1])
    linked = select(func.count(distinct(Contract.payee_household_id))).join(
        Household, Household.id == Contract.payee_household_id).where(Contract.status == "active")
    linked = linked.where(Contract.entity_id == actor.entity_id) if entity_only else linked.where(
        Household.village_code.startswith(prefix))
    out.linked_households = int(session.scalar(linked) or 0)
    out.income_by_year = _income(session, prefix if not entity_only else None, actor)
    out.arrears_by_entity = _arrears(session, actor, prefix)
    out.arrears_total_fen = sum(v for _, v in out.arrears_by_entity)
    if actor.role in (Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICIAL, Role.DISTRICT_ADMIN):
        out.waiting = _waiting(session, actor)
    return out


def _income(session: Session, prefix: str | None, actor: Actor) -> list[tuple[str, int]]:
    if prefix is None:
        return []
    stmt = (select(PaymentBatch.created_at, PaymentLine.household_id, PaymentLine.amount_fen)
            .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
            .join(Household, Household.id == PaymentLine.household_id)
            .where(Household.village_code.startswith(prefix)))
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


def _arrears(session: Session, actor: Actor, prefix: str) -> list[tuple[str, int]]:
    projects = select(Project.code, Project.entity_id)
    if actor.role is Role.ENTITY_USER:
        projects = projects.where(Project.entity_id == actor.entity_id)
    elif actor.role in (Role.TOWNSHIP_OFFICIAL, Role.VILLAGE_CADRE):
        projects = projects.where(Project.township_code.startswith(actor.region[:9]))
    elif prefix:
        projects = projects.where(Project.county_code == prefix[:6])
    owners: dict[str, int] = dict(session.execute(projects).all())
    if not owners:
        return []
    per_entity: dict[int, int] = defaultdict(int)
    for subject, output in session.execute(select(Run.subject, Run.output_json).where(
            Run.kind == "settlement", Run.subject.in_(list(owners)))):
        lines = (output or {}).get("lines", [])
        due = sum(int(ln.get("due_fen", 0)) for ln in lines if isinstance(ln, dict))
        paid = sum(int(ln.get("paid_fen", 0)) for ln in lines if isinstance(ln, dict))
        if due > paid:
            per_entity[owners[subject]] += due - paid
    names = dict(session.execute(select(Entity.id, Entity.name).where(Entity.id.in_(list(per_entity)))).all())
    return sorted(((names.get(k, str(k)), v) for k, v in per_entity.items()), key=lambda x: -x[1])[:10]


def _waiting(session: Session, actor: Actor) -> list[dict[str, Any]]:
    from daipin.services import workflow as wfs
    from daipin.services.matter_views import _may

    done = (wf.State.ARCHIVED.value, wf.State.REJECTED.value)
    out = []
    for m in wfs.list_matters(session, actor, limit=200):
        if m.state in done:
            continue
        acts = [a for a in wf.allowed_actions(m.kind, m.state)
                if a not in (wf.Action.FILE_OBJECTION, wf.Action.UPDATE_DRAFT) and _may(actor, m, a)]
        if acts:
            out.append({"id": m.id, "title": m.title, "url": f"/matters/{m.id}",
                        "state_label": wf.STATE_LABELS[wf.State(m.state)],
                        "next": [wf.ACTION_LABELS[a] for a in acts]})
    return out[:20]


def chart_options(data: Overview) -> dict[str, dict[str, Any]]:
    """ECharts options; amounts leave as yuan strings computed from fen (no float arithmetic on money)."""

    def yuan(fen: int) -> str:
        return f"{fen // 100}.{fen % 100:02d}"

    return {
        "by_model": {
            "title": {"text": "联结农户（按利益联结模式）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"],
                        "data": [{"name": k, "value": v} for k, v in data.by_model]}],
        },
        "income": {
            "title": {"text": "户均收益（元）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [y for y, _ in data.income_by_year]},
            "yAxis": {"type": "value"},
            "series": [{"type": "bar", "data": [yuan(v) for _, v in data.income_by_year]}],
        },
        "arrears": {
            "title": {"text": "拖欠金额（元，按实施主体）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 110},
            "xAxis": {"type": "value"},
            "yAxis": {"type": "category", "data": [k for k, _ in data.arrears_by_entity]},
            "series": [{"type": "bar", "data": [yuan(v) for _, v in data.arrears_by_entity]}],
        },
    }
