"""The registry's writes on the web, each by the role the access policy gives it: register a household with its
head, correct it, add or correct a member, change its status (dynamic management), record a death or a move;
register an entity, a project with its funding, a profit, an asset, a valuation. Each form is read into the
step's typed command (`services/registry/commands.py`, the same the API takes) and handed to its service; a
refusal shows the page again with what was typed and the error beside the field it names, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError
from daipin.domain.localtime import beijing_date
from daipin.domain.money import format_yuan
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep
from daipin.services.registry import commands
from daipin.services.registry import views as rv
from daipin.services.registry.service import REGISTERED_ASSET_STATUSES
from daipin.web import render

router = APIRouter()


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _inline(error: DaipinError | None, fields: dict[str, str]) -> bool:
    """Whether the error names a field of the submitted form (then it is shown beside that field)."""
    if error is None or not error.field:
        return False
    return any(error.field == k or error.field.startswith((f"{k}.", f"{k}[")) or k.startswith(f"{error.field}[")
               or k.startswith(f"{error.field}.") for k in fields)


def _form_ctx(error: DaipinError | None, fields: dict[str, str], form: str = "") -> dict[str, Any]:
    return {"error": error, "fields": fields, "failed_form": form, "error_inline": _inline(error, fields)}


def _try(session: Session, step: Callable[[], Any]) -> tuple[Any, DaipinError | None]:
    """Run one write in a savepoint: its result, or the refusal with nothing of it written."""
    try:
        with session.begin_nested():
            return step(), None
    except DaipinError as exc:
        return None, exc


# ---------------------------------------------------------------- households


def _household_form_ctx(session: Session, actor: Actor) -> dict[str, Any]:
    return {"villages": rv.regions_in_reach(session, actor, "household.write", "village"),
            "statuses": vocabulary.HOUSEHOLD_STATUS, "labors": vocabulary.LABOR,
            "relations": vocabulary.RELATION}


@router.get("/households/new", response_class=HTMLResponse)
def household_new(request: Request, actor: CurrentActor, session: SessionDep, today: TodayDep,
                  village: str = "") -> Response:
    access.require(actor, "household.write")
    ctx = {**_household_form_ctx(session, actor), **_form_ctx(None, {"village_code": village,
                                                                      "status_since": today.isoformat()})}
    return render(request, "registry/household_new.html", ctx)


@router.post("/households", response_class=HTMLResponse, dependencies=[CsrfDep])
async def household_create(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    access.require(actor, "household.write")
    fields = await _fields(request)
    hh, error = _try(session, lambda: commands.register_household(
        session, actor, commands.RegisterHousehold.from_form(fields), at=now))
    if error is not None:
        return render(request, "registry/household_new.html",
                      {**_household_form_ctx(session, actor), **_form_ctx(error, fields)}, status_code=error.status)
    return RedirectResponse(f"/households/{hh.id}?done=register", status_code=303)


def household_context(session: Session, actor: Actor, household_id: int, today: Any) -> dict[str, Any]:
    """The household page: its facts, members, contracts, income, history; and, for those who may change it,
    the forms (correct it, add or correct a member, change its status, a death, a move)."""
    from daipin.services.matters import views as matter_views

    ctx = rv.household_page(session, actor, household_id, income=False)
    # The page lists income by matter name, with its payment state: one statement of its own.
    ctx["income"] = matter_views.household_income(session, household_id)
    # Paid money and money still to come apart (a requeued line is counted in the line that retries it).
    ctx["income_total_fen"] = sum(int(i["amount_fen"]) for i in ctx["income"] if i["status"] == "paid")
    ctx["income_pending_fen"] = sum(int(i["amount_fen"]) for i in ctx["income"]
                                    if i["status"] in ("pending", "sent", "failed"))
    hh = ctx["household"]
    ctx["may_write"] = access.allowed(actor, "household.write", region=hh["village_code"])
    ctx.update({"statuses": vocabulary.HOUSEHOLD_STATUS, "labors": vocabulary.LABOR,
                "relations": vocabulary.RELATION, "on": today.isoformat()})
    ctx.setdefault("error", None)
    ctx.setdefault("fields", {})
    ctx.setdefault("failed_form", "")
    ctx.setdefault("error_inline", False)
    return ctx


async def _household_step(request: Request, household_id: int, actor: Actor, session: Session, now: Any,
                          form_name: str, step: Callable[[dict[str, str]], Any]) -> Response:
    fields = await _fields(request)
    rv.household(session, actor, household_id)  # 404 outside the actor's view, before anything is read
    access.require(actor, "household.write")
    _, error = _try(session, lambda: step(fields))
    if error is not None:
        ctx = household_context(session, actor, household_id, beijing_date(now))
        ctx.update(_form_ctx(error, fields, form_name))
        return render(request, "registry/household.html", ctx, status_code=error.status)
    return RedirectResponse(f"/households/{household_id}?done={form_name}#{form_name}", status_code=303)


@router.post("/households/{household_id}/edit", response_class=HTMLResponse, dependencies=[CsrfDep])
async def household_edit(request: Request, household_id: Id, actor: CurrentActor, session: SessionDep,
                         now: NowDep) -> Response:
    return await _household_step(request, household_id, actor, session, now, "edit", lambda f: commands.edit_household(
        session, actor, household_id, commands.EditHousehold.from_form(f), at=now))


@router.post("/households/{household_id}/members", response_class=HTMLResponse, dependencies=[CsrfDep])
async def member_add(request: Request, household_id: Id, actor: CurrentActor, session: SessionDep,
                     now: NowDep) -> Response:
    return await _household_step(request, household_id, actor, session, now, "member", lambda f: commands.add_member(
        session, actor, household_id, commands.AddMember.from_form(f), at=now))


@router.post("/households/{household_id}/members/{person_id}", response_class=HTMLResponse, dependencies=[CsrfDep])
async def member_edit(request: Request, household_id: Id, person_id: Id, actor: CurrentActor, session: SessionDep,
                      now: NowDep) -> Response:
    return await _household_step(
        request, household_id, actor, session, now, f"person-{person_id}", lambda f: commands.edit_member(
            session, actor, household_id, person_id, commands.EditMember.from_form(f), at=now))


@router.post("/households/{household_id}/status", response_class=HTMLResponse, dependencies=[CsrfDep])
async def status_change(request: Request, household_id: Id, actor: CurrentActor, session: SessionDep,
                        now: NowDep) -> Response:
    return await _household_step(request, household_id, actor, session, now, "status", lambda f: commands.change_status(
        session, actor, household_id, commands.ChangeStatus.from_form(f), at=now))


@router.post("/households/{household_id}/death", response_class=HTMLResponse, dependencies=[CsrfDep])
async def death(request: Request, household_id: Id, actor: CurrentActor, session: SessionDep,
                now: NowDep) -> Response:
    return await _household_step(request, household_id, actor, session, now, "death", lambda f: commands.record_death(
        session, actor, household_id, commands.RecordDeath.from_form(f), at=now))


@router.post("/households/{household_id}/move", response_class=HTMLResponse, dependencies=[CsrfDep])
async def move(request: Request, household_id: Id, actor: CurrentActor, session: SessionDep,
               now: NowDep) -> Response:
    return await _household_step(request, household_id, actor, session, now, "move", lambda f: commands.record_move(
        session, actor, household_id, commands.RecordMove.from_form(f), at=now))


# ---------------------------------------------------------------- entities


def _entity_form_ctx(session: Session, actor: Actor) -> dict[str, Any]:
    return {"kinds": vocabulary.ENTITY_KIND,
            "townships": rv.regions_in_reach(session, actor, "entity.write", "township"),
            "villages": rv.regions_in_reach(session, actor, "entity.write", "village")}


@router.get("/entities/new", response_class=HTMLResponse)
def entity_new(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    access.require(actor, "entity.write")
    return render(request, "registry/entity_new.html", {**_entity_form_ctx(session, actor), **_form_ctx(None, {})})


@router.post("/entities", response_class=HTMLResponse, dependencies=[CsrfDep])
async def entity_create(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    access.require(actor, "entity.write")
    fields = await _fields(request)
    e, error = _try(session, lambda: commands.register_entity(
        session, actor, commands.RegisterEntity.from_form(fields), at=now))
    if error is not None:
        return render(request, "registry/entity_new.html",
                      {**_entity_form_ctx(session, actor), **_form_ctx(error, fields)}, status_code=error.status)
    return RedirectResponse(f"/entities/{e.id}", status_code=303)


# ---------------------------------------------------------------- projects and profits


def _project_form_ctx(session: Session, actor: Actor) -> dict[str, Any]:
    return {"categories": vocabulary.PROJECT_CATEGORY, "sources": vocabulary.FUNDING_SOURCE,
            "project_statuses": vocabulary.PROJECT_STATUS, "entities": rv.entities(session, actor),
            "townships": rv.regions_in_reach(session, actor, "project.write", "township"),
            "villages": rv.regions_in_reach(session, actor, "project.write", "village")}


@router.get("/projects/new", response_class=HTMLResponse)
def project_new(request: Request, actor: CurrentActor, session: SessionDep, entity_id: str = "") -> Response:
    access.require(actor, "project.write")
    return render(request, "registry/project_new.html",
                  {**_project_form_ctx(session, actor), **_form_ctx(None, {"entity_id": entity_id})})


@router.post("/projects", response_class=HTMLResponse, dependencies=[CsrfDep])
async def project_create(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    access.require(actor, "project.write")
    fields = await _fields(request)
    done, error = _try(session, lambda: commands.register_project(
        session, actor, commands.RegisterProject.from_form(fields), at=now))
    if error is not None:
        return render(request, "registry/project_new.html",
                      {**_project_form_ctx(session, actor), **_form_ctx(error, fields)}, status_code=error.status)
    project, warnings = done
    return RedirectResponse(f"/projects/{project.id}" + ("?warned=1" if warnings else ""), status_code=303)


def project_context(session: Session, actor: Actor, project_id: int, today: Any) -> dict[str, Any]:
    ctx = rv.project_page(session, actor, project_id, today)
    p = ctx["project"]
    ctx["may_write"] = access.allowed(actor, "project.write", region=p["region"])
    ctx["may_add_asset"] = access.may(actor, "asset.write")
    ctx["warnings"] = []
    ctx.update(_form_ctx(None, {}))
    return ctx


@router.post("/projects/{project_id}/profits", response_class=HTMLResponse, dependencies=[CsrfDep])
async def profit_add(request: Request, project_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep,
                     today: TodayDep) -> Response:
    fields = await _fields(request)
    rv.project_page(session, actor, project_id, today)  # 404 outside the actor's view
    access.require(actor, "project.write")
    _, error = _try(session, lambda: commands.record_profit(
        session, actor, project_id, commands.RecordProfit.from_form(fields), at=now))
    if error is not None:
        ctx = project_context(session, actor, project_id, today)
        ctx.update(_form_ctx(error, fields, "profit"))
        return render(request, "registry/project.html", ctx, status_code=error.status)
    return RedirectResponse(f"/projects/{project_id}#profits", status_code=303)


# ---------------------------------------------------------------- assets and valuations


def _asset_form_ctx(session: Session, actor: Actor) -> dict[str, Any]:
    return {"asset_kinds": vocabulary.ASSET_KIND, "projects": rv.projects(session, actor),
            # Registered in use or idle only: a lease, pledge or disposal is an asset-disposal matter's decision.
            "asset_statuses": [s for s in vocabulary.ASSET_STATUS.codes if s in REGISTERED_ASSET_STATUSES],
            "entities": rv.entities(session, actor),
            "owners": rv.regions_in_reach(session, actor, "asset.write", "village")
            + rv.regions_in_reach(session, actor, "asset.write", "township")}


@router.get("/assets/new", response_class=HTMLResponse)
def asset_new(request: Request, actor: CurrentActor, session: SessionDep, project_id: str = "") -> Response:
    access.require(actor, "asset.write")
    return render(request, "registry/asset_new.html",
                  {**_asset_form_ctx(session, actor), **_form_ctx(None, {"project_id": project_id})})


@router.post("/assets", response_class=HTMLResponse, dependencies=[CsrfDep])
async def asset_create(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    access.require(actor, "asset.write")
    fields = await _fields(request)
    a, error = _try(session, lambda: commands.register_asset(
        session, actor, commands.RegisterAsset.from_form(fields), at=now))
    if error is not None:
        return render(request, "registry/asset_new.html",
                      {**_asset_form_ctx(session, actor), **_form_ctx(error, fields)}, status_code=error.status)
    return RedirectResponse(f"/assets/{a.id}", status_code=303)


def asset_context(session: Session, actor: Actor, asset_id: int) -> dict[str, Any]:
    ctx = rv.asset_page(session, actor, asset_id)
    a = ctx["asset"]
    ctx["may_write"] = access.allowed(actor, "asset.write", region=a["owner_region_code"] or a["county_code"])
    ctx.update(_form_ctx(None, {}))
    return ctx


@router.post("/assets/{asset_id}/valuations", response_class=HTMLResponse, dependencies=[CsrfDep])
async def valuation_add(request: Request, asset_id: Id, actor: CurrentActor, session: SessionDep,
                        now: NowDep) -> Response:
    fields = await _fields(request)
    rv.asset_page(session, actor, asset_id)  # 404 outside the actor's view
    access.require(actor, "asset.write")
    _, error = _try(session, lambda: commands.add_valuation(
        session, actor, asset_id, commands.AddValuation.from_form(fields), at=now))
    if error is not None:
        ctx = asset_context(session, actor, asset_id)
        ctx.update(_form_ctx(error, fields, "valuation"))
        return render(request, "registry/asset.html", ctx, status_code=error.status)
    return RedirectResponse(f"/assets/{asset_id}#valuations", status_code=303)


# ---------------------------------------------------------------- a village's yearly allocation plan

VillagePath = Annotated[str, Path(pattern=r"^\d{12}$")]


def _plan_ctx(session: Session, actor: Actor, village: str, year: int) -> dict[str, Any]:
    from daipin.services.runs import commands as plan_commands
    from daipin.services.runs import views as run_views

    ctx = run_views.allocation_plan(session, actor, village, year)
    plan = ctx["plan"] or {"pool_fen": None, "cap_per_household_fen": None, "buckets": [],
                           "eligible_statuses": list(vocabulary.ELIGIBLE_STATUSES)}
    fields: dict[str, str] = {"year": str(year)}
    for key in ("pool_fen", "cap_per_household_fen"):
        if plan[key] is not None:
            fields[key] = format_yuan(int(plan[key]), grouping=False)
    for i, b in enumerate(plan["buckets"]):
        for k in ("name", "share", "rule", "per"):
            if b.get(k) is not None:
                fields[f"buckets[{i}].{k}"] = str(b[k])
        if b.get("tiers"):
            fields[f"buckets[{i}].tiers"] = plan_commands.tiers_text(b["tiers"])
    for i, s in enumerate(plan["eligible_statuses"]):
        fields[f"eligible_statuses[{i}]"] = str(s)
    return {**ctx, "rules": vocabulary.ALLOCATION_RULE.codes, "pers": vocabulary.ALLOCATION_PER.codes,
            "statuses": vocabulary.HOUSEHOLD_STATUS.codes, "rows": max(5, len(plan["buckets"]) + 1),
            "checked": _checked(fields), **_form_ctx(None, fields)}


def _checked(fields: dict[str, str]) -> set[str]:
    """The statuses ticked on the plan's form."""
    return {v for k, v in fields.items() if k.startswith("eligible_statuses[")}


