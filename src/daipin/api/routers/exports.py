"""Spreadsheet downloads over the API of the lists the pages show (.xlsx for people, .csv for other systems; `format`): the
matters, a year's payment batches, an entity's dues, the dashboard's figures, the household search and the entity, project and contract lists — each
under a title row (region, day, 已脱敏 where personal data is masked), money as numbers of yuan, the header
frozen and printed on every page (`services/imports/exports.py`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from daipin.http.deps import CurrentActor, Id, SessionDep, TodayDep
from daipin.services.imports import exports

router = APIRouter(tags=["exports 导出"])
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILES: dict[int | str, dict[str, object]] = {200: {"description": "表格文件 / the spreadsheet", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _BINARY, "text/csv": _BINARY}}}


def _file(d: exports.Download) -> Response:
    return Response(d.data, media_type=d.media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(d.name)}"})


@router.get("/exports/matters", response_class=Response, responses=_FILES)
def matters(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx",
            state: str = "") -> Response:
    return _file(exports.matters_download(session, actor, format, today, state or None))


@router.get("/exports/payments", response_class=Response, responses=_FILES)
def payments(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx",
             year: int | None = None, region: str = "") -> Response:
    return _file(exports.payments_download(session, actor, format, today, year or today.year, region or None))


@router.get("/exports/entities/{entity_id}/dues", response_class=Response, responses=_FILES)
def dues(entity_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx") -> Response:
    return _file(exports.dues_download(session, actor, format, today, entity_id))


@router.get("/exports/dashboard", response_class=Response, responses=_FILES)
def dashboard(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx") -> Response:
    return _file(exports.dashboard_download(session, actor, format, today))


@router.get("/exports/households", response_class=Response, responses=_FILES)
def households(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
               status: str = "", village: str = "") -> Response:
    return _file(exports.households_download(session, actor, format, today, q=q, status=status or None,
                                             village=village or None))


@router.get("/exports/entities", response_class=Response, responses=_FILES)
def entities(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
             kind: str = "", credit: str = "", region: str = "") -> Response:
    return _file(exports.entities_download(session, actor, format, today, q=q, kind=kind or None,
                                           credit=credit or None, region=region or None))


@router.get("/exports/projects", response_class=Response, responses=_FILES)
def projects(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
             status: str = "", category: str = "", region: str = "",
             year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    return _file(exports.projects_download(session, actor, format, today, q=q, status=status or None,
                                           category=category or None, region=region or None, year=year))


@router.get("/exports/contracts", response_class=Response, responses=_FILES)
def contracts(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
              model: str = "", status: str = "", region: str = "",
              year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    return _file(exports.contracts_download(session, actor, format, today, q=q, model=model or None,
                                            status=status or None, region=region or None, year=year))
