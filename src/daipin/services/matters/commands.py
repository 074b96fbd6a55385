"""One typed input per step of the decision path, shared by the API, the pages and the command line, and its handling.

The API takes these models as its request bodies, the pages build them from their form fields (`from_form`),
the command line from its options (`parse`); `draft` and `run` hand them to the workflow service. A command
holds what the step says; the matter it acts on is named apart (the URL's id, the command's argument).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from daipin.db.models.workflow import Matter
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.domain.localtime import from_beijing
from daipin.services.matters import service as wfs
from daipin.services.shared.commands import Command, When

Count = Annotated[int, Field(ge=0, le=1_000_000)]
RowId = Annotated[int, Field(ge=1, le=2**62)]


def _meeting_code(value: Any) -> Any:
    """A meeting type by its code or by its Chinese name (村民代表会议), as people write it."""
    by_label = {label: code.value for code, label in wf.MEETING_LABELS.items()}
    return by_label.get(value, value) if isinstance(value, str) else value


MeetingTypeIn = Annotated[wf.MeetingType, BeforeValidator(_meeting_code)]


def parse_document(text: str) -> dict[str, Any]:
    """The engine document typed into a form (JSON text), or InputError naming `document` and the line."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"文件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）",
                         f"the document is not valid JSON (line {exc.lineno}, column {exc.colno})",
                         "document") from None
    if not isinstance(doc, dict):
        raise InputError("事项文件应为 JSON 对象", "the document must be a JSON object", "document")
    return doc


# ---------------------------------------------------------------- the steps


class DraftMatter(Command):
    """草拟: a matter with the engine document it will run."""

    kind: wf.MatterKind = wf.MatterKind.VILLAGE_ALLOCATION
    region: str = Field(max_length=12)
    title: str = Field(max_length=200)
    document: dict[str, Any]
    year: int | None = Field(None, ge=2000, le=2100)
    justification: str = Field("", max_length=4000)
    funding_source: str = Field("", max_length=200)
    responsible_person: str = Field("", max_length=60)
    proposer: str = Field("村民委员会", max_length=200)
    project_id: RowId | None = None
    entity_id: RowId | None = None

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        out = super().form_values(form)
        if "document" in out:
            out["document"] = parse_document(out["document"])
        return out


class UpdateDraft(Command):
    """修改草案: only the fields given change; a new document is previewed again."""

    document: dict[str, Any] | None = None
    title: str | None = Field(None, max_length=200)
    justification: str | None = Field(None, max_length=4000)
    funding_source: str | None = Field(None, max_length=200)
    responsible_person: str | None = Field(None, max_length=60)

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        out = super().form_values(form)
        if "document" in out:
            out["document"] = parse_document(out["document"])
        # An emptied justification box says "no justification": a value, not a field left out.
        if isinstance(form.get("justification"), str):
            out["justification"] = str(form["justification"]).strip()
        return out


def _from_registry(value: Any, info: ValidationInfo) -> Any:
    raise PydanticCustomError("from_registry", "{field} is counted from the registry when the meeting is called, "
                              "not typed in", {"field": info.field_name})


# A village meeting's eligible numbers, once typed in: counted from the registry now, refused by name if given.
FromRegistry = SkipJsonSchema[Annotated[Any, BeforeValidator(_from_registry)]]


def _beijing_field(out: dict[str, Any], name: str) -> dict[str, Any]:
    """A datetime-local input has no zone: the person typed Beijing time."""
    if out.get(name):
        try:
            out[name] = from_beijing(out[name])
        except ValueError:
            raise InputError("日期时间格式应为 YYYY-MM-DDTHH:MM", "expected YYYY-MM-DDTHH:MM", name) from None
    else:
        out.pop(name, None)
    return out


class CallMeeting(Command):
    """召集会议: a 村民会议's adults and households and a 村民代表会议's representatives are counted from the
    registry for the meeting's day; only a 领导小组会议 gives its members (there is no registry of them)."""

    type: MeetingTypeIn
    scheduled_at: When
    place: str = Field(max_length=200)
    eligible_members: Count = 0
    eligible_adults: FromRegistry = Field(None, exclude=True)
    eligible_households: FromRegistry = Field(None, exclude=True)
    eligible_representatives: FromRegistry = Field(None, exclude=True)

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        out = super().form_values(form)
        if "scheduled_at" in out:
            # A datetime-local input has no zone: the person typed Beijing time.
            try:
                out["scheduled_at"] = from_beijing(out["scheduled_at"])
            except ValueError:
                raise InputError("日期时间格式应为 YYYY-MM-DDTHH:MM", "expected YYYY-MM-DDTHH:MM",
                                 "scheduled_at") from None
        return out


def _attendee(value: Any) -> Any:
    return {"key": value} if isinstance(value, str) else value


