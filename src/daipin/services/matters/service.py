"""The decision path as use cases: draft, meeting, votes, review, notice, objections, execution, archive.

Each step checks the actor's role and region, asks `domain.workflow` whether the matter's
state allows it, writes its rows and one ledger entry (plus a `matter_events` row that points
at it) in the caller's transaction, and never commits. Time is always a parameter.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity, Household, Person, Project, Region, Run
from daipin.db.models.workflow import (
    CountyWorkflowRules,
    Matter,
    MatterEvent,
    Meeting,
    Notice,
    Objection,
    PaymentBatch,
    PaymentFile,
    PaymentLine,
    Review,
)
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor, Role
from daipin.domain.canonical import digest
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.localtime import beijing_date, for_people
from daipin.domain.privacy import mask_free_text
from daipin.domain.vocabulary import (
    MEETING_TYPE,
    OBJECTION_NOTIFIED_VIA,
    OBJECTION_OUTCOMES,
    REVIEW_DECISION,
    RUN_KIND,
)
from daipin.ledger import store as ledger_store
from daipin.services.decisions import service as decisions
from daipin.services.shared import clock as shared_clock
from daipin.services.shared import freetext, scope, throttle
from daipin.services.shared import trace as trace
from daipin.services.shared.rows import utc
from daipin.services.shared.rows import workflow_row_fact as row_fact
from daipin.services.shared.rows import workflow_row_facts as row_facts
from daipin.services.villages import service as villages

# The engine's calculations (a premium-subsidy run is the listed subsidies as checked, not a calculation).
ENGINE_KINDS = frozenset(RUN_KIND.codes) - {"premium_subsidy"}

# Which engine document kind a matter of each kind carries (None: any engine document or a free description).
DOCUMENT_KIND: dict[wf.MatterKind, str | None] = {
    wf.MatterKind.VILLAGE_ALLOCATION: "village_allocation",
    wf.MatterKind.DISTRICT_ALLOCATION: "district_allocation",
    wf.MatterKind.BENEFICIARY_ROSTER: "beneficiary_roster",
    # What these decide takes effect only by their execution: their documents say it (services/decisions).
    wf.MatterKind.CONTRACT: "contract",
    wf.MatterKind.SHARE_QUANTIFICATION: "share_quantification",
    wf.MatterKind.ASSET_DISPOSAL: "asset_disposal",
    wf.MatterKind.TOWNSHIP_PROJECT: None,
    # The year's approved premium subsidies the district pays (services/insurance).
    wf.MatterKind.PREMIUM_SUBSIDY: "premium_subsidy",
}

# Who takes each step is the access policy's (`matter.<path>.decide|review|keep`): the step's group on the
# matter's path names the policy action.
_DECIDE_ACTIONS = {wf.Action.UPDATE_DRAFT, wf.Action.CALL_MEETING, wf.Action.RECORD_ATTENDANCE,
                   wf.Action.RECORD_VOTES, wf.Action.DECIDE, wf.Action.SUBMIT, wf.Action.WITHDRAW}
_REVIEW_ACTIONS = {wf.Action.APPROVE, wf.Action.RETURN}
STEP_ACTIONS: dict[wf.Path, tuple[access.Action, access.Action, access.Action]] = {  # decide, review, keep
    wf.Path.VILLAGE: ("matter.village.decide", "matter.village.review", "matter.village.keep"),
    wf.Path.TOWNSHIP: ("matter.township.decide", "matter.township.review", "matter.township.keep"),
    wf.Path.DISTRICT: ("matter.district.decide", "matter.district.review", "matter.district.keep"),
}

# `draft_matter(by=...)`: a village allocation drafted by a year's close (services/yearclose), not by the village.
BY_YEAR_CLOSE = "year_close"

COMPLAINT_HOTLINE = {"name": "全国扶贫监督举报电话", "number": "12317"}

# Rebuilders of a matter's engine document from the registry, by `source.type`: execution
# compares the rebuilt document with the approved one so that changed inputs stop the payment.
DocumentSource = Callable[[Session, dict[str, Any]], dict[str, Any]]
DOCUMENT_SOURCES: dict[str, DocumentSource] = {}


def _village_plan(session: Session, source: dict[str, Any]) -> dict[str, Any]:
    from daipin.services.runs import service as runs

    return runs.build_village_allocation_document(session, str(source["village"]), int(source["year"]))


DOCUMENT_SOURCES["village_plan"] = _village_plan


def _actor_label(actor: Actor) -> str:
    return f"{actor.role.value}:{actor.id}"


def _no_personal_numbers(**fields: str | None) -> None:
    """Officials' free text on the path (a title, a meeting place, review comments...) enters the ledger, the
    dossier and the posted notice as written: it may hold no ID number, phone or bank number (refused, naming the
    field, nothing written)."""
    freetext.check_fields(**fields)


# ---------------------------------------------------------------- loading and permission


def get_matter(session: Session, actor: Actor, matter_id: int, *, for_update: bool = False) -> Matter:
    """The matter, if it exists and lies in the actor's region; the public sees only posted matters."""
    stmt = select(Matter).where(Matter.id == matter_id)
    if for_update:
        stmt = stmt.with_for_update()
    m = session.scalar(stmt)
    if m is None or not _visible(session, actor, m):
        raise NotFound(f"事项 {matter_id} 不存在", f"matter {matter_id} not found", "matter_id")
    return m


def _visible(session: Session, actor: Actor, m: Matter) -> bool:
    """`matter.read`: in the actor's region, or (the public, an entity's users) posted."""
    posted = access.reach(actor, "matter.read").scope is access.Scope.PUBLIC and session.scalar(
        select(Notice.id).where(Notice.matter_id == m.id).limit(1)) is not None
    return access.allowed(actor, "matter.read", region=m.region_code, posted=posted)


def step_action(kind: str, step: wf.Action) -> access.Action:
    """The policy action that takes `step` on a matter of this kind (anyone may object to a posted one)."""
    if step is wf.Action.FILE_OBJECTION:
        return "matter.object"
    decide, review, keep = STEP_ACTIONS[wf.path_of(kind)]
    return decide if step in _DECIDE_ACTIONS else review if step in _REVIEW_ACTIONS else keep


def _authorize(actor: Actor, m: Matter, step: wf.Action) -> None:
    """Forbidden when the role does not take this step on the matter's path; NotFound outside its region."""
    action = step_action(m.kind, step)
    if step is wf.Action.FILE_OBJECTION:
        access.require(actor, action, field="actor")  # whoever sees the notice; the window decides when
        return
    access.require(actor, action, field="actor",
                   what=(wf.ACTION_LABELS[step], f"{step.value} on a {m.kind} matter"))
    if not access.allowed(actor, action, region=m.region_code):
        if m.id is None:  # a draft for a region outside the actor's: the region is unknown to it
            raise NotFound(f"行政区划 {m.region_code} 不存在", f"unknown region {m.region_code}", "region")
        raise NotFound(f"事项 {m.id} 不存在", f"matter {m.id} not found", "matter_id")


def may_act(actor: Actor, m: Matter, step: wf.Action) -> bool:
    """Whether the actor may take `step` on the matter (the pages offer the steps by this)."""
    action = step_action(m.kind, step)
    return access.may(actor, action) if step is wf.Action.FILE_OBJECTION else access.allowed(
        actor, action, region=m.region_code)


def may_draft(actor: Actor) -> bool:
    """Whether the actor drafts matters of some path (the pages show the draft form by this)."""
    return any(access.may(actor, decide) for decide, _, _ in STEP_ACTIONS.values())


def takes_steps(actor: Actor) -> bool:
    """Whether the actor takes any step on some path (its dashboard lists what waits for it)."""
    return any(access.may(actor, a) for actions in STEP_ACTIONS.values() for a in actions)


def _load_for(session: Session, actor: Actor, matter_id: int, action: wf.Action, at: datetime) -> Matter:
    m = get_matter(session, actor, matter_id, for_update=True)
    _authorize(actor, m, action)
    last = last_step_at(session, m)
    if last is not None and utc(at) < last:
        # The server's clock decides: a step is recorded when it is taken, so never before the step it follows.
        raise InputError(f"办理时间不能早于上一步骤（{for_people(last)}）",
                         f"a step cannot be recorded before the previous one ({for_people(last, lang='en')})", "at",
                         code="before_previous_step")
    return m


def last_step_at(session: Session, m: Matter) -> datetime | None:
    """When the matter's latest step was recorded."""
    last = session.scalar(select(func.max(MatterEvent.at)).where(MatterEvent.matter_id == m.id))
    return utc(last) if last is not None else None


def _last_event_at(session: Session, m: Matter) -> datetime | None:
    """The time of the matter's latest event: its declared time (a meeting held, a vote taken) where one was
    declared, else when it was recorded."""
    ev = session.scalar(select(MatterEvent).where(MatterEvent.matter_id == m.id)
                        .order_by(MatterEvent.at.desc(), MatterEvent.id.desc()).limit(1))
    if ev is None:
        return None
    held = (ev.details or {}).get("held_at")
    return utc(datetime.fromisoformat(held)) if isinstance(held, str) else utc(ev.at)


def county_rules(session: Session, county_code: str) -> wf.CountyRules:
    row = session.get(CountyWorkflowRules, county_code[:6])
    return wf.CountyRules.from_stored(row.rules if row else None)


def set_county_rules(session: Session, actor: Actor, county_code: str, rules: dict[str, Any], at: datetime) -> wf.CountyRules:
    """A county configures stricter quorum, meeting notice or notice windows (never looser than the law)."""
    access.require(actor, "workflow.rules", region=county_code[:6], field="actor")
    parsed = wf.CountyRules.from_dict(rules)
    for code in parsed.complaint_phones:
        if not code.startswith(county_code[:6]):
            raise InputError(f"区划 {code} 不在本区（{county_code[:6]}）", f"region {code} is not in county "
                             f"{county_code[:6]}", f"complaint_phones.{code}")
    row = session.get(CountyWorkflowRules, county_code[:6])
    if row is None:
        row = CountyWorkflowRules(county_code=county_code[:6])
        session.add(row)
    row.rules, row.updated_at, row.updated_by = parsed.to_dict(), utc(at), _actor_label(actor)
    trace.record(session, actor=actor, type="workflow.rules", subject=f"county:{county_code[:6]}",
                 region=county_code[:6], facts={**parsed.to_dict(), "row": row_fact(session, row)}, at=utc(at))
    return parsed


# ---------------------------------------------------------------- one step


def _step(session: Session, actor: Actor, m: Matter, action: wf.Action, at: datetime, facts: dict[str, Any],
          *, passed: bool | None = None, rows: Sequence[Any] = (), bump_round: bool = False) -> MatterEvent:
    """Move the matter (the domain decides whether it may) and write the ledger entry and event.

    The entry records the matter row and `rows` (the meeting, review, notice... this step
    wrote) as they stand after the step; `bump_round` starts the next round (back to draft).
    """
    at = utc(at)
    before = wf.State(m.state)
    after = wf.next_state(m.kind, before, action, passed=passed)
    body = {"matter": m.id, "kind": m.kind, "round": m.round, "action": action.value, "from": before.value,
            "to": after.value, **facts}
    m.state = after.value
    m.updated_at = at
    if after in wf.POOL_RELEASED:
        m.pool_key = None  # a failed vote or a withdrawal frees the pool for a new matter
    if bump_round:
        m.round += 1
    # The event row points at the entry that states it (the index it is about to get).
    ev = MatterEvent(matter_id=m.id, county_code=m.county_code, action=action.value, from_state=before.value,
                     to_state=after.value, actor=_actor_label(actor), at=at,
                     ledger_index=ledger_store.next_index(session, ledger_store.route(session, m.region_code)), details=facts)
    session.add(ev)
    facts_of_rows = row_facts(session, [m, *rows, ev])
    body["row"] = facts_of_rows[0]
    body["event"] = facts_of_rows[-1]
    if rows:
        body["rows"] = facts_of_rows[1:-1]
    index = trace.record(session, actor=actor, type=f"matter.{action.value}", subject=f"matter:{m.id}",
                         region=m.region_code, facts=body, at=at)
    assert index == ev.ledger_index
    return ev


