"""Payment batches made from an executed run, and every move of their lines (PAYMENTS.md).

A line moves `pending → sent → paid` (with the bank's receipt or serial number, required) or `failed` (with the
bank's reason). A failed line is requeued as a new line naming it (after the account is corrected in the
registry) or written off with a reason and the decision that allowed it. Each move is a ledger entry; each takes
the batch's row lock and then the line's (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's writers take turns) and
reads the state again inside it, so of two officials marking one line at once one records it.

The line keeps the account masked; the registry keeps it in full (`households.bank_account`), and the bank file
(`bankfiles.py`) is the one place it leaves unmasked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity, Household, Person, Region, Run
from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine, PaymentReceipt
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.privacy import mask_bank, mask_free_text
from daipin.domain.vocabulary import (
    PAYEE_TYPE,
    PAYMENT_BATCH_STATUS,
    PAYMENT_LINE_STATUS,
    PAYMENT_LIVE,
    PAYMENT_OPEN,
)
from daipin.services.shared import freetext
from daipin.services.shared import trace as trace
from daipin.services.shared.rows import workflow_row_fact as row_fact
from daipin.services.shared.rows import workflow_row_facts as row_facts

REF_LIMIT = 100
REASON_LIMIT = 400
DECISION_LIMIT = 200


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
    if kind == "premium_subsidy":  # one line per entity, its credit code as payee (services/insurance)
        return [("entity", str(line["payee"]), int(line["amount_fen"]))
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


def pool_parts(run: Run) -> dict[str, int]:
    """The pool a run divided and what it kept back: `pool_fen` = distributed + retained + undistributed."""
    out = run.output_json
    distributed = distributed_total(run)
    retained = int(out.get("retained_fen", 0) or 0)
    if "pool_fen" in out:
        pool = int(out["pool_fen"])
    elif "fund_fen" in out:
        pool = int(out["fund_fen"])
    else:
        pool = distributed + retained + int(out.get("undistributed_fen", 0) or 0)
    return {"pool_fen": pool, "distributed_fen": distributed, "retained_fen": retained,
            "undistributed_fen": pool - distributed - retained}


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
    entities = {e.uscc: e for e in session.scalars(
        select(Entity).where(Entity.uscc.in_([r for t, r, _ in lines if t == "entity"])))}
    names = {str(h.get("id")): str(h.get("name")) for key in ("households", "villages", "payees")
             for h in run.input_json.get(key, []) if isinstance(h, dict) and h.get("name")}
    rows = []
    for seq, (typ, ref, amount) in enumerate(lines, start=1):
        hh = households.get(ref) if typ == "household" else None
        ent = entities.get(ref) if typ == "entity" else None
        name = (heads.get(hh.id) if hh else None) or (ent.name if ent else None) or regions.get(ref) \
            or names.get(ref) or ref
        account = hh.bank_account if hh else ent.bank_account if ent else None
        rows.append(PaymentLine(batch_id=batch.id, county_code=matter.county_code, payee_type=typ, payee_ref=ref,
                                household_id=hh.id if hh else None, payee_name=name, amount_fen=amount,
                                bank_account_masked=mask_bank(account) if account else "", status="pending",
                                payment_ref="", failure_reason="", seq=seq, attempt=1))
    session.add_all(rows)
    session.flush()
    trace.record(session, actor=actor, type="payment.batch", subject=f"payment_batch:{batch.id}",
                 region=matter.region_code,
                 facts={"batch": batch.id, "matter": matter.id, "run": run.id, "total_fen": total,
                        "lines": [{"line": r.id, "seq": r.seq, "payee_type": r.payee_type, "payee": r.payee_ref,
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
    return list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)
                                .order_by(PaymentLine.seq, PaymentLine.id)))


def batch_region(session: Session, batch: PaymentBatch) -> str:
    matter = session.get(Matter, batch.matter_id)
    assert matter is not None
    return matter.region_code


def readable_batch(session: Session, actor: Actor, batch_id: int) -> tuple[PaymentBatch, Matter]:
    """A batch the actor may read (`payment.read` in its matter's region); another region's is not found."""
    batch = session.get(PaymentBatch, batch_id)
    matter = session.get(Matter, batch.matter_id) if batch is not None else None
    if batch is None or matter is None or not access.allowed(actor, "payment.read", region=matter.region_code):
        raise NotFound(f"支付批次 {batch_id} 不存在", f"payment batch {batch_id} not found", "batch_id")
    return batch, matter


def lock_batch(session: Session, actor: Actor, batch_id: int, *, field: str = "batch_id") -> tuple[PaymentBatch, Matter]:
    """The batch, locked for a payment step (`payment.record`), read again inside the lock."""
    access.require(actor, "payment.record", field="actor")
    batch = session.get(PaymentBatch, batch_id, with_for_update=True, populate_existing=True)
    matter = session.get(Matter, batch.matter_id) if batch is not None else None
    if batch is None or matter is None or not access.allowed(actor, "payment.read", region=matter.region_code):
        raise NotFound(f"支付批次 {batch_id} 不存在", f"payment batch {batch_id} not found", field)
    access.require(actor, "payment.record", region=matter.region_code, field="actor")
    return batch, matter


def _lock_line(session: Session, actor: Actor, line_id: int,
               matter_id: int | None = None) -> tuple[PaymentLine, PaymentBatch, Matter]:
    """Row locks, the batch first and then the line, both read again inside the lock."""
    access.require(actor, "payment.record", field="actor")
    found = session.get(PaymentLine, line_id)
    batch = session.get(PaymentBatch, found.batch_id, with_for_update=True, populate_existing=True) \
        if found is not None else None
    line = session.get(PaymentLine, line_id, with_for_update=True, populate_existing=True) \
        if batch is not None else None
    matter = session.get(Matter, batch.matter_id) if batch is not None else None
    if (line is None or batch is None or matter is None or (matter_id is not None and batch.matter_id != matter_id)
            or not access.allowed(actor, "payment.record", region=matter.region_code)):
        raise NotFound(f"支付明细 {line_id} 不存在", f"payment line {line_id} not found", "line_id")
    return line, batch, matter


def batch_status(counts: Mapping[str, int]) -> str:
    """A batch's status from how many of its lines are in each state."""
    live = {s: n for s, n in counts.items() if s in PAYMENT_LIVE and n}
    if not live:
        return "pending"
    if set(live) == {"paid"}:
        return "paid"
    if set(live) <= {"paid", "written_off"}:
        return "settled"
    if live.get("paid"):
        return "partly_paid"
    if live.get("sent"):
        return "sent"
    return "pending"


def status_counts(session: Session, batch_id: int) -> dict[str, int]:
    return {str(s): int(n) for s, n in session.execute(
        select(PaymentLine.status, func.count()).where(PaymentLine.batch_id == batch_id)
        .group_by(PaymentLine.status)).all()}


def refresh_status(session: Session, batch: PaymentBatch) -> str:
    session.flush()
    batch.status = batch_status(status_counts(session, batch.id))
    return batch.status


def check_ref(session: Session, county: str, ref: str, *, field: str = "payment_ref") -> str:
    """The bank's receipt or serial number of a paid line: required, at most 100 characters, used once."""
    ref = (ref or "").strip()
    if not ref:
        raise InputError("已支付须填写银行回单号（流水号）", "a paid line needs the bank's receipt or serial number", field)
    if len(ref) > REF_LIMIT:
        raise InputError("回单号过长（最多 100 字）", "receipt number too long (100 characters at most)", field)
    taken = session.scalar(select(PaymentReceipt.line_id).where(PaymentReceipt.county_code == county,
                                                                PaymentReceipt.payment_ref == ref))
    if taken is not None:
        raise Conflict(f"回单号 {ref} 已用于支付明细 {taken}", f"receipt number {ref} already settles line {taken}", field,
                       code="duplicate_ref")
    return ref


def check_reason(reason: str, *, field: str = "reason", what: tuple[str, str] = ("失败原因", "reason"),
                 required: tuple[str, str] = ("支付失败须写明原因", "a failed payment needs a reason"),
                 limit: int = REASON_LIMIT) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InputError(required[0], required[1], field)
    if len(reason) > limit:
        raise InputError(f"{what[0]}过长（最多 {limit} 字）", f"{what[1]} too long ({limit} characters at most)", field)
    freetext.check(reason, field, what[0])  # the one rule for typed text
    return reason


def account_of(session: Session, line: PaymentLine) -> str | None:
    """The account the registry holds for the line's household (or entity) now (in full: never shown, never logged)."""
    if line.payee_type == "entity":
        ent = session.scalar(select(Entity).where(Entity.uscc == line.payee_ref))
        return ent.bank_account if ent is not None else None
    if line.household_id is None:
        return None
    return session.scalar(select(Household.bank_account).where(Household.id == line.household_id))


def mark_paid(session: Session, actor: Actor, line_id: int, *, at: datetime, payment_ref: str = "",
              failed: bool = False, reason: str = "", matter_id: int | None = None) -> PaymentLine:
    """Record one line paid (with the bank's receipt number, required) or failed (with the bank's reason), from a
    slip rather than a return file. A line already paid, failed, requeued or written off is not marked again.

    `matter_id`, when given (the matter's payment page), must be the line's matter.
    """
    line, batch, matter = _lock_line(session, actor, line_id, matter_id)
    if line.status not in ("pending", "sent"):
        code = "already_paid" if line.status == "paid" else "already_settled"
        raise Conflict(f"支付明细 {line_id} {PAYMENT_LINE_STATUS.zh(line.status)}，不能再登记",
                       f"payment line {line_id} is {line.status}; it cannot be marked again", "line_id", code=code)
    if failed:
        if len(payment_ref or "") > REF_LIMIT:
            raise InputError("回单号过长（最多 100 字）", "receipt number too long (100 characters at most)",
                             "payment_ref")
        why = check_reason(reason)
        ref = ""
    else:
        if len(reason or "") > REASON_LIMIT:
            raise InputError("失败原因过长（最多 400 字）", "reason too long (400 characters at most)", "reason")
        ref = check_ref(session, line.county_code, payment_ref)
        why = ""
    at = _utc(at)
    was = line.status
    if line.account_digest is None and (line.household_id is not None or line.payee_type == "entity"):
        account = account_of(session, line)
        line.account_digest = trace.pii(session, account) if account else None
    line.status = "failed" if failed else "paid"
    line.paid_at = None if failed else at
    line.failed_at = at if failed else None
    line.payment_ref, line.failure_reason = ref, why
    try:
        with session.begin_nested():  # the unique serial number, held by the database too
            if ref:
                session.add(PaymentReceipt(county_code=line.county_code, payment_ref=ref, line_id=line.id))
            session.flush()
    except IntegrityError:
        raise Conflict(f"回单号 {ref} 已用于另一笔支付", f"receipt number {ref} already settles another line",
                       "payment_ref", code="duplicate_ref") from None
    refresh_status(session, batch)
    if not failed and line.payee_type == "entity":
        settle_entities(session, actor, batch, [(line.id, line.payee_ref, ref)], at)
    trace.record(session, actor=actor, type="payment.failed" if failed else "payment.paid",
                 subject=f"payment_line:{line.id}", region=matter.region_code,
                 facts={"batch": batch.id, "line": line.id, "seq": line.seq, "payee": line.payee_ref,
                        "amount_fen": line.amount_fen, "from": was, "payment_ref": mask_free_text(line.payment_ref),
                        "reason": line.failure_reason, "batch_status": batch.status,
                        "row": row_fact(session, line), "rows": [row_fact(session, batch)]},
                 at=at)
    return line


def requeue(session: Session, actor: Actor, line_id: int, *, at: datetime,
            matter_id: int | None = None) -> PaymentLine:
    """A failed line paid again: a new pending line for the same payee and amount, naming the failed one, once the
    household's account in the registry differs from the one that failed. The failed line becomes `requeued`."""
    line, batch, matter = _lock_line(session, actor, line_id, matter_id)
    if line.status != "failed":
        raise Conflict(f"只有支付失败的明细可以重新发起（该明细{PAYMENT_LINE_STATUS.zh(line.status)}）",
                       f"only a failed line can be requeued (this one is {line.status})", "line_id",
                       code="not_failed")
    account = account_of(session, line)
    digest = trace.pii(session, account) if account else None
    if line.payee_type in ("household", "entity"):
        if not account:
            raise Conflict("登记的银行账号为空，请先在农户档案（或实施主体）中补录账号", "the payee has no bank account on record",
                           "bank_account", code="no_account")
        if line.account_digest is not None and digest == line.account_digest:
            raise Conflict("银行账号尚未更正：请先在农户档案中更正账号，再重新发起支付",
                           "the bank account has not been corrected since the payment failed", "bank_account",
                           code="account_not_corrected")
    at = _utc(at)
    seq = int(session.scalar(select(func.max(PaymentLine.seq)).where(PaymentLine.batch_id == batch.id)) or 0) + 1
    new = PaymentLine(batch_id=batch.id, county_code=line.county_code, payee_type=line.payee_type,
                      payee_ref=line.payee_ref, household_id=line.household_id, payee_name=line.payee_name,
                      amount_fen=line.amount_fen, bank_account_masked=mask_bank(account) if account else "",
                      status="pending", payment_ref="", failure_reason="", seq=seq, attempt=(line.attempt or 1) + 1,
                      retry_of=line.id)
    line.status = "requeued"
    try:
        with session.begin_nested():  # one retry per failed line (`retry_of` is unique)
            session.add(new)
            session.flush()
    except IntegrityError:
        raise Conflict("该明细已重新发起", "this line was requeued already", "line_id", code="already_requeued") from None
    refresh_status(session, batch)
    trace.record(session, actor=actor, type="payment.requeued", subject=f"payment_line:{new.id}",
                 region=matter.region_code,
                 facts={"batch": batch.id, "line": new.id, "seq": new.seq, "retry_of": line.id,
                        "payee": new.payee_ref, "amount_fen": new.amount_fen, "batch_status": batch.status,
                        "row": row_fact(session, new), "rows": row_facts(session, [line, batch])},
                 at=at)
    return new


def write_off(session: Session, actor: Actor, line_id: int, *, reason: str, decision: str, at: datetime,
              matter_id: int | None = None) -> PaymentLine:
    """A failed line closed without paying it: the reason and the decision (文号) that allowed it, both required;
    the money stays with the pool (it is reported as written off)."""
    reason = check_reason(reason, what=("核销原因", "write-off reason"),
                          required=("核销须写明原因", "a write-off needs a reason"))
    decision = check_reason(decision, field="decision", what=("批准核销的决定", "decision"),
                            required=("核销须写明批准的决定（文号）", "a write-off needs the decision that allowed it"),
                            limit=DECISION_LIMIT)
    line, batch, matter = _lock_line(session, actor, line_id, matter_id)
    if line.status != "failed":
        raise Conflict(f"只有支付失败的明细可以核销（该明细{PAYMENT_LINE_STATUS.zh(line.status)}）",
                       f"only a failed line can be written off (this one is {line.status})", "line_id",
                       code="not_failed")
    at = _utc(at)
    line.status = "written_off"
    line.written_off_at, line.write_off_reason, line.write_off_ref = at, reason, decision
    refresh_status(session, batch)
    trace.record(session, actor=actor, type="payment.written_off", subject=f"payment_line:{line.id}",
                 region=matter.region_code,
                 facts={"batch": batch.id, "line": line.id, "seq": line.seq, "payee": line.payee_ref,
                        "amount_fen": line.amount_fen, "reason": reason, "decision": decision,
                        "batch_status": batch.status, "row": row_fact(session, line),
                        "rows": [row_fact(session, batch)]},
                 at=at)
    return line


def settle_entities(session: Session, actor: Actor, batch: PaymentBatch, paid: list[tuple[int, str, str]],
                    at: datetime) -> None:
    """Lines paid to entities (line, credit code, receipt): what they pay (premium subsidies) is marked paid."""
    if paid:
        from daipin.services.insurance import batches as insurance

        insurance.settle(session, actor, batch, paid, at)


def open_lines(session: Session, batch: PaymentBatch) -> list[PaymentLine]:
    """Lines whose money is neither paid nor written off (pending, sent to the bank, failed)."""
    return list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id,
                                                          PaymentLine.status.in_(PAYMENT_OPEN))
                                .order_by(PaymentLine.seq, PaymentLine.id)))


