"""Payment pages (PAYMENTS.md): a batch reconciled to the fen, the bank file out, the bank's return in, failed
lines requeued (with the corrected account) or written off, printed lists and slips, and the district's pools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from daipin.domain.errors import DaipinError, InputError
from daipin.domain.vocabulary import PAYMENT_LINE_STATUS
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.reports import payment_pdf
from daipin.services.payments import bankfiles, commands, views
from daipin.web import render

router = APIRouter()
MAX_UPLOAD = 50 * 1024 * 1024


def _download(data: bytes, name: str, media: str, extra: dict[str, str] | None = None) -> Response:
    return Response(data, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                                                     **(extra or {})})


def _page(request: Request, session: Any, actor: Any, batch_id: int, listing: dict[str, Any] | None = None,
          **extra: Any) -> Response:
    args = dict(listing or {})
    if extra.get("failed_line"):
        args["line"] = extra["failed_line"]  # the page that holds the line whose step was refused
    ctx = views.batch_page(session, actor, batch_id, **args)
    ctx.update({"parts": views.PARTS, "line_statuses": PAYMENT_LINE_STATUS.codes, "error": None, "problems": [], "failed_line": None, "done": None})
    ctx.update(extra)
    error = extra.get("error")
    status = error.status if error is not None else 200
    return render(request, "payments/batch.html", ctx, status_code=status)


@router.get("/payments/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: Id, actor: CurrentActor, session: SessionDep, status: str = "",
               q: str = "", page: int = 1, per_page: int = views.LINES_PER_PAGE,
               line: int | None = None) -> Response:
    """The reconciliation and one page of the batch's lines (status and payee filters; `line` opens its page)."""
    done = request.query_params.get("done")
    listing = {"status": status or None, "q": q, "page": page, "per_page": per_page}
    if line is not None:
        listing["line"] = line
    return _page(request, session, actor, batch_id, listing,
                 done=done if done in ("return", "requeue", "write_off") else None)


@router.post("/payments/batches/{batch_id}/bank-file", dependencies=[CsrfDep])
async def bank_file(request: Request, batch_id: Id, actor: CurrentActor, session: SessionDep,
                    now: NowDep) -> Response:
    form = await request.form()
    try:
        command = commands.BankFileFormat.from_form({k: str(v) for k, v in form.items() if isinstance(v, str)})
        with session.begin_nested():
            f = bankfiles.bank_file(session, actor, batch_id, command.format, at=now)
    except DaipinError as exc:
        return _page(request, session, actor, batch_id, error=exc)
    return _download(f.data, f.name, f.media_type, {"X-Content-SHA256": f.sha256})


@router.post("/payments/batches/{batch_id}/return", response_class=HTMLResponse, dependencies=[CsrfDep])
async def bank_return(request: Request, batch_id: Id, actor: CurrentActor, session: SessionDep,
                      now: NowDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise InputError("请选择银行回盘文件", "choose the bank's return file", "file")
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise InputError("文件过大（最多 50 MB）", "file too large (50 MB at most)", "file")
        with session.begin_nested():
            bankfiles.apply_return(session, actor, batch_id, upload.filename, data, at=now)
    except bankfiles.ReturnRefused as exc:
        return _page(request, session, actor, batch_id, error=exc, problems=exc.problems)
    except DaipinError as exc:
        return _page(request, session, actor, batch_id, error=exc)
    return RedirectResponse(f"/payments/batches/{batch_id}?done=return#summary", status_code=303)


async def _line_step(request: Request, line_id: int, actor: Any, session: Any, now: Any, step: str) -> Response:
    from daipin.services.payments import service as payments

    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    line = payments.readable_line(session, actor, line_id)
    try:
        with session.begin_nested():
            if step == "requeue":
                new = commands.requeue(session, actor, line_id, commands.Requeue.from_form(fields), at=now)
                anchor = f"line-{new.id}"
            else:
                commands.write_off(session, actor, line_id, commands.WriteOff.from_form(fields), at=now)
                anchor = f"line-{line_id}"
    except DaipinError as exc:
        return _page(request, session, actor, line.batch_id, error=exc, failed_line=line_id)
    return RedirectResponse(f"/payments/batches/{line.batch_id}?done={step}&line={anchor[5:]}#{anchor}",
                            status_code=303)


@router.post("/payments/lines/{line_id}/requeue", response_class=HTMLResponse, dependencies=[CsrfDep])
async def requeue(request: Request, line_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    return await _line_step(request, line_id, actor, session, now, "requeue")


@router.post("/payments/lines/{line_id}/write-off", response_class=HTMLResponse, dependencies=[CsrfDep])
async def write_off(request: Request, line_id: Id, actor: CurrentActor, session: SessionDep,
                    now: NowDep) -> Response:
    return await _line_step(request, line_id, actor, session, now, "write_off")


@router.get("/payments/batches/{batch_id}/reconciliation.xlsx")
def reconciliation_xlsx(batch_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    report = views.batch_report(session, actor, batch_id)
    return _download(views.reconcile_xlsx(report), f"对账-批次{batch_id}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/payments/batches/{batch_id}/reconciliation.pdf")
def reconciliation_pdf(batch_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    report = views.batch_report(session, actor, batch_id)
    pdf = payment_pdf.reconciliation(report, views.PARTS, status_label=PAYMENT_LINE_STATUS.zh, printed_at=now)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(f'对账-批次{batch_id}.pdf')}"})


@router.get("/payments/batches/{batch_id}/village.pdf")
def village_pdf(batch_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep,
                village: str | None = None) -> Response:
    """到户清单 of one village (the batch's first village when none is named)."""
    if not village:
        from daipin.services.payments import service as payments

        batch, _ = payments.readable_batch(session, actor, batch_id)
        found = views.villages_of(session, batch)
        village = found[0][0] if found else ""
    ctx = views.village_list(session, actor, batch_id, village)
    ctx["status_label"] = PAYMENT_LINE_STATUS.zh
    pdf = payment_pdf.village_list(ctx, printed_at=now)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(f'到户清单-{village}.pdf')}"})


@router.get("/payments/lines/{line_id}/slip.pdf")
def slip_pdf(line_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    ctx = views.slip(session, actor, line_id)
    ctx["status_label"] = PAYMENT_LINE_STATUS.zh
    pdf = payment_pdf.slip(ctx, printed_at=now)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(f'支付通知单-{line_id}.pdf')}"})


@router.get("/payments/pools", response_class=HTMLResponse)
def pools_page(request: Request, actor: CurrentActor, session: SessionDep, now: NowDep,
               year: int | None = None, region: str = "") -> Response:
    from daipin.web.pages.registry import _list_regions

    ctx = views.district_pools(session, actor, year or now.year - 1, region or None)
    return render(request, "payments/pools.html", {**ctx, "parts": views.PARTS,
                                                   "regions": _list_regions(session, actor, "payment.read")})