# ---------------------------------------------------------------- draft


def _check_region(session: Session, kind: wf.MatterKind, region: str) -> Region:
    level = wf.REGION_LEVEL[wf.path_of(kind)]
    if not isinstance(region, str) or not region.isdigit() or len(region) != level:
        raise InputError(f"{wf.KIND_LABELS[kind]}的所属区划应为{level}位代码", f"region must be a {level}-digit code",
                         "region")
    row = session.scalar(select(Region).where(Region.code == region))
    if row is None:
        raise NotFound(f"行政区划 {region} 不存在", f"unknown region {region}", "region")
    return row


def _preview(session: Session, actor: Actor, kind: wf.MatterKind, document: Any, region: str,
             year: int | None, matter_id: int | None = None) -> tuple[
        dict[str, Any] | None, list[Any]]:
    """Check the document and compute its preview result and warnings (the engine's own errors name fields)."""
    if not isinstance(document, dict):
        raise InputError("事项文件应为 JSON 对象", "the document must be a JSON object", "document")
    try:
        digest(document)
    except ValueError as exc:
        raise InputError("文件中不得含有二进制浮点数，金额和比率请写作整数或小数字符串", str(exc), "document") from None
    want = DOCUMENT_KIND[kind]
    doc_kind = document.get("kind")
    if want is not None and doc_kind != want:
        raise InputError(f"此类事项的文件类型应为 {want}", f"document kind must be {want}", "document.kind")
    if doc_kind in decisions.GATED_KINDS:
        return decisions.check(session, actor, str(doc_kind), document, region), []
    if doc_kind == "premium_subsidy":
        from daipin.services.insurance import batches as insurance

        # Drafting or changing the matter locks the subsidies it lists (then reads which other live matter lists
        # them): of two officials drafting at once, the second waits for the first and finds them listed.
        return insurance.check_document(session, document, region, year, matter_id=matter_id, lock=True), []
    if doc_kind == "beneficiary_roster":
        from daipin.services.rosters import rules as rosters

        result = rosters.check_roster_document(session, document, region, year)
        return result, []
    if doc_kind in ENGINE_KINDS:
        from daipin.domain.engine import calculate

        result = _prefix_errors(calculate, document)
        return result, list(result.get("warnings", []))
    return None, []


def _prefix_errors(fn: Callable[[dict[str, Any]], dict[str, Any]], document: dict[str, Any]) -> dict[str, Any]:
    try:
        return fn(document)
    except InputError as exc:
        if exc.field and not exc.field.startswith("document"):
            exc.field = f"document.{exc.field}"
        raise


def _check_entity_refs(session: Session, project_id: int | None, entity_id: int | None, county: str) -> None:
    """The project and entity a matter names exist and belong to the matter's county."""
    project = session.get(Project, project_id) if project_id is not None else None
    if project_id is not None and project is None:
        raise NotFound(f"项目 {project_id} 不存在", f"project {project_id} not found", "project_id")
    if project is not None and project.county_code != county:
        raise InputError(f"项目 {project.code} 不属于本县（区）", f"project {project.code} is in another county",
                         "project_id")
    entity = session.get(Entity, entity_id) if entity_id is not None else None
    if entity_id is not None and entity is None:
        raise NotFound(f"实施主体 {entity_id} 不存在", f"entity {entity_id} not found", "entity_id")
    if entity is not None and entity.county_code != county:
        raise InputError(f"实施主体 {entity.name} 不属于本县（区）", f"entity {entity.name} is in another county",
                         "entity_id")


@dataclass
class DraftReads:
    """What `prepare_draft` reads for a village allocation, read for many villages of one year at once
    (`draft_reads`): their region rows, the pools among theirs that hold a live matter, and the households on each
    village's confirmed roster of the year (None: none confirmed)."""

    regions: dict[str, Region]
    held: set[str]
    rosters: dict[str, set[str] | None]


def draft_reads(session: Session, villages: Sequence[str], year: int) -> DraftReads:
    """`DraftReads` of village allocations of `year` for `villages`, in a few queries."""
    from daipin.services.rosters import rules as rosters

    out = DraftReads({}, set(), dict.fromkeys(villages))
    for start in range(0, len(villages), 1000):
        part = list(villages[start:start + 1000])
        out.regions.update((r.code, r) for r in session.scalars(select(Region).where(Region.code.in_(part))))
        keys = [wf.pool_key(wf.MatterKind.VILLAGE_ALLOCATION, v, year) for v in part]
        out.held.update(k for k in session.scalars(select(Matter.pool_key).where(Matter.pool_key.in_(keys))) if k)
        # As `rosters.confirmed_roster`: the latest confirmed roster of the village and year.
        for code, doc in session.execute(
                select(Matter.region_code, Matter.document).where(
                    Matter.kind == wf.MatterKind.BENEFICIARY_ROSTER.value, Matter.region_code.in_(part),
                    Matter.year == year, Matter.state.in_(rosters.CONFIRMED)).order_by(Matter.id)):
            out.rosters[code] = {str(h["id"]) for h in (doc or {}).get("households", [])}
    return out


@dataclass
class Draft:
    """A matter checked by `prepare_draft` and not yet written: the row, its region and kind, and its draft facts."""

    matter: Matter
    region: Region
    kind: wf.MatterKind
    year: int | None
    facts: dict[str, Any]


def draft_matter(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    region: str,
    title: str,
    document: dict[str, Any],
    at: datetime,
    year: int | None = None,
    justification: str = "",
    proposer: str = "村民委员会",
    project_id: int | None = None,
    entity_id: int | None = None,
    funding_source: str = "",
    responsible_person: str = "",
    source: dict[str, Any] | None = None,
    by: str | None = None,
) -> Matter:
    """Draft a matter with the engine document it will run; stores the preview result and its warnings.

    `region` is the village (12 digits) for village matters, the township (9) for township
    projects, the county (6) for district allocations.

    `by="year_close"`: a village allocation drafted by a year's close (`services/yearclose`, `BY_YEAR_CLOSE`) for
    the county's official who closes it: allowed by `year.close` over the village instead of the village's own
    `matter.village.decide`, and said so in the draft's ledger entry and event (`"by": "year_close"`). It is a
    draft like any other: the village calls the meeting, which decides (or the village withdraws it).
    """
    d = prepare_draft(session, actor, kind=kind, region=region, title=title, document=document, at=at, year=year,
                      justification=justification, proposer=proposer, project_id=project_id, entity_id=entity_id,
                      funding_source=funding_source, responsible_person=responsible_person, source=source, by=by)
    m, key = d.matter, d.matter.pool_key
    try:
        # Concurrent drafts of one pool both pass the check above; the unique key lets one in (PostgreSQL makes
        # the second wait for the first and then refuses it; SQLite's writers take turns, so it never gets here).
        with session.begin_nested():
            session.add(m)
            session.flush()
    except IntegrityError:
        if key is None:
            raise
        _refuse_second_matter(session, key, d.region, d.kind, d.year)
        raise
    at = m.created_at
    ev = MatterEvent(matter_id=m.id, county_code=m.county_code, action="draft", from_state="", to_state=m.state,
                     actor=_actor_label(actor), at=at, ledger_index=ledger_store.next_index(session, ledger_store.route(session, m.region_code)), details=d.facts)
    session.add(ev)
    index = trace.record(session, actor=actor, type="matter.draft", subject=f"matter:{m.id}", region=m.region_code,
                         facts=_draft_body(m, d.facts, row_fact(session, m), row_fact(session, ev)), at=at)
    assert index == ev.ledger_index
    session.flush()
    return m


def _draft_body(m: Matter, facts: dict[str, Any], row: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    return {"matter": m.id, "kind": m.kind, "round": 1, "action": "draft", "to": "draft", **facts, "row": row,
            "event": event}


def write_drafts(session: Session, actor: Actor, drafts: Sequence[Draft]) -> list[Matter]:
    """Write several prepared drafts of one county at once, each as `draft_matter` writes it: the same matter and
    event rows (ids in the same order) and the same `matter.draft` entries, by a batched insert per table and one
    `append_many`. A pool taken since its draft was prepared fails the batch's insert (the unique key, IntegrityError,
    nothing written): the caller then drafts them one at a time (`draft_matter` names the matter holding the pool).
    """
    if not drafts:
        return []
    counties = {ledger_store.route(session, d.matter.region_code) for d in drafts}
    if len(counties) != 1:
        raise InputError("一次批量起草的事项应属同一区县", "drafts written together must be of one county", "region")
    ms = [d.matter for d in drafts]
    with session.begin_nested():  # refused whole (IntegrityError) if one pool was taken meanwhile
        session.add_all(ms)
        session.flush()
    first = ledger_store.next_index(session, counties.pop())
    label = _actor_label(actor)
    evs = [MatterEvent(matter_id=m.id, county_code=m.county_code, action="draft", from_state="", to_state=m.state,
                       actor=label, at=m.created_at, ledger_index=first + i, details=d.facts)
           for i, (m, d) in enumerate(zip(ms, drafts, strict=True))]
    session.add_all(evs)
    facts = row_facts(session, [*ms, *evs])
    entries = [{"type": "matter.draft", "actor": label, "region": m.region_code, "subject": f"matter:{m.id}",
                "facts": _draft_body(m, d.facts, facts[i], facts[len(ms) + i]), "at": m.created_at}
               for i, (m, d) in enumerate(zip(ms, drafts, strict=True))]
    indices = ledger_store.append_many(session, entries)
    assert indices == [ev.ledger_index for ev in evs]
    session.flush()
    return ms


def prepare_draft(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    region: str,
    title: str,
    document: dict[str, Any],
    at: datetime,
    year: int | None = None,
    justification: str = "",
    proposer: str = "村民委员会",
    project_id: int | None = None,
    entity_id: int | None = None,
    funding_source: str = "",
    responsible_person: str = "",
    source: dict[str, Any] | None = None,
    by: str | None = None,
    known: DraftReads | None = None,
) -> Draft:
    """`draft_matter`'s checks (its keywords) and the matter they make, not yet written: `draft_matter` writes it
    alone, `write_drafts` several at once. `known`: what the checks read, read by the caller for many drafts at once
    in the same transaction (`draft_reads`)."""
    mk = wf.parse_kind(kind)
    if not isinstance(title, str) or not title.strip():
        raise InputError("缺少事项名称", "missing title", "title")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100):
        raise InputError("年度无效", "invalid year", "year")
    if mk in (wf.MatterKind.VILLAGE_ALLOCATION, wf.MatterKind.BENEFICIARY_ROSTER) and year is None:
        year = document.get("year") if isinstance(document, dict) and isinstance(document.get("year"), int) else None
        if year is None:
            raise InputError("须填写年度（对应当年确认的收益扶贫对象名单）", "the year is required", "year")
    if mk is wf.MatterKind.DISTRICT_ALLOCATION and year is None:
        raise InputError("须填写年度（区级收益资金分配按年度办理）", "the year is required (one allocation a year)", "year")
    if mk is wf.MatterKind.PREMIUM_SUBSIDY and year is None:
        raise InputError("须填写年度（保费补贴按年度支付）", "the year is required (subsidies are paid by year)", "year")
    if source is not None and (not isinstance(source, dict) or source.get("type") not in DOCUMENT_SOURCES):
        raise InputError("未知的文件来源", "unknown document source", "source")
    _no_personal_numbers(title=title, justification=justification, proposer=proposer, funding_source=funding_source,
                         responsible_person=responsible_person)
    reg = known.regions[region] if known is not None and region in known.regions else _check_region(session, mk, region)
    probe = Matter(kind=mk.value, region_code=reg.code, county_code=reg.code[:6], state=wf.State.DRAFT.value)
    if by is None:
        _authorize(actor, probe, wf.Action.UPDATE_DRAFT)
    elif by == BY_YEAR_CLOSE and mk is wf.MatterKind.VILLAGE_ALLOCATION:
        access.require(actor, "year.close", field="actor")
        if not access.allowed(actor, "year.close", region=reg.code):
            raise NotFound(f"行政区划 {reg.code} 不存在", f"unknown region {reg.code}", "region")
    else:
        raise InputError("只有年度结账可代为起草村级收益分配事项", "only a year's close drafts on a village's behalf, "
                         "and only its allocation", "by")
    _check_entity_refs(session, project_id, entity_id, reg.code[:6])
    key = wf.pool_key(mk, reg.code, year)
    if key is not None and (known is None or key in known.held or reg.code not in known.rosters):
        _refuse_second_matter(session, key, reg, mk, year)
    document = _with_performance(session, actor, mk, reg.code, document, year, at)
    preview, warnings = _preview(session, actor, mk, document, reg.code, year)
    if mk is wf.MatterKind.VILLAGE_ALLOCATION:
        from daipin.services.rosters import rules as rosters

        on_roster: Any = known.rosters[reg.code] if known is not None and reg.code in known.rosters else ...
        rosters.require_on_roster(session, reg.code, year, document, error=InputError, on_roster=on_roster)
    at = utc(at)
    m = Matter(kind=mk.value, state=wf.State.DRAFT.value, round=1, county_code=reg.code[:6], region_code=reg.code,
               title=title.strip(), year=year, proposer=proposer or "", project_id=project_id, entity_id=entity_id,
               funding_source=funding_source or "", responsible_person=responsible_person or "",
               justification=justification or "", document=document, document_digest=digest(document),
               preview=preview, preview_digest=digest(preview) if preview is not None else None,
               warnings=warnings, source=source, created_at=at, created_by=_actor_label(actor), updated_at=at,
               pool_key=key)
    facts = {"title": m.title, "year": year, "region": m.region_code, "proposer": m.proposer,
             "document_digest": m.document_digest, "preview_digest": m.preview_digest,
             "warnings": [w.get("code") for w in warnings], "justification": bool(m.justification.strip())}
    if by is not None:
        facts["by"] = by
    return Draft(m, reg, mk, year, facts)


