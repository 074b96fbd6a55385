"""Matter pages (WORKFLOW.md): draft with live preview, meeting, review, notice, objections, execution, dossier."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.domain.errors import DaipinError
from daipin.http.deps import Auth, CsrfDep, CurrentActor, Id, NowDep, SessionDep, read_only
from daipin.services.matters import commands
from daipin.services.matters import views as matter_views
from daipin.services.payments import commands as payment_commands
from daipin.web import render
from daipin.web.pages.documents import with_papers

router = APIRouter()


@router.get("/matters", response_class=HTMLResponse)
async def matter_list(request: Request, state: str | None = None, kind: str | None = None,
                      village: str | None = None, township: str | None = None, year: str | None = None,
                      q: str | None = None, page: int = 1) -> Response:
    def work(session: Session, auth: Auth) -> Response:  # a read: one hop, its total kept (`counts`)
        actor = auth.actor
        listing = matter_views.list_page(session, actor, state=state, kind=kind, village=village,
                                         township=township, year=_int(year), q=q, page=page)
        return render(request, "matters/list.html", {**listing, "states": matter_views.STATE_CHOICES,
                                                     "kinds": matter_views.KIND_CHOICES,
                                                     **matter_views.filter_regions(session, actor),
                                                     "draft_kinds": matter_views.draft_kinds(actor)})

    return await read_only(request, work)


@router.get("/matters/new", response_class=HTMLResponse)
def matter_new(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep, kind: str | None = None,
               region: str | None = None, village: str | None = None, year: int | None = None) -> Response:
    ctx = matter_views.new_form(session, actor, kind=kind, region=region or village, year=year, at=now)
    return render(request, "matters/new.html", {**ctx, "error": None})


@router.get("/matters/new/document", response_class=HTMLResponse)
def matter_new_document(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep,
                        kind: str = "village_allocation", region: str = "", village: str = "",
                        year: int = 0) -> Response:
    """htmx: the document proposed from the registry (and the village's plan) for the chosen region and year."""
    ctx = matter_views.registry_document(session, actor, kind=kind, region=region or village, year=year, at=now)
    return render(request, "matters/_document.html", ctx)


@router.post("/matters/preview", response_class=HTMLResponse, dependencies=[CsrfDep])
async def matter_preview(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    """htmx: run the engine on the document as typed; show the result and its warnings, write nothing."""
    form = await request.form()
    try:
        doc = commands.parse_document(str(form.get("document", "")))
        result = matter_views.preview(doc)
    except DaipinError as exc:
        return render(request, "matters/_preview.html", {"result": None, "error": exc})
    return render(request, "matters/_preview.html", {"result": result, "error": None})


@router.post("/matters", response_class=HTMLResponse, dependencies=[CsrfDep])
async def matter_create(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        command = matter_views.draft_command(fields)
        with session.begin_nested():
            m = commands.draft(session, actor, command, at=now)
    except DaipinError as exc:
        ctx = matter_views.new_form(session, actor, kind=fields.get("kind"), region=fields.get("region"),
                                    year=_int(fields.get("year")), at=now, fields=fields)
        return render(request, "matters/new.html", {**ctx, "error": exc,
                                                    "error_field": matter_views.form_field(exc)},
                      status_code=exc.status)
    return RedirectResponse(f"/matters/{m.id}", status_code=303)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() and len(value.strip()) <= 4 else None


@router.get("/matters/{matter_id}", response_class=HTMLResponse)
def matter_page(request: Request, matter_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    ctx = with_papers(session, actor, matter_views.detail(session, actor, matter_id, at=now))
    return render(request, "matters/detail.html", {**ctx, "error": None})


@router.get("/matters/{matter_id}/payments", response_class=HTMLResponse)
def matter_payments(request: Request, matter_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    """The payment batch of an executed matter: each line, and for the township and district the forms to
    record it paid (with the bank's reference) or failed (with the reason)."""
    return render(request, "matters/payments.html", {**matter_views.payments_page(session, actor, matter_id),
                                                     "error": None, "failed_line": None})


@router.post("/matters/{matter_id}/payments/{line_id}", response_class=HTMLResponse, dependencies=[CsrfDep])
async def matter_payment_record(request: Request, matter_id: Id, line_id: Id, actor: CurrentActor,
                                session: SessionDep, now: NowDep) -> Response:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        payment = payment_commands.RecordPayment.from_form(fields)
        with session.begin_nested():
            payment_commands.record(session, actor, line_id, payment, at=now, matter_id=matter_id)
    except DaipinError as exc:
        ctx = matter_views.payments_page(session, actor, matter_id)
        return render(request, "matters/payments.html", {**ctx, "error": exc, "failed_line": line_id},
                      status_code=exc.status)
    return RedirectResponse(f"/matters/{matter_id}/payments#line-{line_id}", status_code=303)


@router.post("/matters/{matter_id}/{action}", response_class=HTMLResponse, dependencies=[CsrfDep])
async def matter_action(request: Request, matter_id: Id, action: str, actor: CurrentActor, session: SessionDep,
                        now: NowDep) -> Response:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        step = commands.step_of(action).from_form(fields)
        with session.begin_nested():
            commands.run(session, actor, matter_id, step, at=now)
    except DaipinError as exc:
        ctx = with_papers(session, actor, matter_views.detail(session, actor, matter_id, at=now))
        return render(request, "matters/detail.html", {**ctx, "error": exc, "failed_action": action},
                      status_code=exc.status)
    return RedirectResponse(f"/matters/{matter_id}#{action}", status_code=303)


@router.get("/matters/{matter_id}/dossier.zip")
def matter_dossier(matter_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    name, data = matter_views.dossier_zip(session, actor, matter_id, at=now)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
