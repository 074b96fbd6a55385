"""What a contract's page records besides its terms: an employment contract's work records and the wages paid
under it (R1.3), a revolving fund-support contract's repayments (R1.1). Each form is read into the same typed
command the API takes (`services/obligations/commands.py`) and handed to its service; a form shows only to those
the access policy lets record it on this contract, and only while the contract's state allows; a refusal shows
the page again with what was typed and the error beside the field it names, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep
from daipin.services.contracts.service import payee_region
from daipin.services.obligations import commands
from daipin.services.registry import views as rv
from daipin.web import render
from daipin.web.pages.registry import FORMS, _contract_page_ctx
from daipin.web.pages.registry_forms import _fields, _form_ctx, _try

router = APIRouter()

async def _record(request: Request, contract_id: int, actor: Actor, session: Session, now: Any, today: date,
                  form_name: str, step: Callable[[dict[str, str]], Any]) -> Response:
    fields = await _fields(request)
    c = rv.contract(session, actor, contract_id)  # 404 outside the actor's view
    access.require(actor, FORMS[form_name], region=payee_region(session, c))  # 403 before what was typed
    _, error = _try(session, lambda: step(fields))
    if error is not None:
        ctx = _contract_page_ctx(session, actor, contract_id, error=error, failed_form=form_name, fields=fields,
                                 today=today)
        ctx.update(_form_ctx(error, fields, form_name))
        return render(request, "registry/contract.html", ctx, status_code=error.status)
    return RedirectResponse(f"/contracts/{contract_id}?done={form_name}#obligations", status_code=303)


@router.post("/contracts/{contract_id}/work-records", response_class=HTMLResponse, dependencies=[CsrfDep])
async def work_record(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep,
                      today: TodayDep) -> Response:
    return await _record(request, contract_id, actor, session, now, today, "work", lambda f: commands.record_work(
        session, actor, contract_id, commands.RecordWork.from_form(f), at=now))


@router.post("/contracts/{contract_id}/wage-payments", response_class=HTMLResponse, dependencies=[CsrfDep])
async def wage_payment(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep,
                       today: TodayDep) -> Response:
    return await _record(request, contract_id, actor, session, now, today, "wage",
                         lambda f: commands.record_wage_payment(
                             session, actor, contract_id, commands.RecordPayment.from_form(f), at=now))


@router.post("/contracts/{contract_id}/repayments", response_class=HTMLResponse, dependencies=[CsrfDep])
async def repayment(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep,
                    today: TodayDep) -> Response:
    return await _record(request, contract_id, actor, session, now, today, "repayment",
                         lambda f: commands.record_repayment(
                             session, actor, contract_id, commands.RecordPayment.from_form(f), at=now))