def _with_performance(session: Session, actor: Actor, kind: wf.MatterKind, region: str, document: Any,
                      year: int | None, at: datetime) -> Any:
    """A district allocation's document with the villages' performance coefficients from their indicators, when the
    county derives them so (its supervision setting), and the basis of each."""
    if kind is not wf.MatterKind.DISTRICT_ALLOCATION:
        return document
    from daipin.services.supervision import performance

    return performance.fill(session, actor, region[:6], document, year, at)


def _refuse_second_matter(session: Session, key: str, reg: Region, kind: wf.MatterKind, year: int | None) -> None:
    """Conflict naming the live matter that holds the pool `key` already, if there is one."""
    first = session.scalar(select(Matter).where(Matter.pool_key == key))
    if first is None:
        return
    what = f"{reg.name} {year} 年度{wf.KIND_LABELS[kind]}"
    raise Conflict(f"{what}已有在办事项 #{first.id}「{first.title}」（{wf.STATE_LABELS[wf.State(first.state)]}）："
                   "同一资金池只能有一个在办事项；如需另行办理，须先在执行前撤回该事项并说明理由",
                   f"{kind.value} of {reg.code} for {year} already has a live matter #{first.id} ({first.state}); "
                   "withdraw it with reasons before it executes to draft another", "year", code="pool_taken")


