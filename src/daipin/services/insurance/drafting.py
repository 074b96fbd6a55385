"""Drafting the district's premium-subsidy matter for a year from the register (`batches.subsidy_document`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.services.insurance.batches import KIND, subsidy_document
from daipin.services.matters import service as matters


def draft_matter(session: Session, actor: Actor, *, county: Any, year: Any, at: datetime, title: str | None = None,
                 justification: str = "") -> Matter:
    """The district's premium-subsidy matter for a year, drafted from the register (`subsidy_document`)."""
    try:
        y = int(year)
    except (TypeError, ValueError) as exc:
        raise InputError("年度应为数字", "year must be a number", field="year") from exc
    code = str(county or "")
    access.require(actor, "matter.district.decide", field="actor")
    if not access.allowed(actor, "matter.district.decide", region=code):
        raise NotFound(f"行政区划 {code} 不存在", f"unknown region {code}", "county")
    document, _left_out = subsidy_document(session, code[:6], y)
    if not document["subsidies"]:
        raise InputError(f"{y} 年度没有已批准待支付的保费补贴", f"no approved premium subsidy to pay for {y}",
                         field="year")
    return matters.draft_matter(session, actor, kind=KIND, region=code, title=title or f"{y}年度保费补贴",
                                document=document, year=y, at=at, proposer="区扶贫开发领导小组办公室",
                                justification=justification, funding_source="保费补贴资金")
