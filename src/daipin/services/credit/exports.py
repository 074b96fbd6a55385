"""An entity's whole credit history as a spreadsheet (xlsx): its events and its listings, one sheet each; the text
people typed (reasons, basis, objection, answer, descriptions) masked as other exports mask free text."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.domain.privacy import mask_free_text
from daipin.services.credit import views as credit_views
from daipin.services.shared.sheets import save_sheets


def export_credit_history(session: Session, actor: Actor, entity_id: int, path: Path | str | IO[bytes]) -> int:
    """An entity's credit history: its events and its listings, one sheet each."""
    h = credit_views.history(session, actor, entity_id)
    m = mask_free_text
    events = [[e["occurred_on"], e["kind_label"], m(e["description"]), e["recorded_at"]] for e in h["events"]]
    listings = [[li["id"], li["status_label"], m(li["reasons"]), m(li["basis"]), li["notified_at"],
                 li["objection_until"], m(li["objection"]), m(li["answer"]), li["listed_at"], li["repaired_at"]]
                for li in h["listings"]]
    return save_sheets(path, [("信用记录", ["日期", "事项", "说明", "登记时间"], events),
                        ("失信认定", ["编号", "状态", "认定理由", "认定依据", "告知时间", "异议期至", "异议", "答复",
                                      "生效时间", "修复时间"], listings)])
