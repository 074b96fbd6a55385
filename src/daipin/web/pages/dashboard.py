"""The dashboard page: charts and what waits for the logged-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from daipin.http.deps import CurrentActor, NowDep, SessionDep, TodayDep
from daipin.services.dashboard import views as dashboard_service
from daipin.web import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: CurrentActor, session: SessionDep, today: TodayDep, now: NowDep) -> Response:
    data = dashboard_service.overview(session, actor=actor, today=today)
    return render(request, "dashboard.html", {"d": data, "todo": dashboard_service.todo(session, actor, now=now),
                                              "charts": dashboard_service.chart_options(data),
                                              "notes": dashboard_service.chart_notes(data),
                                              "chart_titles": {"by_model": "联结农户（按利益联结模式）",
                                                               "income": "户均收益（元，按支付年度）",
                                                               "arrears": "拖欠金额（元，按实施主体）"}})