def withdraw(session: Session, actor: Actor, matter_id: int, *, reason: str, at: datetime) -> Matter:
    """Withdraw a matter before it executed, with the reasons (撤回): it frees its pool for a new matter."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise InputError("撤回事项须写明理由", "a withdrawal needs its reasons", "reason")
    if len(reason) > 1000:
        raise InputError("撤回理由过长（最多 1000 字）", "reasons too long (1000 characters at most)", "reason")
    freetext.check(reason, "reason", "撤回理由")
    m = _load_for(session, actor, matter_id, wf.Action.WITHDRAW, at)
    notice = current_notice(session, m)
    rows: list[Any] = []
    if notice is not None and notice.status == "open":
        notice.status = "withdrawn"
        rows.append(notice)
    _step(session, actor, m, wf.Action.WITHDRAW, at, {"reason": reason, "pool": m.pool_key}, rows=rows)
    return m


def draft_allocation_from_plan(session: Session, actor: Actor, *, village: str, year: int, at: datetime,
                               title: str | None = None, document: dict[str, Any] | None = None,
                               **kw: Any) -> Matter:
    """Draft a village allocation from the stored plan and the registry; execution rebuilds it and compares.

    `document`: the plan's document already built by the caller from the same plan and registry (the year close
    takes its allocation run's input, `runs.village_allocation_document`); it must be the one rebuilt here, which
    execution checks again."""
    return draft_matter(session, actor, **_from_plan(session, village, year, title, document), at=at, **kw)


def prepare_allocation_from_plan(session: Session, actor: Actor, *, village: str, year: int, at: datetime,
                                 title: str | None = None, document: dict[str, Any] | None = None,
                                 **kw: Any) -> Draft:
    """`draft_allocation_from_plan` checked and not yet written (`write_drafts`)."""
    return prepare_draft(session, actor, **_from_plan(session, village, year, title, document), at=at, **kw)


def _from_plan(session: Session, village: str, year: int, title: str | None,
               document: dict[str, Any] | None) -> dict[str, Any]:
    source = {"type": "village_plan", "village": village, "year": year}
    return {"kind": wf.MatterKind.VILLAGE_ALLOCATION.value, "region": village,
            "title": title or f"{year}年度村级收益分配",
            "document": document if document is not None else _village_plan(session, source), "year": year,
            "source": source}


def update_draft(session: Session, actor: Actor, matter_id: int, *, at: datetime, document: dict[str, Any] | None = None,
                 title: str | None = None, justification: str | None = None, funding_source: str | None = None,
                 responsible_person: str | None = None) -> Matter:
    """Change a draft (also after it was returned or reopened); the preview is computed again."""
    m = _load_for(session, actor, matter_id, wf.Action.UPDATE_DRAFT, at)
    wf.next_state(m.kind, m.state, wf.Action.UPDATE_DRAFT)
    _no_personal_numbers(title=title, justification=justification, funding_source=funding_source,
                         responsible_person=responsible_person)
    changed: list[str] = []
    if document is not None:
        mk = wf.MatterKind(m.kind)
        document = _with_performance(session, actor, mk, m.region_code, document, m.year, at)
        preview, warnings = _preview(session, actor, mk, document, m.region_code, m.year, m.id)
        if mk is wf.MatterKind.VILLAGE_ALLOCATION:
            from daipin.services.rosters import rules as rosters

            rosters.require_on_roster(session, m.region_code, m.year, document, error=InputError)
        m.document, m.document_digest = document, digest(document)
        m.preview, m.preview_digest = preview, digest(preview) if preview is not None else None
        m.warnings = warnings
        changed.append("document")
    if title is not None:
        if not title.strip():
            raise InputError("缺少事项名称", "missing title", "title")
        m.title = title.strip()
        changed.append("title")
    for name, value in (("justification", justification), ("funding_source", funding_source),
                        ("responsible_person", responsible_person)):
        if value is not None:
            setattr(m, name, value)
            changed.append(name)
    if not changed:
        raise InputError("没有要修改的内容", "nothing to change", "document")
    _step(session, actor, m, wf.Action.UPDATE_DRAFT, at,
          {"changed": changed, "document_digest": m.document_digest, "preview_digest": m.preview_digest,
           "warnings": [w.get("code") for w in m.warnings], "justification": bool(m.justification.strip())})
    return m


# ---------------------------------------------------------------- meeting


def current_meeting(session: Session, m: Matter) -> Meeting | None:
    return session.scalar(select(Meeting).where(Meeting.matter_id == m.id, Meeting.round == m.round)
                          .order_by(Meeting.id.desc()).limit(1))


def _meeting_or_conflict(session: Session, m: Matter) -> Meeting:
    mt = current_meeting(session, m)
    if mt is None:
        raise Conflict("尚未召集会议", "no meeting has been called", "meeting")
    return mt


def _when(value: datetime, field_name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InputError("应为日期时间", "must be a date and time", field_name)
    return utc(value)


def _registry_eligible(session: Session, m: Matter, mtype: wf.MeetingType, scheduled: datetime) -> tuple[
        wf.Eligible, dict[str, Any]]:
    """A village meeting's eligible numbers, counted from the registry for the meeting's day (Beijing), with the
    facts its ledger entry records; refused when the registry gives the meeting no one to count."""
    day = beijing_date(scheduled)
    counted = villages.registry_counts(session, m.region_code, day)
    if mtype is wf.MeetingType.REPRESENTATIVES and not counted.representatives:
        raise Conflict(f"本村没有登记在任的村民代表（会议日 {day.isoformat()}），不能召开村民代表会议；"
                       "请先登记村民代表名单（daipin village representatives add，或“村民代表”页面）",
                       f"the village has no recorded representatives serving on {day.isoformat()}: record its "
                       "list of representatives before calling a representatives' meeting", "type",
                       code="no_representatives")
    if mtype is wf.MeetingType.VILLAGERS and counted.adults == 0:
        raise Conflict(f"登记册中本村没有会议日（{day.isoformat()}）年满{wf.ADULT_AGE}周岁的在册村民，不能召开村民会议",
                       f"the registry has no villager {wf.ADULT_AGE} or over on {day.isoformat()}", "type",
                       code="no_villagers")
    eligible = wf.Eligible(adults=counted.adults, households=counted.households,
                           representatives=len(counted.representatives))
    return eligible, counted.facts()


def call_meeting(session: Session, actor: Actor, matter_id: int, *, type: str, scheduled_at: datetime, place: str,
                 at: datetime, eligible_members: int = 0) -> Meeting:
    """Call the 村民会议 / 村民代表会议 (at least 10 days ahead, or the county's stricter notice).

    A village meeting's eligible adults, households and representatives are counted from the registry for the
    meeting's day and fixed on the meeting row (and in its ledger entry); only a leading group's members, of whom
    there is no registry, are given."""
    m = _load_for(session, actor, matter_id, wf.Action.CALL_MEETING, at)
    wf.next_state(m.kind, m.state, wf.Action.CALL_MEETING)
    mtype = wf.parse_meeting_type(type, m.kind)
    at, scheduled = utc(at), _when(scheduled_at, "scheduled_at")
    if not isinstance(place, str) or not place.strip():
        raise InputError("缺少会议地点", "missing meeting place", "place")
    _no_personal_numbers(place=place)
    rules = county_rules(session, m.county_code)
    min_days = 0 if mtype is wf.MeetingType.LEADING_GROUP else rules.meeting_notice_days
    if scheduled <= at:
        raise InputError("开会时间须晚于召集时间", "the meeting must be in the future", "scheduled_at")
    wf.check_meeting_notice(at, scheduled, min_days)
    source: dict[str, Any] = {"source": "typed"}
    if mtype is wf.MeetingType.LEADING_GROUP:
        eligible = wf.Eligible(members=eligible_members)
    else:
        if eligible_members:
            raise InputError("只有领导小组会议填写应到成员数", "only a leading group's meeting gives its members",
                             "eligible_members")
        eligible, source = _registry_eligible(session, m, mtype, scheduled)
    wf.check_eligible(mtype, eligible)
    mt = Meeting(matter_id=m.id, round=m.round, county_code=m.county_code, type=mtype.value, called_at=at,
                 scheduled_at=scheduled, place=place.strip(), eligible_adults=eligible.adults,
                 eligible_households=eligible.households, eligible_representatives=eligible.representatives,
                 eligible_members=eligible.members, minutes_ref="", attendance_sheet_ref="")
    session.add(mt)
    session.flush()
    _step(session, actor, m, wf.Action.CALL_MEETING, at,
          {"meeting": mt.id, "type": mtype.value, "scheduled_at": scheduled.isoformat(), "place": mt.place,
           "eligible": {"adults": eligible.adults, "households": eligible.households,
                        "representatives": eligible.representatives, "members": eligible.members},
           "eligible_counted": source, "notice_days_required": min_days}, rows=[mt])
    return mt


def _declared(session: Session, m: Matter, held_at: datetime | None, at: datetime, field: str, what_zh: str, *,
              not_before: datetime | None = None) -> datetime | None:
    """A paper event's declared time: checked against the recording time `at`, the previous step's event and the
    county's limit (30 days unless stricter)."""
    if held_at is None:
        return None
    if not isinstance(held_at, datetime):
        raise InputError("应为日期时间", "must be a date and time", field)
    previous = _last_event_at(session, m)
    bounds = [t for t in (previous, not_before) if t is not None]
    return shared_clock.declared_time(held_at, recorded_at=at, not_before=max(bounds) if bounds else None,
                                      max_days=county_rules(session, m.county_code).declared_time_days, field=field,
                                      what_zh=what_zh)


def _held(held: datetime | None) -> dict[str, str]:
    return {"held_at": held.isoformat()} if held is not None else {}


def _meeting_has_sat(mt: Meeting, at: datetime, what: str) -> None:
    if at < utc(mt.scheduled_at):
        raise Conflict(f"会议尚未召开（定于 {for_people(mt.scheduled_at)}），不能{what}",
                       f"the meeting has not sat yet (it sits at {for_people(mt.scheduled_at, lang='en')})", "at")


def _attendees(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError("到会名单应为列表", "attendees must be a list", "attendees")
    out: list[dict[str, Any]] = []
    keys: set[str] = set()
    for i, a in enumerate(value):
        if isinstance(a, str):
            a = {"key": a}
        if not isinstance(a, dict) or not str(a.get("key") or "").strip():
            raise InputError("到会人员须有编号（key）", "each attendee needs a key", f"attendees[{i}].key")
        k = str(a["key"]).strip()
        if k in keys:
            raise InputError(f"到会人员“{k}”重复", f"attendee {k!r} listed twice", f"attendees[{i}].key")
        keys.add(k)
        extra = set(a) - {"key", "name", "household", "role"}
        if extra:
            raise InputError(f"到会名单不收集“{sorted(extra)[0]}”", "unknown attendee field",
                             f"attendees[{i}].{sorted(extra)[0]}")
        out.append({"key": k, **{f: str(a[f]) for f in ("name", "household", "role") if a.get(f)}})
    return out


def record_attendance(session: Session, actor: Actor, matter_id: int, *, at: datetime, present_adults: int = 0,
                      present_households: int = 0, present_representatives: int = 0, present_members: int = 0,
                      first_secretary_present: bool, cadres_present: list[str] | None = None,
                      attendees: list[Any] | None = None, minutes_ref: str = "",
                      attendance_sheet_ref: str = "", held_at: datetime | None = None) -> Meeting:
    """Record who came (counts, optionally by name), whether the first secretary / resident cadre attended.

    `at` is when this is recorded; `held_at`, if given, when the meeting was held (a paper record's own time)."""
    m = _load_for(session, actor, matter_id, wf.Action.RECORD_ATTENDANCE, at)
    wf.next_state(m.kind, m.state, wf.Action.RECORD_ATTENDANCE)
    mt = _meeting_or_conflict(session, m)
    at = utc(at)
    _meeting_has_sat(mt, at, "登记到会")
    held = _declared(session, m, held_at, at, "held_at", "会议召开时间", not_before=utc(mt.scheduled_at))
    if mt.votes_at is not None:
        raise Conflict("已登记表决，不能再改到会情况", "votes are recorded; attendance is closed", "attendance")
    eligible = _eligible(mt)
    present = wf.Present(present_adults, present_households, present_representatives, present_members)
    wf.check_present(eligible, present)
    people = _attendees(attendees)
    mtype = wf.MeetingType(mt.type)
    if people and len(people) != wf.attendees_of(mtype, present):
        raise InputError(f"到会名单 {len(people)} 人与到会人数 {wf.attendees_of(mtype, present)} 不符",
                         "the attendance list does not match the count", "attendees")
    if not isinstance(first_secretary_present, bool):
        raise InputError("须注明第一书记（驻村干部）是否到会", "state whether the first secretary attended",
                         "first_secretary_present")
    cadres = [str(c).strip() for c in (cadres_present or []) if str(c).strip()]
    _no_personal_numbers(minutes_ref=minutes_ref, attendance_sheet_ref=attendance_sheet_ref,
                         cadres_present="、".join(cadres))
    # The attendance list is kept in the meeting's row, and so in the dossier: a name or role may hold no personal
    # number (a key or household may be a registry number, which is no one's phone or account).
    for i, person in enumerate(people):
        freetext.check_fields(**{f"attendees[{i}].{k}": person.get(k) for k in ("name", "role")})
    mt.attendance_at = at
    mt.present_adults, mt.present_households = present.adults, present.households
    mt.present_representatives, mt.present_members = present.representatives, present.members
    mt.attendees, mt.first_secretary_present, mt.cadres_present = people, first_secretary_present, cadres
    mt.minutes_ref, mt.attendance_sheet_ref = minutes_ref or "", attendance_sheet_ref or ""
    _step(session, actor, m, wf.Action.RECORD_ATTENDANCE, at,
          {"meeting": mt.id, "present": {"adults": present.adults, "households": present.households,
                                         "representatives": present.representatives, "members": present.members},
           "attendees": len(people), "first_secretary_present": first_secretary_present,
           "cadres_present": len(cadres), "minutes_ref": mt.minutes_ref,
           "attendance_sheet_ref": mt.attendance_sheet_ref, **_held(held)}, rows=[mt])
    return mt


def _eligible(mt: Meeting) -> wf.Eligible:
    return wf.Eligible(mt.eligible_adults, mt.eligible_households, mt.eligible_representatives, mt.eligible_members)


def _present(mt: Meeting) -> wf.Present:
    return wf.Present(mt.present_adults or 0, mt.present_households or 0, mt.present_representatives or 0,
                      mt.present_members or 0)


def record_votes(session: Session, actor: Actor, matter_id: int, *, at: datetime, votes_for: int | None = None,
                 against: int | None = None, abstain: int | None = None,
                 ballots: list[dict[str, Any]] | None = None, held_at: datetime | None = None) -> Meeting:
    """Record the vote: counts (for / against / abstain) or one ballot per named attendee; `held_at`, if given,
    when the vote was taken (a paper record's own time)."""
    m = _load_for(session, actor, matter_id, wf.Action.RECORD_VOTES, at)
    wf.next_state(m.kind, m.state, wf.Action.RECORD_VOTES)
    mt = _meeting_or_conflict(session, m)
    at = utc(at)
    _meeting_has_sat(mt, at, "登记表决")
    if mt.attendance_at is None:
        raise Conflict("须先登记到会情况", "record attendance first", "attendance")
    held = _declared(session, m, held_at, at, "held_at", "表决时间", not_before=utc(mt.scheduled_at))
    mtype = wf.MeetingType(mt.type)
    attendees = wf.attendees_of(mtype, _present(mt))
    clean_ballots: list[dict[str, str]] | None = None
    if ballots is not None:
        if votes_for is not None or against is not None or abstain is not None:
            raise InputError("按人表决与票数二选一", "give either ballots or counts", "ballots")
        if not isinstance(ballots, list):
            raise InputError("表决记录应为列表", "ballots must be a list", "ballots")
        pairs: list[tuple[str, str]] = []
        for i, b in enumerate(ballots):
            if not isinstance(b, dict):
                raise InputError("每张表决票应为对象", "each ballot must be an object", f"ballots[{i}]")
            vote = str(b.get("vote", ""))
            pairs.append((str(b.get("attendee", "")), wf.VOTE_ALIASES.get(vote, vote)))
        keys = [a["key"] for a in (mt.attendees or [])]
        if not keys:
            raise InputError("按人表决须先登记到会名单", "ballots need a named attendance list", "ballots")
        tally = wf.tally_ballots(pairs, keys)
        clean_ballots = [{"attendee": w, "vote": v} for w, v in pairs]
    else:
        if votes_for is None or against is None or abstain is None:
            raise InputError("须填写赞成、反对、弃权票数", "give for, against and abstain counts", "votes")
        tally = wf.Tally(votes_for, against, abstain)
    wf.check_tally(tally, attendees)
    mt.votes_at = at
    mt.votes_for, mt.votes_against, mt.votes_abstain = tally.votes_for, tally.against, tally.abstain
    mt.ballots = clean_ballots
    _step(session, actor, m, wf.Action.RECORD_VOTES, at,
          {"meeting": mt.id, "votes": {"for": tally.votes_for, "against": tally.against, "abstain": tally.abstain},
           "by_name": clean_ballots is not None,
           "ballots_digest": digest(clean_ballots) if clean_ballots is not None else None, **_held(held)},
          rows=[mt])
    return mt


def decide(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> Meeting:
    """Declare the outcome: quorum, then majority of those present → `decided`, else `rejected`."""
    m = _load_for(session, actor, matter_id, wf.Action.DECIDE, at)
    wf.next_state(m.kind, m.state, wf.Action.DECIDE, passed=True)
    mt = _meeting_or_conflict(session, m)
    at = utc(at)
    _meeting_has_sat(mt, at, "宣布表决结果")
    if mt.attendance_at is None:
        raise Conflict("须先登记到会情况", "record attendance first", "attendance")
    mtype = wf.MeetingType(mt.type)
    rules = county_rules(session, m.county_code)
    no_votes = wf.Tally(0, 0, 0)
    provisional = wf.decide(mtype, _eligible(mt), _present(mt), no_votes, rules.quorum)
    if mt.votes_at is None and provisional.quorum_met:
        raise Conflict("须先登记表决结果", "record the votes first", "votes")
    tally = wf.Tally(mt.votes_for or 0, mt.votes_against or 0, mt.votes_abstain or 0)
    d = wf.decide(mtype, _eligible(mt), _present(mt), tally, rules.quorum)
    # Without quorum the meeting decided nothing: no vote passed or failed (`passed` stays empty),
    # the meeting is kept as inquorate and the matter goes back to draft for a new meeting.
    mt.quorum_met, mt.passed, mt.decided_at = d.quorum_met, d.passed if d.quorum_met else None, at
    mt.outcome_reasons = [{"zh": z, "en": e} for z, e in zip(d.reasons_zh, d.reasons_en, strict=True)]
    if d.passed and not wf.has_review(m.kind):
        # The leading group's vote is final: what it approved is what will be executed.
        m.approved_document_digest, m.approved_preview_digest = m.document_digest, m.preview_digest
    _step(session, actor, m, d.action, at,
          {"meeting": mt.id, "quorum_met": d.quorum_met, "passed": mt.passed,
           "reasons": list(d.reasons_zh), "rules": rules.to_dict()["quorum"]},
          passed=d.passed, rows=[mt])
    return mt


# ---------------------------------------------------------------- review


def submit_for_review(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> Matter:
    m = _load_for(session, actor, matter_id, wf.Action.SUBMIT, at)
    _step(session, actor, m, wf.Action.SUBMIT, at,
          {"document_digest": m.document_digest, "preview_digest": m.preview_digest})
    return m


def blacklisted_parties(session: Session, m: Matter) -> list[str]:
    """Names of blacklisted entities party to the matter: its entity, its project's entity, the document's entity."""
    ids: set[int] = set()
    if m.entity_id is not None:
        ids.add(m.entity_id)
    if m.project_id is not None:
        p = session.get(Project, m.project_id)
        if p is not None:
            ids.add(p.entity_id)
    names: list[str] = []
    for e in session.scalars(select(Entity).where(Entity.id.in_(ids)).order_by(Entity.id)):
        if e.credit_status == "blacklisted":
            names.append(e.name)
    doc_entity = (m.document or {}).get("entity")
    if isinstance(doc_entity, dict) and doc_entity.get("id"):
        # A settlement document names its entity by the unified social credit code.
        named = session.scalar(select(Entity).where(Entity.uscc == str(doc_entity["id"])))
        if named is not None and named.credit_status == "blacklisted" and named.name not in names:
            names.append(named.name)
    if m.kind == wf.MatterKind.PREMIUM_SUBSIDY.value:  # the entities its subsidies are paid to
        from daipin.services.insurance import batches as insurance

        names.extend(n for n in insurance.blacklisted_in(session, m.document or {}) if n not in names)
    return names


def review_blockers(session: Session, m: Matter) -> list[wf.Blocker]:
    mt = current_meeting(session, m) if wf.has_meeting(m.kind) else None
    if wf.has_meeting(m.kind) and (mt is None or mt.quorum_met is None):
        return [wf.Blocker("no_meeting", "未经会议决定", "no meeting decided this matter")]
    return wf.review_blockers(
        quorum_met=mt.quorum_met if mt is not None else None,
        passed=mt.passed if mt is not None else None,
        warnings=m.warnings or [],
        justification=m.justification,
        blacklisted=blacklisted_parties(session, m),
    )


def _refuse(blockers: list[wf.Blocker], what_zh: str, what_en: str) -> None:
    if blockers:
        raise Conflict(
            f"{what_zh}：" + "；".join(b.message_zh for b in blockers),
            f"{what_en}: " + "; ".join(b.message_en for b in blockers),
            "review",
            code=blockers[0].code,
        )


def review(session: Session, actor: Actor, matter_id: int, *, decision: str, comments: str = "",
           at: datetime) -> Review:
    """Approve, or return to draft with written comments. Approval is refused when the path was not sound."""
    if decision not in REVIEW_DECISION:
        raise InputError("审核意见应为 approve（通过）或 return（退回）", "decision must be approve or return", "decision")
    action = wf.Action.APPROVE if decision == "approve" else wf.Action.RETURN
    m = _load_for(session, actor, matter_id, action, at)
    wf.next_state(m.kind, m.state, action)
    comments = (comments or "").strip()
    _no_personal_numbers(comments=comments)
    if action is wf.Action.RETURN and not comments:
        raise InputError("退回须写明意见", "a return needs written comments", "comments")
    blockers = review_blockers(session, m) if action is wf.Action.APPROVE else []
    _refuse(blockers, "不予审核通过", "approval refused")
    at = utc(at)
    r = Review(matter_id=m.id, round=m.round, county_code=m.county_code, decision=decision, comments=comments,
               reviewer=_actor_label(actor), at=at, document_digest=m.document_digest,
               preview_digest=m.preview_digest)
    session.add(r)
    session.flush()
    facts = {"review": r.id, "decision": decision, "comments": comments, "document_digest": m.document_digest,
             "preview_digest": m.preview_digest}
    if action is wf.Action.APPROVE:
        m.approved_document_digest, m.approved_preview_digest = m.document_digest, m.preview_digest
    _step(session, actor, m, action, at, facts, rows=[r], bump_round=action is wf.Action.RETURN)
    return r


# ---------------------------------------------------------------- notice and objections


def current_notice(session: Session, m: Matter) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.matter_id == m.id, Notice.round == m.round,
                                               Notice.status != "withdrawn").order_by(Notice.id.desc()).limit(1))


def _checkpoint_text(session: Session, region: str) -> tuple[str, dict[str, Any]]:
    """The checkpoint of the ledger of `region`'s county current now: the signed note, and size, root and key id
    for the posted text."""
    import base64

    from daipin.ledger import store

    county = store.route(session, region)
    cp = store.latest_checkpoint(session, county)
    if cp is None:
        return "", {}
    store.record_witness(session, cp.note, "notice", cp.at, county=county)  # printed: seen outside from now on
    key_id = store.info(session, county)["key_id"]
    return cp.note, {"size": cp.size, "root": base64.b64encode(cp.root).decode("ascii"), "key_id": key_id}


def _household_names(session: Session, refs: list[str]) -> dict[str, str]:
    """Head-of-household names from the registry, keyed by household number."""
    if not refs:
        return {}
    rows = session.execute(
        select(Household.household_no, Person.name)
        .join(Person, Person.household_id == Household.id)
        .where(Household.household_no.in_(refs), Person.relation == "户主")
    ).all()
    return dict(rows)


def _household_numbers(session: Session, refs: list[str]) -> frozenset[str]:
    """Those of `refs` that are registered household numbers (identifiers, not personal data)."""
    if not refs:
        return frozenset()
    return frozenset(session.scalars(select(Household.household_no).where(Household.household_no.in_(refs))))


def _region_names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def beneficiaries(session: Session, m: Matter) -> list[dict[str, Any]]:
    """Each beneficiary's name and amount from the preview; no other personal data."""
    doc, preview = m.document or {}, m.preview or {}
    doc_names = {str(h.get("id")): str(h.get("name")) for key in ("households", "villages", "payees")
                 for h in doc.get(key, []) if isinstance(h, dict) and h.get("name")}
    kind = doc.get("kind")
    rows: list[tuple[str, str, int | None]] = []
    if kind == "village_allocation":
        rows = [(str(h), "household", int(v)) for h, v in sorted(preview.get("households", {}).items()) if v]
    elif kind == "district_allocation":
        rows = [(str(line["village"]), "village", int(line["amount_fen"])) for line in preview.get("lines", [])]
    elif kind == "settlement":
        paid: dict[str, int] = {}
        for line in preview.get("lines", []):
            paid[str(line["payee"])] = paid.get(str(line["payee"]), 0) + int(line.get("paid_fen", 0))
        rows = [(p, "payee", v) for p, v in sorted(paid.items()) if v]
    elif kind == "beneficiary_roster":
        rows = [(str(h["id"]), "household", None) for h in doc.get("households", [])]
    elif kind in decisions.GATED_KINDS:
        rows = [(str(p["ref"]), str(p["type"]), None) for p in preview.get("payees", [])]
    elif kind == "premium_subsidy":
        doc_names.update({str(line["payee"]): str(line["name"]) for line in preview.get("lines", [])})
        rows = [(str(line["payee"]), "entity", int(line["amount_fen"])) for line in preview.get("lines", [])]
    hh_names = _household_names(session, [r for r, t, _ in rows if t != "village"])
    reg_names = _region_names(session, [r for r, t, _ in rows if t == "village"])
    out = []
    for ref, typ, amount in rows:
        name = doc_names.get(ref) or hh_names.get(ref) or reg_names.get(ref) or ref
        item: dict[str, Any] = {"ref": ref, "type": typ, "name": name}
        if amount is not None:
            item["amount_fen"] = amount
        out.append(item)
    return out


COMPLAINT_PHONE_SOURCE = "本区议事规则设置的监督电话（daipin matter rules 区代码 规则文件：complaint_phones）"
COMPLAINT_PHONE_SOURCE_EN = "complaint numbers set in the county's rules (daipin matter rules COUNTY FILE: complaint_phones)"


def complaint_channels(session: Session, m: Matter, region: Region | None,
                       township: Region | None) -> list[dict[str, str]]:
    """Where to complain: the village committee and the township government with the office numbers the county
    set for them (`complaint_phones` of its rules; the county's own number stands in for a township without
    one), each naming where its number comes from, then the national hotline."""
    rules = county_rules(session, m.county_code)
    channels: list[dict[str, str]] = []

    def channel(level: str, name: str, *codes: str) -> None:
        item = {"level": level, "name": name}
        for code in codes:
            number = rules.complaint_phone(code)
            if number:
                item.update({"number": number, "source": COMPLAINT_PHONE_SOURCE, "source_en": COMPLAINT_PHONE_SOURCE_EN,
                             "source_region": code})
                break
        channels.append(item)

    if region is not None and len(region.code) == 12:
        channel("village", f"{region.name}村民委员会", region.code)
    if township is not None:
        channel("township", f"{township.name}人民政府", township.code, m.county_code)
    channels.append({"level": "hotline", **COMPLAINT_HOTLINE, "source": "全国统一的监督举报电话",
                     "source_en": "the national hotline"})
    return channels


def issuer_of(m: Matter, region: Region | None, township: Region | None, posted_at: datetime) -> dict[str, str]:
    """落款: the body that issues the notice (the village committee, or the township government, or the county's
    leading group) and the day it is issued, in Beijing time."""
    if region is not None and len(region.code) == 12:
        name = f"{region.name}村民委员会"
    elif region is not None and len(region.code) == 9:
        name = f"{region.name}人民政府"
    elif region is not None:
        name = f"{region.name}巩固拓展脱贫攻坚成果领导小组"
    else:
        name = m.region_code
    day = beijing_date(posted_at)
    return {"name": name, "date": f"{day.year}年{day.month}月{day.day}日", "date_iso": day.isoformat()}


def meeting_facts(session: Session, m: Matter) -> dict[str, Any] | None:
    """The meeting that decided the matter as the notice tells it: type, time, place, who could and who did
    attend, the tally and the outcome (counts only, no names)."""
    if not wf.has_meeting(m.kind):
        return None
    mt = current_meeting(session, m)
    if mt is None:
        return None
    present = next((v for v in (mt.present_representatives, mt.present_adults, mt.present_households,
                                mt.present_members) if v), 0)
    out: dict[str, Any] = {
        "type": mt.type, "type_label": MEETING_TYPE.zh(mt.type),
        "scheduled_at": utc(mt.scheduled_at).isoformat(), "place": mt.place,
        "eligible": {"adults": mt.eligible_adults, "households": mt.eligible_households,
                     "representatives": mt.eligible_representatives, "members": mt.eligible_members},
        "present": {"adults": mt.present_adults, "households": mt.present_households,
                    "representatives": mt.present_representatives, "members": mt.present_members, "count": present},
    }
    if mt.votes_at is not None:
        out["votes"] = {"for": mt.votes_for or 0, "against": mt.votes_against or 0, "abstain": mt.votes_abstain or 0,
                        "at": utc(mt.votes_at).isoformat()}
    if mt.decided_at is not None:
        out["passed"] = bool(mt.passed)
        out["quorum_met"] = bool(mt.quorum_met)
    return out


def review_facts(session: Session, m: Matter) -> dict[str, Any] | None:
    """The township's latest review of this round: its decision, opinion, reviewing body and time."""
    r = session.scalar(select(Review).where(Review.matter_id == m.id, Review.round == m.round)
                       .order_by(Review.id.desc()).limit(1))
    if r is None:
        return None
    body = session.scalar(select(Region.name).where(Region.code == m.region_code[:9])) if len(m.region_code) >= 9 \
        else None
    return {"decision": r.decision, "comments": r.comments or "", "at": utc(r.at).isoformat(),
            "body": f"{body}人民政府" if body else ""}


def notice_content(session: Session, m: Matter, *, posted_at: datetime, ends_at: datetime, days: int,
                   checkpoint: dict[str, Any]) -> dict[str, Any]:
    """What is posted on the village board and the portal; built from named fields only."""
    region = session.scalar(select(Region).where(Region.code == m.region_code))
    township = None
    if len(m.region_code) >= 9:
        township = session.scalar(select(Region).where(Region.code == m.region_code[:9]))
    project = session.get(Project, m.project_id) if m.project_id else None
    entity_id = m.entity_id or (project.entity_id if project else None)
    entity = session.get(Entity, entity_id) if entity_id else None
    benef = beneficiaries(session, m)
    preview = m.preview or {}
    amounts: dict[str, Any] = {"total_fen": sum(b.get("amount_fen", 0) for b in benef)}
    for k in ("pool_fen", "fund_fen"):
        if isinstance((m.document or {}).get(k), int):
            amounts[k] = m.document[k]
    for k in ("retained_fen", "undistributed_fen"):
        if isinstance(preview.get(k), int):
            amounts[k] = preview[k]
    channels = complaint_channels(session, m, region, township)
    content: dict[str, Any] = {
        "title": f"关于“{m.title}”的公示",
        "matter": {"id": m.id, "kind": m.kind, "kind_label": wf.KIND_LABELS[wf.MatterKind(m.kind)],
                   "title": m.title, "year": m.year, "round": m.round},
        "region": {"code": m.region_code, "name": region.name if region else ""},
        "project": {"code": project.code, "name": project.name} if project else None,
        "funding_source": m.funding_source,
        "implementing_entity": entity.name if entity else "",
        "responsible_person": m.responsible_person,
        "amounts": amounts,
        "beneficiaries": benef,
        "justification": m.justification,
        "window": {"posted_at": posted_at.isoformat(), "ends_at": ends_at.isoformat(), "days": days},
        "complaint_channels": channels,
        "ledger_checkpoint": checkpoint,
        "document_digest": m.document_digest,
        "issuer": issuer_of(m, region, township, posted_at),
    }
    meeting = meeting_facts(session, m)
    if meeting is not None:
        content["meeting"] = meeting
    review = review_facts(session, m)
    if review is not None:
        content["review"] = review
    if m.kind in decisions.GATED_KINDS:
        content["decided"] = {k: v for k, v in preview.items() if k != "payees"}
    found = wf.personal_data_in(content, known_ids=_household_numbers(session, [b["ref"] for b in benef]))
    if found:
        raise Conflict(f"公示内容含有个人敏感信息，已停止发布：{found[0]}",
                       "the notice would show personal data; not posted", found[0], code="personal_data_in_notice")
    return content


def notice_days_of(session: Session, m: Matter, rules: wf.CountyRules, day: Any) -> wf.NoticeDays:
    """The least days the matter's notice runs: a roster of monitoring households alone (checked against the
    registry on `day`) 5, any other matter 10, or the county's longer setting."""
    monitoring = False
    if m.kind == wf.MatterKind.BENEFICIARY_ROSTER.value:
        from daipin.services.rosters import rules as rosters

        monitoring = rosters.monitoring_only(session, m.document, day)
    return wf.notice_days_for(m.kind, rules, monitoring_only=monitoring)


def publish_notice(session: Session, actor: Actor, matter_id: int, *, at: datetime,
                   window_days: int | None = None, posted_at: datetime | None = None) -> Notice:
    """Post the notice (公示): 10 days by default for every kind, 5 only for a roster of monitoring households
    alone, or the county's longer window; the notice states its days and why.

    `posted_at`, if given, is when a paper notice was put up on the village's board, recorded later: in the past,
    not before the previous step's event, not more than the county's days (30) before it is recorded. The window
    is still judged from `at`, the time the posting is recorded (WORKFLOW.md: the server's clock decides)."""
    m = _load_for(session, actor, matter_id, wf.Action.PUBLISH, at)
    wf.next_state(m.kind, m.state, wf.Action.PUBLISH)
    rules = county_rules(session, m.county_code)
    at = utc(at)
    paper = _declared(session, m, posted_at, at, "posted_at", "公示张贴时间")
    least = notice_days_of(session, m, rules, beijing_date(at))
    days = least.days if window_days is None else window_days
    wf.check_notice_days(m.kind, days, rules, monitoring_only=least.monitoring_roster)
    ends = wf.notice_window(at, days)
    cp_note, cp_summary = _checkpoint_text(session, m.region_code)
    content = notice_content(session, m, posted_at=at, ends_at=ends, days=days, checkpoint=cp_summary)
    content["window"]["basis"] = least.basis("zh", days)
    content["window"]["basis_en"] = least.basis("en", days)
    if paper is not None:
        content["window"]["paper_posted_at"] = paper.isoformat()
    n = Notice(matter_id=m.id, round=m.round, county_code=m.county_code, region_code=m.region_code, posted_at=at,
               window_days=days, ends_at=ends, content=content, content_digest=digest(content), checkpoint=cp_note,
               status="open", posted_by=_actor_label(actor))
    session.add(n)
    session.flush()
    _step(session, actor, m, wf.Action.PUBLISH, at,
          {"notice": n.id, "window_days": days, "ends_at": ends.isoformat(), "content_digest": n.content_digest,
           "checkpoint": cp_summary, "beneficiaries": len(content["beneficiaries"]), **_held(paper)}, rows=[n])
    return n


# Objections from the public, each of which holds its notice open until answered, are throttled: at most
# OBJECTIONS_PER_CLIENT_PER_NOTICE a day from one client (its anonymous cookie) to one notice, and from one
# address OBJECTIONS_PER_ADDRESS_PER_NOTICE a day to one notice (people sharing a network) and
# OBJECTIONS_PER_ADDRESS_PER_HOUR an hour to all notices.
OBJECTIONS_PER_CLIENT_PER_NOTICE = 3
OBJECTIONS_PER_ADDRESS_PER_NOTICE = 10
OBJECTIONS_PER_ADDRESS_PER_HOUR = 20


@dataclass(frozen=True)
class ObjectionClient:
    """Where an objection from the public comes from, as salted digests only (`of`): the anonymous cookie (None
    when the client sent none) and the address."""

    cookie_digest: str | None
    address_digest: str

    @classmethod
    def of(cls, session: Session, *, cookie: str | None, address: str) -> ObjectionClient:
        return cls(trace.pii(session, f"anon:{cookie}") if cookie else None, trace.pii(session, f"addr:{address}"))


def _objection_wait(session: Session, notice_id: int, client: ObjectionClient, at: datetime) -> datetime | None:
    """When `client` may object to the notice again, if one of the limits is reached (None if none is)."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    limits = [(OBJECTIONS_PER_ADDRESS_PER_HOUR, hour, Objection.address_digest == client.address_digest),
              (OBJECTIONS_PER_ADDRESS_PER_NOTICE, day,
               (Objection.address_digest == client.address_digest) & (Objection.notice_id == notice_id))]
    if client.cookie_digest is not None:
        limits.append((OBJECTIONS_PER_CLIENT_PER_NOTICE, day,
                       (Objection.notice_id == notice_id) & (Objection.client_digest == client.cookie_digest)))
    waits = []
    for limit, window, same in limits:
        # The limit-th latest of the client's objections in the window: the count drops below the limit when
        # it leaves the window.
        oldest_counted = session.scalar(select(Objection.filed_at).where(same, Objection.filed_at > at - window)
                                        .order_by(Objection.filed_at.desc()).offset(limit - 1).limit(1))
        if oldest_counted is not None:
            waits.append(utc(oldest_counted) + window)
    return max(waits) if waits else None


def file_objection(session: Session, actor: Actor, matter_id: int, *, text: str, at: datetime,
                   name: str | None = None, contact: str | None = None,
                   client: ObjectionClient | None = None) -> Objection:
    """Anyone may object while the window is open, named or anonymous; from the public (`client`), within the
    limits above (Throttled past them, with nothing written)."""
    m = get_matter(session, actor, matter_id, for_update=True)
    _authorize(actor, m, wf.Action.FILE_OBJECTION)
    at = utc(at)
    n = current_notice(session, m)
    if m.state != wf.State.IN_NOTICE.value or n is None or n.status != "open":
        raise Conflict("该事项不在公示期内，不能提出异议", "the matter is not in its notice window", "matter_id",
                       code="window_closed")
    if not wf.window_open(utc(n.posted_at), utc(n.ends_at), at):
        raise Conflict(f"公示期已于 {for_people(n.ends_at)} 结束，不能再提出异议",
                       f"the objection window ended at {for_people(n.ends_at, lang='en')}", "at", code="window_closed")
    if not isinstance(text, str) or not text.strip():
        raise InputError("请写明异议内容", "the objection needs a text", "text")
    name = (name or "").strip() or None
    contact = (contact or "").strip() or None
    # Counted under the matter's lock (get_matter above): concurrent objections to one notice are counted in turn.
    if client is not None and (until := _objection_wait(session, n.id, client, at)) is not None:
        raise throttle.refused("异议提交过于频繁", "too many objections from this client", at=at, until=until)
    o = Objection(notice_id=n.id, matter_id=m.id, county_code=m.county_code, filed_at=at, anonymous=name is None,
                  objector_name=name, contact=contact, text=text.strip(), status="open", objector_notified=False,
                  client_digest=client.cookie_digest if client else None,
                  address_digest=client.address_digest if client else None,
                  private_text=True, public_text=mask_free_text(text.strip()))
    session.add(o)
    session.flush()
    # The receipt names the objection; the check code (shown once, kept only as a salted digest) opens its status.
    code = "".join(secrets.choice(CHECK_CODE_LETTERS) for _ in range(8))
    o.receipt_no = f"YY{at:%y%m%d}-{o.id:05d}"
    o.check_digest = trace.pii(session, f"check:{o.receipt_no}:{code}")
    o.check_code = code
    _step(session, actor, m, wf.Action.FILE_OBJECTION, at,
          {"objection": o.id, "notice": n.id, "anonymous": o.anonymous, "receipt_no": o.receipt_no,
           "objector": trace.pii(session, name) if name else None,
           "contact": trace.pii(session, contact) if contact else None,
           "text_digest": trace.pii(session, o.text)}, rows=[o])
    return o


# Letters of a check code: no 0/O, 1/I/L, so it can be read out on the phone.
CHECK_CODE_LETTERS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def check_objection(session: Session, receipt_no: str, check_code: str) -> Objection:
    """The objection a receipt number and its check code name (NotFound for either wrong, alike)."""
    receipt, code = (receipt_no or "").strip().upper(), (check_code or "").strip().upper()
    o = session.scalar(select(Objection).where(Objection.receipt_no == receipt)) if receipt and code else None
    if o is None or o.check_digest is None or not secrets.compare_digest(
            o.check_digest, trace.pii(session, f"check:{o.receipt_no}:{code}")):
        raise NotFound("回执号或查询码不正确", "no objection with this receipt number and check code", "check_code")
    return o


def _objection_step(session: Session, actor: Actor, m: Matter, action: wf.Action, at: datetime,
                    facts: dict[str, Any], rows: Sequence[Any]) -> None:
    """A step on an objection that leaves the matter's state as it is: its ledger entry and event."""
    body = {"matter": m.id, "kind": m.kind, "round": m.round, "action": action.value, "from": m.state,
            "to": m.state, **facts}
    # The event row points at the entry that states it (the index it is about to get), as in `_step`.
    ev = MatterEvent(matter_id=m.id, county_code=m.county_code, action=action.value, from_state=m.state,
                     to_state=m.state, actor=_actor_label(actor), at=at,
                     ledger_index=ledger_store.next_index(session, ledger_store.route(session, m.region_code)), details=facts)
    session.add(ev)
    facts_of_rows = row_facts(session, [*rows, ev])
    body["rows"] = facts_of_rows[:-1]
    body["event"] = facts_of_rows[-1]
    index = trace.record(session, actor=actor, type=f"matter.{action.value}", subject=f"matter:{m.id}",
                         region=m.region_code, facts=body, at=at)
    assert index == ev.ledger_index
    session.flush()


def _objection_for(session: Session, actor: Actor, objection_id: int, action: wf.Action) -> tuple[Objection, Matter]:
    o = session.get(Objection, objection_id)
    if o is None:
        raise NotFound(f"异议 {objection_id} 不存在", f"objection {objection_id} not found", "objection_id")
    m = get_matter(session, actor, o.matter_id, for_update=True)
    # Whoever answers objections on the matter's path redacts, records the notification and merges.
    access.require(actor, step_action(m.kind, wf.Action.ANSWER_OBJECTION), field="actor",
                   what=(wf.ACTION_LABELS[action], f"{action.value} on a {m.kind} matter"))
    if not access.allowed(actor, step_action(m.kind, wf.Action.ANSWER_OBJECTION), region=m.region_code):
        raise NotFound(f"事项 {m.id} 不存在", f"matter {m.id} not found", "matter_id")
    return o, m


def _official_text(value: str, field_name: str, what_zh: str, what_en: str) -> str:
    """An official's free text that enters the ledger in clear: written, and with no ID number, phone or bank
    number in it."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"须写明{what_zh}", f"the {what_en} is required", field_name)
    freetext.check(value, field_name, what_zh)
    return value.strip()


REDACTED = "〔此处内容已由工作人员隐去〕"


def redact_objection(session: Session, actor: Actor, objection_id: int, *, part: str, reason: str, at: datetime,
                     replacement: str = "") -> Objection:
    """Replace the public form of an objection's text or answer (what the portal shows), with a recorded reason;
    the text itself and its digest in the ledger stay as they were."""
    if part not in ("text", "answer"):
        raise InputError("应指明隐去异议内容（text）或答复（answer）", "part must be text or answer", "part")
    reason = _official_text(reason, "reason", "隐去理由", "reason")
    o, m = _objection_for(session, actor, objection_id, wf.Action.REDACT_OBJECTION)
    if part == "answer" and o.answer is None:
        raise Conflict(f"异议 {o.id} 尚未答复", f"objection {o.id} is not answered yet", "part")
    at = utc(at)
    shown = mask_free_text(replacement.strip()) if replacement and replacement.strip() else REDACTED
    if o.private_text is None:  # recorded before objections' text was private: from now on it is
        o.private_text, o.public_text = True, o.public_text or mask_free_text(o.text)
        if o.answer is not None and o.public_answer is None:
            o.public_answer = mask_free_text(o.answer)
    if part == "text":
        o.public_text = shown
    else:
        o.public_answer = shown
    o.redaction_reason, o.redacted_at, o.redacted_by = reason, at, _actor_label(actor)
    _objection_step(session, actor, m, wf.Action.REDACT_OBJECTION, at,
                    {"objection": o.id, "part": part, "reason": reason,
                     "public_digest": trace.pii(session, shown)}, rows=[o])
    return o


def notify_objector(session: Session, actor: Actor, objection_id: int, *, via: str, at: datetime) -> Objection:
    """Record that the objector was told the answer: how (`via`) and when (the recording time)."""
    if via not in OBJECTION_NOTIFIED_VIA:
        raise InputError("告知方式应为 " + "、".join(OBJECTION_NOTIFIED_VIA.codes),
                         "via must be one of " + ", ".join(OBJECTION_NOTIFIED_VIA.codes), "via")
    o, m = _objection_for(session, actor, objection_id, wf.Action.NOTIFY_OBJECTOR)
    if o.status == "open":
        raise Conflict(f"异议 {o.id} 尚未答复，无可告知", f"objection {o.id} is not answered yet", "objection_id")
    at = utc(at)
    o.objector_notified, o.notified_via, o.notified_at = True, via, at
    _objection_step(session, actor, m, wf.Action.NOTIFY_OBJECTOR, at,
                    {"objection": o.id, "via": via, "notified_at": at.isoformat()}, rows=[o])
    return o


def merge_objection(session: Session, actor: Actor, objection_id: int, *, into: int, at: datetime) -> Objection:
    """Merge a duplicate into another open objection of the same notice: answering that one answers both."""
    o, m = _objection_for(session, actor, objection_id, wf.Action.MERGE_OBJECTION)
    target = session.get(Objection, into)
    if target is None or target.notice_id != o.notice_id or target.id == o.id:
        raise InputError("只能并入同一公示的另一件异议", "merge into another objection of the same notice", "into")
    if o.status != "open" or target.status != "open":
        raise Conflict("只能合并尚未答复的异议", "only open objections are merged", "objection_id")
    if target.merged_into is not None:
        raise InputError(f"异议 {target.id} 已并入异议 {target.merged_into}", f"objection {target.id} is itself merged",
                         "into")
    at = utc(at)
    o.merged_into = target.id
    for dup in session.scalars(select(Objection).where(Objection.merged_into == o.id)):
        dup.merged_into = target.id
    _objection_step(session, actor, m, wf.Action.MERGE_OBJECTION, at, {"objection": o.id, "into": target.id},
                    rows=[o])
    return o


def get_objection(session: Session, actor: Actor, objection_id: int) -> Objection:
    o = session.get(Objection, objection_id)
    if o is None:
        raise NotFound(f"异议 {objection_id} 不存在", f"objection {objection_id} not found", "objection_id")
    get_matter(session, actor, o.matter_id)
    return o


def answer_objection(session: Session, actor: Actor, objection_id: int, *, outcome: str, reasons: str,
                     at: datetime) -> Objection:
    """Answer after investigation: `dismissed` with reasons, or `upheld`, which reopens the matter (back to draft)."""
    if outcome not in OBJECTION_OUTCOMES:
        raise InputError("处理结果应为 upheld（异议成立）或 dismissed（不成立）", "outcome must be upheld or dismissed",
                         "outcome")
    o = session.get(Objection, objection_id)
    if o is None:
        raise NotFound(f"异议 {objection_id} 不存在", f"objection {objection_id} not found", "objection_id")
    m = _load_for(session, actor, o.matter_id, wf.Action.ANSWER_OBJECTION, at)
    wf.next_state(m.kind, m.state, wf.Action.ANSWER_OBJECTION)
    if o.status != "open":
        raise Conflict(f"异议 {o.id} 已答复（{o.status}）", f"objection {o.id} is already {o.status}", "objection_id")
    if not isinstance(reasons, str) or not reasons.strip():
        raise InputError("须写明调查核实情况和理由", "the answer needs reasons", "reasons")
    if o.merged_into is not None:
        raise Conflict(f"异议 {o.id} 已并入异议 {o.merged_into}，随其答复", f"objection {o.id} is merged into "
                       f"{o.merged_into} and is answered with it", "objection_id")
    at = utc(at)
    # The same answer for the objection and the duplicates merged into it, each recorded as answered.
    answered = [o, *session.scalars(select(Objection).where(Objection.merged_into == o.id,
                                                            Objection.status == "open").order_by(Objection.id))]
    for one in answered:
        one.status, one.answer, one.answered_at, one.answered_by = outcome, reasons.strip(), at, _actor_label(actor)
        one.private_text, one.public_text = True, one.public_text or mask_free_text(one.text)
        one.public_answer = mask_free_text(one.answer)
    _step(session, actor, m, wf.Action.ANSWER_OBJECTION, at,
          {"objection": o.id, "outcome": outcome, "answer_digest": trace.pii(session, reasons.strip()),
           "objector_notified": o.objector_notified, "merged": [x.id for x in answered[1:]]},
          rows=answered)
    if outcome == "upheld":
        n = session.get(Notice, o.notice_id)
        assert n is not None
        n.status, n.closed_at = "withdrawn", at
        superseded: list[Objection] = []
        for other in session.scalars(select(Objection).where(Objection.notice_id == n.id, Objection.status == "open")):
            other.status, other.answer, other.answered_at = "superseded", "另一异议成立，事项已重新办理", at
            other.answered_by = _actor_label(actor)
            other.private_text, other.public_text = True, other.public_text or mask_free_text(other.text)
            other.public_answer = other.answer
            superseded.append(other)
        m.approved_document_digest = m.approved_preview_digest = None
        _step(session, actor, m, wf.Action.REOPEN, at,
              {"objection": o.id, "notice": n.id, "superseded_objections": [x.id for x in superseded]},
              rows=[n, *superseded], bump_round=True)
    return o


def close_notice(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> Notice:
    """End the window: not before it has run its days, and not while an objection is unanswered."""
    m = _load_for(session, actor, matter_id, wf.Action.CLOSE_NOTICE, at)
    wf.next_state(m.kind, m.state, wf.Action.CLOSE_NOTICE)
    n = current_notice(session, m)
    if n is None:
        raise Conflict("没有公示记录", "no notice", "notice")
    at = utc(at)
    if at < utc(n.ends_at):
        raise Conflict(f"公示期未满，{for_people(n.ends_at)} 后方可结束",
                       f"the notice window has not ended; it may be closed after {for_people(n.ends_at, lang='en')}",
                       "at", code="window_not_over")
    open_ids = list(session.scalars(select(Objection.id).where(Objection.notice_id == n.id,
                                                               Objection.status == "open")))
    if open_ids:
        raise Conflict(f"尚有 {len(open_ids)} 件异议未答复（{', '.join(map(str, open_ids))}），不能结束公示",
                       "objections are still open", "objections", code="objections_open")
    n.status, n.closed_at = "closed", at
    answered = list(session.scalars(select(Objection.id).where(Objection.notice_id == n.id)))
    _step(session, actor, m, wf.Action.CLOSE_NOTICE, at,
          {"notice": n.id, "ends_at": utc(n.ends_at).isoformat(), "objections_answered": answered}, rows=[n])
    return n


# ---------------------------------------------------------------- execution


@dataclass
class Execution:
    matter: Matter
    run: Run | None
    batch: PaymentBatch | None
    created: bool  # False when the matter had already been executed: nothing was paid again


def execute(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> Execution:
    """Run the approved document again; it must give the approved preview. Then one payment batch, once."""
    from daipin.services.payments import service as payments

    m = _load_for(session, actor, matter_id, wf.Action.EXECUTE, at)
    if m.state in (wf.State.EXECUTED.value, wf.State.ARCHIVED.value):
        # Idempotent: the first execution's run and batch stand; nothing is paid twice.
        done = session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
        return Execution(m, session.get(Run, m.run_id) if m.run_id else None, done, created=False)
    wf.next_state(m.kind, m.state, wf.Action.EXECUTE)
    at = utc(at)
    n = current_notice(session, m)
    if n is None or n.status != "closed":
        raise Conflict("未经公示，不能执行", "the matter was not publicly posted", "notice", code="no_notice")
    if m.approved_document_digest is None:
        raise Conflict("事项未经批准", "the matter was not approved", "review", code="not_approved")
    _refuse(blacklisted_as_blockers(session, m), "不能执行", "execution refused")
    if digest(m.document) != m.approved_document_digest:
        raise Conflict("执行时的事项文件与批准时不一致，已停止执行", "the document differs from the approved one",
                       "document", code="inputs_changed")
    if m.source:
        rebuilt = DOCUMENT_SOURCES[m.source["type"]](session, m.source)
        if digest(rebuilt) != m.approved_document_digest:
            raise Conflict("登记数据已变化，重新生成的分配文件与批准时不一致，已停止执行",
                           "inputs rebuilt from the registry differ from the approved document", "document",
                           code="inputs_changed")
    if m.kind == wf.MatterKind.VILLAGE_ALLOCATION.value:
        from daipin.services.rosters import rules as rosters

        rosters.require_on_roster(session, m.region_code, m.year, m.document, error=Conflict)
    run: Run | None = None
    batch: PaymentBatch | None = None
    doc_kind = (m.document or {}).get("kind")
    if doc_kind in ENGINE_KINDS:
        from daipin.domain.engine import calculate

        result = calculate(m.document)
        if digest(result) != m.approved_preview_digest:
            raise Conflict("重新计算的结果与批准的预览不一致，已停止执行", "the result differs from the approved preview",
                           "preview", code="result_changed")
        from daipin.services.runs.service import store_run

        run = store_run(session, actor, kind=str(m.document["kind"]), subject=m.region_code, region=m.region_code,
                        year=m.year or at.year, doc=m.document, at=at, out=result, extra={"matter": m.id})
        m.run_id = run.id
    elif m.kind == wf.MatterKind.PREMIUM_SUBSIDY.value:
        # Each subsidy checked again (locked) against the register as it is now: still approved, in no batch, its
        # entity not listed since; the run is the checked list, its lines what the batch pays.
        from daipin.services.insurance import batches as insurance
        from daipin.services.runs.service import store_run

        result = insurance.check_document(session, m.document, m.region_code, m.year, matter_id=m.id, lock=True)
        if digest(result) != m.approved_preview_digest:
            raise Conflict("登记数据已变化，保费补贴清单与批准时不一致，已停止执行",
                           "the premium subsidies no longer read as approved", "document", code="inputs_changed")
        run = store_run(session, actor, kind="premium_subsidy", subject=m.region_code, region=m.region_code,
                        year=m.year or at.year, doc=m.document, at=at, out=result, extra={"matter": m.id})
        m.run_id = run.id
    elif m.kind in decisions.GATED_KINDS:
        # What was decided is checked again against the registry as it is now, by the executing official.
        if digest(decisions.check(session, actor, m.kind, m.document, m.region_code)) != m.approved_preview_digest:
            raise Conflict("登记数据已变化，决议事项的内容与批准时不一致，已停止执行",
                           "what the matter decided no longer reads as approved", "document", code="inputs_changed")
    elif m.preview is not None and digest(m.preview) != m.approved_preview_digest:
        raise Conflict("执行时的结果与批准时不一致，已停止执行", "the result differs from the approved one", "preview",
                       code="result_changed")
    _step(session, actor, m, wf.Action.EXECUTE, at,
          {"run": run.id if run else None, "input_digest": m.document_digest,
           "output_digest": run.output_digest if run else m.preview_digest}, rows=[run] if run else [])
    if run is not None:
        batch = payments.create_batch(session, actor, m, run, at=at)
    if batch is not None and m.kind == wf.MatterKind.PREMIUM_SUBSIDY.value:
        from daipin.services.insurance import batches as insurance

        insurance.put_in_batch(session, actor, m, batch, at)
    if m.kind in decisions.GATED_KINDS:
        decisions.apply(session, actor, m, at)
    return Execution(m, run, batch, created=True)


def blacklisted_as_blockers(session: Session, m: Matter) -> list[wf.Blocker]:
    return wf.review_blockers(quorum_met=None, passed=None, warnings=[], justification="x",
                              blacklisted=blacklisted_parties(session, m))


def announce_result(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> dict[str, Any]:
    """事后公告: what was paid (or confirmed), with the ledger checkpoint, no personal data."""
    from daipin.services.payments import service as payments

    m = _load_for(session, actor, matter_id, wf.Action.ANNOUNCE, at)
    wf.next_state(m.kind, m.state, wf.Action.ANNOUNCE)
    if m.announced_at is not None:
        raise Conflict("结果已公告", "the result is already announced", "matter_id", code="already_announced")
    at = utc(at)
    batch = session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
    # The result is announced as it happened: every line paid or written off, none pending, sent or failed.
    payments.require_settled(session, batch, ("公告执行结果", "the announcement"))
    _, cp = _checkpoint_text(session, m.region_code)
    content: dict[str, Any] = {
        "title": f"关于“{m.title}”执行结果的公告",
        "matter": {"id": m.id, "kind": m.kind, "title": m.title, "year": m.year},
        "payments": payments.public_summary(session, batch) if batch is not None else None,
        "beneficiaries": beneficiaries(session, m) if batch is None else None,
        "complaint_channels": [{"level": "hotline", **COMPLAINT_HOTLINE}],
        "ledger_checkpoint": cp,
        "announced_at": at.isoformat(),
    }
    refs = [b["ref"] for b in content["beneficiaries"] or []]
    found = wf.personal_data_in(content, known_ids=_household_numbers(session, refs))
    if found:
        raise Conflict(f"公告内容含有个人敏感信息：{found[0]}", "the announcement would show personal data", found[0],
                       code="personal_data_in_notice")
    m.announcement, m.announced_at = content, at
    _step(session, actor, m, wf.Action.ANNOUNCE, at, {"content_digest": digest(content), "checkpoint": cp})
    return content


def archive(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> Matter:
    """归档: after the result announcement; the ledger entry seals every row of the dossier by its digest."""
    m = _load_for(session, actor, matter_id, wf.Action.ARCHIVE, at)
    wf.next_state(m.kind, m.state, wf.Action.ARCHIVE)
    if m.announced_at is None:
        raise Conflict("须先公告执行结果", "announce the result first", "announcement", code="not_announced")
    from daipin.services.payments import service as payments

    payments.require_settled(session, session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id)),
                             ("归档", "the archive"))
    at = utc(at)
    rows = path_rows(session, m)
    m.archived_at = at
    _step(session, actor, m, wf.Action.ARCHIVE, at, {"sealed_rows": len(rows) + 1}, rows=rows)
    return m


# ---------------------------------------------------------------- reading


def list_matters(session: Session, actor: Actor, *, state: str | None = None, kind: str | None = None,
                 region: str | None = None, limit: int = 200) -> list[Matter]:
    stmt = select(Matter).order_by(Matter.id.desc()).limit(limit).where(scope.where(
        access.reach(actor, "matter.read"), region=Matter.region_code, posted=Matter.id.in_(select(Notice.matter_id))))
    if state:
        stmt = stmt.where(Matter.state == state)
    if kind:
        stmt = stmt.where(Matter.kind == kind)
    if region:
        stmt = stmt.where(Matter.region_code.startswith(region))
    return list(session.scalars(stmt))


def matters_in_reach(actor: Actor, *, state: str | None = None, kind: str | None = None, region: str | None = None,
                     year: int | None = None, q: str | None = None) -> Any:
    """The condition of the matters the actor reads (`matter.read`), filtered: state, kind, region (a village,
    township or county code: the matters in it), year, and a search of the title or the matter's number."""
    conds: list[Any] = [scope.where(access.reach(actor, "matter.read"), region=Matter.region_code,
                                    posted=Matter.id.in_(select(Notice.matter_id)))]
    if state:
        conds.append(Matter.state == state)
    if kind:
        conds.append(Matter.kind == kind)
    if region:
        conds.append(Matter.region_code.startswith(region))
    if year:
        conds.append(Matter.year == year)
    text = (q or "").strip()
    if text:
        number = text.lstrip("#")
        by_title = Matter.title.contains(text, autoescape=True)
        conds.append(or_(by_title, Matter.id == int(number)) if number.isdigit() and len(number) < 18 else by_title)
    return and_(*conds)


def next_takers(kind: str, state: str) -> list[Role]:
    """The roles that take the matter's next step (the objection anyone files and a draft's edits aside)."""
    roles: list[Role] = []
    for a in wf.allowed_actions(kind, state):
        if a in (wf.Action.FILE_OBJECTION, wf.Action.UPDATE_DRAFT):
            continue
        for role in access.holders(step_action(kind, a)):
            if role not in roles and role not in (Role.SYSTEM, Role.PUBLIC):
                roles.append(role)
    return roles


def events(session: Session, m: Matter) -> list[MatterEvent]:
    return list(session.scalars(select(MatterEvent).where(MatterEvent.matter_id == m.id).order_by(MatterEvent.id)))


def summary(session: Session, m: Matter) -> dict[str, Any]:
    """A matter for display: state, allowed next steps, preview warnings; personal data stays out."""
    n = current_notice(session, m)
    mt = current_meeting(session, m) if wf.has_meeting(m.kind) else None
    return {
        "id": m.id, "kind": m.kind, "kind_label": wf.KIND_LABELS[wf.MatterKind(m.kind)], "title": m.title,
        "state": m.state, "state_label": wf.STATE_LABELS[wf.State(m.state)], "round": m.round,
        "region": m.region_code, "year": m.year,
        "next": [a.value for a in wf.allowed_actions(m.kind, m.state)],
        "warnings": m.warnings, "justification": m.justification,
        "meeting": None if mt is None else {"id": mt.id, "type": mt.type, "scheduled_at": utc(mt.scheduled_at).isoformat(),
                                            "quorum_met": mt.quorum_met, "passed": mt.passed},
        "notice": None if n is None else {"id": n.id, "status": n.status, "posted_at": utc(n.posted_at).isoformat(),
                                          "ends_at": utc(n.ends_at).isoformat()},
        "document_digest": m.document_digest, "preview_digest": m.preview_digest,
    }


def path_rows(session: Session, m: Matter) -> list[Any]:
    """The rows of the matter's path besides the matter itself: meetings, reviews, notices, objections, run, payments."""
    rows: list[Any] = []
    for model in (Meeting, Review, Notice, Objection):
        rows.extend(session.scalars(select(model).where(model.matter_id == m.id).order_by(model.id)))
    if m.run_id:
        run = session.get(Run, m.run_id)
        if run is not None:
            rows.append(run)
    batch = session.scalar(select(PaymentBatch).where(PaymentBatch.matter_id == m.id))
    if batch is not None:
        rows.append(batch)
        rows.extend(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)
                                    .order_by(PaymentLine.id)))
        rows.extend(session.scalars(select(PaymentFile).where(PaymentFile.batch_id == batch.id)
                                    .order_by(PaymentFile.id)))
    return rows
