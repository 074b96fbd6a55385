"""Registry pages: household search (with pinyin initials) and export, household, entity, project, asset pages,
the contract form that asks for exactly the terms of the chosen benefit model, and one contract's page: its
terms, its versions, and the forms to amend or terminate it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError, InputError
from daipin.domain.money import MAX_FEN, format_yuan
from daipin.http.deps import Auth, CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep, read_only
from daipin.services.registry import views as rv
from daipin.web import render

router = APIRouter()


@router.get("/households", response_class=HTMLResponse)
async def households(request: Request, q: str = "", status: str = "", village: str = "", offset: int = 0) -> Response:
    def work(session: Session, auth: Auth) -> Response:
        page = rv.search_households(session, auth.actor, q=q, status=status or None, village=village or None,
                                    offset=offset, count=True)
        ctx = {"page": page, "q": q, "status": status, "village": village, "statuses": rv.STATUS_LABELS,
               "pages": page_numbers(page["offset"], page["limit"], page["total"])}
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
            return render(request, "registry/_household_rows.html", ctx)
        ctx["regions"] = region_choices(session, auth.actor)
        return render(request, "registry/households.html", ctx)

    return await read_only(request, work)


def page_numbers(offset: int, limit: int, total: int, around: int = 3) -> list[dict[str, int]]:
    """The page links of a list: the first, the last, and those around the current one (number, offset, and
    whether it is the current one); none when it all fits on one page."""
    last = max(1, -(-total // limit))
    current = offset // limit + 1
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    if last == 1 and current == 1:
        return []
    return [{"n": n, "offset": (n - 1) * limit, "current": int(n == current)} for n in shown]


def region_choices(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The townships in the actor's reach of households, each with its villages: the list's region filter."""
    townships = rv.regions_in_reach(session, actor, "household.read", "township")
    villages = rv.regions_in_reach(session, actor, "household.read", "village")
    if len(villages) <= 1:
        return []
    return [{**t, "villages": [v for v in villages if v["parent"] == t["code"]],
             "whole": access.allowed(actor, "household.read", region=t["code"])} for t in townships]


@router.get("/households/export.xlsx")
def households_export(actor: CurrentActor, session: SessionDep, q: str = "", status: str = "",
                      village: str = "") -> Response:
    data = rv.households_xlsx(session, actor, q=q, status=status or None, village=village or None)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="households.xlsx"'})


@router.get("/households/{household_id}", response_class=HTMLResponse)
async def household_page(request: Request, household_id: Id) -> Response:
    from daipin.domain.localtime import beijing_date
    from daipin.web.pages.registry_forms import household_context

    def work(session: Session, auth: Auth) -> Response:
        today = beijing_date(request.state.now) if getattr(request.state, "now", None) else \
            request.app.state.settings.today()
        return render(request, "registry/household.html", household_context(session, auth.actor, household_id, today))

    return await read_only(request, work)


def _year(year: str) -> int | None:
    if year and not (year.isdigit() and len(year) == 4):
        raise InputError("年度应为四位数字", "year must be four digits", "year")
    return int(year) if year else None


def _list_regions(session: Session, actor: Actor, action: access.Action) -> list[dict[str, Any]]:
    """The townships in the actor's reach of `action`, each with its villages: a list's region filter (none for
    a single village)."""
    townships = rv.regions_in_reach(session, actor, action, "township")
    villages = rv.regions_in_reach(session, actor, action, "village")
    if len(villages) <= 1:
        return []
    return [{**t, "villages": [v for v in villages if v["parent"] == t["code"]],
             "whole": access.allowed(actor, action, region=t["code"])} for t in townships]