def require_settled(session: Session, batch: PaymentBatch | None, step: tuple[str, str]) -> None:
    """Refuse the announcement or the archive while any line is neither paid nor written off."""
    if batch is None:
        return
    left = open_lines(session, batch)
    if left:
        counts: dict[str, int] = {}
        for ln in left:
            counts[ln.status] = counts.get(ln.status, 0) + 1
        what = "、".join(f"{PAYMENT_LINE_STATUS.zh(s)} {n} 笔" for s, n in counts.items())
        raise Conflict(f"尚有 {len(left)} 笔支付未结清（{what}），每笔已支付或已核销后才能{step[0]}",
                       f"{len(left)} payment lines are neither paid nor written off; {step[1]} waits for every line",
                       "payments", code="payments_open")


def line_view(line: PaymentLine) -> dict[str, Any]:
    """A payment line with its account masked (the only form it is kept in)."""
    return {"line": line.id, "seq": line.seq, "attempt": line.attempt or 1, "retry_of": line.retry_of,
            "payee_type": line.payee_type, "payee": line.payee_ref, "name": line.payee_name,
            "amount_fen": line.amount_fen, "bank_account": line.bank_account_masked, "status": line.status,
            "status_label": PAYMENT_LINE_STATUS.zh(line.status), "payee_type_label": PAYEE_TYPE.zh(line.payee_type),
            "sent_at": _utc(line.sent_at).isoformat() if line.sent_at else None,
            "paid_at": _utc(line.paid_at).isoformat() if line.paid_at else None, "payment_ref": line.payment_ref,
            "failure_reason": line.failure_reason, "write_off_reason": line.write_off_reason,
            "write_off_decision": line.write_off_ref}


