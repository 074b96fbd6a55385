"""Supervision's typed reads: findings (list and detail), inspections, the county's thresholds and the overdue
rectifications a person has to act on (待我处理). Each asks the access policy; lists are filtered in SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Region
from daipin.db.models.supervision import Finding, Inspection
from daipin.domain import access
from daipin.domain import supervision as rules_def
from daipin.domain.access import Scope
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.domain.localtime import for_people
from daipin.services.shared import scope
from daipin.services.supervision.service import county_thresholds, get_finding

STATUS_LABELS = {"open": "待处理", "assigned": "整改中", "rectified": "已整改待验收", "verified": "已验收销号",
                 "dismissed": "已排除"}
SEVERITY_LABELS = {"high": "高", "medium": "中", "low": "低"}
ESCALATION_LABELS = {"township": "已提请乡镇督办", "district": "已提请区级督办"}
# What a finding is about and the rows of its evidence, by their names (people read labels, never codes).
SUBJECT_LABELS = {"region": "区划", "village": "村", "entity": "实施主体", "project": "项目", "household": "农户",
                  "asset": "资产", "contract": "协议", "matter": "事项", "payment_batch": "支付批次",
                  "payment_line": "支付明细", "finding": "问题线索"}
TABLE_LABELS = {"projects": "项目", "entities": "实施主体", "assets": "资产", "matters": "事项",
                "payment_lines": "支付明细", "payment_batches": "支付批次", "inspections": "检查记录",
                "retained_dividends": "留存分红", "entity_dues": "应付款", "village_cadres": "村干部任职",
                "cadre_kin": "亲属申报", "account_holders": "开户人登记", "asset_status_changes": "资产状态登记",
                "household_splits": "分户登记", "pv_income_uses": "光伏收益用途"}


def subject_label(subject: str) -> str:
    kind, _, ref = subject.partition(":")
    return f"{SUBJECT_LABELS.get(kind, kind)} {ref}".strip()


def rule_label(rule: str) -> str:
    r = rules_def.RULE_BY_ID.get(rule)
    return r.zh if r else "检查发现"


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {str(c): str(n) for c, n in session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))}


def _row(f: Finding, names: dict[str, str], today: date | None = None) -> dict[str, Any]:
    overdue = bool(today and f.deadline and f.status in ("open", "assigned") and today > f.deadline)
    return {
        "id": f.id, "rule": f.rule, "rule_label": rule_label(f.rule), "severity": f.severity,
        "severity_label": SEVERITY_LABELS.get(f.severity, f.severity), "region": f.region_code,
        "region_name": names.get(f.region_code, f.region_code), "subject": f.subject,
        "subject_label": subject_label(f.subject), "summary": f.summary,
        "status": f.status, "status_label": STATUS_LABELS.get(f.status, f.status), "source": f.source,
        "responsible_unit": f.responsible_unit or "",
        "responsible_unit_name": names.get(f.responsible_unit or "", f.responsible_unit or ""),
        "deadline": f.deadline.isoformat() if f.deadline else "", "overdue": overdue,
        "escalated_to": f.escalated_to or "", "escalation_label": ESCALATION_LABELS.get(f.escalated_to or "", ""),
        "cause_gone": f.cause_gone_at is not None, "cause_gone_at": for_people(f.cause_gone_at),
        "opened_at": for_people(f.opened_at), "updated_at": for_people(f.updated_at), "note": f.status_note,
    }


def findings(session: Session, actor: Actor, *, status: str | None = None, rule: str | None = None,
             today: date | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The findings the actor reaches, newest first, optionally of one status or rule."""
    access.require(actor, "supervision.read")
    if status and status not in rules_def.FINDING_STATUSES:
        raise InputError("未知的状态", f"unknown status {status}", field="status")
    if rule and rule not in rules_def.RULE_BY_ID and rule != rules_def.MANUAL_RULE:
        raise InputError("未知的规则", f"unknown rule {rule}", field="rule")
    q = select(Finding).where(scope.where(access.reach(actor, "supervision.read"), region=Finding.region_code))
    if status:
        q = q.where(Finding.status == status)
    if rule:
        q = q.where(Finding.rule == rule)
    rows = session.scalars(q.order_by(Finding.id.desc()).limit(limit)).all()
    names = _names(session, {f.region_code for f in rows} | {f.responsible_unit for f in rows if f.responsible_unit})
    return [_row(f, names, today) for f in rows]


