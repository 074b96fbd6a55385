"""The dashboard's figures over the API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from daipin.api import models as m
from daipin.http.deps import CurrentActor, SessionDep, TodayDep
from daipin.services.dashboard import views as dashboard

router = APIRouter(tags=["dashboard 工作台"])


@router.get("/dashboard", response_model=m.DashboardOut)
def overview(actor: CurrentActor, session: SessionDep, today: TodayDep) -> dict[str, Any]:
    """工作台数据（本辖区）/ linked households by model, income per household, arrears, matters waiting."""
    return asdict(dashboard.overview(session, actor=actor, today=today))
