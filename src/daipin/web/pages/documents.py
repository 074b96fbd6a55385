"""Printed papers of a matter (PDF): meeting notice, sign-in sheet, minutes, review form, result announcement and
the archive dossier; the annual report of a village, township or district."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError
from daipin.http.deps import TRAINING, CsrfDep, CurrentActor, Id, NowDep, SessionDep, database_kind
from daipin.services.documents import views as documents
from daipin.web import render

router = APIRouter()


def with_papers(session: Session, actor: Actor, ctx: dict[str, Any]) -> dict[str, Any]:
    """The matter page's context with the papers its state has (`papers`), for the links to print them."""
    return {**ctx, "papers": documents.available(session, actor, ctx["m"])}


@router.get("/matters/{matter_id}/papers/{paper}.pdf")
def matter_paper(request: Request, matter_id: Id, paper: str, actor: CurrentActor, session: SessionDep,
                 now: NowDep) -> Response:
    name, pdf = documents.render(session, actor, matter_id, paper, at=now,
                                 training=database_kind(request, session) == TRAINING)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/contracts/{contract_id}.pdf")
def contract_pdf(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    name, pdf = documents.render_contract(session, actor, contract_id, at=now,
                                          training=database_kind(request, session) == TRAINING)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


def _annual(session: Session, actor: Actor, region: str | None, year: int | None, now: Any) -> dict[str, Any]:
    from daipin.domain.localtime import beijing_date
    from daipin.services.documents import annual

    region = region or actor.region
    return annual.annual(session, actor, region, year or annual.latest_year(session, region) or beijing_date(now).year)


@router.get("/reports/annual", response_class=HTMLResponse)
def annual_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep, region: str | None = None,
                year: int | None = None) -> Response:
    """The annual report of a village, township or district with its charts (ECharts), and its PDF and xlsx."""
    report = _annual(session, actor, region, year, now)
    rows = report["rows"]
    axis = {"type": "category", "data": [x["name"] for x in rows], "axisLabel": {"rotate": 40 if len(rows) > 8 else 0}}
    charts = {
        "pools": {"tooltip": {"trigger": "axis"}, "legend": {"data": ["资金池", "已支付"]}, "grid": {"bottom": 80},
                  "xAxis": axis, "yAxis": {"type": "value"},
                  "series": [{"name": "资金池", "type": "bar", "data": [x["pool_fen"] / 100 for x in rows]},
                             {"name": "已支付", "type": "bar", "data": [x["paid_fen"] / 100 for x in rows]}]},
        "household": {"tooltip": {"trigger": "axis"}, "grid": {"bottom": 80}, "xAxis": axis, "yAxis": {"type": "value"},
                      "series": [{"name": "户均收入", "type": "bar",
                                  "data": [x["per_household_fen"] / 100 for x in rows]}]},
    }
    return render(request, "reports/annual.html", {"r": report, "charts": charts})


@router.get("/reports/annual.pdf")
def annual_pdf(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep, region: str | None = None,
               year: int | None = None) -> Response:
    from daipin.reports import annual_pdf as pdf

    report = _annual(session, actor, region, year, now)
    name = f"annual-{report['region']['code']}-{report['year']}.pdf"
    training = database_kind(request, session) == TRAINING
    return Response(pdf.render(report, printed_at=now, training=training), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/reports/annual.xlsx")
def annual_xlsx(actor: CurrentActor, session: SessionDep, now: NowDep, region: str | None = None,
                year: int | None = None) -> Response:
    from daipin.services.documents import annual

    report = _annual(session, actor, region, year, now)
    name = f"annual-{report['region']['code']}-{report['year']}.xlsx"
    return Response(annual.annual_xlsx(report),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/public/checkpoint", response_class=HTMLResponse)
def checkpoint_form(request: Request) -> Response:
    """The public check of a checkpoint note read off a printed notice (typed, or scanned from its QR code)."""
    return render(request, "public/checkpoint.html", {"result": None, "error": None, "note": ""})


@router.post("/public/checkpoint", response_class=HTMLResponse, dependencies=[CsrfDep])
def checkpoint_check(request: Request, session: SessionDep,
                     note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    from daipin.services.ledger import views as ledger_views

    try:
        result = ledger_views.check_note(session, note)
    except DaipinError as exc:
        return render(request, "public/checkpoint.html", {"result": None, "error": exc, "note": note},
                      status_code=exc.status)
    return render(request, "public/checkpoint.html", {"result": result, "error": None, "note": note})