@router.get("/entities", response_class=HTMLResponse)
async def entity_list(request: Request, q: str = "", kind: str = "", credit: str = "", region: str = "",
                      offset: int = 0) -> Response:
    """Entities with their total, page numbers, filters (kind, credit status, township or village) and search."""
    def work(session: Session, auth: Auth) -> Response:
        page = rv.search_entities(session, auth.actor, q=q, kind=kind or None, credit=credit or None,
                                  region=region or None, offset=offset)
        ctx = {"page": page, "q": q, "kind": kind, "credit": credit, "region": region,
               "pages": page_numbers(page["offset"], page["limit"], page["total"]),
               "kinds": vocabulary.ENTITY_KIND.codes, "credits": vocabulary.CREDIT_STATUS.codes}
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
            return render(request, "registry/_entity_rows.html", ctx)
        ctx["regions"] = _list_regions(session, auth.actor, "entity.read")
        return render(request, "registry/entities.html", ctx)

    return await read_only(request, work)


@router.get("/entities/{entity_id}", response_class=HTMLResponse)
def entity_page(request: Request, entity_id: Id, actor: CurrentActor, session: SessionDep,
                today: TodayDep) -> Response:
    from daipin.services.dashboard import views as dashboard

    ctx = rv.entity_page(session, actor, entity_id, today)
    # Dues and arrears per contract from the latest settlement of each project and year (a re-run replaces,
    # never adds), and each contract's payee by name rather than by row id.
    ctx.update(dashboard.entity_dues(session, actor, entity_id))
    # Wages in arrears are the entity's arrears too (R1.3): the credit line counts both.
    ctx["owed_total_fen"] = ctx["arrears_total_fen"] + ctx["wages"]["totals"]["arrears_fen"]
    ctx["payees"] = dashboard.contract_payees(session, ctx["contracts"])
    return render(request, "registry/entity.html", ctx)


@router.get("/projects", response_class=HTMLResponse)
async def project_list(request: Request, q: str = "", status: str = "", category: str = "", region: str = "",
                       year: str = "", offset: int = 0) -> Response:
    """Projects with their total, page numbers, filters (status, category, township or village, starting year)
    and search."""
    def work(session: Session, auth: Auth) -> Response:
        page = rv.search_projects(session, auth.actor, q=q, status=status or None, category=category or None,
                                  region=region or None, year=_year(year), offset=offset)
        ctx = {"page": page, "q": q, "status": status, "category": category, "region": region, "year": year,
               "pages": page_numbers(page["offset"], page["limit"], page["total"]),
               "statuses": vocabulary.PROJECT_STATUS.codes, "categories": vocabulary.PROJECT_CATEGORY.codes}
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
            return render(request, "registry/_project_rows.html", ctx)
        ctx["regions"] = _list_regions(session, auth.actor, "project.read")
        return render(request, "registry/projects.html", ctx)

    return await read_only(request, work)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: Id, actor: CurrentActor, session: SessionDep,
                 today: TodayDep) -> Response:
    from daipin.web.pages.registry_forms import project_context

    return render(request, "registry/project.html", project_context(session, actor, project_id, today))


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, asset_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    from daipin.web.pages.registry_forms import asset_context

    return render(request, "registry/asset.html", asset_context(session, actor, asset_id))


# ------------------------------------------------------------------ contracts


def _terms_for(model: str) -> list[Any]:
    from daipin.domain.contracts import TERMS

    return list(TERMS.get(model, ()))


def _contract_ctx(session: Any, actor: Any, model: str, fields: dict[str, str]) -> dict[str, Any]:
    from daipin.domain.contracts import MODELS

    model = model if model in MODELS else "asset_lease"
    return {"models": MODELS, "model": model, "terms": _terms_for(model), "fields": fields,
            "projects": rv.projects(session, actor)}


@router.get("/contracts/new", response_class=HTMLResponse)
def contract_form(request: Request, actor: CurrentActor, session: SessionDep, model: str = "asset_lease",
                  project_id: str = "") -> Response:
    _may_sign(actor)
    ctx = _contract_ctx(session, actor, model, {"project_id": project_id})
    if request.headers.get("hx-request"):
        return render(request, "registry/_contract_terms.html", ctx)
    return render(request, "registry/contract_new.html", {**ctx, "error": None})


