"""Supervision's writes (SUPERVISION.md): the county's thresholds, the district scan that opens red-flag findings
and marks those whose cause is gone, inspections that open findings by hand, each finding's path (assign, rectify,
verify, reject, dismiss) and the escalation of overdue rectifications. Every change is a row and its ledger entry in
the caller's transaction; nothing here commits."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, String, bindparam, func, insert, select, text
from sqlalchemy.orm import Session

from daipin.db.models import supervision as models
from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.supervision import Finding, Inspection, SupervisionSettings
from daipin.domain import access
from daipin.domain import performance as perf
from daipin.domain import supervision as rules_def
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.domain.localtime import beijing_date
from daipin.domain.vocabulary import HOUSEHOLD_STATUS
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import as_date
from daipin.services.shared.rows import utc as trace_utc
from daipin.services.shared.rows import workflow_row_state
from daipin.services.supervision import performance as perf_settings
from daipin.services.supervision import rules

# ---------------------------------------------------------------- rows behind ledger entries

# Personal data among these tables' columns: only a salted digest enters a row state (and so the ledger).
PII_COLUMNS = frozenset({("account_holders", "holder_name")})
ROW_MODELS: tuple[type[Any], ...] = (
    models.SupervisionSettings, models.Finding, models.Inspection, models.CreditRecord, models.CreditListing,
    models.VillageCadre, models.CadreKin, models.AccountHolder, models.AssetStatusChange, models.HouseholdSplit,
    models.PvIncomeUse, models.Due, models.PremiumSubsidy, models.ProjectDebt, models.PremiumSubsidyPayout,
)


def row_state(session: Session, obj: Any) -> dict[str, Any]:
    """A supervision row's canonical state: every column JSON-native, personal data as salted digests."""
    out = workflow_row_state(session, obj)
    table = obj.__table__.name
    for t, col in PII_COLUMNS:
        if t == table and out.get(col) is not None:
            out[col] = trace.pii(session, str(out[col]))
    return out


def row_facts(session: Session, objs: Sequence[Any]) -> list[dict[str, str]]:
    """`{"table", "id", "digest"}` of each row as it stands now, flushing once."""
    from daipin.ledger import store

    session.flush()
    out = []
    for obj in objs:
        pk = obj.__mapper__.primary_key[0].key
        out.append(store.row_fact(obj.__table__.name, getattr(obj, pk), row_state(session, obj)))
    return out


def row_fact(session: Session, obj: Any) -> dict[str, str]:
    return row_facts(session, [obj])[0]


def register_ledger_checks() -> None:
    """Tell the ledger how to read the current state of every supervision row it records (every table whole)."""
    from daipin.ledger import store

    for model in ROW_MODELS:
        pk = model.__mapper__.primary_key[0]
        key_is_int = pk.type.python_type is int

        def state(session: Session, id: str, model: Any = model, key_is_int: bool = key_is_int) -> dict[str, Any] | None:
            obj = session.get(model, int(id) if key_is_int else id)
            return None if obj is None else row_state(session, obj)

        def ids(session: Session, pk: Any = pk) -> Any:
            return session.execute(select(pk)).scalars()

        store.register_row_check(model.__tablename__, state, ids)


def record(session: Session, actor: Actor, type: str, subject: str, region: str, facts: dict[str, Any],
           rows: Sequence[Any], at: datetime) -> int:
    """One ledger entry stating `facts` and the rows it changed."""
    body = dict(facts)
    facts_rows = row_facts(session, rows)
    if len(facts_rows) == 1:
        body["row"] = facts_rows[0]
    else:
        body["rows"] = facts_rows
    return trace.record(session, actor=actor, type=type, subject=subject, region=region, facts=body, at=at)


# ---------------------------------------------------------------- thresholds


def county_thresholds(session: Session, county: str) -> dict[str, str]:
    row = session.get(SupervisionSettings, county)
    return rules_def.thresholds(row.thresholds if row else None)


