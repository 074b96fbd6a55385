"""Performance indicators per project and per village (R3.2), each computed by one aggregate query: households
benefiting, income paid per household in the year, dues paid on time, findings still open."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, Household, Project, Region
from daipin.db.models.supervision import Due, Finding, ProjectDebt
from daipin.db.models.workflow import PaymentLine
from daipin.domain import access
from daipin.domain import supervision as rules_def
from daipin.domain.actors import Actor
from daipin.services.shared import scope


def _share(part: int, whole: int) -> str:
    """A share as an exact percentage string with one decimal (half up), "" when there is nothing to share."""
    if not whole:
        return ""
    tenths = (part * 1000 * 2 + whole) // (whole * 2)
    return f"{tenths // 10}.{tenths % 10}"


def projects(session: Session, actor: Actor, *, year: int, today: date) -> list[dict[str, Any]]:
    """Each project in reach: households linked by contracts in force today, dues of the year paid on time (of all
    dues of the year that fell due), findings about it still open."""
    access.require(actor, "supervision.read")
    reach = access.reach(actor, "supervision.read")
    region = func.coalesce(Project.village_code, Project.township_code)
    linked = (select(Contract.project_id, func.count(func.distinct(Contract.payee_household_id)).label("n"))
              .where(Contract.status == "active", Contract.start_date <= today, Contract.end_date >= today)
              .group_by(Contract.project_id).subquery())
    in_year = and_(Due.due_on >= date(year, 1, 1), Due.due_on <= min(date(year, 12, 31), today))
    on_time = and_(Due.paid_fen >= Due.amount_fen, Due.paid_on <= Due.due_on)
    dues = (select(Contract.project_id, func.count(Due.id).label("due"),
                   func.sum(case((on_time, 1), else_=0)).label("on_time"))
            .join(Contract, Contract.id == Due.contract_id).where(in_year).group_by(Contract.project_id).subquery())
    open_findings = (select(Finding.subject, func.count(Finding.id).label("n"))
                     .where(Finding.status.not_in(rules_def.CLOSED), Finding.cause_gone_at.is_(None),
                            Finding.subject.like("project:%")).group_by(Finding.subject).subquery())
    rows = session.execute(
        select(Project.id, Project.code, Project.name, region.label("region"),
               func.coalesce(linked.c.n, 0), func.coalesce(dues.c.due, 0), func.coalesce(dues.c.on_time, 0),
               func.coalesce(open_findings.c.n, 0))
        .outerjoin(linked, linked.c.project_id == Project.id)
        .outerjoin(dues, dues.c.project_id == Project.id)
        .outerjoin(open_findings, open_findings.c.subject == "project:" + Project.code)
        .where(scope.where(reach, region=region)).order_by(Project.code)).all()
    return [{"project_id": pid, "project": code, "name": name, "region": reg, "households": int(n),
             "dues": int(due), "dues_on_time": int(ok), "on_time_share": _share(int(ok), int(due)),
             "open_findings": int(f)} for pid, code, name, reg, n, due, ok, f in rows]


def villages(session: Session, actor: Actor, *, year: int, today: date | None = None) -> list[dict[str, Any]]:
    """Each village in reach: households paid in the year, what they were paid in all and per household, dues to the
    village's households and collective that fell due in the year (up to `today`) and those paid in full by their
    due date, findings in the village still open."""
    access.require(actor, "supervision.read")
    reach = access.reach(actor, "supervision.read")
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    if today is not None:
        end = min(end, today + timedelta(days=1))
    paid = (select(Household.village_code.label("village"),
                   func.count(func.distinct(PaymentLine.household_id)).label("households"),
                   func.sum(PaymentLine.amount_fen).label("paid_fen"))
            .join(Household, Household.id == PaymentLine.household_id)
            .where(PaymentLine.status == "paid", PaymentLine.paid_at >= start, PaymentLine.paid_at < end)
            .group_by(Household.village_code).subquery())
    last_day = end - timedelta(days=1)
    on_time = and_(Due.paid_fen >= Due.amount_fen, Due.paid_on <= Due.due_on, Due.paid_on <= last_day)
    dues = (select(Due.region_code.label("village"), func.count(Due.id).label("due"),
                   func.sum(case((on_time, 1), else_=0)).label("on_time"))
            .where(Due.due_on >= start, Due.due_on <= last_day).group_by(Due.region_code).subquery())
    open_findings = (select(Finding.region_code, func.count(Finding.id).label("n"))
                     .where(Finding.status.not_in(rules_def.CLOSED), Finding.cause_gone_at.is_(None))
                     .group_by(Finding.region_code).subquery())
    rows = session.execute(
        select(Region.code, Region.name, func.coalesce(paid.c.households, 0), func.coalesce(paid.c.paid_fen, 0),
               func.coalesce(open_findings.c.n, 0), func.coalesce(dues.c.due, 0), func.coalesce(dues.c.on_time, 0))
        .outerjoin(paid, paid.c.village == Region.code)
        .outerjoin(dues, dues.c.village == Region.code)
        .outerjoin(open_findings, open_findings.c.region_code == Region.code)
        .where(Region.level == "village", scope.where(reach, region=Region.code)).order_by(Region.code)).all()
    out = []
    for code, name, households, paid_fen, findings, due, ok in rows:
        h, total = int(households), int(paid_fen)
        out.append({"village": code, "name": name, "households": h, "paid_fen": total,
                    "per_household_fen": (total * 2 + h) // (h * 2) if h else 0, "open_findings": int(findings),
                    "dues": int(due), "dues_on_time": int(ok), "on_time_share": _share(int(ok), int(due))})
    return out


def risk_register(session: Session, actor: Actor, *, today: date) -> list[dict[str, Any]]:
    """The risk register (R3.3): each project in reach with debts still owed, what is owed and overdue, and the
    red flags still open about it or its entity (arrears, missing insurance, concentration), and about its
    assets (an operating asset without insurance)."""
    from daipin.db.models.registry import Asset, Entity

    access.require(actor, "supervision.read")
    reach = access.reach(actor, "supervision.read")
    region = func.coalesce(Project.village_code, Project.township_code)
    debts = (select(ProjectDebt.project_id, func.sum(ProjectDebt.outstanding_fen).label("owed"),
                    func.sum(case((ProjectDebt.due_on < today, ProjectDebt.outstanding_fen), else_=0)).label("late"))
             .where(ProjectDebt.outstanding_fen > 0).group_by(ProjectDebt.project_id).subquery())
    live = and_(Finding.status.not_in(rules_def.CLOSED), Finding.cause_gone_at.is_(None))
    entity_flags = (select(Finding.subject, func.count(Finding.id).label("n"))
                    .where(live, Finding.rule.in_(("ARREARS", "NO_INSURANCE", "CONCENTRATION")))
                    .group_by(Finding.subject).subquery())
    asset_flags = (select(func.count(Finding.id)).join(Asset, Finding.subject == "asset:" + Asset.code)
                   .where(live, Finding.rule == "NO_INSURANCE", Asset.project_id == Project.id)
                   .correlate(Project).scalar_subquery())
    flags = func.coalesce(func.sum(entity_flags.c.n), 0) + asset_flags
    rows = session.execute(
        select(Project.code, Project.name, Entity.name, region.label("region"), func.coalesce(debts.c.owed, 0),
               func.coalesce(debts.c.late, 0), flags)
        .join(Entity, Entity.id == Project.entity_id)
        .outerjoin(debts, debts.c.project_id == Project.id)
        .outerjoin(entity_flags, or_(entity_flags.c.subject == "entity:" + Entity.uscc,
                                     entity_flags.c.subject.like("entity:" + Entity.uscc + "@%")))
        .where(scope.where(reach, region=region))
        .group_by(Project.id, Project.code, Project.name, Entity.name, region, debts.c.owed, debts.c.late)
        .having(or_(func.coalesce(debts.c.owed, 0) > 0, flags > 0))
        .order_by(Project.code)).all()
    return [{"project": code, "name": name, "entity": entity, "region": reg, "owed_fen": int(owed),
             "overdue_fen": int(late), "entity_flags": int(flags)} for code, name, entity, reg, owed, late, flags in rows]


def chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """ECharts options for the villages: households paid and income per household (yuan), side by side."""
    names = [r["name"] for r in rows]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": ["受益户数", "户均收益（元）"]},
        "grid": {"left": 48, "right": 48, "bottom": 60},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 30}},
        "yAxis": [{"type": "value", "name": "户"}, {"type": "value", "name": "元"}],
        "series": [{"name": "受益户数", "type": "bar", "data": [r["households"] for r in rows]},
                   {"name": "户均收益（元）", "type": "bar", "yAxisIndex": 1,
                    "data": [r["per_household_fen"] // 100 for r in rows]}],
    }
