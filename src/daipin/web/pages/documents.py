"""Printed papers of a matter (PDF): meeting notice, sign-in sheet, minutes, review form, result announcement and
the archive dossier; the annual report of a village, township or district."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.http.deps import TRAINING, CurrentActor, Id, NowDep, SessionDep, database_kind
from daipin.services.documents import views as documents

router = APIRouter()


def with_papers(session: Session, actor: Actor, ctx: dict[str, Any]) -> dict[str, Any]:
    """The matter page's context with the papers its state has (`papers`), for the links to print them."""
    return {**ctx, "papers": documents.available(session, actor, ctx["m"])}


@router.get("/matters/{matter_id}/papers/{paper}.pdf")
def matter_paper(request: Request, matter_id: Id, paper: str, actor: CurrentActor, session: SessionDep,
                 now: NowDep) -> Response:
    name, pdf = documents.render(session, actor, matter_id, paper, at=now,
                                 training=database_kind(request, session) == TRAINING)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/contracts/{contract_id}.pdf")
def contract_pdf(request: Request, contract_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    name, pdf = documents.render_contract(session, actor, contract_id, at=now,
                                          training=database_kind(request, session) == TRAINING)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