def _may_sign(actor: Actor) -> None:
    """Contracts are signed by the roles `contract.sign` names (within their region, as the service checks);
    the others get no form."""
    access.require(actor, "contract.sign")


def _money(raw: str, field: str) -> int:
    """Yuan as typed (up to two decimals) to whole fen, exactly."""
    try:
        v = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        raise InputError("金额格式不对（元，最多两位小数）", "amount in yuan, at most two decimals", field) from None
    if not v.is_finite() or v < 0:  # Infinity, NaN
        raise InputError("金额格式不对（元，最多两位小数）", "amount in yuan, at most two decimals", field)
    if v > MAX_FEN // 100:
        raise InputError(f"金额过大（最多 {MAX_FEN // 100:,} 元）", f"amount too large (at most {MAX_FEN // 100:,} yuan)",
                         field)
    if v != v.quantize(Decimal("0.01")):
        raise InputError("金额格式不对（元，最多两位小数）", "amount in yuan, at most two decimals", field)
    return int(v * 100)


# A repayment written on one line as its date and amount in yuan: "2026-12-31 10000.00" (元 may follow).
_PAYMENT_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+([0-9][0-9,]*(?:\.[0-9]+)?)\s*元?$")
_PAYMENT_DAY = {"repayment_schedule": "due", "repayments": "on"}


def _list_item(line: str, field: str, term: str = "") -> Any:
    """One line of a list term: text; for a fund's repayment schedule or repayments, a date and an amount in
    yuan ("2026-12-31 10000.00"), read as the object stored ({"due": …, "amount_fen": …}); or an object written
    as JSON on its line, as the amend form shows any other stored object, so that it comes back unchanged."""
    day = _PAYMENT_DAY.get(term)
    if day and (m := _PAYMENT_LINE.match(line)):
        return {day: m.group(1), "amount_fen": _money(m.group(2), f"{field}.amount_fen")}
    if not (line.startswith("{") and line.endswith("}")):
        return line
    try:
        item = json.loads(line)
    except ValueError:
        item = None
    if not isinstance(item, dict):
        raise InputError("以 { 开头的一行应为一个 JSON 对象", "a line starting with { must be one JSON object", field)
    return item


def terms_from_form(model: str, fields: dict[str, str]) -> dict[str, Any]:
    """Only the chosen model's terms are read; money in yuan becomes fen; lists are one item per line."""
    terms: dict[str, Any] = {}
    for t in _terms_for(model):
        raw = (fields.get(f"t_{t.name}") or "").strip()
        if not raw:
            continue  # a missing required term is refused by the service, naming it
        if t.type == "money":
            terms[t.name] = _money(raw, f"terms.{t.name}")
        elif t.type == "list":
            lines = [x.strip() for x in raw.splitlines() if x.strip()]
            terms[t.name] = [_list_item(x, f"terms.{t.name}[{i}]", t.name) for i, x in enumerate(lines)]
        else:
            terms[t.name] = raw
    return terms


def form_fields(model: str, terms: dict[str, Any]) -> dict[str, str]:
    """A contract's terms as its form shows them, read back by `terms_from_form` to the same terms: money in
    yuan, a list one item a line (an object as JSON)."""
    out: dict[str, str] = {}
    for t in _terms_for(model):
        value = terms.get(t.name)
        if value is None:
            continue
        if t.type == "money":
            out[f"t_{t.name}"] = _yuan(value)
        elif t.type == "list":
            out[f"t_{t.name}"] = "\n".join(_list_line(x, t.name) for x in value)
        else:
            out[f"t_{t.name}"] = str(value)
    return out


def _yuan(fen: int) -> str:
    """Whole fen as the yuan a form field holds, written as on every page (`_money` reads it back)."""
    return format_yuan(fen)


