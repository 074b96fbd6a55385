"""An entity's credit history as people read it: every credit-record event and every listing with its steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity
from daipin.db.models.supervision import CreditListing, CreditRecord
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.localtime import for_people
from daipin.domain.vocabulary import CREDIT_STATUS
from daipin.services.credit.service import LISTING_EVENT_LABELS, RECORD_KINDS
from daipin.services.registry import views as registry_views
from daipin.services.shared import scope

LISTING_STATUS_LABELS = {"notified": "已告知，异议期中", "objected": "已提出异议，待答复", "answered": "异议已答复，待生效",
                         "listed": "已列入失信名单", "withdrawn": "异议成立，已撤销", "repaired": "已信用修复"}


def _kind_label(kind: str) -> str:
    return RECORD_KINDS.get(kind) or LISTING_EVENT_LABELS.get(kind, kind)


def history(session: Session, actor: Actor, entity_id: int) -> dict[str, Any]:
    """The whole credit history of an entity: events oldest first, listings newest first."""
    access.require(actor, "credit.read")
    # Whoever reads the entity's page reads its credit history there (its region, its entity, or one of its projects).
    e = registry_views.entity(session, actor, entity_id)
    events = session.scalars(select(CreditRecord).where(CreditRecord.entity_id == e.id)
                             .order_by(CreditRecord.recorded_at, CreditRecord.id)).all()
    listings = session.scalars(select(CreditListing).where(CreditListing.entity_id == e.id)
                               .order_by(CreditListing.id.desc())).all()
    return {
        "entity": {"id": e.id, "name": e.name, "uscc": e.uscc, "credit_status": e.credit_status,
                   "credit": CREDIT_STATUS.zh(e.credit_status)},
        "events": [{"id": r.id, "kind": r.kind, "kind_label": _kind_label(r.kind),
                    "occurred_on": r.occurred_on.isoformat(), "description": r.description,
                    "finding": r.finding_id, "listing": r.listing_id, "recorded_at": for_people(r.recorded_at)}
                   for r in events],
        "listings": [{"id": li.id, "status": li.status, "status_label": LISTING_STATUS_LABELS.get(li.status, li.status),
                      "reasons": li.reasons, "basis": li.basis, "rights": li.rights,
                      "notified_at": for_people(li.notified_at), "objection_until": for_people(li.objection_until),
                      "objection": li.objection or "", "objected_at": for_people(li.objected_at),
                      "answer": li.answer or "", "objection_upheld": li.objection_upheld,
                      "answered_at": for_people(li.answered_at), "listed_at": for_people(li.listed_at),
                      "repair_after_days": li.repair_after_days, "rectification": li.rectification or "",
                      "repaired_at": for_people(li.repaired_at)} for li in listings],
    }


def listed_entities(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Entities with a listing (live or past) in the actor's reach, newest listing first."""
    access.require(actor, "credit.read")
    reach = access.reach(actor, "credit.read")
    region = func.coalesce(Entity.region_code, Entity.county_code)
    rows = session.execute(
        select(CreditListing, Entity).join(Entity, Entity.id == CreditListing.entity_id)
        .where(scope.where(reach, region=region, entity=Entity.id)).order_by(CreditListing.id.desc())).all()
    return [{"listing": li.id, "entity_id": e.id, "entity": e.name, "status": li.status,
             "status_label": LISTING_STATUS_LABELS.get(li.status, li.status), "notified_at": for_people(li.notified_at),
             "credit": CREDIT_STATUS.zh(e.credit_status)} for li, e in rows]