def set_thresholds(session: Session, actor: Actor, county: str, values: dict[str, Any], at: datetime) -> dict[str, str]:
    """Set some of a county's thresholds (the rest keep their values); each is checked before any is kept."""
    access.require(actor, "supervision.scan", region=str(county))
    county = _county(session, county)
    if not values:
        raise InputError("没有要修改的设置", "no setting given", field="key")
    checked = {k: rules_def.check_threshold(k, v) for k, v in values.items()}
    row = session.get(SupervisionSettings, county, with_for_update=True)
    actor_name = f"{actor.role.value}:{actor.id}"
    if row is None:
        row = SupervisionSettings(county_code=county, thresholds=checked, updated_at=at, updated_by=actor_name)
        session.add(row)
    else:
        row.thresholds = {**row.thresholds, **checked}
        row.updated_at, row.updated_by = at, actor_name
    record(session, actor, "supervision.thresholds", f"county:{county}", county, {"set": checked}, [row], at)
    return rules_def.thresholds(row.thresholds)


def read_thresholds(session: Session, actor: Actor, county: str) -> list[dict[str, str]]:
    """The county's thresholds, each with its label, value and default, for whoever reads its supervision (inside
    the county; the province across its counties)."""
    access.require(actor, "supervision.read")  # the district's settings are no secret inside it
    if not (access.allowed(actor, "supervision.read", region=county) or actor.region[:6] == county):
        access.require(actor, "supervision.read", region=county)
    county = _county(session, county)
    return [{"key": k, "label": rules_def.THRESHOLD_LABELS[k], "value": v, "default": rules_def.DEFAULT_THRESHOLDS[k]}
            for k, v in county_thresholds(session, county).items()]


def _county(session: Session, county: Any) -> str:
    from daipin.db.models.registry import Region

    code = str(county or "").strip()
    if len(code) != 6 or session.scalar(select(Region.id).where(Region.code == code, Region.level == "district")) \
            is None:
        raise InputError(f"区县 {code} 不存在", f"unknown district {code}", field="county")
    return code


# ---------------------------------------------------------------- the district allocation's performance setting


def read_performance(session: Session, actor: Actor, county: str) -> dict[str, str]:
    """The county's setting for whoever reads the district's allocations or its supervision."""
    access.require(actor, "supervision.read")  # the district's settings are no secret inside it (as its thresholds)
    if not (access.allowed(actor, "supervision.read", region=county) or actor.region[:6] == county):
        access.require(actor, "supervision.read", region=county)
    county = _county(session, county)
    return perf_settings.county_settings(session, county)


def set_performance(session: Session, actor: Actor, county: str, values: dict[str, Any], at: datetime) -> dict[str, str]:
    """Set some of the county's performance settings (the rest keep theirs); all are checked before any is kept."""
    access.require(actor, "setting.write", region=str(county))
    county = _county(session, county)
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        raise InputError("没有要修改的设置", "no setting given", field="key")
    row = session.get(SupervisionSettings, county, with_for_update=True)
    checked = perf.check(values, row.thresholds if row else None)
    actor_name = f"{actor.role.value}:{actor.id}"
    if row is None:
        row = SupervisionSettings(county_code=county, thresholds=checked, updated_at=at, updated_by=actor_name)
        session.add(row)
    else:
        row.thresholds = {**row.thresholds, **checked}
        row.updated_at, row.updated_by = at, actor_name
    record(session, actor, "supervision.performance", f"county:{county}", county, {"set": checked}, [row], at)
    return perf.settings(row.thresholds)


# ---------------------------------------------------------------- the scan
#
# A first scan of a large district opens tens of thousands of findings: they are written as rows in one multi-row
# statement per thousand (ids drawn up front, no ORM object per finding), their canonical states digested straight
# from the values written, and their entries appended in one `append_many` (one entry per rule and per
# `ENTRY_ROWS` findings). Existing findings are read as four columns, not loaded as objects; only those whose cause
# went or came back are locked and changed.

