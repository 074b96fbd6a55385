"""An entity's credit record and its listing as seriously untrustworthy, step by step as 国办发〔2020〕49号 asks
(SUPERVISION.md "Credit record and blacklist"): the entity is told the reasons, the basis and its rights; it may object
within the county's window; an objection is answered before the listing takes effect; the listing takes effect
(the entity is blacklisted: no new contract); it is repaired only after the set period and the rectification. Each
step is a row, a credit-record event and one ledger entry; nothing here commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity
from daipin.db.models.supervision import CreditListing, CreditRecord, Finding
from daipin.domain import access
from daipin.domain import supervision as rules_def
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.localtime import beijing_date, for_people
from daipin.services.registry.service import get_entity
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import as_date, not_future
from daipin.services.shared.rows import row_fact as registry_row_fact
from daipin.services.supervision.service import county_thresholds, row_facts

RECORD_KINDS = {"default": "违约", "fraud": "弄虚作假", "late_payment": "逾期支付", "rectification": "整改完成"}
LISTING_EVENT_LABELS = {"listing_notified": "告知拟列入失信名单", "listing_objected": "提出异议",
                        "listing_answered": "异议答复（维持）", "listing_withdrawn": "异议成立，撤销认定",
                        "listing_listed": "列入失信名单", "listing_repaired": "信用修复，移出名单"}


def _region(e: Entity) -> str:
    return e.region_code or e.county_code


def _entity(session: Session, entity: Any) -> Entity:
    try:
        return get_entity(session, int(entity))
    except (TypeError, ValueError) as exc:
        raise InputError("实施主体编号应为数字", "entity must be an id", field="entity") from exc
    except NotFound as exc:
        raise InputError(f"实施主体 {entity} 不存在", f"entity {entity} not found", field="entity") from exc


def _event(session: Session, e: Entity, kind: str, description: str, at: datetime, actor: Actor, *,
           listing: CreditListing | None = None, finding_id: int | None = None) -> CreditRecord:
    r = CreditRecord(entity_id=e.id, county_code=e.county_code, kind=kind, occurred_on=beijing_date(at),
                     description=description, finding_id=finding_id, listing_id=listing.id if listing else None,
                     recorded_at=at, actor=f"{actor.role.value}:{actor.id}")
    session.add(r)
    session.flush()
    return r


def _record(session: Session, actor: Actor, type: str, e: Entity, facts: dict[str, Any], rows: list[Any],
            at: datetime, *, entity_changed: bool = False) -> int:
    body = dict(facts)
    body["rows"] = row_facts(session, rows) + ([registry_row_fact(session, e)] if entity_changed else [])
    return trace.record(session, actor=actor, type=type, subject=f"entity:{e.uscc}", region=_region(e), facts=body,
                        at=at)


def record_event(session: Session, actor: Actor, *, entity: Any, kind: str, occurred_on: Any, description: str,
                 at: datetime, finding: Any = None) -> CreditRecord:
    """One event of an entity's credit record: a default, a fraud finding, a late payment, a rectification."""
    e = _entity(session, entity)
    if kind not in RECORD_KINDS:
        raise InputError("信用记录类别应为：" + "、".join(RECORD_KINDS.values()), "unknown kind", field="kind")
    day = not_future(as_date(occurred_on, "occurred_on", "发生日期"), at, "occurred_on", "发生日期")
    text = freetext.text(description, "description", "情况说明", "description", 2000) or ""
    finding_id = None
    if finding not in (None, ""):
        f = session.get(Finding, int(finding)) if str(finding).isdigit() else None
        if f is None:
            raise InputError(f"问题线索 {finding} 不存在", f"finding {finding} not found", field="finding")
        finding_id = f.id
    access.require(actor, "entity.credit", region=_region(e))
    r = CreditRecord(entity_id=e.id, county_code=e.county_code, kind=kind, occurred_on=day, description=text,
                     finding_id=finding_id, recorded_at=at, actor=f"{actor.role.value}:{actor.id}")
    session.add(r)
    session.flush()
    _record(session, actor, "credit.record", e, {"kind": kind, "occurred_on": day.isoformat()}, [r], at)
    return r


