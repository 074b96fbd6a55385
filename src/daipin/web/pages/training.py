"""The training clock (演示/培训数据库): its time, and the control that moves it forward so a matter's windows (the
meeting's 10 days' notice, the 公示 days) pass in minutes. A production database refuses it (the service says why)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from daipin.domain.errors import DaipinError
from daipin.http.deps import CsrfDep, CurrentActor, NowDep, SessionDep, SettingsDep
from daipin.services.shared import clock
from daipin.web import render

router = APIRouter()

# The steps offered on the control: a day, the meeting's notice, the notice's window with a day to spare.
CHOICES = [("1d", "1 天"), ("5d", "5 天"), ("10d", "10 天"), ("11d", "11 天")]


def _back(target: str) -> str:
    """Only a path of this site (never another host) to go back to."""
    return target if target.startswith("/") and not target.startswith("//") else "/training/clock"


@router.get("/training/clock", response_class=HTMLResponse)
def clock_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    return render(request, "training_clock.html", {"at": now, "is_training": clock.training(session),
                                                   "advanced_days": clock.offset(session).days, "choices": CHOICES,
                                                   "error": None})


@router.post("/training/clock", response_class=HTMLResponse, dependencies=[CsrfDep])
async def clock_advance(request: Request, actor: CurrentActor, session: SessionDep, settings: SettingsDep,
                        now: NowDep) -> Response:
    form = await request.form()
    by = str(form.get("by", ""))
    try:
        with session.begin_nested():
            clock.advance(session, actor, clock.parse_duration(by), settings.now)
    except DaipinError as exc:
        return render(request, "training_clock.html", {"at": now, "is_training": clock.training(session),
                                                       "advanced_days": clock.offset(session).days, "choices": CHOICES,
                                                       "error": exc}, status_code=exc.status)
    return RedirectResponse(_back(str(form.get("back", ""))), status_code=303)
