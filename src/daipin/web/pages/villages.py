"""A village's representatives (村民代表): the list with who serves today, and the forms to record a term or end
one (the village's cadre, its township, the district), each through the same typed command as the API and CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError
from daipin.domain.localtime import beijing_date
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.services.villages import commands, views
from daipin.web import render

router = APIRouter()

VillageCode = Annotated[str, Path(pattern=r"^\d{12}$")]


def _ctx(session: Session, actor: Actor, village: str, now: Any, *, error: DaipinError | None = None,
         failed_form: str = "", fields: dict[str, str] | None = None) -> dict[str, Any]:
    today = beijing_date(now)
    ctx = views.representatives(session, actor, village, on=today)
    ctx["candidates"] = views.candidates(session, actor, village, on=today) if ctx["may_write"] else []
    return {**ctx, "error": error, "failed_form": failed_form, "fields": fields or {}}


@router.get("/villages/{village}/representatives", response_class=HTMLResponse)
def representatives_page(request: Request, village: VillageCode, actor: CurrentActor, session: SessionDep,
                         now: NowDep) -> Response:
    return render(request, "registry/representatives.html", _ctx(session, actor, village, now))


async def _change(request: Request, village: str, actor: Actor, session: Session, now: Any, form_name: str,
                  command: type[commands.AddRepresentative] | type[commands.EndRepresentative],
                  representative_id: int | None = None) -> Response:
    """Record or end a term from the page: nothing written on any error, the page shown again with it."""
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    views.representatives(session, actor, village, on=beijing_date(now))  # 404 outside the actor's view
    try:
        with session.begin_nested():
            if representative_id is None:
                commands.add(session, actor, village, commands.AddRepresentative.from_form(fields), at=now)
            else:
                commands.end(session, actor, village, representative_id,
                             commands.EndRepresentative.from_form(fields), at=now)
    except DaipinError as exc:
        ctx = _ctx(session, actor, village, now, error=exc, failed_form=form_name, fields=fields)
        return render(request, "registry/representatives.html", ctx, status_code=exc.status)
    return RedirectResponse(f"/villages/{village}/representatives", status_code=303)


@router.post("/villages/{village}/representatives", response_class=HTMLResponse, dependencies=[CsrfDep])
async def representative_add(request: Request, village: VillageCode, actor: CurrentActor, session: SessionDep,
                             now: NowDep) -> Response:
    return await _change(request, village, actor, session, now, "add", commands.AddRepresentative)


@router.post("/villages/{village}/representatives/{representative_id}/end", response_class=HTMLResponse,
             dependencies=[CsrfDep])
async def representative_end(request: Request, village: VillageCode, representative_id: Id, actor: CurrentActor,
                             session: SessionDep, now: NowDep) -> Response:
    return await _change(request, village, actor, session, now, "end", commands.EndRepresentative,
                         representative_id)