def finding(session: Session, actor: Actor, finding_id: Any, *, today: date | None = None) -> dict[str, Any]:
    """One finding with its evidence and the steps the actor may take on it now."""
    access.require(actor, "supervision.read")
    f = get_finding(session, finding_id)
    if not access.allowed(actor, "supervision.read", region=f.region_code):
        raise NotFound(f"问题线索 {f.id} 不存在", f"finding {f.id} not found", field="finding")  # as if absent
    names = _names(session, {f.region_code, f.responsible_unit or ""})
    out = _row(f, names, today)
    out["evidence"] = f.evidence
    out["evidence_rows"] = [f"{TABLE_LABELS.get(r['table'], r['table'])} {r['id']}" for r in f.evidence.get("rows", [])]
    manage = access.allowed(actor, "finding.manage", region=f.region_code)
    rectify = access.allowed(actor, "finding.rectify", region=f.responsible_unit or f.region_code)
    steps = []
    for step in ("assign", "rectify", "verify", "reject", "dismiss"):
        try:
            rules_def.next_status(f.status, step)
        except Exception:  # noqa: BLE001 - a step not open from this status is simply not offered
            continue
        if (step == "rectify" and rectify) or (step != "rectify" and manage):
            steps.append({"step": step, "label": rules_def.STEP_LABELS[step]})
    out["steps"] = steps
    return out


def inspections(session: Session, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    access.require(actor, "supervision.read")
    q = select(Inspection).where(scope.where(access.reach(actor, "supervision.read"), region=Inspection.region_code))
    rows = session.scalars(q.order_by(Inspection.id.desc()).limit(limit)).all()
    names = _names(session, {i.region_code for i in rows})
    return [{"id": i.id, "region": i.region_code, "region_name": names.get(i.region_code, i.region_code),
             "inspected_on": i.inspected_on.isoformat(), "inspectors": i.inspectors, "place": i.place,
             "checked": i.checked, "result": i.result, "recorded_at": for_people(i.recorded_at)} for i in rows]


def overdue(session: Session, actor: Actor, today: date) -> list[dict[str, Any]]:
    """The overdue rectifications the actor has to follow up (待我处理): a township's or a village's within its reach
    once overdue; the district's those flagged to the district (overdue longer than the set days)."""
    access.require(actor, "supervision.read")
    reach = access.reach(actor, "supervision.read")
    q = select(Finding).where(scope.where(reach, region=Finding.region_code),
                              Finding.status.in_(("open", "assigned")), Finding.deadline < today)
    rows = session.scalars(q.order_by(Finding.deadline, Finding.id)).all()
    out = []
    thresholds: dict[str, int] = {}
    for f in rows:
        days = thresholds.setdefault(f.county_code,
                                     int(county_thresholds(session, f.county_code)["escalate_after_days"]))
        level = rules_def.escalation(f.deadline, f.status, today, days)
        if reach.scope in (Scope.COUNTY, Scope.ALL) and level != "district":
            continue
        out.append((f, level))
    names = _names(session, {f.region_code for f, _ in out} | {f.responsible_unit or "" for f, _ in out})
    result = []
    for f, level in out:
        row = _row(f, names, today)
        row["level"] = level
        row["days_overdue"] = (today - f.deadline).days if f.deadline else 0
        result.append(row)
    return result


def thresholds(session: Session, actor: Actor, county: str) -> list[dict[str, str]]:
    access.require(actor, "supervision.read")  # the district's thresholds are no secret to whoever reads findings
    values = county_thresholds(session, county)
    return [{"key": k, "label": rules_def.THRESHOLD_LABELS[k], "value": v, "default": rules_def.DEFAULT_THRESHOLDS[k]}
            for k, v in values.items()]
