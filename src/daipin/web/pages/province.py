"""The province's pages (省级): the cross-county duplicate check over the digest files the counties hand in
(docs/scale.md 跨县比对). Nothing is stored: the files are read, compared and the findings shown or exported."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from daipin.domain import access
from daipin.domain.errors import DaipinError
from daipin.domain.localtime import beijing_date
from daipin.http.deps import CsrfDep, CurrentActor, NowDep, SessionDep
from daipin.services.crosscheck import files as digest_files
from daipin.services.shared import sheets
from daipin.services.shared.sheets import Column, Table
from daipin.web import render

router = APIRouter()
PATH = "/province/duplicates"


def _page(request: Request, ctx: dict[str, Any], status: int = 200) -> Response:
    base: dict[str, Any] = {"error": None, "problems": [], "result": None}
    return render(request, "province/duplicates.html", {**base, **ctx}, status_code=status)


def duplicates_xlsx(result: dict[str, Any], at: datetime) -> bytes:
    rows = [[n, d["digest"], code, name, ref] for n, d in enumerate(result["duplicates"], start=1)
            for code, name, ref in d["places"]]
    table = Table("重复登记", [Column("序号", "int"), Column("摘要", "id"), Column("区县代码", "id"), Column("区县"),
                               Column("该县编号", "id")], rows)
    counties = Table("上报情况", [Column("区县代码", "id"), Column("区县"), Column("人数", "int")],
                     [[c, name, n] for c, name, n in result["counties"]])
    title = sheets.title_line(f"跨县重复登记比对　{len(result['duplicates'])} 人", "", beijing_date(at), masked=False)
    return sheets.export_bytes("xlsx", title, [table, counties])


@router.get(PATH, response_class=HTMLResponse)
def duplicates_page(request: Request, actor: CurrentActor) -> Response:
    access.require(actor, "crosscheck.run", field="actor")
    return _page(request, {})


@router.post(PATH, dependencies=[CsrfDep])
async def duplicates_check(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    access.require(actor, "crosscheck.run", field="actor")
    form = await request.form()
    uploads = [u for u in form.getlist("file") if not isinstance(u, str) and u.filename]
    try:
        received = digest_files.read([(u.filename or "", await u.read(digest_files.MAX_FILE + 1)) for u in uploads])
        result = digest_files.findings(session, actor, received)
    except digest_files.FilesRefused as exc:
        return _page(request, {"error": exc, "problems": exc.problems}, exc.status)
    except DaipinError as exc:
        return _page(request, {"error": exc}, exc.status)
    if form.get("out") == "xlsx":
        name = f"跨县重复登记-{beijing_date(now).isoformat()}.xlsx"
        return Response(duplicates_xlsx(result, now), media_type=sheets.MEDIA_TYPES["xlsx"],
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
    return _page(request, {"result": result})