class Attendee(Command):
    """One person at the meeting, by a key of the meeting's own (no ID numbers)."""

    key: str = Field(min_length=1, max_length=60)
    name: str | None = Field(None, max_length=60)
    household: str | None = Field(None, max_length=40)
    role: str | None = Field(None, max_length=60)


class RecordAttendance(Command):
    """登记到会: counts (and optionally who by name), whether the first secretary came, the records' references."""

    present_adults: Count = 0
    present_households: Count = 0
    present_representatives: Count = 0
    present_members: Count = 0
    first_secretary_present: bool
    cadres_present: list[Annotated[str, Field(max_length=60)]] = Field(default_factory=list, max_length=50)
    attendees: list[Annotated[Attendee, BeforeValidator(_attendee)]] | None = Field(None, max_length=100_000)
    minutes_ref: str = Field("", max_length=400)
    attendance_sheet_ref: str = Field("", max_length=400)
    held_at: When | None = None  # when the meeting was held, if it is recorded later (at most 30 days)

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        out = _beijing_field(super().form_values(form), "held_at")
        if "cadres_present" in out:
            out["cadres_present"] = [c.strip() for c in out["cadres_present"].replace("，", ",").split(",")
                                     if c.strip()]
        return out


class Ballot(Command):
    """One attendee's vote: for / against / abstain (赞成 / 反对 / 弃权)."""

    attendee: str = Field(min_length=1, max_length=60)
    vote: str = Field(max_length=10)


class RecordVotes(Command):
    """登记表决: the three counts, or one ballot per named attendee."""

    votes_for: Count | None = None
    against: Count | None = None
    abstain: Count | None = None
    ballots: list[Ballot] | None = Field(None, max_length=100_000)
    held_at: When | None = None  # when the vote was taken, if it is recorded later (at most 30 days)

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        return _beijing_field(super().form_values(form), "held_at")


class Decide(Command):
    """宣布表决结果: quorum, then a majority of those present."""


class SubmitForReview(Command):
    """提交审核."""


class Review(Command):
    """审核: approve, or return with written comments."""

    decision: Literal["approve", "return"]
    comments: str = Field("", max_length=4000)


class PublishNotice(Command):
    """发布公示: the window's days (the kind's default, or the county's longer one, when not given)."""

    window_days: int | None = Field(None, ge=1, le=365)
    # When the notice was put up on the village's board, if that is recorded later (at most 30 days); the window
    # still runs from the time the posting is recorded.
    posted_at: When | None = None

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        return _beijing_field(super().form_values(form), "posted_at")


class FileObjection(Command):
    """提出异议: anyone, named or anonymous, while the window is open."""

    text: str = Field(max_length=4000)  # a blank one is refused by the workflow, which says what is missing
    name: str | None = Field(None, max_length=60)
    contact: str | None = Field(None, max_length=100)


class AnswerObjection(Command):
    """答复异议: upheld (the matter is done again) or dismissed, with the reasons found."""

    objection_id: RowId
    outcome: Literal["upheld", "dismissed"]
    reasons: str = Field("", max_length=4000)


class RedactObjection(Command):
    """隐去异议公开内容: the public form of an objection's text or answer replaced, with the reason recorded."""

    objection_id: RowId
    part: Literal["text", "answer"]
    reason: str = Field("", max_length=1000)
    replacement: str = Field("", max_length=4000)


class NotifyObjector(Command):
    """登记已告知异议人: how the objector was told the answer (when is the recording time)."""

    objection_id: RowId
    via: Literal["phone", "sms", "letter", "in_person", "portal"]


class MergeObjection(Command):
    """合并重复异议: a duplicate merged into another open objection of the notice; answered with it."""

    objection_id: RowId
    into: RowId


class CloseNotice(Command):
    """结束公示."""


class Execute(Command):
    """执行: the approved document run again; one payment batch, once."""


class Announce(Command):
    """结果公告."""


class Archive(Command):
    """归档."""


class Withdraw(Command):
    """撤回事项: before execution, with the reasons; frees the matter's pool for a new matter."""

    reason: str = Field(max_length=1000)  # a blank one is refused by the workflow, which names what is missing


Step = (UpdateDraft | CallMeeting | RecordAttendance | RecordVotes | Decide | SubmitForReview | Review
        | PublishNotice | FileObjection | AnswerObjection | RedactObjection | NotifyObjector | MergeObjection
        | CloseNotice | Execute | Announce | Archive | Withdraw)

# The steps by the name the API's and the pages' URLs give them (`/matters/{id}/actions/{name}`).
STEPS: dict[str, type[Step]] = {
    "update_draft": UpdateDraft,
    "call_meeting": CallMeeting,
    "record_attendance": RecordAttendance,
    "record_votes": RecordVotes,
    "decide": Decide,
    "submit": SubmitForReview,
    "review": Review,
    "publish": PublishNotice,
    "answer_objection": AnswerObjection,
    "redact_objection": RedactObjection,
    "notify_objector": NotifyObjector,
    "merge_objection": MergeObjection,
    "close_notice": CloseNotice,
    "execute": Execute,
    "announce": Announce,
    "archive": Archive,
    "withdraw": Withdraw,
}


