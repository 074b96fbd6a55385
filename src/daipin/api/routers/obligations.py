"""Wages (R1.3) and revolving fund-support repayments (R1.1) over the API: what is due, paid and in arrears or
overdue per entity and project, and recording a wage payment or a repayment."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep
from daipin.services.obligations import commands
from daipin.services.obligations import views as ov
from daipin.services.registry import views as rv

router = APIRouter(tags=["obligations 工资与还款"])


class Worker(BaseModel):
    name: str = Field(description="务工人员（辖区外遮蔽）/ the worker, masked outside the household's village")
    household_no: str
    household_id: int | None


class WageRow(BaseModel):
    contract: str
    contract_id: int
    project: str
    project_id: int
    project_name: str
    worker: Worker
    position: str
    wage_basis: str
    wage_basis_label: str
    unit: str
    pay_cycle_label: str
    wage_fen: int = Field(description="协议工资标准（分/日、月或件）/ the contract's rate in fen per day, month or piece")
    quantity: str = Field(description="务工记录合计（天、月或件）/ worked, in the contract's unit")
    due_fen: int
    paid_fen: int
    arrears_fen: int
    overdue_days: int
    overdue_since: date | None


class WageProject(BaseModel):
    project: str
    project_id: int
    project_name: str
    due_fen: int
    paid_fen: int
    arrears_fen: int
    workers: int


class WageTotals(BaseModel):
    due_fen: int
    paid_fen: int
    arrears_fen: int


class WagesOut(BaseModel):
    as_of: date
    rows: list[WageRow]
    by_project: list[WageProject]
    totals: WageTotals


class Instalment(BaseModel):
    due: date
    amount_fen: int


class Repaid(BaseModel):
    on: date
    amount_fen: int
    note: str


class RepaymentRow(BaseModel):
    contract: str
    contract_id: int
    project: str
    project_id: int
    project_name: str
    payee: str
    amount_fen: int
    purpose: str
    schedule: list[Instalment]
    schedule_text: list[str]
    repayments: list[Repaid]
    due_fen: int
    repaid_fen: int
    overdue_fen: int
    overdue_days: int
    overdue_since: date | None
    outstanding_fen: int
    next_due: Instalment | None


class RepaymentTotals(BaseModel):
    due_fen: int
    repaid_fen: int
    overdue_fen: int
    outstanding_fen: int


class RepaymentsOut(BaseModel):
    as_of: date
    rows: list[RepaymentRow]
    totals: RepaymentTotals


class RecordedOut(BaseModel):
    id: int
    contract: str
    paid_on: date
    amount_fen: int


class WorkOut(BaseModel):
    id: int
    contract: str
    period_start: date
    period_end: date
    days: str = Field(description="数量（协议的计酬单位：天、月或件）/ worked, in the contract's unit")


@router.get("/entities/{entity_id}/wages", response_model=WagesOut)
def entity_wages(entity_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> WagesOut:
    """实施主体的务工工资：应发、实发、欠薪（按人、按项目）/ an entity's wages: due, paid, arrears by worker and project."""
    rv.entity(session, actor, entity_id)  # 404 outside the actor's view
    return WagesOut.model_validate(ov.wages(session, actor, today=today, entity_id=entity_id))


@router.get("/projects/{project_id}/wages", response_model=WagesOut)
def project_wages(project_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> WagesOut:
    """项目的务工工资 / a project's wages: due, paid, arrears by worker."""
    rv.project_page(session, actor, project_id)  # 404 outside the actor's view
    return WagesOut.model_validate(ov.wages(session, actor, today=today, project_id=project_id))


@router.get("/entities/{entity_id}/repayments", response_model=RepaymentsOut)
def entity_repayments(entity_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> RepaymentsOut:
    """周转扶持资金：还款计划、已还、逾期金额和天数 / revolving fund support: schedule, repaid, overdue amount and days."""
    rv.entity(session, actor, entity_id)
    return RepaymentsOut.model_validate(ov.repayments(session, actor, today=today, entity_id=entity_id))


@router.get("/projects/{project_id}/repayments", response_model=RepaymentsOut)
def project_repayments(project_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> RepaymentsOut:
    """项目的周转扶持资金还款 / a project's revolving fund support: schedule, repaid, overdue."""
    rv.project_page(session, actor, project_id)
    return RepaymentsOut.model_validate(ov.repayments(session, actor, today=today, project_id=project_id))


@router.post("/contracts/{contract_id}/wage-payments", status_code=201, response_model=RecordedOut,
             dependencies=[CsrfDep])
def record_wage_payment(contract_id: Id, body: commands.RecordPayment, actor: CurrentActor, session: SessionDep,
                        now: NowDep) -> RecordedOut:
    """登记实发工资 / record wages the entity paid under an employment contract."""
    c = rv.contract(session, actor, contract_id)  # 404 outside the actor's view
    w = commands.record_wage_payment(session, actor, c.id, body, at=now)
    return RecordedOut(id=w.id, contract=c.code, paid_on=w.paid_on, amount_fen=w.amount_fen)


@router.post("/contracts/{contract_id}/repayments", status_code=201, response_model=RecordedOut,
             dependencies=[CsrfDep])
def record_repayment(contract_id: Id, body: commands.RecordPayment, actor: CurrentActor, session: SessionDep,
                     now: NowDep) -> RecordedOut:
    """登记周转扶持资金还款 / record a repayment of a revolving fund-support contract."""
    c = rv.contract(session, actor, contract_id)
    r = commands.record_repayment(session, actor, c.id, body, at=now)
    return RecordedOut(id=r.id, contract=c.code, paid_on=r.paid_on, amount_fen=r.amount_fen)


@router.post("/contracts/{contract_id}/work-records", status_code=201, response_model=WorkOut,
             dependencies=[CsrfDep])
def record_work(contract_id: Id, body: commands.RecordWork, actor: CurrentActor, session: SessionDep,
                now: NowDep) -> WorkOut:
    """登记务工协议的务工记录：期间与数量（天、月或件）/ record work done under an employment contract: the period
    and the quantity in the contract's unit."""
    c = rv.contract(session, actor, contract_id)  # 404 outside the actor's view
    w = commands.record_work(session, actor, c.id, body, at=now)
    return WorkOut(id=w.id, contract=c.code, period_start=w.period_start, period_end=w.period_end, days=w.days)
