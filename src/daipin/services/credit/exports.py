"""An entity's whole credit history as a spreadsheet (xlsx): its events and its listings, one sheet each."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.services.credit import views as credit_views
from daipin.services.supervision.exports import save_sheets


def export_credit_history(session: Session, actor: Actor, entity_id: int, path: Path | str) -> int:
    """An entity's credit history: its events and its listings, one sheet each."""
    h = credit_views.history(session, actor, entity_id)
    events = [[e["occurred_on"], e["kind_label"], e["description"], e["recorded_at"]] for e in h["events"]]
    listings = [[li["id"], li["status_label"], li["reasons"], li["basis"], li["notified_at"], li["objection_until"],
                 li["objection"], li["answer"], li["listed_at"], li["repaired_at"]] for li in h["listings"]]
    return save_sheets(path, [("信用记录", ["日期", "事项", "说明", "登记时间"], events),
                        ("失信认定", ["编号", "状态", "认定理由", "认定依据", "告知时间", "异议期至", "异议", "答复",
                                      "生效时间", "修复时间"], listings)])
