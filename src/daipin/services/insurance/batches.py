"""The district's premium-subsidy matter (区级保费补贴) and its batch: the year's approved subsidies as the matter's
document, checked against the register when drafted, changed and executed (`matters.service` asks `check_document`
and `blacklisted_in`); at execution each subsidy put in the batch once (`put_in_batch`, a unique key), and a line
paid to an entity marking its subsidies paid with the line's receipt (`settle`, from `payments`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity, InsurancePolicy
from daipin.db.models.supervision import PremiumSubsidy, PremiumSubsidyPayout
from daipin.db.models.workflow import Matter, PaymentBatch
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError
from daipin.domain.localtime import beijing_date
from daipin.domain.money import format_yuan
from daipin.services.shared import trace
from daipin.services.shared.rows import workflow_row_facts

# (Neither the credit nor the supervision service is imported: both reach the matters service, which asks this
# module. Rows of these tables have no personal data, so their state is the plain one `workflow_row_facts` reads.)

KIND = "premium_subsidy"
MAX_SUBSIDIES = 2000
# A premium-subsidy matter still holds the subsidies it lists in these states (a failed vote ends it, a withdrawal
# frees them; an executed one has put them in its batch).
_DONE = frozenset({wf.State.REJECTED.value, wf.State.WITHDRAWN.value, wf.State.EXECUTED.value,
                   wf.State.ARCHIVED.value})


def _region(e: Entity) -> str:
    return e.region_code or e.county_code


def _record(session: Session, actor: Actor, type: str, subject: str, region: str, facts: dict[str, Any],
            rows: Sequence[Any], at: datetime) -> int:
    """One ledger entry stating `facts` and the rows it changed (as `supervision.service.record`)."""
    states = workflow_row_facts(session, rows)
    body = {**facts, **({"row": states[0]} if len(states) == 1 else {"rows": states})}
    return trace.record(session, actor=actor, type=type, subject=subject, region=region, facts=body, at=at)


def _require_creditworthy(e: Entity) -> None:
    """As `credit.service.require_creditworthy`: an entity on the blacklist receives no premium subsidy."""
    if e.credit_status == "blacklisted":
        raise Conflict(f"实施主体 {e.name} 已列入失信黑名单，不能获得保费补贴", "the entity is blacklisted: no premium "
                       "subsidy", field="entity", code="blacklisted")



def _listed_elsewhere(session: Session, county: str, matter_id: int | None) -> dict[int, int]:
    """Subsidy id → the live premium-subsidy matter (other than `matter_id`) whose document lists it."""
    out: dict[int, int] = {}
    for mid, doc in session.execute(select(Matter.id, Matter.document).where(
            Matter.kind == KIND, Matter.county_code == county, Matter.state.not_in(_DONE))):
        if mid == matter_id or not isinstance(doc, dict):
            continue
        for item in doc.get("subsidies", []) or []:
            if isinstance(item, dict) and isinstance(item.get("id"), int):
                out[item["id"]] = mid
    return out


def _item(s: PremiumSubsidy, e: Entity, p: InsurancePolicy) -> dict[str, Any]:
    return {"id": s.id, "entity": e.uscc, "entity_name": e.name, "policy_no": p.policy_no, "insurer": p.insurer,
            "premium_fen": s.premium_fen, "subsidy_fen": s.subsidy_fen}


def payable(session: Session, county: str, year: int, *, matter_id: int | None = None,
            lock: bool = False) -> list[tuple[PremiumSubsidy, Entity, InsurancePolicy]]:
    """The county's subsidies of the year approved and in no batch, with their entity and policy (locked when
    `lock`), those listed by another live premium-subsidy matter left out."""
    stmt = (select(PremiumSubsidy, Entity, InsurancePolicy)
            .join(Entity, Entity.id == PremiumSubsidy.entity_id)
            .join(InsurancePolicy, InsurancePolicy.id == PremiumSubsidy.policy_id)
            .outerjoin(PremiumSubsidyPayout, PremiumSubsidyPayout.subsidy_id == PremiumSubsidy.id)
            .where(PremiumSubsidy.county_code == county, PremiumSubsidy.year == year,
                   PremiumSubsidy.status == "approved", PremiumSubsidyPayout.id.is_(None))
            .order_by(Entity.uscc, PremiumSubsidy.id))
    if lock:
        stmt = stmt.with_for_update(of=PremiumSubsidy)
    elsewhere = _listed_elsewhere(session, county, matter_id)
    return [(s, e, p) for s, e, p in session.execute(stmt).all() if s.id not in elsewhere]


def subsidy_document(session: Session, county: str, year: int) -> tuple[dict[str, Any], list[str]]:
    """The document of the year's premium-subsidy matter from the registry: every subsidy approved and in no batch
    nor live matter; those of entities on the blacklist are left out (their names returned)."""
    items, left_out = [], []
    for s, e, p in payable(session, county, year):
        if e.credit_status == "blacklisted":
            left_out.append(e.name)
            continue
        items.append(_item(s, e, p))
    return {"version": 1, "kind": KIND, "year": year, "subsidies": items}, sorted(set(left_out))


def check_document(session: Session, document: dict[str, Any], region: str, year: int | None, *,
                   matter_id: int | None = None, lock: bool = False) -> dict[str, Any]:
    """A premium-subsidy document checked against the registry as it is now (when drafted, changed and executed):
    each subsidy of the county and year, approved, in no batch and no other live matter, its entity not on the
    blacklist, its figures those on record. The preview: the subsidies and one payee line per entity, the lines
    adding up to the subsidies to the fen."""
    if document.get("year") != year or year is None:
        raise InputError("文件年度应与事项年度一致", "the document's year must be the matter's", field="document.year")
    items = document.get("subsidies")
    if not isinstance(items, list) or not items:
        raise InputError(f"{year} 年度没有已批准待支付的保费补贴", f"no approved premium subsidy to pay for {year}",
                         field="document.subsidies")
    if len(items) > MAX_SUBSIDIES:
        raise InputError(f"一个事项最多 {MAX_SUBSIDIES} 笔补贴", f"at most {MAX_SUBSIDIES} subsidies per matter",
                         field="document.subsidies")
    found = {s.id: (s, e, p) for s, e, p in payable(session, region[:6], year, matter_id=matter_id, lock=lock)}
    listed = _listed_elsewhere(session, region[:6], matter_id)
    out: list[dict[str, Any]] = []
    lines: dict[str, dict[str, Any]] = {}
    seen: set[int] = set()
    for i, item in enumerate(items):
        field = f"document.subsidies[{i}]"
        sid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(sid, int) or isinstance(sid, bool) or sid in seen:
            raise InputError("每笔补贴须写明补贴编号（id），且不得重复", "each subsidy needs its id, once",
                             field=f"{field}.id")
        seen.add(sid)
        if sid in listed:
            raise Conflict(f"保费补贴 {sid} 已列入事项 #{listed[sid]}", f"premium subsidy {sid} is listed by matter "
                           f"#{listed[sid]}", field=f"{field}.id", code="subsidy_listed")
        if sid not in found:
            raise Conflict(f"保费补贴 {sid} 不是本区 {year} 年度已批准待支付的补贴（或已列入支付批次）",
                           f"premium subsidy {sid} is not an approved, unpaid subsidy of {year} here",
                           field=f"{field}.id", code="subsidy_state")
        s, e, p = found[sid]
        _require_creditworthy(e)
        want = _item(s, e, p)
        if {k: item.get(k) for k in want} != want:
            raise Conflict(f"保费补贴 {sid} 的内容与登记不一致", f"premium subsidy {sid} differs from the register",
                           field=field, code="inputs_changed")
        out.append(want)
        line = lines.setdefault(e.uscc, {"payee": e.uscc, "name": e.name, "amount_fen": 0, "subsidies": []})
        line["amount_fen"] += s.subsidy_fen
        line["subsidies"].append(s.id)
    total = sum(it["subsidy_fen"] for it in out)
    payees = [lines[k] for k in sorted(lines)]
    assert sum(ln["amount_fen"] for ln in payees) == total  # the lines add up to the subsidies, to the fen
    return {"kind": KIND, "version": 1, "year": year, "subsidies": out, "lines": payees,
            "totals": {"count": len(out), "premium_fen": sum(it["premium_fen"] for it in out),
                       "amount_fen": total}}


def blacklisted_in(session: Session, document: dict[str, Any]) -> list[str]:
    """Names of the entities on the blacklist whose subsidies the document lists."""
    codes = {str(it.get("entity")) for it in document.get("subsidies", []) or [] if isinstance(it, dict)}
    if not codes:
        return []
    return list(session.scalars(select(Entity.name).where(Entity.uscc.in_(codes),
                                                          Entity.credit_status == "blacklisted")
                                .order_by(Entity.name)))


def put_in_batch(session: Session, actor: Actor, m: Matter, batch: PaymentBatch,
                 at: datetime) -> list[PremiumSubsidyPayout]:
    """At execution: each subsidy the matter lists is put in its batch, once (the unique `subsidy_id`)."""
    rows = [PremiumSubsidyPayout(subsidy_id=int(it["id"]), batch_id=batch.id, matter_id=m.id,
                                 county_code=m.county_code, payee_ref=str(it["entity"]), created_at=at)
            for it in (m.preview or {}).get("subsidies", [])]
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError:
        raise Conflict("有保费补贴已列入另一支付批次，不会重复支付", "a premium subsidy is in another batch already",
                       "document.subsidies", code="subsidy_in_batch") from None
    _record(session, actor, "premium_subsidy.batched", f"payment_batch:{batch.id}", m.region_code,
           {"matter": m.id, "batch": batch.id, "subsidies": [r.subsidy_id for r in rows]}, rows, at)
    return rows


def settle(session: Session, actor: Actor, batch: PaymentBatch, paid: Sequence[tuple[int, str, str]],
           at: datetime) -> list[PremiumSubsidy]:
    """Lines of a batch paid to entities (line id, credit code, the bank's receipt): each subsidy the batch pays
    that entity is marked paid with the line's receipt, one ledger entry each, in the step's transaction."""
    if not paid:
        return []
    by_payee = {ref: (line_id, serial) for line_id, ref, serial in paid}
    payouts = list(session.scalars(select(PremiumSubsidyPayout).where(
        PremiumSubsidyPayout.batch_id == batch.id, PremiumSubsidyPayout.payee_ref.in_(list(by_payee)),
        PremiumSubsidyPayout.line_id.is_(None)).order_by(PremiumSubsidyPayout.id)))
    done = []
    for po in payouts:
        line_id, serial = by_payee[po.payee_ref]
        s = session.get(PremiumSubsidy, po.subsidy_id, with_for_update=True, populate_existing=True)
        if s is None or s.status != "approved":
            raise Conflict(f"保费补贴 {po.subsidy_id} 不是待支付状态", f"premium subsidy {po.subsidy_id} is not "
                           "awaiting payment", "subsidy", code="subsidy_state")
        e = session.get(Entity, s.entity_id)
        assert e is not None
        po.line_id = line_id
        s.status, s.paid_on, s.payment_ref = "paid", beijing_date(at), serial
        _record(session, actor, "premium_subsidy.paid", f"entity:{e.uscc}", _region(e),
               {"subsidy": s.id, "batch": batch.id, "line": line_id, "paid_on": s.paid_on.isoformat(),
                "subsidy_fen": s.subsidy_fen, "amount_yuan": format_yuan(s.subsidy_fen)}, [s, po], at)
        done.append(s)
    return done