@router.get("/villages/{village}/plan", response_class=HTMLResponse)
def plan_page(request: Request, village: VillagePath, actor: CurrentActor, session: SessionDep, today: TodayDep,
              year: int | None = None) -> Response:
    year = year if year is not None and 2000 <= year <= 2100 else today.year
    return render(request, "registry/plan.html", _plan_ctx(session, actor, village, year))


@router.post("/villages/{village}/plan", response_class=HTMLResponse, dependencies=[CsrfDep])
async def plan_save(request: Request, village: VillagePath, actor: CurrentActor, session: SessionDep, now: NowDep,
                    today: TodayDep) -> Response:
    from daipin.services.runs import commands as plan_commands
    from daipin.services.runs import views as run_views

    fields = await _fields(request)
    run_views.allocation_plan(session, actor, village, today.year)  # 404 outside the actor's view
    access.require(actor, "plan.write")
    plan, error = _try(session, lambda: plan_commands.save(
        session, actor, village, plan_commands.SavePlan.from_form(fields), at=now))
    if error is not None:
        year = int(fields["year"]) if fields.get("year", "").isdigit() and 2000 <= int(fields["year"]) <= 2100 \
            else today.year
        ctx = _plan_ctx(session, actor, village, year)
        ctx.update({**_form_ctx(error, fields), "checked": _checked(fields)})
        return render(request, "registry/plan.html", ctx, status_code=error.status)
    return RedirectResponse(f"/villages/{village}/plan?year={plan.year}&done=1", status_code=303)