SCAN_WORK_MEM = "128MB"  # PostgreSQL's memory per hash or sort of the rules' queries, for the scan's transaction
ENTRY_ROWS = 5000  # findings stated by one `finding.opened` entry at most (an entry stays a few hundred kilobytes)
FINDING_COLUMNS = tuple(c.key for c in Finding.__table__.columns)


@dataclass
class ScanResult:
    """What a scan changed: findings opened, findings whose cause came back, findings whose cause is gone."""

    county: str
    opened: list[int] = field(default_factory=list)
    came_back: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)  # causes found per rule

    @property
    def changed(self) -> int:
        return len(self.opened) + len(self.came_back) + len(self.gone)


DETAIL_LABELS = {"no_notice": "未经公示", "short_notice": "公示期不足", "open_objection": "异议未结",
                 "split": "分户后不久即列入名单", "paid_twice": "同一批次重复发放", "own": "村干部本户",
                 "unregistered": "付款日无身份记录", "died_out": "付款日户内成员均已去世",
                 "not_on_roster": "不在本村已确认的年度收益扶贫对象名单上"}


def _summary(rule: str, details: Iterable[str]) -> str:
    words = sorted({DETAIL_LABELS.get(d) or (f"付款日为{HOUSEHOLD_STATUS.zh(d)}" if d in HOUSEHOLD_STATUS.codes else d)
                    for d in details if d})
    head = rules_def.RULE_BY_ID[rule].zh
    return f"{head}：{'，'.join(words)}" if words else head


def _context(session: Session, county: str, today: date) -> rules.Context:
    from daipin.services.matters.service import county_rules
    from daipin.services.registry.service import get_setting

    th = county_thresholds(session, county)
    notice_days = county_rules(session, county).notice_days
    dialect = session.get_bind().dialect.name
    return rules.Context(county=county, today=today, thresholds=th,
                         reference_rate=Decimal(get_setting(session, "market_reference_rate")),
                         min_notice_days=min(notice_days.values()) if notice_days else 0, dialect=dialect)


def find_causes(session: Session, county: str, today: date) -> dict[str, dict[str, Any]]:
    """Every cause the rules find in the district today, by finding key: rule, subject, region, evidence rows."""
    ctx = _context(session, county, today)
    if ctx.dialect == "postgresql":
        # For this transaction: the rules' joins hash in memory, and no JIT compilation (seconds per query, for
        # queries that read each row once).
        for setting, value in (("jit", "off"), ("work_mem", SCAN_WORK_MEM)):
            session.execute(text("SELECT set_config(:s, :v, true)"), {"s": setting, "v": value})
    found: dict[str, dict[str, Any]] = {}
    for rule_id, query in rules.QUERIES.items():
        for subject, region, ev_table, ev_id, detail in session.execute(query(ctx)):
            key = f"{rule_id}:{subject}"
            f = found.get(key)
            if f is None:
                f = found[key] = {"rule": rule_id, "subject": subject, "region": region, "rows": [], "details": []}
            ev = {"table": ev_table, "id": int(ev_id)}
            if ev not in f["rows"]:
                f["rows"].append(ev)
            f["details"].append(detail or "")
    return found


def _ledger_evidence(session: Session, subjects: Sequence[str]) -> dict[str, list[int]]:
    """The latest ledger entries (up to five) about each subject: on PostgreSQL in one query (the subjects as one
    array parameter), elsewhere in one query per thousand subjects."""
    out: dict[str, list[int]] = {}
    pg = session.get_bind().dialect.name == "postgresql"
    step = max(len(subjects), 1) if pg else 1000
    for i in range(0, len(subjects), step):
        chunk = list(subjects[i:i + step])
        among = (LedgerEntry.subject == func.any(bindparam("subjects", chunk, type_=ARRAY(String))) if pg
                 else LedgerEntry.subject.in_(chunk))
        ranked = (select(LedgerEntry.subject, LedgerEntry.idx,
                         func.row_number().over(partition_by=LedgerEntry.subject,
                                                order_by=LedgerEntry.idx.desc()).label("n"))
                  .where(among).subquery())
        for subject, idx in session.execute(select(ranked.c.subject, ranked.c.idx).where(ranked.c.n <= 5)
                                            .order_by(ranked.c.subject, ranked.c.idx)):
            out.setdefault(subject, []).append(int(idx))
    return out


