"""The public portal (no login): notices by township and village, results, objections, printable PDFs."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from daipin.domain.errors import DaipinError
from daipin.http.deps import (
    ANON_COOKIE,
    TRAINING,
    Auth,
    CsrfDep,
    Id,
    NowDep,
    SessionDep,
    csrf_token_for,
    database_kind,
    read_only,
)
from daipin.services.matters.commands import FileObjection
from daipin.services.portal import views as portal
from daipin.web import locale_of, render, render_text

router = APIRouter()


class PageCache:
    """Rendered public pages of this process, each kept with the content version it was built at
    (`portal.content_version`) and used only while the version is unchanged; least recently used out first.

    A page is stored split at its CSRF token (rendered as a random placeholder), so each answer carries
    the token of its own visitor's cookie.
    """

    SLOT = "csrf-slot-" + secrets.token_hex(16)

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[object, ...], tuple[int, list[str]]] = OrderedDict()
        self._lock = threading.Lock()  # pages are built and read in threadpool threads

    def get(self, key: tuple[object, ...], version: int) -> list[str] | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or found[0] != version:
                return None
            self._pages.move_to_end(key)
            return found[1]

    def put(self, key: tuple[object, ...], version: int, text: str) -> list[str]:
        parts = text.split(self.SLOT)
        with self._lock:
            self._pages[key] = (version, parts)
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return parts

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()



def notice_url(request: Request, notice_id: Id) -> str:
    base = request.app.state.settings.base_url.rstrip("/")
    return f"{base}/public/notices/{notice_id}"


@router.get("/public", response_class=HTMLResponse)
def portal_index(request: Request, session: SessionDep, region: str | None = None) -> Response:
    region = region if region and region.isdigit() and len(region) in (6, 9, 12) else None
    notices = portal.list_notices(session, region=region)
    regions = portal.region_choices(session, region)
    return render(request, "public/index.html", {"notices": notices, "regions": regions, "region": region or ""})


def _notice_context(request: Request, session: Session, notice_id: int, *, error: DaipinError | None = None,
                    filed: int | None = None, receipt: dict[str, str] | None = None,
                    typed: dict[str, str] | None = None) -> dict[str, object]:
    view = portal.get_notice(session, notice_id)
    return {"v": view, "c": view.content, "cp": portal.checkpoint_summary(view),
            "answered": portal.answered_objections(session, notice_id), "error": error, "filed": filed,
            "receipt": receipt, "url": notice_url(request, notice_id), "typed": typed or {}}


def _notice_page(request: Request, session: Session, notice_id: int, *, error: DaipinError | None = None,
                 filed: int | None = None, status: int = 200, receipt: dict[str, str] | None = None,
                 typed: dict[str, str] | None = None) -> Response:
    return render(request, "public/notice.html",
                  _notice_context(request, session, notice_id, error=error, filed=filed, receipt=receipt,
                                  typed=typed),
                  status_code=status, headers=getattr(error, "headers", None))


def _cached_notice_page(request: Request, session: Session, auth: Auth, notice_id: int) -> Response:
    """The notice page as an anonymous visitor sees it, from the app's page cache while the content is
    unchanged."""
    key = (notice_id, locale_of(request))
    # The version is read before the notice: a change committed in between then shows on the next request
    # (the page is newer than its version), never the other way round (an old page under a new version).
    version = portal.content_version(session)
    pages: PageCache = request.app.state.notice_pages
    parts = pages.get(key, version)
    if parts is None:
        ctx = _notice_context(request, session, notice_id)
        ctx["csrf_token"] = PageCache.SLOT
        parts = pages.put(key, version, render_text(request, "public/notice.html", ctx))
    token = csrf_token_for(request, auth, request.app.state.settings)
    return HTMLResponse(token.join(parts))


@router.get("/public/notices/{notice_id}.pdf")
def notice_pdf(request: Request, notice_id: Id, session: SessionDep) -> Response:
    from daipin.reports.notice_pdf import render_notice

    view = portal.get_notice(session, notice_id)
    pdf = render_notice(view.content, url=notice_url(request, notice_id), checkpoint_note=view.notice.checkpoint,
                        status_label=portal.STATUS_LABELS.zh(view.notice.status),
                        result=view.result, training=database_kind(request, session) == TRAINING)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"'})


@router.get("/public/notices/{notice_id}", response_class=HTMLResponse)
async def notice_page(request: Request, notice_id: Id, filed: int | None = None) -> Response:
    def work(session: Session, auth: Auth) -> Response:
        if filed is not None or auth.logged_in:  # a page of one visitor: the filing receipt, the account menu
            return _notice_page(request, session, notice_id, filed=filed)
        return _cached_notice_page(request, session, auth, notice_id)

    return await read_only(request, work, logged_in=False)


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
            command = FileObjection.parse({"text": text, "name": name or None, "contact": contact or None})
            o = portal.object_to(session, notice_id, command, at=now, cookie=request.cookies.get(ANON_COOKIE),
                                 address=request.client.host if request.client else "unknown")
    except DaipinError as exc:
        # A refused objection keeps what was typed: the visitor corrects it instead of typing it again.
        return _notice_page(request, session, notice_id, error=exc, status=exc.status,
                            typed={"text": text, "name": name, "contact": contact})
    if o.receipt_no is None or o.check_code is None:
        return RedirectResponse(f"/public/notices/{notice_id}?filed={o.id}#objection", status_code=303)
    # The check code is shown this once (only its digest is kept): the page is the answer, not a redirect.
    return _notice_page(request, session, notice_id, filed=o.id,
                        receipt={"receipt_no": o.receipt_no, "check_code": o.check_code})


@router.get("/public/objections/check", response_class=HTMLResponse)
def check_objection_form(request: Request) -> Response:
    return render(request, "public/check.html", {"found": None, "error": None, "receipt_no": ""})


@router.post("/public/objections/check", response_class=HTMLResponse, dependencies=[CsrfDep])
def check_objection(
    request: Request,
    session: SessionDep,
    receipt_no: Annotated[str, Form(max_length=24)] = "",
    check_code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        found = portal.check_objection(session, receipt_no, check_code)
    except DaipinError as exc:
        return render(request, "public/check.html", {"found": None, "error": exc, "receipt_no": receipt_no},
                      status_code=exc.status)
    return render(request, "public/check.html", {"found": found, "error": None, "receipt_no": receipt_no})


@router.get("/favicon.ico")
def favicon() -> Response:
    """The site's icon (vendored under static/), where browsers ask for it without a link."""
    from daipin.web import STATIC

    return Response((STATIC / "favicon.ico").read_bytes(), media_type="image/x-icon",
                    headers={"Cache-Control": "public, max-age=86400"})