def require_creditworthy(session: Session, e: Entity, zh: str, en: str, field: str = "entity") -> None:
    """Refuse a benefit to an entity on the credit blacklist (a listing in effect): it is party to no new contract and
    receives no subsidy."""
    if e.credit_status == "blacklisted":
        raise Conflict(f"实施主体 {e.name} 已列入失信黑名单，不能{zh}", f"the entity is blacklisted: no {en}",
                       field=field, code="blacklisted")


def get_listing(session: Session, listing_id: Any, *, lock: bool = False) -> CreditListing:
    try:
        lid = int(listing_id)
    except (TypeError, ValueError) as exc:
        raise InputError("认定编号应为数字", "listing id must be a number", field="listing") from exc
    row = session.get(CreditListing, lid, with_for_update=lock or None, populate_existing=lock)
    if row is None:
        raise NotFound(f"失信认定 {lid} 不存在", f"listing {lid} not found", field="listing")
    return row


def propose_listing(session: Session, actor: Actor, *, entity: Any, reasons: str, basis: str, at: datetime,
                    rights: str = "") -> CreditListing:
    """Tell an entity it is to be listed: the reasons, the basis and its rights (to object within the window, to
    be heard, to apply for repair); the listing does not take effect yet."""
    e = _entity(session, entity)
    why = freetext.text(reasons, "reasons", "认定理由", "reasons", 2000) or ""
    law = freetext.text(basis, "basis", "认定依据", "basis", 2000) or ""
    days = int(county_thresholds(session, e.county_code)["credit_objection_days"])
    repair_days = int(county_thresholds(session, e.county_code)["credit_repair_after_days"])
    until = rules_def.objection_deadline(at, days)
    told = freetext.text(rights, "rights", "权利告知", "rights", 2000, required=False) or (
        f"你单位可于{for_people(until)}前书面提出异议并提交证据，异议答复前认定不生效；"
        f"列入名单满{repair_days}天且完成整改后，可申请信用修复。")
    access.require(actor, "entity.credit", region=_region(e))
    live = session.scalar(select(CreditListing.id).where(CreditListing.live_key == e.id))
    if live is not None:
        raise Conflict("该主体已有进行中的失信认定", "the entity already has a live listing", field="entity",
                       code="listing_live")
    row = CreditListing(entity_id=e.id, county_code=e.county_code, status="notified", live_key=e.id, reasons=why,
                        basis=law, rights=told, notified_at=at, objection_until=until, repair_after_days=repair_days,
                        created_by=f"{actor.role.value}:{actor.id}")
    try:
        with session.begin_nested():  # the unique live key: another process's listing of the entity meanwhile
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict("该主体已有进行中的失信认定", "the entity already has a live listing", field="entity",
                       code="listing_live") from None
    ev = _event(session, e, "listing_notified", why, at, actor, listing=row)
    _record(session, actor, "credit.listing_notified", e,
            {"listing": row.id, "objection_until": until.isoformat()}, [row, ev], at)
    return row


def object_to_listing(session: Session, actor: Actor, listing: Any, *, text: str, at: datetime) -> CreditListing:
    """The entity's objection, within the window; one objection per listing."""
    row = get_listing(session, listing)
    e = get_entity(session, row.entity_id)
    words = freetext.text(text, "text", "异议内容", "objection", 4000) or ""
    access.require(actor, "credit.object", region=_region(e), entity_id=e.id)
    row = get_listing(session, row.id, lock=True)
    if row.status != "notified":
        raise Conflict("该认定当前不接受异议", f"a listing that is {row.status} takes no objection", field="listing",
                       code="listing_state")
    if at >= _aware(row.objection_until):
        raise Conflict(f"异议期已于{for_people(row.objection_until)}届满", "the objection window has closed",
                       field="listing", code="objection_window_closed")
    row.status, row.objection, row.objected_at = "objected", words, at
    ev = _event(session, e, "listing_objected", words, at, actor, listing=row)
    _record(session, actor, "credit.listing_objected", e, {"listing": row.id}, [row, ev], at)
    return row