def step_of(name: str) -> type[Step]:
    """The step a URL names, or NotFound naming `action`."""
    step = STEPS.get(name)
    if step is None:
        raise NotFound(f"未知操作 {name}", f"unknown action {name}", "action")
    return step


# ---------------------------------------------------------------- handling


def draft(session: Session, actor: Actor, command: DraftMatter, *, at: datetime) -> Matter:
    c = command
    return wfs.draft_matter(session, actor, kind=c.kind.value, region=c.region, title=c.title, document=c.document,
                            at=at, year=c.year, justification=c.justification, proposer=c.proposer,
                            project_id=c.project_id, entity_id=c.entity_id, funding_source=c.funding_source,
                            responsible_person=c.responsible_person)


def run(session: Session, actor: Actor, matter_id: int, command: Step, *, at: datetime) -> Any:
    """Take one step on a matter; returns what the service returns (the meeting, the review, the notice...)."""
    match command:
        case UpdateDraft():
            return wfs.update_draft(session, actor, matter_id, at=at, document=command.document,
                                    title=command.title, justification=command.justification,
                                    funding_source=command.funding_source,
                                    responsible_person=command.responsible_person)
        case CallMeeting():
            return wfs.call_meeting(session, actor, matter_id, type=command.type.value,
                                    scheduled_at=command.scheduled_at, place=command.place, at=at,
                                    eligible_members=command.eligible_members)
        case RecordAttendance():
            people = None if command.attendees is None else [
                a.model_dump(exclude_none=True) for a in command.attendees]
            return wfs.record_attendance(session, actor, matter_id, at=at, present_adults=command.present_adults,
                                         present_households=command.present_households,
                                         present_representatives=command.present_representatives,
                                         present_members=command.present_members,
                                         first_secretary_present=command.first_secretary_present,
                                         cadres_present=list(command.cadres_present), attendees=people,
                                         minutes_ref=command.minutes_ref,
                                         attendance_sheet_ref=command.attendance_sheet_ref, held_at=command.held_at)
        case RecordVotes():
            ballots = None if command.ballots is None else [b.model_dump() for b in command.ballots]
            return wfs.record_votes(session, actor, matter_id, at=at, votes_for=command.votes_for,
                                    against=command.against, abstain=command.abstain, ballots=ballots,
                                    held_at=command.held_at)
        case Decide():
            return wfs.decide(session, actor, matter_id, at=at)
        case SubmitForReview():
            return wfs.submit_for_review(session, actor, matter_id, at=at)
        case Review():
            return wfs.review(session, actor, matter_id, decision=command.decision, comments=command.comments, at=at)
        case PublishNotice():
            return wfs.publish_notice(session, actor, matter_id, at=at, window_days=command.window_days,
                                      posted_at=command.posted_at)
        case FileObjection():
            return wfs.file_objection(session, actor, matter_id, text=command.text, at=at, name=command.name,
                                      contact=command.contact)
        case AnswerObjection() | RedactObjection() | NotifyObjector() | MergeObjection():
            # The objection must be one of this matter's: an id from another matter is not found here.
            if wfs.get_objection(session, actor, command.objection_id).matter_id != matter_id:
                raise NotFound(f"异议 {command.objection_id} 不存在", f"objection {command.objection_id} not found",
                               "objection_id")
            return _on_objection(session, actor, command, at=at)
        case CloseNotice():
            return wfs.close_notice(session, actor, matter_id, at=at)
        case Execute():
            return wfs.execute(session, actor, matter_id, at=at)
        case Announce():
            return wfs.announce_result(session, actor, matter_id, at=at)
        case Archive():
            return wfs.archive(session, actor, matter_id, at=at)
        case Withdraw():
            return wfs.withdraw(session, actor, matter_id, reason=command.reason, at=at)
    raise TypeError(f"not a step of the decision path: {type(command).__name__}")


def _on_objection(session: Session, actor: Actor, command: AnswerObjection | RedactObjection | NotifyObjector
                  | MergeObjection, *, at: datetime) -> Any:
    match command:
        case AnswerObjection():
            return wfs.answer_objection(session, actor, command.objection_id, outcome=command.outcome,
                                        reasons=command.reasons, at=at)
        case RedactObjection():
            return wfs.redact_objection(session, actor, command.objection_id, part=command.part,
                                        reason=command.reason, replacement=command.replacement, at=at)
        case NotifyObjector():
            return wfs.notify_objector(session, actor, command.objection_id, via=command.via, at=at)
        case MergeObjection():
            return wfs.merge_objection(session, actor, command.objection_id, into=command.into, at=at)
