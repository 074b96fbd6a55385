"""Payments over the API: a batch reconciled with its lines, the bank file out, the bank's return in, a failed
line requeued or written off, and the district's pools of a year. Accounts are masked everywhere except in the
bank file, which only the roles that record payments (township, district) receive."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from daipin.api.schemas import Strict
from daipin.domain.errors import InputError
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.services.payments import bankfiles, commands, views
from daipin.services.payments import service as payments

router = APIRouter(tags=["payments 支付"])
_BINARY = {"schema": {"type": "string", "format": "binary"}}


class LineOut(BaseModel):
    line: int
    seq: int | None
    attempt: int
    retry_of: int | None
    payee_type: str
    payee: str
    name: str
    amount_fen: int
    bank_account: str
    status: str
    status_label: str
    payee_type_label: str
    sent_at: str | None
    paid_at: str | None
    payment_ref: str
    failure_reason: str
    write_off_reason: str | None
    write_off_decision: str | None


class ReconciliationOut(BaseModel):
    batch: int
    matter: int
    title: str
    year: int | None
    region: str
    pool_key: str
    status: str
    status_label: str
    pool_fen: int
    total_fen: int
    distributed_fen: int
    paid_count: int
    paid_fen: int
    open_count: int
    open_fen: int
    failed_count: int
    failed_fen: int
    written_off_count: int
    written_off_fen: int
    requeued_count: int
    retained_fen: int
    undistributed_fen: int
    balanced: bool


class BatchOut(ReconciliationOut):
    lines: list[LineOut]


class PoolsOut(BaseModel):
    year: int
    pools: list[ReconciliationOut]
    totals: dict[str, int]
    balanced: bool


class ReturnIn(Strict):
    name: str = Field(..., min_length=1, max_length=200, description="文件名（.xlsx 或 .csv）")
    content_base64: str = Field(..., min_length=0, max_length=80_000_000)


class ReturnOut(BaseModel):
    file: int
    sha256: str
    paid: int
    failed: int
    paid_fen: int
    failed_fen: int
    batch_status: str


def _batch(session: Any, actor: Any, batch_id: int) -> dict[str, Any]:
    report = views.batch_report(session, actor, batch_id)
    report["lines"] = [payments.line_view(ln) for ln in report["lines"]]
    return report


@router.get("/payments/batches/{batch_id}", response_model=BatchOut)
def batch(batch_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """支付批次与对账（账号已遮蔽）/ a batch reconciled to the fen with its lines, accounts masked."""
    return _batch(session, actor, batch_id)


@router.post("/payments/batches/{batch_id}/bank-file", dependencies=[CsrfDep], response_class=Response,
             responses={200: {"description": "代发文件 / the agent-payment file", "content": {
                 "text/csv": _BINARY, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _BINARY}}})
def bank_file(batch_id: Id, body: commands.BankFileFormat, actor: CurrentActor, session: SessionDep,
              now: NowDep) -> Response:
    """生成代发文件（标记为已发银行；文件摘要记入账本）/ the agent-payment file of the batch's pending lines; they are
    marked sent and the file's SHA-256 is on the ledger (header `X-Content-SHA256`)."""
    f = bankfiles.bank_file(session, actor, batch_id, body.format, at=now)
    return Response(f.data, media_type=f.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(f.name)}", "X-Content-SHA256": f.sha256,
        "X-Lines": str(f.lines), "X-Skipped-Lines": ",".join(map(str, f.skipped))})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@router.post("/payments/batches/{batch_id}/return", dependencies=[CsrfDep], response_model=ReturnOut)
def bank_return(batch_id: Id, body: ReturnIn, actor: CurrentActor, session: SessionDep,
                now: NowDep) -> dict[str, Any]:
    """登记银行回盘文件（全部登记或全部拒绝，列出每处问题）/ apply the bank's return file whole, or refuse it whole
    with every problem listed in `error.details` (row, column, reason)."""
    try:
        data = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("文件内容应为 base64 编码", "content_base64 is not valid base64", "content_base64") from None
    r = bankfiles.apply_return(session, actor, batch_id, body.name, data, at=now)
    return {"file": r.file.id, "sha256": r.sha256, "paid": r.paid, "failed": r.failed, "paid_fen": r.paid_fen,
            "failed_fen": r.failed_fen, "batch_status": payments.get_batch(session, batch_id).status}


@router.post("/payments/lines/{line_id}/requeue", dependencies=[CsrfDep], response_model=LineOut)
def requeue(line_id: Id, body: commands.Requeue, actor: CurrentActor, session: SessionDep,
            now: NowDep) -> dict[str, Any]:
    """重新发起失败的支付（可同时更正账号）/ requeue a failed line as a new line, after correcting the account."""
    return payments.line_view(commands.requeue(session, actor, line_id, body, at=now))


@router.post("/payments/lines/{line_id}/write-off", dependencies=[CsrfDep], response_model=LineOut)
def write_off(line_id: Id, body: commands.WriteOff, actor: CurrentActor, session: SessionDep,
              now: NowDep) -> dict[str, Any]:
    """核销失败的支付（原因与批准决定）/ write off a failed line with the reason and the decision that allowed it."""
    return payments.line_view(commands.write_off(session, actor, line_id, body, at=now))


@router.get("/payments/pools", response_model=PoolsOut)
def pools(actor: CurrentActor, session: SessionDep, now: NowDep,
          year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
          region: Annotated[str | None, Query(pattern=r"^\d{9}(\d{3})?$")] = None) -> dict[str, Any]:
    """全区资金池对账（某年度，可按乡镇或村筛选）/ every pool of a year in your reach (of a township or village, if
    given): paid, pending, failed, written off, retained."""
    return views.district_pools(session, actor, year or now.year - 1, region)
