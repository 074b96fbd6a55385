"""Spreadsheet downloads of the lists the pages show (.xlsx for people, .csv for other systems; `format`): the
matters, a year's payment batches, an entity's dues, the dashboard's figures, the household search and the entity, project and contract lists — each
under a title row (region, day, 已脱敏 where personal data is masked), money as numbers of yuan, the header
frozen and printed on every page (`services/imports/exports.py`)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from daipin.domain.errors import InputError
from daipin.http.deps import CurrentActor, Id, SessionDep, TodayDep
from daipin.services.imports import exports

router = APIRouter()


def _file(d: exports.Download) -> Response:
    return Response(d.data, media_type=d.media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(d.name)}"})


@router.get("/exports/matters")
def matters(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx",
            state: str = "") -> Response:
    return _file(exports.matters_download(session, actor, format, today, state or None))


@router.get("/exports/payments")
def payments(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx",
             year: int | None = None, region: str = "") -> Response:
    return _file(exports.payments_download(session, actor, format, today, year or today.year, region or None))


@router.get("/exports/entities/{entity_id}/dues")
def dues(entity_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx") -> Response:
    return _file(exports.dues_download(session, actor, format, today, entity_id))


@router.get("/exports/dashboard")
def dashboard(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx") -> Response:
    return _file(exports.dashboard_download(session, actor, format, today))


@router.get("/exports/households")
def households(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
               status: str = "", village: str = "") -> Response:
    return _file(exports.households_download(session, actor, format, today, q=q, status=status or None,
                                             village=village or None))


@router.get("/exports/entities")
def entities(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
             kind: str = "", credit: str = "", region: str = "") -> Response:
    return _file(exports.entities_download(session, actor, format, today, q=q, kind=kind or None,
                                           credit=credit or None, region=region or None))


@router.get("/exports/projects")
def projects(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
             status: str = "", category: str = "", region: str = "",
             year: str = "") -> Response:
    return _file(exports.projects_download(session, actor, format, today, q=q, status=status or None,
                                           category=category or None, region=region or None, year=_year(year)))


@router.get("/exports/contracts")
def contracts(actor: CurrentActor, session: SessionDep, today: TodayDep, format: str = "xlsx", q: str = "",
              model: str = "", status: str = "", region: str = "",
              year: str = "") -> Response:
    return _file(exports.contracts_download(session, actor, format, today, q=q, model=model or None,
                                            status=status or None, region=region or None, year=_year(year)))


def _year(year: str) -> int | None:
    """A list's year filter as typed (blank: every year)."""
    if year and not (year.isdigit() and len(year) == 4):
        raise InputError("年度应为四位数字", "year must be four digits", "year")
    return int(year) if year else None