def batch_view(session: Session, batch: PaymentBatch) -> dict[str, Any]:
    return {"batch": batch.id, "matter": batch.matter_id, "run": batch.run_id, "total_fen": batch.total_fen,
            "status": batch.status, "status_label": PAYMENT_BATCH_STATUS.zh(batch.status),
            "created_at": _utc(batch.created_at).isoformat(), "created_by": batch.created_by,
            "lines": [line_view(ln) for ln in lines(session, batch)]}


def sums(rows: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """Counts and fen per line state from (status, amount) pairs; `open` = pending + sent."""
    out: dict[str, Any] = {}
    for st in PAYMENT_LINE_STATUS.codes:
        out[f"{st}_count"] = 0
        out[f"{st}_fen"] = 0
    for st, amount in rows:
        out[f"{st}_count"] += 1
        out[f"{st}_fen"] += int(amount)
    out["open_count"] = out["pending_count"] + out["sent_count"]
    out["open_fen"] = out["pending_fen"] + out["sent_fen"]
    return out


def public_summary(session: Session, batch: PaymentBatch) -> dict[str, Any]:
    """For the result announcement, exactly as paid: the number and sum paid, each written-off line with its
    reason and decision, and the lines by payee name and amount (no account, no ID number)."""
    rows = [ln for ln in lines(session, batch) if ln.status in PAYMENT_LIVE]
    s = sums((ln.status, ln.amount_fen) for ln in rows)
    return {"total_fen": batch.total_fen, "status": batch.status,
            "paid_count": s["paid_count"], "paid_fen": s["paid_fen"],
            "written_off_count": s["written_off_count"], "written_off_fen": s["written_off_fen"],
            "written_off": [{"seq": ln.seq, "name": ln.payee_name, "amount_fen": ln.amount_fen,
                             "reason": mask_free_text(ln.write_off_reason or ""),
                             "decision": mask_free_text(ln.write_off_ref or "")}
                            for ln in rows if ln.status == "written_off"],
            "lines": [{"name": ln.payee_name, "amount_fen": ln.amount_fen, "status": ln.status} for ln in rows]}


def readable_line(session: Session, actor: Actor, line_id: int) -> PaymentLine:
    """A line the actor may read (`payment.read` in its batch's region); another region's is not found."""
    line = session.get(PaymentLine, line_id)
    try:
        if line is None:
            raise NotFound("", "", "line_id")
        readable_batch(session, actor, line.batch_id)
    except NotFound:
        raise NotFound(f"支付明细 {line_id} 不存在", f"payment line {line_id} not found", "line_id") from None
    return line
