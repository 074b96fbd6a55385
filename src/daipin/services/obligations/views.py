"""Reads: wages due, paid and in arrears per worker, project and entity (R1.3); revolving fund-support schedules,
repayments and what is overdue (R1.1). Each read asks the access policy, row by row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.obligations import FundRepayment, WagePayment
from daipin.db.models.registry import Contract, Household, Person, Project, WorkRecord
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.obligations import repayments_owed, wages_owed
from daipin.domain.privacy import mask_free_text, mask_name
from daipin.services.contracts.service import payee_region


def _region(p: Project) -> str:
    return str(p.village_code or p.township_code)


def _visible(session: Session, actor: Actor, c: Contract, p: Project) -> bool:
    """Read by whoever reads the contract (its payee's region, its entity's users) or its project."""
    return (access.allowed(actor, "contract.read", region=payee_region(session, c), entity_id=c.entity_id)
            or access.allowed(actor, "project.read", region=_region(p), entity_id=p.entity_id))


def _contracts(session: Session, actor: Actor, model: str, *, entity_id: int | None = None,
               project_id: int | None = None, contract: str | None = None) -> list[tuple[Contract, Project]]:
    stmt = select(Contract, Project).join(Project, Project.id == Contract.project_id).where(Contract.model == model)
    if entity_id is not None:
        stmt = stmt.where(Contract.entity_id == entity_id)
    if project_id is not None:
        stmt = stmt.where(Contract.project_id == project_id)
    if contract is not None:
        stmt = stmt.where(Contract.code == contract)
    return [(c, p) for c, p in session.execute(stmt.order_by(Contract.code)).all() if _visible(session, actor, c, p)]


def repaid_total(session: Session, c: Contract, up_to: date | None = None) -> int:
    stmt = select(func.coalesce(func.sum(FundRepayment.amount_fen), 0)).where(FundRepayment.contract_id == c.id)
    if up_to is not None:
        stmt = stmt.where(FundRepayment.paid_on <= up_to)
    return int(session.scalar(stmt) or 0)


def _worker(session: Session, actor: Actor, c: Contract) -> dict[str, Any]:
    """The worker as this actor may read them: the full name and household number to those who read the
    household's village, a masked name otherwise; never an ID number, phone or account."""
    hh = session.get(Household, c.payee_household_id) if c.payee_household_id else None
    person = session.get(Person, c.person_id) if c.person_id else None
    full = hh is not None and access.allowed(actor, "household.read", region=hh.village_code)
    name = person.name if person else ""
    return {"name": name if full else mask_name(name), "household_no": hh.household_no if hh and full else "",
            "household_id": hh.id if hh and full else None}


def wages(session: Session, actor: Actor, *, today: date, entity_id: int | None = None,
          project_id: int | None = None, contract: str | None = None) -> dict[str, Any]:
    """Per employment contract: what the work records make due at the contract's rate up to `today`, what was paid,
    the arrears and days overdue; totals by project and in all."""
    rows = []
    for c, p in _contracts(session, actor, "employment", entity_id=entity_id, project_id=project_id,
                           contract=contract):
        records = session.execute(select(WorkRecord.period_end, WorkRecord.days).where(
            WorkRecord.contract_id == c.id, WorkRecord.kind == "employment")).all()
        work = [(end, Fraction(Decimal(q))) for end, q in records]
        paid = int(session.scalar(select(func.coalesce(func.sum(WagePayment.amount_fen), 0)).where(
            WagePayment.contract_id == c.id, WagePayment.paid_on <= today)) or 0)
        rate = int(c.terms.get("wage_fen", 0))
        owed = wages_owed(rate, work, paid, today)
        quantity = sum((q for end, q in work if end <= today), Fraction(0))
        basis = str(c.terms.get("wage_basis", "day"))
        rows.append({
            "contract": c.code, "contract_id": c.id, "project": p.code, "project_id": p.id, "project_name": p.name,
            "worker": _worker(session, actor, c), "position": c.terms.get("position", ""),
            "wage_basis": basis, "wage_basis_label": vocabulary.WAGE_BASIS.zh(basis),
            "unit": {"day": "天", "month": "月", "piece": "件"}.get(basis, ""),
            "pay_cycle_label": vocabulary.PAY_CYCLE.zh(str(c.terms.get("pay_cycle", ""))),
            "wage_fen": rate, "quantity": _text(quantity), "due_fen": owed.due_fen, "paid_fen": owed.paid_fen,
            "arrears_fen": owed.arrears_fen, "overdue_days": owed.overdue_days,
            "overdue_since": owed.overdue_since.isoformat() if owed.overdue_since else None,
        })
    return {"as_of": today.isoformat(), "rows": rows, "by_project": _by_project(rows),
            "totals": _totals(rows, ("due_fen", "paid_fen", "arrears_fen"))}


