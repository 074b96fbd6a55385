"""The household import on the web (建档立卡导入): upload an xlsx or csv, watch its progress, read its errors (row,
column, reason) on the page and download them as a spreadsheet.

The upload's answer is streamed: the page arrives at once, then a progress bar per stage (validating, writing)
as the import service reports it, then the result. The import runs in one transaction of its own (the request's
one unit of work, committed when the import ends): all or nothing, or — when asked — every good household and
none of the bad ones, as the command line's `--skip-bad`. No script is needed: each progress line replaces the
one before it by the page's style sheet."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import queue
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError, InputError
from daipin.http.deps import CsrfDep, CurrentActor, NowDep, _own_session
from daipin.services.imports import report
from daipin.web import render, render_text
from daipin.web.pages.registry_forms import _form_ctx

router = APIRouter()

MAX_UPLOAD = 200 * 1024 * 1024  # a whole county's roster as csv is well under this
SUFFIXES = (".xlsx", ".csv")
MARK = "<!--import-progress-->"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger("daipin.web")


@router.get("/households/import", response_class=HTMLResponse)
def import_page(request: Request, actor: CurrentActor) -> Response:
    access.require(actor, "household.write")
    return render(request, "registry/import.html", {**_form_ctx(None, {}), "running": False})


@router.get("/households/import/template.xlsx")
def import_template(actor: CurrentActor) -> Response:
    access.require(actor, "household.write")
    return Response(_template_bytes(), media_type=XLSX,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''%E5%86%9C%E6%88%B7%E5%AF%BC%E5%85%A5"
                             "%E6%A8%A1%E6%9D%BF.xlsx"})


@functools.cache
def _template_bytes() -> bytes:
    """The template's file, written once per process (it names no village: the same sheet for everyone; openpyxl
    takes about 0.3 s to write it)."""
    from daipin.services.imports.service import write_template

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "template.xlsx"
        write_template(out)
        return out.read_bytes()


@router.post("/households/import/errors.xlsx", dependencies=[CsrfDep])
async def import_errors(request: Request, actor: CurrentActor) -> Response:
    """The error report of an import the page showed, as a spreadsheet (the page sends back its rows)."""
    access.require(actor, "household.write")
    form = await request.form()
    raw = form.get("errors")
    try:
        rows = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError("没有可下载的错误清单", "no error list to download", "errors")
    return Response(report.error_xlsx(rows), media_type=XLSX,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''%E5%AF%BC%E5%85%A5%E9%94%99%E8%AF%AF"
                             ".xlsx"})


async def _upload(request: Request) -> tuple[Path, str, bool]:
    """The uploaded file saved to a temporary path (the import service reads a file), its name, and whether the
    good rows are to be imported when some are bad."""
    form = await request.form()
    upload = form.get("file")
    skip_bad = form.get("skip_bad") == "1"
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise InputError("请选择要导入的文件（xlsx 或 csv）", "choose the file to import (xlsx or csv)", "file")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"只能导入 .xlsx 或 .csv 文件，而不是 {suffix or '（无扩展名）'}",
                         f"only .xlsx or .csv files are imported, not {suffix or '(none)'}", "file")
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="daipin-import-")
    path = Path(name)
    size = 0
    try:
        with open(fd, "wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise InputError("文件过大（最多 200 MB）", "file too large (200 MB at most)", "file")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise InputError("文件是空的", "the file is empty", "file")
    return path, upload.filename, skip_bad


class _Bar:
    """One stage's progress, sent to the page at most every 0.3 s (and at its end)."""

    def __init__(self, out: queue.Queue[tuple[str, Any]], desc: str, total: int | None) -> None:
        self.out, self.desc, self.total, self.done, self.sent = out, desc, total, 0, 0.0
        self._send()

    def _send(self) -> None:
        self.sent = time.monotonic()
        self.out.put(("progress", (self.desc, self.done, self.total)))

    def update(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.sent >= 0.3:
            self._send()

    def close(self) -> None:
        self._send()


def _run(request: Request, actor: Actor, path: Path, at: Any, skip_bad: bool,
         out: queue.Queue[tuple[str, Any]]) -> None:
    """The import in the request's one unit of work, committed when it ends (a file refused whole wrote nothing)."""
    from daipin.services.imports import service as imports

    def bar(desc: str, unit: str, total: int | None) -> _Bar:
        return _Bar(out, desc, total)

    try:
        with _own_session(request, request.app.state.session_factory, commit=True) as session:
            result = imports.import_households(session, actor, path, at, skip_bad=skip_bad, progress=bar)
        out.put(("done", result))
    except DaipinError as exc:
        out.put(("refused", exc))
    except Exception as exc:  # the page says so; the log has where (never the cells, which may be personal data)
        from daipin.http.errors import crash_report

        log.error("household import failed: %s", crash_report(exc))
        out.put(("crashed", None))
    finally:
        path.unlink(missing_ok=True)


@router.post("/households/import", response_class=HTMLResponse, dependencies=[CsrfDep])
async def import_upload(request: Request, actor: CurrentActor, now: NowDep) -> Response:
    access.require(actor, "household.write")
    try:
        path, filename, skip_bad = await _upload(request)
    except DaipinError as exc:
        return render(request, "registry/import.html", {**_form_ctx(exc, {"file": ""}), "running": False},
                      status_code=exc.status)
    page = render_text(request, "registry/import.html", {**_form_ctx(None, {}), "running": True,
                                                         "filename": filename, "skip_bad": skip_bad})
    head, _, tail = page.partition(MARK)
    out: queue.Queue[tuple[str, Any]] = queue.Queue()

    async def stream() -> AsyncIterator[str]:
        # Started once the answer is under way: the route's own dependencies have closed their session by then.
        worker = threading.Thread(target=_run, name="household-import", daemon=True,
                                  args=(request, actor, path, now, skip_bad, out))
        worker.start()
        yield head
        loop = asyncio.get_running_loop()
        while True:
            kind, value = await loop.run_in_executor(None, out.get)
            if kind == "progress":
                desc, done, total = value
                yield render_text(request, "registry/_import_bar.html",
                                  {"stage": desc.split(" ")[0], "done": done, "total": total})
                continue
            ctx: dict[str, Any] = {"outcome": kind, "skip_bad": skip_bad, "filename": filename}
            if kind == "done":
                ctx.update({"result": value, "errors": report.rows_of(value.errors)})
                ctx["errors_json"] = json.dumps(ctx["errors"], ensure_ascii=False)
            elif kind == "refused":
                ctx["error"] = value
            yield render_text(request, "registry/_import_result.html", ctx)
            break
        yield tail

    # The file is removed once the answer ends, whether or not the import ran (a client gone before it started).
    return StreamingResponse(stream(), media_type="text/html; charset=utf-8",
                             background=BackgroundTask(path.unlink, missing_ok=True))
