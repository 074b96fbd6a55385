"""The ledger page: status, the current checkpoint, and verification on demand (auditors, district)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from daipin.http.deps import CsrfDep, CurrentActor, SessionDep
from daipin.services.ledger import views as ledger_views
from daipin.web import render

router = APIRouter()


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    return render(request, "ledger.html", {"st": ledger_views.status(session, actor), "report": None})


@router.post("/ledger/verify", response_class=HTMLResponse, dependencies=[CsrfDep])
def ledger_verify(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    report = ledger_views.verify(session, actor)
    if request.headers.get("hx-request"):
        return render(request, "_ledger_report.html", {"report": report})
    return render(request, "ledger.html", {"st": ledger_views.status(session, actor), "report": report})