def repayments(session: Session, actor: Actor, *, today: date, entity_id: int | None = None,
               project_id: int | None = None, contract: str | None = None) -> dict[str, Any]:
    """Per revolving fund-support contract: its schedule, the repayments recorded, what has fallen due, what is
    overdue and since when. Schedule lines written as plain text (no date and amount) are shown, not counted."""
    rows = []
    for c, p in _contracts(session, actor, "fund_support", entity_id=entity_id, project_id=project_id,
                           contract=contract):
        if c.terms.get("support_type") != "revolving":
            continue
        schedule = [(date.fromisoformat(i["due"]), int(i["amount_fen"])) for i in c.terms.get("repayment_schedule", [])
                    if isinstance(i, dict)]
        texts = [i for i in c.terms.get("repayment_schedule", []) if isinstance(i, str)]
        # Repayments written into the terms when the contract was signed count as repaid on their days.
        signed = [(date.fromisoformat(i["on"]), int(i["amount_fen"]), "协议记载") for i in c.terms.get("repayments", [])
                  if isinstance(i, dict)]
        recorded = [(r.paid_on, r.amount_fen, r.note) for r in session.scalars(
            select(FundRepayment).where(FundRepayment.contract_id == c.id).order_by(FundRepayment.paid_on,
                                                                                    FundRepayment.id))]
        paid_list = sorted(signed + recorded, key=lambda x: x[0])
        paid = sum(a for d, a, _ in paid_list if d <= today)
        owed = repayments_owed(schedule, paid, today)
        upcoming = next(((d, a) for d, a in sorted(schedule) if d > today), None)
        rows.append({
            "contract": c.code, "contract_id": c.id, "project": p.code, "project_id": p.id, "project_name": p.name,
            "payee": _payee(session, actor, c), "amount_fen": int(c.terms.get("amount_fen", 0)),
            "purpose": c.terms.get("purpose", ""),
            "schedule": [{"due": d.isoformat(), "amount_fen": a} for d, a in sorted(schedule)],
            "schedule_text": texts,
            "repayments": [{"on": d.isoformat(), "amount_fen": a, "note": n} for d, a, n in paid_list],
            "due_fen": owed.due_fen, "repaid_fen": paid, "overdue_fen": owed.arrears_fen,
            "overdue_days": owed.overdue_days,
            "overdue_since": owed.overdue_since.isoformat() if owed.overdue_since else None,
            "outstanding_fen": max(int(c.terms.get("amount_fen", 0)) - paid, 0),
            "next_due": {"due": upcoming[0].isoformat(), "amount_fen": upcoming[1]} if upcoming else None,
        })
    return {"as_of": today.isoformat(), "rows": rows,
            "totals": _totals(rows, ("due_fen", "repaid_fen", "overdue_fen", "outstanding_fen"))}


def _payee(session: Session, actor: Actor, c: Contract) -> str:
    if c.payee_household_id is None:
        return f"村 {c.payee_village_code}"
    hh = session.get(Household, c.payee_household_id)
    assert hh is not None
    head = session.scalar(select(Person.name).where(Person.household_id == hh.id, Person.relation == "户主").limit(1))
    if access.allowed(actor, "household.read", region=hh.village_code):
        return f"{head or ''}（{hh.household_no}）"
    return mask_name(head) or "农户"


def _text(q: Fraction) -> str:
    d = Decimal(q.numerator) / Decimal(q.denominator)
    text = format(d.normalize(), "f")
    return text if text != "-0" else "0"


def _totals(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, int]:
    return {k: sum(int(r[k]) for r in rows) for k in keys}


def _by_project(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        got = out.setdefault(r["project"], {"project": r["project"], "project_id": r["project_id"],
                                            "project_name": r["project_name"], "due_fen": 0, "paid_fen": 0,
                                            "arrears_fen": 0, "workers": 0})
        for k in ("due_fen", "paid_fen", "arrears_fen"):
            got[k] += r[k]
        got["workers"] += 1
    return list(out.values())


def contract_obligations(session: Session, actor: Actor, c: Contract, today: date) -> dict[str, Any]:
    """One contract's wages or repayments as its page shows them: for an employment contract its wage line (due,
    paid, arrears), its work records and the wages paid; for a revolving fund-support contract its repayment line
    (schedule, repaid, overdue, outstanding). The caller has found the contract in the actor's view."""
    out: dict[str, Any] = {"wage": None, "work_records": [], "wage_payments": [], "repayment": None}
    if c.model == "employment":
        rows = wages(session, actor, today=today, contract=c.code)["rows"]
        out["wage"] = rows[0] if rows else None
        out["work_records"] = [
            {"start": w.period_start.isoformat(), "end": w.period_end.isoformat(), "days": w.days}
            for w in session.scalars(select(WorkRecord).where(
                WorkRecord.contract_id == c.id, WorkRecord.kind == "employment")
                .order_by(WorkRecord.period_start.desc(), WorkRecord.id.desc()).limit(100))]
        out["wage_payments"] = [
            {"on": w.paid_on.isoformat(), "amount_fen": w.amount_fen, "note": mask_free_text(w.note)}
            for w in session.scalars(select(WagePayment).where(WagePayment.contract_id == c.id)
                                     .order_by(WagePayment.paid_on.desc(), WagePayment.id.desc()).limit(100))]
    elif c.model == "fund_support" and c.terms.get("support_type") == "revolving":
        rows = repayments(session, actor, today=today, contract=c.code)["rows"]
        out["repayment"] = rows[0] if rows else None
    return out
