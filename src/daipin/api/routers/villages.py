"""A village's representatives (村民代表) over the API: the list, and recording or ending a term (the village's
cadre, its township, the district)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from daipin.api import models as m
from daipin.domain.localtime import beijing_date
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.services.villages import commands, views

router = APIRouter(tags=["villages 村"])

VillageCode = Annotated[str, Path(pattern=r"^\d{12}$")]


def _term(rep: Any) -> dict[str, Any]:
    return {"id": rep.id, "village": rep.village_code, "person_id": rep.person_id,
            "from": rep.from_date.isoformat(), "to": rep.to_date.isoformat() if rep.to_date else None,
            "end_reason": rep.end_reason}


@router.get("/villages/{village}/representatives", response_model=m.RepresentativesOut)
def representatives(village: VillageCode, actor: CurrentActor, session: SessionDep, now: NowDep,
                    on: Annotated[date | None, Query()] = None) -> dict[str, Any]:
    """村民代表名单：各任期，及某日在任人数（村民代表会议的应到人数）/ the village's representatives and how many
    serve on a day (today, Beijing time, unless `on` is given)."""
    return views.representatives(session, actor, village, on=on or beijing_date(now))


@router.post("/villages/{village}/representatives", status_code=201, dependencies=[CsrfDep],
             response_model=m.TermOut)
def add_representative(village: VillageCode, body: commands.AddRepresentative, actor: CurrentActor,
                       session: SessionDep, now: NowDep) -> dict[str, Any]:
    """登记村民代表 / record a registered person of the village as its representative from a day."""
    return _term(commands.add(session, actor, village, body, at=now))


@router.post("/villages/{village}/representatives/{representative_id}/end", dependencies=[CsrfDep],
             response_model=m.TermOut)
def end_representative(village: VillageCode, representative_id: Id, body: commands.EndRepresentative,
                       actor: CurrentActor, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """村民代表卸任 / end a representative's term (the last day served, and why)."""
    return _term(commands.end(session, actor, village, representative_id, body, at=now))
