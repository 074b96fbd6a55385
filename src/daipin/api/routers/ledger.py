"""The ledger over the API: status, full verification and inclusion proofs (auditors and the district)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from daipin.api import models as m
from daipin.http.deps import CsrfDep, CurrentActor, SessionDep
from daipin.services.ledger import views as ledger_views

router = APIRouter(tags=["ledger 账本"])


@router.get("/ledger/status", response_model=m.LedgerStatusOut)
def status(actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """账本状态与当前检查点 / hash, size, root and the latest signed checkpoint."""
    return ledger_views.status(session, actor)


@router.post("/ledger/verify", dependencies=[CsrfDep], response_model=m.LedgerVerifyOut)
def verify(actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """全量核验 / recompute the root and check every checkpoint and signature."""
    return ledger_views.verify(session, actor)


@router.get("/ledger/proof", response_model=m.ProofOut)
def proof(actor: CurrentActor, session: SessionDep, index: int = Query(ge=0, le=2**62),
          size: int | None = Query(None, ge=1, le=2**62)) -> dict[str, Any]:
    """包含证明（RFC 9162）/ an inclusion proof for entry `index`."""
    return ledger_views.inclusion(session, actor, index, size)
