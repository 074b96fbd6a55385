"""The public portal (no login): notices by township and village, results, objections, printable PDFs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from daipin.api.deps import CsrfDep, Id, NowDep, SessionDep
from daipin.domain.errors import DaipinError
from daipin.services import portal
from daipin.web import render

router = APIRouter()


def notice_url(request: Request, notice_id: Id) -> str:
    base = request.app.state.settings.base_url.rstrip("/")
    return f"{base}/public/notices/{notice_id}"


@router.get("/public", response_class=HTMLResponse)
def portal_index(request: Request, session: SessionDep, region: str | None = None) -> Response:
    region = region if region and region.isdigit() and len(region) in (6, 9, 12) else None
    notices = portal.list_notices(session, region=region)
    regions = portal.regions(session)
    return render(request, "public/index.html", {"notices": notices, "regions": regions, "region": region or "",
                                                 "labels": portal.STATUS_LABELS})


def _notice_page(request: Request, session: SessionDep, notice_id: Id, *, error: DaipinError | None = None,
                 filed: int | None = None, status: int = 200) -> Response:
    view = portal.get_notice(session, notice_id)
    return render(request, "public/notice.html", {
        "v": view, "c": view.content, "labels": portal.STATUS_LABELS, "cp": portal.checkpoint_summary(view),
        "answered": portal.answered_objections(session, notice_id), "error": error, "filed": filed,
        "url": notice_url(request, notice_id)}, status_code=status)


@router.get("/public/notices/{notice_id}.pdf")
def notice_pdf(request: Request, notice_id: Id, session: SessionDep) -> Response:
    from daipin.reports.notice_pdf import render_notice

    view = portal.get_notice(session, notice_id)
    pdf = render_notice(view.content, url=notice_url(request, notice_id), checkpoint_note=view.notice.checkpoint,
                        status_label=portal.STATUS_LABELS.get(view.notice.status, view.notice.status),
                        result=view.result)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"'})


@router.get("/public/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, notice_id: Id, session: SessionDep, filed: int | None = None) -> Response:
    return _notice_page(request, session, notice_id, filed=filed)


@router.post("/public/notices/{notice_id}/objections", response_class=HTMLResponse, dependencies=[CsrfDep])
def object_to_notice(
    request: Request,
    notice_id: Id,
    session: SessionDep,
    now: NowDep,
    text: Annotated[str, Form(max_length=4000)] = "",
    name: Annotated[str, Form(max_length=60)] = "",
    contact: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    from fastapi.responses import RedirectResponse

    try:
        with session.begin_nested():
            o = portal.object_to(session, notice_id, text=text, at=now, name=name or None, contact=contact or None)
    except DaipinError as exc:
        return _notice_page(request, session, notice_id, error=exc, status=exc.status)
    return RedirectResponse(f"/public/notices/{notice_id}?filed={o.id}#objection", status_code=303)