def _lock_scan(session: Session, county: str) -> None:
    """One scan of a district at a time: on PostgreSQL a transaction-scoped advisory lock named after the district
    (SQLite's writer lock, taken by `BEGIN IMMEDIATE`, already serialises every writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"daipin.supervision.scan:{county}"})


def _new_finding_ids(session: Session, n: int) -> list[int]:
    """Ids for `n` new findings, drawn up front: from the id sequence on PostgreSQL; after the largest on SQLite
    (whose writer holds the database lock for the whole transaction)."""
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return [int(v) for v in session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('findings', 'id')) FROM generate_series(1, :n)"), {"n": n})
            .scalars()]
    top = int(session.execute(select(func.coalesce(func.max(Finding.id), 0))).scalar_one())
    return list(range(top + 1, top + n + 1))


def _state_digest(values: dict[str, Any]) -> str:
    """The row digest `row_state` gives a finding read back from the database, computed from the values written
    (every one already JSON-native: times as UTC ISO text, the evidence plain lists and numbers)."""
    return hashlib.sha256(json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                     allow_nan=False).encode("utf-8")).hexdigest()


def _insert_findings(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write finding rows: by COPY on PostgreSQL, as a multi-row insert per thousand elsewhere."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        for i in range(0, len(rows), 1000):
            conn.execute(insert(Finding), rows[i:i + 1000])
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(FINDING_COLUMNS)
    with raw.cursor() as cur, cur.copy(f"COPY findings ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c == "evidence" else row[c]
                            for c in FINDING_COLUMNS])


def _open_findings(session: Session, actor: Actor, county: str, found: dict[str, dict[str, Any]],
                   new_keys: list[str], at: datetime) -> list[int]:
    """Write the findings of `new_keys` in bulk and the entries stating them; returns their ids."""
    from daipin.ledger import store

    if not new_keys:
        return []
    ledger = _ledger_evidence(session, sorted({found[k]["subject"] for k in new_keys}))
    new_keys = sorted(new_keys, key=lambda k: (found[k]["rule"], k))
    ids = _new_finding_ids(session, len(new_keys))
    at_text = trace_utc(at).isoformat()
    rows: list[dict[str, Any]] = []
    by_rule: dict[str, list[tuple[int, str]]] = {}
    for fid, key in zip(ids, new_keys, strict=True):
        f = found[key]
        rule = rules_def.RULE_BY_ID[f["rule"]]
        state = {"id": fid, "county_code": county, "finding_key": key, "rule": rule.id, "severity": rule.severity,
                 "region_code": f["region"], "subject": f["subject"], "summary": _summary(rule.id, f["details"]),
                 "evidence": {"rows": f["rows"], "ledger": ledger.get(f["subject"], [])}, "status": "open",
                 "source": "scan", "inspection_id": None, "responsible_unit": None, "deadline": None,
                 "escalated_to": None, "status_note": "", "opened_at": at_text, "updated_at": at_text,
                 "cause_gone_at": None}
        by_rule.setdefault(rule.id, []).append((fid, _state_digest(state)))
        rows.append(state | {"opened_at": at, "updated_at": at})
    assert set(rows[0]) == set(FINDING_COLUMNS), "a finding's columns changed: the scan's rows must follow"
    session.flush()  # anything pending goes first: the rows below are written behind the unit of work
    _insert_findings(session, rows)
    # One entry per rule and per ENTRY_ROWS findings states the findings the scan opened (each one's row digest),
    # as a bank file's entry states every line it sent: a district-wide scan stays one transaction of a few entries.
    actor_name = f"{actor.role.value}:{actor.id}"
    items = []
    for rule_id, made in sorted(by_rule.items()):
        for start in range(0, len(made), ENTRY_ROWS):
            part = made[start:start + ENTRY_ROWS]
            facts: dict[str, Any] = {"rule": rule_id, "findings": [fid for fid, _ in part]}
            row_facts_ = [{"table": "findings", "id": str(fid), "digest": d} for fid, d in part]
            if len(row_facts_) == 1:
                facts["row"] = row_facts_[0]
            else:
                facts["rows"] = row_facts_
            items.append({"type": "finding.opened", "actor": actor_name, "region": county,
                          "subject": f"scan:{county}:{rule_id}", "facts": facts, "at": at})
    store.append_many(session, items)
    return [fid for _, made in sorted(by_rule.items()) for fid, _ in made]


def scan(session: Session, actor: Actor, county: str, at: datetime) -> ScanResult:
    """Run every rule over the district: open a finding for each new cause, mark the findings whose cause is gone
    (kept, never deleted) and those whose cause came back. A second run finds the same causes and changes nothing."""
    county = _county(session, county)
    access.require(actor, "supervision.scan", region=county)
    _lock_scan(session, county)
    today = beijing_date(at)
    found = find_causes(session, county, today)
    result = ScanResult(county=county)
    for f in found.values():
        result.by_rule[f["rule"]] = result.by_rule.get(f["rule"], 0) + 1
    existing = {key: (fid, status, gone_at) for fid, key, status, gone_at in session.execute(
        select(Finding.id, Finding.finding_key, Finding.status, Finding.cause_gone_at)
        .where(Finding.county_code == county, Finding.source == "scan"))}
    new_keys = [k for k in found if k not in existing]
    result.opened = _open_findings(session, actor, county, found, new_keys, at)
    back_ids = [fid for key, (fid, _, gone_at) in existing.items() if key in found and gone_at is not None]
    gone_ids = [fid for key, (fid, status, gone_at) in existing.items()
                if key not in found and gone_at is None and status not in rules_def.CLOSED]
    for type, ids, came_back in (("finding.cause_back", back_ids, True), ("finding.cause_gone", gone_ids, False)):
        changed = []
        for i in range(0, len(ids), 1000):
            # Locked and read again: a step taken on a finding meanwhile is seen before it is marked.
            for finding in session.scalars(select(Finding).where(Finding.id.in_(ids[i:i + 1000]))
                                           .order_by(Finding.id).with_for_update().execution_options(
                                               populate_existing=True)):
                if came_back and finding.cause_gone_at is not None:
                    finding.cause_gone_at, finding.updated_at = None, at
                    changed.append(finding)
                elif not came_back and finding.cause_gone_at is None and finding.status not in rules_def.CLOSED:
                    finding.cause_gone_at, finding.updated_at = at, at
                    changed.append(finding)
        if changed:
            record(session, actor, type, f"scan:{county}", county, {"findings": [f.id for f in changed]}, changed, at)
        if came_back:
            result.came_back = [f.id for f in changed]
        else:
            result.gone = [f.id for f in changed]
    return result


# ---------------------------------------------------------------- inspections and findings by hand


def _region(session: Session, code: Any, field: str = "region") -> str:
    from daipin.db.models.registry import Region

    text = str(code or "").strip()
    if not text or session.scalar(select(Region.id).where(Region.code == text)) is None:
        raise InputError(f"行政区划 {text} 不存在", f"unknown region {text}", field=field)
    return text


SUBJECT_KINDS = ("region", "village", "entity", "project", "household", "asset", "contract", "matter",
                 "payment_batch", "payment_line")
_SUBJECT = re.compile(r"^([a-z_]+):([0-9A-Za-z@_\-]{1,60})$")


def _subject(value: Any, field: str) -> str:
    """What a finding is about, named as the ledger names it (`entity:<USCC>`, `project:P-001`, `region:<code>`):
    an identifier, not free text."""
    text = str(value or "").strip()
    m = _SUBJECT.match(text)
    if m is None or m.group(1) not in SUBJECT_KINDS:
        raise InputError("问题对象应写作“类别:编号”，如 entity:统一社会信用代码、project:项目编号",
                         "subject must be kind:reference, e.g. entity:<USCC> or project:<code>", field=field)
    return text


def record_inspection(session: Session, actor: Actor, *, region: str, inspected_on: Any, inspectors: str,
                      place: str, checked: str, result: str = "", findings: Sequence[dict[str, Any]] = (),
                      at: datetime) -> tuple[Inspection, list[Finding]]:
    """An inspection record (who, when, where, what was checked, what was found) and the findings it opens by hand
    (`findings`: each a `summary`, a `severity` and optionally its own `region` and `subject`)."""
    code = _region(session, region)
    day = as_date(inspected_on, "inspected_on", "检查日期")
    if day > beijing_date(at):
        raise InputError("检查日期不能晚于今天", "the inspection date is in the future", field="inspected_on")
    who = freetext.text(inspectors, "inspectors", "检查人员", "inspectors", 200) or ""
    where = freetext.text(place, "place", "检查地点", "place", 200) or ""
    what = freetext.text(checked, "checked", "检查内容", "what was checked", 2000) or ""
    found = freetext.text(result, "result", "检查结果", "result", 2000, required=False) or ""
    items = []
    for i, f in enumerate(findings):
        summary = freetext.text(f.get("summary"), f"findings[{i}].summary", "问题描述", "summary", 1000) or ""
        severity = str(f.get("severity") or "medium")
        if severity not in rules_def.SEVERITIES:
            raise InputError("严重程度应为 high、medium 或 low", "severity must be high, medium or low",
                             field=f"findings[{i}].severity")
        f_region = _region(session, f.get("region") or code, f"findings[{i}].region")
        if not f_region.startswith(code[:6]):
            raise InputError("问题所在区划不在本区", "the finding's region is outside the district",
                             field=f"findings[{i}].region")
        subject = _subject(f.get("subject") or f"region:{f_region}", f"findings[{i}].subject")
        items.append((summary, severity, f_region, subject))
    access.require(actor, "finding.manage", region=code)
    for _, _, f_region, _ in items:
        access.require(actor, "finding.manage", region=f_region, field="findings")
    actor_name = f"{actor.role.value}:{actor.id}"
    ins = Inspection(county_code=code[:6], region_code=code, inspected_on=day, inspectors=who, place=where,
                     checked=what, result=found, recorded_at=at, actor=actor_name)
    session.add(ins)
    session.flush()
    entry = record(session, actor, "inspection.recorded", f"inspection:{ins.id}", code,
                   {"inspected_on": day.isoformat(), "findings": len(items)}, [ins], at)
    opened = []
    for n, (summary, severity, f_region, subject) in enumerate(items, start=1):
        finding = Finding(county_code=code[:6], finding_key=f"{rules_def.MANUAL_RULE}:inspection:{ins.id}:{n}",
                          rule=rules_def.MANUAL_RULE, severity=severity, region_code=f_region, subject=subject,
                          summary=summary, evidence={"rows": [{"table": "inspections", "id": ins.id}], "ledger": [entry]},
                          status="open", source="inspection", inspection_id=ins.id, opened_at=at, updated_at=at,
                          status_note="")
        session.add(finding)
        session.flush()
        record(session, actor, "finding.opened", f"finding:{finding.id}", f_region,
               {"rule": finding.rule, "subject": subject, "inspection": ins.id}, [finding], at)
        opened.append(finding)
    return ins, opened


def get_finding(session: Session, finding_id: Any, *, lock: bool = False) -> Finding:
    try:
        fid = int(finding_id)
    except (TypeError, ValueError) as exc:
        raise InputError("问题线索编号应为数字", "finding id must be a number", field="finding") from exc
    f = session.get(Finding, fid, with_for_update=lock or None, populate_existing=lock)
    if f is None:
        raise NotFound(f"问题线索 {fid} 不存在", f"finding {fid} not found", field="finding")
    return f


def take_step(session: Session, actor: Actor, finding_id: Any, step: str, *, at: datetime, note: str = "",
              unit: str | None = None, deadline: Any = None) -> Finding:
    """One step on a finding's path: `assign` (a responsible unit and a deadline), `rectify` (what was done),
    `verify`, `reject` (the rectification is not accepted), `dismiss` (with reasons). The finding's row is locked
    and its status read again inside the lock."""
    f = get_finding(session, finding_id)
    action: access.Action = "finding.rectify" if step == "rectify" else "finding.manage"
    if action == "finding.rectify":
        access.require(actor, "finding.rectify", region=f.responsible_unit or f.region_code)
    else:
        access.require(actor, "finding.manage", region=f.region_code)
    text = freetext.text(note, "note", "说明", "note", 2000, required=step in ("rectify", "dismiss", "reject")) or ""
    due: date | None = None
    unit_code: str | None = None
    if step == "assign":
        unit_code = _region(session, unit, "unit")
        if not unit_code.startswith(f.county_code):
            raise InputError("责任单位不在本区", "the responsible unit is outside the district", field="unit")
        due = as_date(deadline, "deadline", "整改期限")
        if due < beijing_date(at):
            raise InputError("整改期限不能早于今天", "the deadline is in the past", field="deadline")
    f = get_finding(session, f.id, lock=True)
    before = f.status
    f.status = rules_def.next_status(f.status, step)
    if step == "assign":
        f.responsible_unit, f.deadline, f.escalated_to = unit_code, due, None
    f.status_note, f.updated_at = text, at
    facts: dict[str, Any] = {"step": step, "from": before, "to": f.status, "note": text}
    if step == "assign":
        facts |= {"unit": unit_code, "deadline": due.isoformat() if due else None}
    record(session, actor, f"finding.{step}", f"finding:{f.id}", f.region_code, facts, [f], at)
    return f


def escalate_overdue(session: Session, actor: Actor, county: str, at: datetime) -> list[Finding]:
    """Flag every overdue rectification upward (township once overdue, the district after the set days); a finding
    already flagged at its level is left as it is, so running this twice changes nothing."""
    county = _county(session, county)
    access.require(actor, "supervision.scan", region=county)
    today = beijing_date(at)
    after = int(county_thresholds(session, county)["escalate_after_days"])
    overdue = session.scalars(select(Finding).where(
        Finding.county_code == county, Finding.status.in_(("open", "assigned")), Finding.deadline < today)
        .with_for_update()).all()
    changed = []
    for f in overdue:
        level = rules_def.escalation(f.deadline, f.status, today, after)
        if level is None or level == f.escalated_to:
            continue
        f.escalated_to, f.updated_at = level, at
        record(session, actor, "finding.escalated", f"finding:{f.id}", f.region_code,
               {"to": level, "deadline": f.deadline.isoformat() if f.deadline else None}, [f], at)
        changed.append(f)
    return changed


def scheduled_run(session: Session, actor: Actor, at: datetime) -> dict[str, dict[str, int]]:
    """What the schedule runs for every district of the database: the scan, then the escalation of overdue
    rectifications. Both are idempotent, so a run repeated (or overlapping a manual one) changes nothing more."""
    from daipin.db.models.registry import Region

    out = {}
    for county in session.scalars(select(Region.code).where(Region.level == "district").order_by(Region.code)):
        r = scan(session, actor, county, at)
        escalated = escalate_overdue(session, actor, county, at)
        out[county] = {"opened": len(r.opened), "gone": len(r.gone), "came_back": len(r.came_back),
                       "escalated": len(escalated)}
    return out
