"""Payment batches made from an executed run: one line per payee, integer fen, bank accounts only masked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person, Region, Run
from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.privacy import mask_bank, mask_free_text
from daipin.domain.vocabulary import PAYEE_TYPE, PAYMENT_BATCH_STATUS, PAYMENT_LINE_STATUS
from daipin.services.shared import freetext
from daipin.services.shared import trace as trace
from daipin.services.shared.rows import workflow_row_fact as row_fact
from daipin.services.shared.rows import workflow_row_facts as row_facts


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def payable_lines(run: Run) -> list[tuple[str, str, int]]:
    """(payee type, payee ref, amount) from a run's output; these add up to the run's distributed total."""
    out = run.output_json
    kind = out.get("kind", run.kind)
    if kind == "village_allocation":
        return [("household", str(h), int(v)) for h, v in sorted(out.get("households", {}).items()) if v]
    if kind == "district_allocation":
        return [("village", str(line["village"]), int(line["amount_fen"]))
                for line in out.get("lines", []) if line["amount_fen"]]
    if kind == "settlement":
        types = {str(p["id"]): p.get("type", "household") for p in run.input_json.get("payees", [])}
        paid: dict[str, int] = {}
        for line in out.get("lines", []):
            paid[str(line["payee"])] = paid.get(str(line["payee"]), 0) + int(line.get("paid_fen", 0))
        return [(types.get(p, "household"), p, v) for p, v in sorted(paid.items()) if v]
    return []


def distributed_total(run: Run) -> int:
    """What the run hands out: allocation lines (retained and undistributed stay), or settlement paid."""
    out = run.output_json
    if out.get("kind", run.kind) == "settlement":
        return int(out["totals"]["paid_fen"])
    return sum(int(line["amount_fen"]) for line in out.get("lines", []))


def create_batch(session: Session, actor: Actor, matter: Matter, run: Run, *, at: datetime) -> PaymentBatch | None:
    """The batch for an executed matter; refuses a second one (executing twice pays once)."""
    if session.scalar(select(PaymentBatch.id).where(PaymentBatch.matter_id == matter.id)) is not None:
        raise Conflict("该事项已生成支付批次，不会重复支付", "a payment batch already exists for this matter",
                       "matter_id", code="already_paid")
    lines = payable_lines(run)
    if not lines:
        return None
    total = sum(a for _, _, a in lines)
    if total != distributed_total(run):
        raise Conflict(f"支付合计 {total} 分与运行结果分配合计 {distributed_total(run)} 分不符",
                       "batch total differs from the run's distributed total", "run")
    at = _utc(at)
    # The pool from what the matter decides, not from its key: a matter that slipped in before the key existed
    # (or whose key was cleared) still cannot pay a pool that another matter paid.
    kind = wf.MatterKind(matter.kind)
    pool = (wf.pool_key(kind, matter.region_code, matter.year) if kind in wf.POOL_KINDS and matter.year is not None
            else None) or f"matter:{matter.id}"
    paid = session.scalar(select(PaymentBatch).where(PaymentBatch.pool_key == pool))
    if paid is not None:
        raise Conflict(f"该资金池已由事项 #{paid.matter_id} 支付，不会重复支付", f"the pool {pool} was paid by matter "
                       f"#{paid.matter_id} already", "matter_id", code="pool_paid")
    batch = PaymentBatch(matter_id=matter.id, pool_key=pool, run_id=run.id, county_code=matter.county_code,
                         total_fen=total, status="pending", created_at=at, created_by=f"{actor.role.value}:{actor.id}")
    try:
        with session.begin_nested():  # the unique pool key: of two executions at once, one pays
            session.add(batch)
            session.flush()
    except IntegrityError:
        raise Conflict("该资金池已支付，不会重复支付", f"the pool {pool} was paid already", "matter_id",
                       code="pool_paid") from None
    households = {h.household_no: h for h in session.scalars(
        select(Household).where(Household.household_no.in_([r for t, r, _ in lines if t == "household"])))}
    heads = dict(session.execute(select(Person.household_id, Person.name).where(
        Person.household_id.in_([h.id for h in households.values()]), Person.relation == "户主")).all())
    regions = dict(session.execute(select(Region.code, Region.name).where(
        Region.code.in_([r for t, r, _ in lines if t == "village"]))).all())
    names = {str(h.get("id")): str(h.get("name")) for key in ("households", "villages", "payees")
             for h in run.input_json.get(key, []) if isinstance(h, dict) and h.get("name")}
    rows = []
    for typ, ref, amount in lines:
        hh = households.get(ref) if typ == "household" else None
        name = (heads.get(hh.id) if hh else None) or regions.get(ref) or names.get(ref) or ref
        rows.append(PaymentLine(batch_id=batch.id, county_code=matter.county_code, payee_type=typ, payee_ref=ref,
                                household_id=hh.id if hh else None, payee_name=name, amount_fen=amount,
                                bank_account_masked=mask_bank(hh.bank_account) if hh else "", status="pending",
                                payment_ref="", failure_reason=""))
    session.add_all(rows)
    session.flush()
    trace.record(session, actor=actor, type="payment.batch", subject=f"payment_batch:{batch.id}",
                 region=matter.region_code,
                 facts={"batch": batch.id, "matter": matter.id, "run": run.id, "total_fen": total,
                        "lines": [{"line": r.id, "payee_type": r.payee_type, "payee": r.payee_ref,
                                   "amount_fen": r.amount_fen} for r in rows],
                        "row": row_fact(session, batch), "rows": row_facts(session, rows)},
                 at=at)
    return batch


def get_batch(session: Session, batch_id: int) -> PaymentBatch:
    b = session.get(PaymentBatch, batch_id)
    if b is None:
        raise NotFound(f"支付批次 {batch_id} 不存在", f"payment batch {batch_id} not found", "batch_id")
    return b


def batch_for_matter(session: Session, matter_id: int) -> PaymentBatch | None:
    return session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == matter_id))


def lines(session: Session, batch: PaymentBatch) -> list[PaymentLine]:
    return list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id).order_by(PaymentLine.id)))


def mark_paid(session: Session, actor: Actor, line_id: int, *, at: datetime, payment_ref: str = "",
              failed: bool = False, reason: str = "", matter_id: int | None = None) -> PaymentLine:
    """Record that a line was paid (or failed, with the reason); the batch status follows its lines.

    `matter_id`, when given (the matter's payment page), must be the line's matter.
    """
    # Row locks (PostgreSQL; SQLite's writers take turns): the batch, then the line, read again inside the lock,
    # so of concurrent recordings of one line one wins and the others see it paid.
    line = session.get(PaymentLine, line_id)
    batch = session.get(PaymentBatch, line.batch_id, with_for_update=True, populate_existing=True) \
        if line is not None else None
    if line is not None:
        line = session.get(PaymentLine, line_id, with_for_update=True, populate_existing=True)
    if line is None or batch is None or (matter_id is not None and batch.matter_id != matter_id):
        raise NotFound(f"支付明细 {line_id} 不存在", f"payment line {line_id} not found", "line_id")
    matter = session.get(Matter, batch.matter_id)
    assert matter is not None
    # Who records that money went out (`payment.record`): the township, which keeps the villages' accounts
    # (村账乡代管), and the district. The village that drafted the plan does not confirm its own payouts.
    access.require(actor, "payment.record", field="actor")
    if not access.allowed(actor, "payment.record", region=matter.region_code):
        raise NotFound(f"支付明细 {line_id} 不存在", f"payment line {line_id} not found", "line_id")
    payment_ref = (payment_ref or "").strip()
    if len(payment_ref) > 100:
        raise InputError("支付凭证号过长（最多 100 字）", "payment reference too long (100 characters at most)",
                         "payment_ref")
    if len(reason or "") > 400:
        raise InputError("失败原因过长（最多 400 字）", "reason too long (400 characters at most)", "reason")
    if line.status == "paid":
        raise Conflict(f"支付明细 {line_id} 已支付", f"payment line {line_id} is already paid", "line_id",
                       code="already_paid")
    freetext.check(reason, "reason", "失败原因")
    if failed and not (reason or "").strip():
        raise InputError("支付失败须写明原因", "a failed payment needs a reason", "reason")
    at = _utc(at)
    line.status = "failed" if failed else "paid"
    line.paid_at = None if failed else at
    line.payment_ref, line.failure_reason = payment_ref or "", (reason or "").strip() if failed else ""
    statuses = {ln.status for ln in lines(session, batch)}
    batch.status = "paid" if statuses == {"paid"} else "partly_paid" if "paid" in statuses else "pending"
    trace.record(session, actor=actor, type="payment.failed" if failed else "payment.paid",
                 subject=f"payment_line:{line.id}", region=matter.region_code,
                 facts={"batch": batch.id, "line": line.id, "payee": line.payee_ref, "amount_fen": line.amount_fen,
                        "payment_ref": mask_free_text(line.payment_ref), "reason": line.failure_reason,
                        "batch_status": batch.status,
                        "row": row_fact(session, line), "rows": [row_fact(session, batch)]},
                 at=at)
    return line


def line_view(line: PaymentLine) -> dict[str, Any]:
    """A payment line with its account masked (the only form it is kept in)."""
    return {"line": line.id, "payee_type": line.payee_type, "payee": line.payee_ref, "name": line.payee_name,
            "amount_fen": line.amount_fen, "bank_account": line.bank_account_masked, "status": line.status,
            "status_label": PAYMENT_LINE_STATUS.zh(line.status), "payee_type_label": PAYEE_TYPE.zh(line.payee_type),
            "paid_at": _utc(line.paid_at).isoformat() if line.paid_at else None, "payment_ref": line.payment_ref,
            "failure_reason": line.failure_reason}


def batch_view(session: Session, batch: PaymentBatch) -> dict[str, Any]:
    return {"batch": batch.id, "matter": batch.matter_id, "run": batch.run_id, "total_fen": batch.total_fen,
            "status": batch.status, "status_label": PAYMENT_BATCH_STATUS.zh(batch.status),
            "created_at": _utc(batch.created_at).isoformat(), "created_by": batch.created_by,
            "lines": [line_view(ln) for ln in lines(session, batch)]}


def public_summary(session: Session, batch: PaymentBatch) -> dict[str, Any]:
    """For the result announcement: payee name and amount only."""
    return {"total_fen": batch.total_fen, "status": batch.status,
            "lines": [{"name": ln.payee_name, "amount_fen": ln.amount_fen, "status": ln.status}
                      for ln in lines(session, batch)]}
