"""Supervision's pages (SUPERVISION.md): findings with the steps each role may take, the district scan, inspections,
overdue rectifications, and credit records with a listing's steps. Auditors read all of the district, change
nothing. Every form goes through the same typed command as the API and the command line; a refused form changes
nothing and shows the page again with the reason."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError
from daipin.domain.localtime import beijing_date
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.services.credit import commands as credit_commands
from daipin.services.credit import service as credit
from daipin.services.credit import views as credit_views
from daipin.services.supervision import commands, indicators, service, views
from daipin.web import render

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _list_ctx(session: Session, actor: Actor, now: Any, **extra: Any) -> dict[str, Any]:
    today = beijing_date(now)
    county = actor.region[:6] if len(actor.region) >= 6 else ""
    return {"findings": views.findings(session, actor, today=today),
            "overdue": views.overdue(session, actor, today),
            "may_scan": access.may(actor, "supervision.scan") and bool(county), "county": county,
            "thresholds": views.thresholds(session, actor, county) if county else [],
            "error": None, "result": None, **extra}


@router.get("/supervision", response_class=HTMLResponse)
def findings_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    return render(request, "supervision/findings.html", _list_ctx(session, actor, now))


@router.post("/supervision/scan", response_class=HTMLResponse, dependencies=[CsrfDep])
async def scan(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    fields = await _fields(request)
    try:
        with session.begin_nested():
            result = service.scan(session, actor, fields.get("county", ""), now)
    except DaipinError as exc:
        return render(request, "supervision/findings.html", _list_ctx(session, actor, now, error=exc),
                      status_code=exc.status)
    return render(request, "supervision/findings.html", _list_ctx(session, actor, now, result=result))


@router.get("/supervision/indicators", response_class=HTMLResponse)
def indicators_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep,
                    year: int | None = None) -> Response:
    today = beijing_date(now)
    y = year if year and 2000 <= year <= 2100 else today.year
    villages = indicators.villages(session, actor, year=y, today=today)
    return render(request, "supervision/indicators.html", {
        "year": y, "villages": villages, "projects": indicators.projects(session, actor, year=y, today=today),
        "chart": indicators.chart(villages), "county": actor.region[:6] if len(actor.region) >= 6 else ""})


def _performance_ctx(session: Session, actor: Actor, county: str, **extra: Any) -> dict[str, Any]:
    from daipin.services.supervision import performance

    values = service.read_performance(session, actor, county)
    return {"county": county, "rows": performance.settings_rows(values), "values": values,
            "may_set": access.allowed(actor, "setting.write", region=county), "error": None, "fields": {},
            "saved": False, **extra}


def _county_of(actor: Actor, county: str | None) -> str:
    return (county or "").strip() or (actor.region[:6] if len(actor.region) >= 6 else "")


@router.get("/supervision/performance", response_class=HTMLResponse)
def performance_page(request: Request, actor: CurrentActor, session: SessionDep, county: str | None = None,
                     saved: int = 0) -> Response:
    ctx = _performance_ctx(session, actor, _county_of(actor, county), saved=bool(saved))
    return render(request, "supervision/performance.html", ctx)


@router.post("/supervision/performance", response_class=HTMLResponse, dependencies=[CsrfDep])
async def performance_set(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    fields = await _fields(request)
    county = _county_of(actor, fields.get("county"))
    try:
        with session.begin_nested():
            commands.set_performance(session, actor, commands.PerformanceSetting.from_form(
                {**fields, "county": county}), at=now)
    except DaipinError as exc:
        ctx = _performance_ctx(session, actor, county, error=exc, fields=fields)
        return render(request, "supervision/performance.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/supervision/performance?county={county}&saved=1", status_code=303)


def _insurance_ctx(session: Session, actor: Actor, now: Any, error: DaipinError | None = None,
                   fields: dict[str, str] | None = None, form: str = "") -> dict[str, Any]:
    """The insurance register, and the forms this role may use: a policy and an entity's account (`entity.write`,
    the entities in its reach), an application on one of their policies, the district's decision on each
    application in its region (`entity.credit`), and the district's draft of a year's premium-subsidy matter."""
    from sqlalchemy import func, select

    from daipin.db.models.registry import Asset, Entity, InsurancePolicy
    from daipin.domain import vocabulary
    from daipin.domain.privacy import mask_bank
    from daipin.services.insurance import views as insurance_views
    from daipin.services.shared import scope

    today = beijing_date(now)
    rows = insurance_views.assets(session, actor, today=today)
    subsidies = insurance_views.subsidies(session, actor)
    entities: list[Entity] = []
    policies: list[tuple[InsurancePolicy, str]] = []
    assets: list[tuple[Asset, str]] = []
    if access.may(actor, "entity.write"):
        region = func.coalesce(Entity.region_code, Entity.county_code)
        entities = list(session.scalars(select(Entity).where(scope.where(access.reach(actor, "entity.write"),
                                                                          region=region)).order_by(Entity.name)))
        ids = [e.id for e in entities]
        names = {e.id: e.name for e in entities}
        policies = [(p, names[p.entity_id]) for p in session.scalars(select(InsurancePolicy).where(
            InsurancePolicy.entity_id.in_(ids)).order_by(InsurancePolicy.entity_id, InsurancePolicy.id))]
        assets = [(a, names[a.operator_entity_id or 0]) for a in session.scalars(select(Asset).where(
            Asset.operator_entity_id.in_(ids), Asset.status != "disposed").order_by(Asset.code))]
    regions = dict(session.execute(select(Entity.uscc, func.coalesce(Entity.region_code, Entity.county_code))
                                   .where(Entity.uscc.in_([r["uscc"] for r in subsidies]))).all())
    for r in subsidies:
        r["may_decide"] = r["status"] == "applied" and access.allowed(actor, "entity.credit",
                                                                       region=regions.get(r["uscc"]))
    county = actor.region[:6] if len(actor.region) >= 6 else ""
    from daipin.web.pages.registry_forms import _form_ctx

    return {"assets": rows, "summary": insurance_views.summary(rows), "subsidies": subsidies,
            "entities": [(e.id, f"{e.name}" + (f"（收款账户 {mask_bank(e.bank_account)}）" if e.bank_account else ""))
                         for e in entities],
            "policies": [(p.id, f"{name} · {p.insurer} · {p.policy_no}（{p.valid_from} 至 {p.valid_to}）")
                         for p, name in policies],
            "policy_assets": [(a.id, f"{a.name}（{a.code}） · {name}") for a, name in assets],
            "kinds": vocabulary.INSURANCE_KIND, "year": today.year,
            "may_write": bool(entities), "may_draft": bool(county) and access.allowed(
                actor, "matter.district.decide", region=county), "county": county,
            **_form_ctx(error, fields or {}, form)}


def _thresholds_ctx(session: Session, actor: Actor, county: str, **extra: Any) -> dict[str, Any]:
    return {"county": county, "rows": service.read_thresholds(session, actor, county),
            "may_set": access.allowed(actor, "supervision.scan", region=county), "error": None, "fields": {},
            "saved": False, **extra}


@router.get("/supervision/thresholds", response_class=HTMLResponse)
def thresholds_page(request: Request, actor: CurrentActor, session: SessionDep, county: str | None = None,
                    saved: int = 0) -> Response:
    ctx = _thresholds_ctx(session, actor, _county_of(actor, county), saved=bool(saved))
    return render(request, "supervision/thresholds.html", ctx)


@router.post("/supervision/thresholds", response_class=HTMLResponse, dependencies=[CsrfDep])
async def thresholds_set(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    """Only the thresholds the form changed are set (one ledger entry naming them); an unchanged form says so."""
    fields = await _fields(request)
    county = _county_of(actor, fields.get("county"))
    try:
        current = {r["key"]: r["value"] for r in service.read_thresholds(session, actor, county)}
        changed = {k: fields[k].strip() for k in current if k in fields and fields[k].strip() != current[k]}
        with session.begin_nested():
            # A field emptied is a change to nothing, refused by the threshold's own check (not left as it was).
            commands.set_thresholds(session, actor, commands.ThresholdSetting.parse({**changed, "county": county}),
                                    at=now)
    except DaipinError as exc:
        ctx = _thresholds_ctx(session, actor, county, error=exc, fields=fields)
        return render(request, "supervision/thresholds.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/supervision/thresholds?county={county}&saved=1", status_code=303)


@router.get("/supervision/insurance", response_class=HTMLResponse)
def insurance_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    access.require(actor, "supervision.read")
    return render(request, "supervision/insurance.html", _insurance_ctx(session, actor, now))


async def _insurance_step(request: Request, actor: Actor, session: Session, now: Any, form: str,
                          step: Any, done: Any) -> Response:
    """One insurance form: its typed command handed to its service in a savepoint; refused, the page again with
    what was typed and the error beside its field, nothing written."""
    access.require(actor, "supervision.read")
    fields = await _fields(request)
    try:
        with session.begin_nested():
            result = step(fields)
    except DaipinError as exc:
        return render(request, "supervision/insurance.html", _insurance_ctx(session, actor, now, exc, fields, form),
                      status_code=exc.status)
    return RedirectResponse(done(result), status_code=303)


@router.post("/supervision/insurance/policies", response_class=HTMLResponse, dependencies=[CsrfDep])
async def insurance_policy(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    from daipin.services.insurance import commands as ic

    return await _insurance_step(request, actor, session, now, "policy", lambda f: ic.record_policy(
        session, actor, ic.RecordPolicy.from_form(f), at=now), lambda p: "/supervision/insurance#policy-form")


@router.post("/supervision/insurance/accounts", response_class=HTMLResponse, dependencies=[CsrfDep])
async def insurance_account(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    from daipin.services.insurance import commands as ic

    return await _insurance_step(request, actor, session, now, "account", lambda f: ic.set_entity_account(
        session, actor, ic.SetEntityAccount.from_form(f), at=now), lambda e: "/supervision/insurance#account-form")


@router.post("/supervision/insurance/subsidies", response_class=HTMLResponse, dependencies=[CsrfDep])
async def insurance_apply(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    from daipin.services.insurance import commands as ic

    return await _insurance_step(request, actor, session, now, "apply", lambda f: ic.apply_subsidy(
        session, actor, ic.ApplySubsidy.from_form(f), at=now), lambda s: "/supervision/insurance#subsidies")


@router.post("/supervision/insurance/subsidies/{subsidy_id}/decision", response_class=HTMLResponse,
             dependencies=[CsrfDep])
async def insurance_decide(request: Request, subsidy_id: Id, actor: CurrentActor, session: SessionDep,
                           now: NowDep) -> Response:
    from daipin.services.insurance import commands as ic

    def step(f: dict[str, str]) -> Any:
        values = {"approve": f.get("decision") == "approve", "reason": f.get("reason", "")}
        return ic.decide_subsidy(session, actor, subsidy_id, ic.DecideSubsidy.parse(values), at=now)
    return await _insurance_step(request, actor, session, now, f"decide-{subsidy_id}", step,
                                 lambda s: "/supervision/insurance#subsidies")


@router.post("/supervision/insurance/subsidy-matter", response_class=HTMLResponse, dependencies=[CsrfDep])
async def insurance_draft(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    from daipin.services.insurance import commands as ic

    return await _insurance_step(request, actor, session, now, "draft", lambda f: ic.draft_subsidy_matter(
        session, actor, ic.DraftSubsidyMatter.from_form(f), at=now), lambda m: f"/matters/{m.id}")


@router.get("/supervision/insurance.xlsx")
def insurance_xlsx(actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    from daipin.services.insurance import exports as insurance_exports

    buf = io.BytesIO()
    insurance_exports.export_insurance(session, actor, buf, today=beijing_date(now))
    return Response(buf.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": "attachment; filename=\"insurance.xlsx\"; filename*=UTF-8''%E8%B5%84%E4%BA%A7%E4%BF%9D%E9%99%A9.xlsx"})


def _xlsx(d: Any) -> Response:
    from urllib.parse import quote

    return Response(d.data, media_type=d.media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(d.name)}"})


@router.get("/supervision/findings.xlsx")
def findings_xlsx(actor: CurrentActor, session: SessionDep) -> Response:
    from daipin.services.supervision import exports

    return _xlsx(exports.download("findings", session, actor))


@router.get("/supervision/inspections.xlsx")
def inspections_xlsx(actor: CurrentActor, session: SessionDep) -> Response:
    from daipin.services.supervision import exports

    return _xlsx(exports.download("inspections", session, actor))


@router.get("/entities/{entity_id}/credit.xlsx")
def credit_xlsx(entity_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    from daipin.services.supervision import exports

    return _xlsx(exports.download("credit", session, actor, entity_id))


def _finding_ctx(session: Session, actor: Actor, finding_id: int, now: Any, **extra: Any) -> dict[str, Any]:
    today = beijing_date(now)
    return {"f": views.finding(session, actor, finding_id, today=today), "today": today.isoformat(),
            "error": None, "fields": {}, **extra}


@router.get("/supervision/findings/{finding_id}", response_class=HTMLResponse)
def finding_page(request: Request, finding_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    return render(request, "supervision/finding.html", _finding_ctx(session, actor, finding_id, now))


@router.post("/supervision/findings/{finding_id}/step", response_class=HTMLResponse, dependencies=[CsrfDep])
async def finding_step(request: Request, finding_id: Id, actor: CurrentActor, session: SessionDep,
                       now: NowDep) -> Response:
    fields = await _fields(request)
    views.finding(session, actor, finding_id)  # 404 outside the actor's view
    try:
        with session.begin_nested():
            commands.take_step(session, actor, finding_id, commands.FindingStep.from_form(fields), at=now)
    except DaipinError as exc:
        ctx = _finding_ctx(session, actor, finding_id, now, error=exc, fields=fields)
        return render(request, "supervision/finding.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/supervision/findings/{finding_id}", status_code=303)


def _inspections_ctx(session: Session, actor: Actor, now: Any, **extra: Any) -> dict[str, Any]:
    return {"inspections": views.inspections(session, actor), "may_inspect": access.may(actor, "finding.manage"),
            "today": beijing_date(now).isoformat(), "error": None, "fields": {}, **extra}


@router.get("/supervision/inspections", response_class=HTMLResponse)
def inspections_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    return render(request, "supervision/inspections.html", _inspections_ctx(session, actor, now))


@router.post("/supervision/inspections", response_class=HTMLResponse, dependencies=[CsrfDep])
async def inspection_add(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    fields = await _fields(request)
    views.inspections(session, actor)  # 403 for whoever reads no findings
    values: dict[str, Any] = commands.RecordInspection.form_values(fields)
    summary = fields.get("finding_summary", "").strip()
    if summary:
        values["findings"] = [{"summary": summary, "severity": fields.get("finding_severity") or "medium"}]
    try:
        with session.begin_nested():
            commands.record_inspection(session, actor, commands.RecordInspection.parse(values), at=now)
    except DaipinError as exc:
        ctx = _inspections_ctx(session, actor, now, error=exc, fields=fields)
        return render(request, "supervision/inspections.html", ctx, status_code=exc.status)
    return RedirectResponse("/supervision/inspections", status_code=303)


def _credit_ctx(session: Session, actor: Actor, entity_id: int, **extra: Any) -> dict[str, Any]:
    history = credit_views.history(session, actor, entity_id)
    return {**history, "may_list": access.may(actor, "entity.credit"),
            "may_object": access.may(actor, "credit.object"), "error": None, "fields": {}, **extra}


@router.get("/entities/{entity_id}/credit", response_class=HTMLResponse)
def entity_credit_page(request: Request, entity_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    return render(request, "supervision/entity_credit.html", _credit_ctx(session, actor, entity_id))


@router.post("/entities/{entity_id}/credit/listings", response_class=HTMLResponse, dependencies=[CsrfDep])
async def listing_propose(request: Request, entity_id: Id, actor: CurrentActor, session: SessionDep,
                          now: NowDep) -> Response:
    fields = await _fields(request)
    credit_views.history(session, actor, entity_id)  # 404 outside the actor's view
    try:
        with session.begin_nested():
            cmd = credit_commands.ProposeListing.from_form({**fields, "entity": str(entity_id)})
            credit_commands.listing_step(session, actor, None, cmd, at=now)
    except DaipinError as exc:
        ctx = _credit_ctx(session, actor, entity_id, error=exc, fields=fields)
        return render(request, "supervision/entity_credit.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/entities/{entity_id}/credit", status_code=303)


@router.post("/credit/listings/{listing_id}/step", response_class=HTMLResponse, dependencies=[CsrfDep])
async def listing_step(request: Request, listing_id: Id, actor: CurrentActor, session: SessionDep,
                       now: NowDep) -> Response:
    fields = await _fields(request)
    row = credit.get_listing(session, listing_id)
    credit_views.history(session, actor, row.entity_id)  # 404 outside the actor's view
    step = fields.get("step", "")
    cmd: Any
    try:
        with session.begin_nested():
            if step == "object":
                cmd = credit_commands.ObjectToListing.from_form(fields)
            elif step == "answer":
                cmd = credit_commands.AnswerObjection.from_form(fields)
            elif step == "repair":
                cmd = credit_commands.RepairListing.from_form(fields)
            else:
                cmd = credit_commands.TakeEffect.from_form({})
            credit_commands.listing_step(session, actor, listing_id, cmd, at=now)
    except DaipinError as exc:
        ctx = _credit_ctx(session, actor, row.entity_id, error=exc, fields=fields)
        return render(request, "supervision/entity_credit.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/entities/{row.entity_id}/credit", status_code=303)