def _list_line(item: Any, term: str) -> str:
    """A list term's item as its form line (see `_list_item`, which reads it back to the same item)."""
    day = _PAYMENT_DAY.get(term)
    if isinstance(item, str):
        return item
    if (day and isinstance(item, dict) and set(item) == {day, "amount_fen"} and isinstance(item["amount_fen"], int)
            and not isinstance(item["amount_fen"], bool) and item["amount_fen"] >= 0):
        return f"{item[day]} {_yuan(item['amount_fen'])}"
    return json.dumps(item, ensure_ascii=False)


def _date(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InputError("日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD", field) from None


def _version(fields: dict[str, str]) -> int | None:
    """The version a contract form was made from (its hidden field), for the service to refuse a stale one."""
    raw = (fields.get("version") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InputError("版本号应为正整数", "version must be a positive whole number", "version")
    return int(raw)


@router.post("/contracts", response_class=HTMLResponse, dependencies=[CsrfDep])
async def contract_create(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    from daipin.services.contracts import service as contracts

    _may_sign(actor)
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    model = fields.get("model", "")
    try:
        payee_hh = None
        if fields.get("payee_household_no", "").strip():
            hh_page = rv.search_households(session, actor, q=fields["payee_household_no"].strip(), limit=1)
            if not hh_page["items"] or hh_page["items"][0]["household_no"] != fields["payee_household_no"].strip():
                raise InputError("受益户不存在或不在辖区内", "payee household not found in your region",
                                 "payee_household_no")
            payee_hh = int(hh_page["items"][0]["id"])
        if not fields.get("project_id", "").isdigit():
            raise InputError("请选择项目", "choose a project", "project_id")
        with session.begin_nested():
            c = contracts.sign_contract(
                session, actor, code=fields.get("code", ""), model=model, project_id=int(fields["project_id"]),
                start_date=_date(fields.get("start_date", ""), "start_date"),
                end_date=_date(fields.get("end_date", ""), "end_date"), terms=terms_from_form(model, fields),
                at=now, payee_household_id=payee_hh,
                payee_village_code=fields.get("payee_village_code", "").strip() or None,
                person_id=int(fields["person_id"]) if fields.get("person_id", "").isdigit() else None,
                acknowledge_warning=fields.get("acknowledge_warning") == "1")
    except DaipinError as exc:
        ctx = _contract_ctx(session, actor, model, fields)
        return render(request, "registry/contract_new.html", {**ctx, "error": exc}, status_code=exc.status)
    return RedirectResponse(f"/contracts/{c.id}", status_code=303)  # the new contract, its version 1 in force


def _contract_page_ctx(session: Session, actor: Actor, contract_id: int, *, error: DaipinError | None = None,
                       failed_form: str = "", fields: dict[str, str] | None = None,
                       today: date | None = None) -> dict[str, Any]:
    """The contract page: its data, its wages or repayments, and its forms filled with the contract in force (or,
    after a refused submission, with what was typed, beside the error)."""
    from daipin.domain.contracts import MODELS

    ctx = rv.contract_page(session, actor, contract_id)
    c = ctx["contract"]
    ctx.update(obligations_context(session, actor, contract_id, today, failed_form, fields))
    amend = {**form_fields(c["model"], {t["name"]: t["value"] for t in ctx["terms"]}), "start_date": c["start"],
             "end_date": c["end"], "version": str(c["version"])}
    return {**ctx, "models": MODELS, "model": c["model"], "term_specs": _terms_for(c["model"]),
            "amend_fields": fields if failed_form == "amend" and fields is not None else amend,
            "terminate_fields": fields if failed_form == "terminate" and fields is not None else
            {"version": str(c["version"])},
            "error": error, "failed_form": failed_form}


# The forms of a contract's page that record money or work, by the action the access policy names for each.
FORMS: dict[str, access.Action] = {"work": "work.write", "wage": "wage.record", "repayment": "repayment.record"}


def _allowed_forms(session: Session, actor: Actor, c: Contract, repayment: dict[str, Any] | None) -> set[str]:
    """The forms this actor is shown on this contract: the role and region allow them, and the state does — an
    employment contract's work and wages while it is not void of a worker, a revolving fund's repayments while
    something is outstanding."""
    from daipin.services.contracts.service import payee_region

    region = payee_region(session, c)
    forms: set[str] = set()
    if c.model == "employment" and c.payee_household_id is not None:
        forms |= {f for f in ("work", "wage") if access.allowed(actor, FORMS[f], region=region)}
    if repayment is not None and repayment["outstanding_fen"] > 0 \
            and access.allowed(actor, FORMS["repayment"], region=region):
        forms.add("repayment")
    return forms


def obligations_context(session: Session, actor: Actor, contract_id: int, today: date | None, failed_form: str = "",
                        fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The contract page's wages or repayments and their forms (filled with what was typed after a refusal)."""
    from daipin.services.obligations import views as ov

    c = rv.contract(session, actor, contract_id)
    day = today or date.today()
    out = ov.contract_obligations(session, actor, c, day)
    out["record_forms"] = _allowed_forms(session, actor, c, out["repayment"])
    # What was typed, shown again after a refusal of one of these forms (the macros of _fields.html read `fields`).
    out["fields"] = fields if failed_form in FORMS and fields is not None else {}
    return out


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
async def contract_page(request: Request, contract_id: Id) -> Response:
    """One contract: payee, project, entity, the terms in force, every version (in force or superseded, what
    each changed), and for those who may change it the forms to amend or terminate it."""
    return await read_only(request, lambda session, auth: render(
        request, "registry/contract.html", _contract_page_ctx(session, auth.actor, contract_id,
                                                              today=request_today(request))))


def request_today(request: Request) -> date:
    """Today in Beijing as the request sees it (the training clock's day on the demo)."""
    from daipin.domain.localtime import beijing_date

    if getattr(request.state, "now", None):
        return beijing_date(request.state.now)
    today: date = request.app.state.settings.today()
    return today


async def _change_contract(request: Request, contract_id: int, actor: Actor, session: Session, form_name: str,
                           change: Callable[[Contract, dict[str, str]], object]) -> Response:
    """Amend or terminate from the contract page: refused (403) before what was typed is checked for those who
    may not, nothing written on any error, the page shown again with the error and what was typed."""
    from daipin.services.contracts import service as contracts

    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    c = rv.contract(session, actor, contract_id)  # 404 outside the actor's view
    try:
        contracts.check_may_change(session, actor, c)
        with session.begin_nested():
            change(c, fields)
    except DaipinError as exc:
        ctx = _contract_page_ctx(session, actor, contract_id, error=exc, failed_form=form_name, fields=fields,
                                 today=request_today(request))
        return render(request, "registry/contract.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/contracts/{contract_id}#history", status_code=303)


@router.post("/contracts/{contract_id}/amend", response_class=HTMLResponse, dependencies=[CsrfDep])
async def contract_amend(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep,
                         now: NowDep) -> Response:
    from daipin.services.contracts import service as contracts

    def amend(c: Contract, fields: dict[str, str]) -> object:
        return contracts.amend_contract(
            session, actor, c.id, reason=fields.get("reason", ""), at=now, terms=terms_from_form(c.model, fields),
            start_date=_date(fields.get("start_date", ""), "start_date"),
            end_date=_date(fields.get("end_date", ""), "end_date"),
            effective_from=_date(fields["effective_from"], "effective_from")
            if (fields.get("effective_from") or "").strip() else None,
            expected_version=_version(fields))

    return await _change_contract(request, contract_id, actor, session, "amend", amend)


@router.post("/contracts/{contract_id}/terminate", response_class=HTMLResponse, dependencies=[CsrfDep])
async def contract_terminate(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep,
                             now: NowDep) -> Response:
    from daipin.services.contracts import service as contracts

    def terminate(c: Contract, fields: dict[str, str]) -> object:
        return contracts.terminate_contract(session, actor, c.id, on=_date(fields.get("on", ""), "on"),
                                            reason=fields.get("reason", ""), at=now,
                                            expected_version=_version(fields))

    return await _change_contract(request, contract_id, actor, session, "terminate", terminate)
