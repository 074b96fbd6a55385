"""The dashboard page: charts and what waits for the logged-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from daipin.api.deps import CurrentActor, SessionDep, TodayDep
from daipin.services import dashboard as dashboard_service
from daipin.web import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: CurrentActor, session: SessionDep, today: TodayDep) -> Response:
    data = dashboard_service.overview(session, actor=actor, today=today)
    return render(request, "dashboard.html", {"d": data, "charts": dashboard_service.chart_options(data)})