def answer_objection(session: Session, actor: Actor, listing: Any, *, upheld: bool, answer: str,
                     at: datetime) -> CreditListing:
    """The answer to the objection: upheld withdraws the listing; not upheld lets it take effect."""
    row = get_listing(session, listing)
    e = get_entity(session, row.entity_id)
    words = freetext.text(answer, "answer", "答复意见", "answer", 4000) or ""
    access.require(actor, "entity.credit", region=_region(e))
    row = get_listing(session, row.id, lock=True)
    if row.status != "objected":
        raise Conflict("该认定没有待答复的异议", "the listing has no objection to answer", field="listing",
                       code="listing_state")
    row.answer, row.objection_upheld, row.answered_at = words, bool(upheld), at
    if upheld:
        row.status, row.live_key = "withdrawn", None
    else:
        row.status = "answered"
    ev = _event(session, e, "listing_withdrawn" if upheld else "listing_answered", words, at, actor, listing=row)
    _record(session, actor, f"credit.listing_{'withdrawn' if upheld else 'answered'}", e,
            {"listing": row.id, "upheld": bool(upheld)}, [row, ev], at)
    return row


def take_effect(session: Session, actor: Actor, listing: Any, *, at: datetime) -> CreditListing:
    """The listing takes effect once the window is over with no objection, or the objection was answered: the entity
    is blacklisted (it signs no new contract and receives no subsidy)."""
    row = get_listing(session, listing)
    e = get_entity(session, row.entity_id)
    access.require(actor, "entity.credit", region=_region(e))
    row = get_listing(session, row.id, lock=True)
    ok, zh, en = rules_def.may_take_effect(row.status, _aware(row.objection_until), at)
    if not ok:
        raise Conflict(zh, en, field="listing", code="listing_not_ready")
    row.status, row.listed_at = "listed", at
    e.credit_status, e.credit_since, e.credit_reason = "blacklisted", beijing_date(at), row.reasons[:400]
    ev = _event(session, e, "listing_listed", row.reasons, at, actor, listing=row)
    _record(session, actor, "credit.listing_listed", e, {"listing": row.id, "credit_status": "blacklisted"},
            [row, ev], at, entity_changed=True)
    return row


def repair(session: Session, actor: Actor, listing: Any, *, rectification: str, at: datetime) -> CreditListing:
    """Credit repair: only after the set period listed, with the rectification stated and no finding about the
    entity still unresolved; the entity is in good standing again."""
    row = get_listing(session, listing)
    e = get_entity(session, row.entity_id)
    words = freetext.text(rectification, "rectification", "整改情况", "rectification", 4000) or ""
    access.require(actor, "entity.credit", region=_region(e))
    row = get_listing(session, row.id, lock=True)
    if row.status != "listed" or row.listed_at is None:
        raise Conflict("该认定未生效，无需修复", "only a listing in effect is repaired", field="listing",
                       code="listing_state")
    earliest = rules_def.repair_from(_aware(row.listed_at), row.repair_after_days)
    if at < earliest:
        raise Conflict(f"列入名单未满{row.repair_after_days}天，{for_people(earliest)}后方可修复",
                       "the set period has not passed", field="listing", code="repair_too_early")
    unresolved = session.scalar(select(func.count()).select_from(Finding).where(
        Finding.subject == f"entity:{e.uscc}", Finding.status.not_in(rules_def.CLOSED),
        Finding.cause_gone_at.is_(None)))
    if unresolved:
        raise Conflict(f"该主体仍有 {unresolved} 条问题线索未整改销号", "findings about the entity are unresolved",
                       field="rectification", code="not_rectified")
    row.status, row.live_key, row.rectification, row.repaired_at = "repaired", None, words, at
    e.credit_status, e.credit_since, e.credit_reason = "normal", beijing_date(at), "信用修复"
    ev = _event(session, e, "listing_repaired", words, at, actor, listing=row)
    _record(session, actor, "credit.listing_repaired", e, {"listing": row.id, "credit_status": "normal"},
            [row, ev], at, entity_changed=True)
    return row


def _aware(at: datetime) -> datetime:
    from daipin.services.shared.rows import utc

    return utc(at)
