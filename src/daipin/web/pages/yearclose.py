"""年度结账 on the web: the district's page to close a year for its county (every project settled, every village
allocated from its plan, its allocation matter drafted for the village's meeting; the villages whose roster of the
year is not confirmed are listed under the drafts, not drafted), with the progress of each county read from the
close's own progress rows and refreshed
every second while one runs. The close runs in a thread of the server with a session of its own, committing as it
goes (`services/yearclose`): a server stopped midway leaves what is done, and the button continues it. The button's
answer streams each county's progress as the close reports it (as the household import's does), then the table."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError, InputError
from daipin.domain.localtime import beijing_date
from daipin.http.deps import CsrfDep, CurrentActor, NowDep, SessionDep, _own_session, get_session
from daipin.services.yearclose import service as yc
from daipin.web import render, render_text

router = APIRouter()
log = logging.getLogger("daipin.web")
_running: set[tuple[str, int]] = set()  # (county, year) closing in this server process
_lock = threading.Lock()
MARK = "<!--year-close-progress-->"


def _year(raw: Any, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        return yc.check_year(int(str(raw)))
    except ValueError:
        raise InputError("年度应为四位数字", "the year must be four digits", field="year") from None


def _ctx(session: Session, actor: Actor, year: int, **extra: Any) -> dict[str, Any]:
    rows = yc.status(session, actor, year)
    with _lock:
        running = any((r.county, year) in _running for r in rows)
    return {"year": year, "rows": rows, "running": running, "steps": yc.STEPS, "labels": yc.STEP_LABELS,
            "error": None, **extra}


@router.get("/year-close", response_class=HTMLResponse)
def page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep, year: str | None = None) -> Response:
    access.require(actor, "year.close")
    default = beijing_date(now).year - 1
    try:
        y = _year(year, default)
    except DaipinError as exc:
        return render(request, "year_close.html", _ctx(session, actor, default, error=exc), status_code=exc.status)
    return render(request, "year_close.html", _ctx(session, actor, y))


@router.get("/year-close/progress", response_class=HTMLResponse)
def progress(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep, year: str | None = None) -> Response:
    access.require(actor, "year.close")
    y = _year(year, beijing_date(now).year - 1)
    return render(request, "_year_close_progress.html", _ctx(session, actor, y))


def _run(request: Request, actor: Actor, counties: list[str], year: int, at: datetime,
         out: queue.Queue[tuple[str, Any]]) -> None:
    """The close, county after county, in a session of its own that commits as it goes."""
    # A session the application's tests lend (`get_session` overridden) is theirs to commit or roll back.
    lent = get_session in request.app.dependency_overrides
    try:
        with _own_session(request, request.app.state.session_factory, commit=True) as session:
            for county in counties:
                done = [0]

                def step(n: int, county: str = county, done: list[int] = done) -> None:
                    done[0] += n
                    out.put(("progress", (county, done[0])))

                yc.close_county(session, actor, county, year, at, progress=step,
                                commit=session.flush if lent else None)
        out.put(("done", None))
    except DaipinError as exc:
        out.put(("refused", exc))
    except Exception as exc:  # the page says so and shows what is done; the log says where it stopped
        from daipin.http.errors import crash_report

        log.error("year close stopped: %s", crash_report(exc))
        out.put(("crashed", None))
    finally:
        with _lock:
            for county in counties:
                _running.discard((county, year))


@router.post("/year-close", response_class=HTMLResponse, dependencies=[CsrfDep])
async def start(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    """Close the year for every county the actor may close; the answer streams each county's progress, then the
    table of what is done."""
    access.require(actor, "year.close")
    form = await request.form()
    try:
        year = _year(form.get("year"), beijing_date(now).year - 1)
        rows = yc.status(session, actor, year)
    except DaipinError as exc:
        return render(request, "year_close.html", _ctx(session, actor, beijing_date(now).year - 1, error=exc),
                      status_code=exc.status)
    totals = {r.county: (r.name, r.total_all - r.done_all) for r in rows}
    with _lock:
        todo = [r.county for r in rows if (r.county, year) not in _running and not r.finished]
        _running.update((c, year) for c in todo)
    page = render_text(request, "year_close.html", {**_ctx(session, actor, year), "streaming": True})
    head, _, tail = page.partition(MARK)
    out: queue.Queue[tuple[str, Any]] = queue.Queue()

    async def stream() -> AsyncIterator[str]:
        worker = threading.Thread(target=_run, name="year-close", daemon=True,
                                  args=(request, actor, todo, year, now, out))
        worker.start()
        yield head
        loop = asyncio.get_running_loop()
        last = 0.0
        while True:
            kind, value = await loop.run_in_executor(None, out.get)
            if kind == "progress":
                county, done = value
                if time.monotonic() - last >= 0.3 or done >= totals[county][1]:
                    last = time.monotonic()
                    yield render_text(request, "_year_close_bar.html",
                                      {"name": totals[county][0], "done": done, "total": totals[county][1]})
                continue
            yield render_text(request, "_year_close_result.html", {"outcome": kind, "error": value, "year": year})
            break
        yield tail

    return StreamingResponse(stream(), media_type="text/html; charset=utf-8")
