"""What the matter pages and the API show: reads scoped by the workflow service (the steps' inputs are in commands)."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Region
from daipin.db.models.workflow import Matter, Objection, Review
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import DaipinError, Forbidden, InputError, NotFound
from daipin.domain.localtime import beijing_input, for_people
from daipin.domain.vocabulary import MATTER_EVENT
from daipin.services.matters import commands, drafting
from daipin.services.matters import service as wfs
from daipin.services.payments import service as payments
from daipin.services.shared import counts, scope

STATE_CHOICES = [(s.value, wf.STATE_LABELS[s]) for s in wf.State]
KIND_CHOICES = [(k.value, wf.KIND_LABELS[k]) for k in wf.MatterKind]
ACTION_LABELS = MATTER_EVENT  # a step's name, and the drafting that opened the matter
MEETING_TYPES = [(t.value, wf.MEETING_LABELS[t]) for t in wf.MEETING_TYPES_OF_PATH[wf.Path.VILLAGE]]
# The steps shown as a progress bar on a matter page, in order.
PATH_STATES = ["draft", "meeting_called", "decided", "under_review", "approved", "in_notice", "notice_closed",
               "executed", "archived"]


PER_PAGE = 50


def list_for(session: Session, actor: Actor, *, state: str | None = None, limit: int = 50,
             before_id: int | None = None) -> dict[str, Any]:
    """Up to `limit` matters the actor reads, newest first, those with an id below `before_id` when given (the
    API's cursor); `more` when there are others after them, `total` counting every match of the filter."""
    got = list_page(session, actor, state=state, per_page=limit + 1, before_id=before_id)
    rows: list[dict[str, Any]] = got["rows"]
    return {"rows": rows[:limit], "more": len(rows) > limit, "total": got["total"]}


def list_page(session: Session, actor: Actor, *, state: str | None = None, kind: str | None = None,
              village: str | None = None, township: str | None = None, year: int | None = None,
              q: str | None = None, page: int = 1, per_page: int = PER_PAGE,
              before_id: int | None = None) -> dict[str, Any]:
    """One page of the matters the actor reads, the filters as given, the total, and the page numbers to offer;
    each row with its deadline (the meeting's time, the notice's end) and who takes its next step."""
    from sqlalchemy import func

    from daipin.db.models.workflow import Meeting, Notice
    from daipin.domain.actors import ROLE_LABELS

    access.require(actor, "matter.detail")
    # An unknown state or kind matches nothing (as the API has always answered it), never everything.
    region = (village if village and village.isdigit() else None) or (
        township if township and township.isdigit() else None)
    where = wfs.matters_in_reach(actor, state=state, kind=kind, region=region, year=year, q=q)
    counted = select(func.count()).select_from(Matter).where(where)
    total = counts.count(session, counts.statement_key(counted),
                         counts.county_of(access.reach(actor, "matter.detail").prefix),
                         lambda: int(session.scalar(counted) or 0))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    # The columns the list shows, not the whole rows: a matter's documents (its calculation input, preview and
    # announcement, each naming every household of a village) would be read and decoded only to be dropped.
    listed = (select(Matter.id, Matter.title, Matter.kind, Matter.state, Matter.region_code, Matter.year,
                     Matter.round, Matter.updated_at).where(where).order_by(Matter.id.desc()).limit(per_page))
    if before_id is None:
        listed = listed.offset((page - 1) * per_page)
    else:
        listed = listed.where(Matter.id < before_id)
    rows = session.execute(listed).all()
    names = _region_names(session, {m.region_code for m in rows})
    ids = [m.id for m in rows]
    meetings: dict[int, Any] = {}
    notices: dict[int, Any] = {}
    if ids:
        for meeting in session.execute(select(Meeting.matter_id, Meeting.round, Meeting.scheduled_at)
                                       .where(Meeting.matter_id.in_(ids)).order_by(Meeting.id)):
            meetings[meeting.matter_id] = meeting  # the last one called
        for notice in session.execute(select(Notice.matter_id, Notice.round, Notice.ends_at)
                                      .where(Notice.matter_id.in_(ids), Notice.status != "withdrawn")
                                      .order_by(Notice.id)):
            notices[notice.matter_id] = notice
    out = []
    for m in rows:
        due, due_label = None, ""
        mt, n = meetings.get(m.id), notices.get(m.id)
        if m.state == wf.State.MEETING_CALLED.value and mt is not None and mt.round == m.round:
            due, due_label = mt.scheduled_at, "会议"
        elif m.state == wf.State.IN_NOTICE.value and n is not None and n.round == m.round:
            due, due_label = n.ends_at, "公示截止"
        takers = wfs.next_takers(m.kind, m.state)
        out.append({"id": m.id, "title": m.title, "kind": m.kind, "kind_label": wf.KIND_LABELS[wf.MatterKind(m.kind)],
                    "state": m.state, "state_label": wf.STATE_LABELS[wf.State(m.state)], "region": m.region_code,
                    "region_name": names.get(m.region_code, m.region_code), "year": m.year,
                    "updated": for_people(m.updated_at), "due": for_people(due) if due else "", "due_label": due_label,
                    "takers": [r.value for r in takers], "taker_labels": [ROLE_LABELS[r] for r in takers]})
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    filters = {"q": (q or "").strip(), "township": township or "", "village": village or "", "year": year or "",
               "kind": kind or "", "state": state or ""}
    from urllib.parse import urlencode

    return {"rows": out, "total": total, "page": page, "pages": pages, "page_numbers": shown, "per_page": per_page,
            "filters": filters, "query": urlencode({k: v for k, v in filters.items() if v})}


def filter_regions(session: Session, actor: Actor) -> dict[str, list[tuple[str, str]]]:
    """The townships and villages whose matters the actor reads, for the list's filters."""
    in_reach = scope.where(access.reach(actor, "matter.detail"), region=Region.code)
    rows = session.execute(select(Region.code, Region.name, Region.level).where(
        Region.level.in_(("township", "village")), in_reach).order_by(Region.code)).all()
    return {"townships": [(c, n) for c, n, lv in rows if lv == "township"],
            "villages": [(c, n) for c, n, lv in rows if lv == "village"]}


def _region_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def villages_for(session: Session, actor: Actor) -> list[Region]:
    """The villages whose registry the actor reads (an allocation document is built from it)."""
    in_reach = scope.where(access.reach(actor, "household.read"), region=Region.code)
    return list(session.scalars(select(Region).where(Region.level == "village", in_reach).order_by(Region.code)))


def _kind_for(actor: Actor, kind: str | None) -> wf.MatterKind:
    """The kind asked for if the actor drafts it, else the first kind it drafts; Forbidden for no kind at all."""
    offered = drafting.kinds_for(actor)
    if not offered:
        raise Forbidden("此角色不能起草事项", "this role cannot draft matters")
    codes = [k for k, _ in offered]
    return wf.MatterKind(kind if kind in codes else codes[0])


def registry_document(session: Session, actor: Actor, *, kind: str, region: str, year: int,
                      at: datetime) -> dict[str, Any]:
    """The document of a kind drafted from the registry (an allocation, a roster), read in Chinese, with the
    reason when it cannot be built (no plan, no confirmed roster…)."""
    mk = _kind_for(actor, kind)
    if mk not in drafting.FROM_REGISTRY:
        raise NotFound(f"{wf.KIND_LABELS[mk]}不按登记数据生成", f"{mk.value} is not proposed from the registry",
                       "kind")
    doc: dict[str, Any] | None = None
    problem: DaipinError | None = None
    try:
        doc = drafting.registry_document(session, actor, mk, region, year, at)
    except NotFound:
        raise
    except DaipinError as exc:
        problem = exc
    return {"document_text": drafting.document_text(doc), "readable": drafting.readable(session, doc),
            "document_problem": problem, "kind": mk.value}


def new_form(session: Session, actor: Actor, *, kind: str | None, region: str | None, year: int | None,
             at: datetime, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The draft form of one kind: the kinds the role drafts, the regions it drafts it in, the document."""
    mk = _kind_for(actor, kind)
    regions = drafting.regions_for(session, actor, mk)
    region = region if region and any(r.code == region for r in regions) else (regions[0].code if regions else "")
    year = year or at.year - 1
    fields = dict(fields or {})
    ctx: dict[str, Any] = {"kinds": drafting.kinds_for(actor), "kind": mk.value, "kind_label": wf.KIND_LABELS[mk],
                           "regions": regions, "region": region, "year": year, "fields": fields,
                           "document_text": fields.get("document", ""), "readable": None, "document_problem": None,
                           "mode": ("registry" if mk in drafting.FROM_REGISTRY else
                                    "fields" if mk in drafting.FROM_FIELDS else "typed"),
                           "needs_year": mk is not wf.MatterKind.TOWNSHIP_PROJECT and mk not in drafting.TYPED,
                           "assets": [], "asset_actions": drafting.ASSET_ACTIONS, "error_field": None,
                           "performance": None}
    if mk in drafting.FROM_REGISTRY and region and "document" not in fields:
        ctx.update(registry_document(session, actor, kind=mk.value, region=region, year=year, at=at))
    elif mk in drafting.FROM_REGISTRY and fields.get("document"):
        with contextlib.suppress(DaipinError):
            ctx["readable"] = drafting.readable(session, commands.parse_document(fields["document"]))
    if mk in drafting.TYPED and not ctx["document_text"]:
        ctx["document_text"] = drafting.document_text(drafting.TEMPLATES[mk])
    if mk is wf.MatterKind.ASSET_DISPOSAL:
        ctx["assets"] = [(a.code, f"{a.name}（{a.code}，{drafting.asset_status_label(a)}）")
                         for a in drafting.assets_for(session, region)]
    if mk is wf.MatterKind.DISTRICT_ALLOCATION and region:
        from daipin.services.supervision import performance

        lines = drafting.district_villages(session, region) if "d_villages" not in fields else fields["d_villages"]
        allocation_year = int(fields["year"]) if str(fields.get("year", "")).isdigit() else year
        filled, basis = performance.form_lines(session, actor, region, lines, allocation_year, at)
        if "d_villages" not in fields:
            fields["d_villages"] = filled
        if basis is not None:
            names = {r.code: f"{r.name}（{r.code}）" for r in session.scalars(
                select(Region).where(Region.level == "village", Region.code.startswith(region)))}
            facts, table = drafting.performance_basis(basis, names)
            ctx["performance"] = {"facts": facts, "table": table}
    return ctx


def draft_kinds(actor: Actor) -> list[tuple[str, str]]:
    """The kinds the actor drafts, for the list's 起草 buttons (none for a role that drafts nothing)."""
    return drafting.kinds_for(actor)


def draft_command(fields: dict[str, str]) -> commands.DraftMatter:
    """The one typed draft command from the form: its document built from the kind's own fields."""
    try:
        kind = wf.MatterKind(fields.get("kind", "village_allocation"))
    except ValueError:
        raise InputError("事项类型无效", "unknown matter kind", "kind") from None
    values = commands.DraftMatter.form_values({k: v for k, v in fields.items() if k != "document"})
    if kind in drafting.FROM_REGISTRY:
        values["document"] = commands.parse_document(fields.get("document", ""))
    else:
        values["document"] = drafting.document_from_form(kind, fields)
    return commands.DraftMatter.parse(values)


def form_field(error: DaipinError) -> str | None:
    return drafting.form_field(error)


def preview(doc: dict[str, Any]) -> dict[str, Any]:
    """The engine's result for a document, as typed: nothing is written."""
    from daipin.domain.canonical import canonical_json
    from daipin.domain.engine import calculate

    try:
        canonical_json(doc)
    except (ValueError, TypeError):
        raise InputError("金额和比率请写作整数或小数字符串，不要写浮点数", "no binary floats: write integers or "
                         "decimal strings", "document") from None
    if doc.get("kind") not in wfs.ENGINE_KINDS:
        raise InputError("文件类型应为计算引擎支持的类型", "kind must be an engine document kind", "document.kind")
    result = calculate(doc)
    raw = result.get("households")
    households: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {"result": result, "warnings": list(result.get("warnings", [])),
            "households": sorted(households.items()), "total_fen": sum(int(v) for v in households.values()),
            "lines": result.get("lines", [])}




def detail(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> dict[str, Any]:
    from daipin.services.payments import service as payments

    m = wfs.get_matter(session, actor, matter_id)
    if not access.allowed(actor, "matter.detail", region=m.region_code):
        raise NotFound(f"事项 {matter_id} 不存在", f"matter {matter_id} not found", "matter_id")
    s = wfs.summary(session, m)
    allowed = [a for a in wf.allowed_actions(m.kind, m.state) if wfs.may_act(actor, m, a)]
    allowed_names = {a.value for a in allowed}
    meeting = wfs.current_meeting(session, m) if wf.has_meeting(m.kind) else None
    notice = wfs.current_notice(session, m)
    objections = list(session.scalars(select(Objection).where(Objection.matter_id == m.id).order_by(Objection.id)))
    reviews = list(session.scalars(select(Review).where(Review.matter_id == m.id).order_by(Review.id)))
    batch = payments.batch_for_matter(session, m.id)
    evs = list(wfs.events(session, m))
    who = actor_names(session, {e.actor for e in evs})
    events = [{"action": ACTION_LABELS.get(e.action, e.action), "action_code": e.action, "from": e.from_state,
               "to": e.to_state, "actor": who.get(e.actor, e.actor), "at": e.at, "ledger_index": e.ledger_index,
               "held_at": (e.details or {}).get("held_at")}  # a paper event's own time, when declared
              for e in evs]
    reached = PATH_STATES.index(m.state) if m.state in PATH_STATES else 0
    return {
        "m": m, "s": s, "allowed": allowed_names, "meeting": meeting, "notice": notice, "objections": objections,
        "reviews": reviews, "events": events, "beneficiaries": wfs.beneficiaries(session, m),
        "readable": drafting.readable(session, m.document),
        "blockers": wfs.review_blockers(session, m) if m.state == wf.State.UNDER_REVIEW.value else [],
        "batch": payments.batch_view(session, batch) if batch is not None else None,
        "path": [(st, wf.STATE_LABELS[wf.State(st)], i < reached, i == reached) for i, st in enumerate(PATH_STATES)],
        "meeting_types": MEETING_TYPES, "default_meeting_at": _default_meeting_at(at),
        "region_name": _region_names(session, {m.region_code}).get(m.region_code, m.region_code),
        "payments": payment_summary(session, batch) if batch is not None else None,
        "can_record_payments": batch is not None and access.allowed(actor, "payment.record", region=m.region_code),
        "can_export": access.allowed(actor, "dossier.export", region=m.region_code),
        "open_window": notice is not None and notice.status == "open",
        # The official in charge of the objections (who answers them) sees a named objector's contact, and
        # redacts, records the notification and merges duplicates.
        "objections_in_charge": access.allowed(actor, wfs.step_action(m.kind, wf.Action.ANSWER_OBJECTION),
                                               region=m.region_code),
    }


@cache
def _household_income_statement() -> Any:
    """Built once (the household page runs it on every view); only `:hid` changes."""
    from daipin.db.models.workflow import PaymentBatch, PaymentLine

    return (select(PaymentLine.paid_at, PaymentLine.amount_fen, PaymentLine.status, PaymentBatch.created_at,
                   Matter.id, Matter.title)
            .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
            .join(Matter, Matter.id == PaymentBatch.matter_id)
            .where(PaymentLine.household_id == bindparam("hid")).order_by(PaymentBatch.created_at, PaymentLine.id))


def household_income(session: Session, household_id: int) -> list[dict[str, Any]]:
    """What a household was allotted by executed matters: the matter by name, when, how much, paid or not.

    The caller has already checked that the actor sees the household (the household page).
    """
    rows = session.execute(_household_income_statement(), {"hid": household_id}).all()
    return [{"matter": mid, "title": title, "at": created, "paid_at": paid_at, "amount_fen": amount_fen,
             "status": status} for paid_at, amount_fen, status, created, mid, title in rows]


def payment_summary(session: Session, batch: Any) -> dict[str, Any]:
    """How far a batch has got: lines and amounts paid, pending (or sent), failed and written off; a requeued
    line is counted once, in the line that retries it."""
    from daipin.domain.vocabulary import PAYMENT_LIVE
    from daipin.services.payments import service as payments

    rows = [r for r in payments.lines(session, batch) if r.status in PAYMENT_LIVE]
    out: dict[str, Any] = {"batch": batch.id, "status": batch.status, "total_fen": batch.total_fen,
                           "count": len(rows), **payments.sums((r.status, r.amount_fen) for r in rows)}
    return out


def payments_page(session: Session, actor: Actor, matter_id: int) -> dict[str, Any]:
    """The matter's payment batch, line by line (bank accounts masked), and whether the actor may record them."""
    from daipin.services.payments import service as payments

    m, batch = lines_for_matter(session, actor, matter_id)
    rows = payments.lines(session, batch)
    return {"m": m, "batch": batch, "lines": rows, "summary": payment_summary(session, batch),
            "created_by": actor_names(session, {batch.created_by}).get(batch.created_by, batch.created_by),
            "region_name": _region_names(session, {m.region_code}).get(m.region_code, m.region_code),
            "can_record": access.allowed(actor, "payment.record", region=m.region_code)}


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """`role:id` as kept on events and payment batches, as people read it: the account's name and role."""
    from daipin.db.models.auth import User
    from daipin.domain.actors import ROLE_LABELS

    ids = {int(a.split(":", 1)[1]) for a in actors if ":" in a and a.split(":", 1)[1].isdigit()}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    out = {}
    for a in actors:
        role_code, _, ident = a.partition(":")
        try:
            role = ROLE_LABELS[Role(role_code)]
        except ValueError:
            out[a] = a
            continue
        user = users.get(int(ident)) if ident.isdigit() else None
        if user is not None and user.role == role_code:
            out[a] = f"{user.display_name or user.username}（{role}）"
        else:
            out[a] = role
    return out


def _default_meeting_at(at: datetime) -> str:
    from datetime import timedelta

    return beijing_input(at + timedelta(days=10, hours=1))


def dossier_zip(session: Session, actor: Actor, matter_id: int, *, at: datetime) -> tuple[str, bytes]:
    """The dossier as one zip file (the workflow's export), with its file name."""
    from daipin.services.dossiers import service as dossier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"dossier-{matter_id}.zip"
        dossier.export(session, actor, matter_id, path)
        return path.name, path.read_bytes()


def lines_for_matter(session: Session, actor: Actor, matter_id: int) -> tuple[Any, Any]:
    """A matter's batch for someone who may see the matter (region scope from the workflow service)."""
    matter = wfs.get_matter(session, actor, matter_id)
    if not access.allowed(actor, "payment.read", region=matter.region_code):
        raise NotFound(f"事项 {matter_id} 不存在", f"matter {matter_id} not found", "matter_id")
    batch = payments.batch_for_matter(session, matter.id)
    if batch is None:
        raise NotFound("该事项尚未执行，没有支付批次", "this matter has no payment batch yet (not executed)",
                       "matter_id", code="no_batch")
    return matter, batch
