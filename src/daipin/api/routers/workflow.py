"""Matters over the API: draft with preview, meeting, votes, review, notice, objections, execution, dossier."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from daipin.api import models as m
from daipin.api.routers.payments import LineOut
from daipin.api.schemas import Cursor, Limit, Page, Strict, make_cursor, read_cursor
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.services.matters import commands
from daipin.services.matters import service as wfs
from daipin.services.matters import views as matter_views
from daipin.services.payments.commands import RecordPayment

router = APIRouter(tags=["workflow 议事"])

Action = Literal["update_draft", "call_meeting", "record_attendance", "record_votes", "decide", "submit", "review",
                 "publish", "answer_objection", "redact_objection", "notify_objector", "merge_objection",
                 "close_notice", "execute", "announce", "archive", "withdraw"]


def matter_out(session: Any, m: Any) -> dict[str, Any]:
    out = wfs.summary(session, m)
    out["beneficiaries"] = wfs.beneficiaries(session, m)
    out["preview"] = m.preview
    return out


class MatterRow(BaseModel):
    id: int
    title: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    region: str
    region_name: str
    year: int | None
    updated: str
    due: str
    due_label: str
    takers: list[str]
    taker_labels: list[str]


@router.get("/matters", response_model=Page[MatterRow])
def list_matters(actor: CurrentActor, session: SessionDep, state: str | None = Query(None, max_length=24),
                 limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """事项列表（本辖区，新建的在前，分页）/ matters in your region, newest first; one page of `limit`, the next
    asked for with `cursor`."""
    at = read_cursor("matters", cursor, "before")
    got = matter_views.list_for(session, actor, state=state, limit=limit, before_id=at["before"] if at else None)
    rows = got["rows"]
    return {"items": rows, "limit": limit, "total": got["total"],
            "next_cursor": make_cursor("matters", before=rows[-1]["id"]) if got["more"] else None}


@router.post("/matters", status_code=201, dependencies=[CsrfDep], response_model=m.MatterOut)
def draft(body: commands.DraftMatter, actor: CurrentActor, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """起草事项（附计算文件，返回预览与警示）/ draft a matter with its engine document; returns the preview."""
    m = commands.draft(session, actor, body, at=now)
    return matter_out(session, m)


class PreviewIn(Strict):
    document: dict[str, Any]


@router.post("/preview", dependencies=[CsrfDep], response_model=m.PreviewOut)
def preview(body: PreviewIn, actor: CurrentActor) -> dict[str, Any]:
    """计算预览（不保存）/ run the engine on a document and return the result and warnings; writes nothing."""
    result: dict[str, Any] = matter_views.preview(body.document)["result"]
    return result


@router.get("/matters/{matter_id}", response_model=m.MatterOut)
def get_matter(matter_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """事项详情 / a matter: state, next steps, meeting, notice, beneficiaries and amounts."""
    m = wfs.get_matter(session, actor, matter_id)
    return matter_out(session, m)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` written in place (the operation's body is not in the components)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


# The body is the named step's command: the schema lists each step's.
_STEP_BODIES = {"requestBody": {"required": False, "content": {"application/json": {"schema": {
    "anyOf": [_inline(step.model_json_schema()) for step in commands.STEPS.values()]}}}}}


async def step_body(action: Action, request: Request) -> commands.Step:
    """The body as the command of the step the URL names (no body: a step without fields), checked by its model;
    a refusal is the same 422 naming the field as for a body FastAPI checks itself. The route declares it after
    the actor, so a request without a login is told so first, whatever its body."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": str(exc)}}]) from None
    try:
        return commands.step_of(action).model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.post("/matters/{matter_id}/actions/{action}", dependencies=[CsrfDep], openapi_extra=_STEP_BODIES,
             response_model=m.MatterOut)
def act(matter_id: Id, action: Action, actor: CurrentActor, session: SessionDep, now: NowDep,
        command: Annotated[commands.Step, Depends(step_body)]) -> dict[str, Any]:
    """办理一步（召集会议、登记到会、表决、审核、公示、答复异议、执行、公告、归档）/ take one step on a matter;
    the body is that step's fields (a 领导小组会议 names `eligible_members`, its attendance `present_members`)."""
    commands.run(session, actor, matter_id, command, at=now)
    return matter_out(session, wfs.get_matter(session, actor, matter_id))


@router.get("/matters/{matter_id}/dossier", response_class=Response,
            responses={200: {"description": "档案 zip / the dossier zip", "content": {
                "application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
def dossier(matter_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    """导出档案（含账本证明，可离线核验）/ the dossier zip with ledger proofs, verifiable offline."""
    name, data = matter_views.dossier_zip(session, actor, matter_id, at=now)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/matters/{matter_id}/payments", response_model=m.PaymentBatchOut)
def payment_batch(matter_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """支付批次（银行账号已遮蔽）/ an executed matter's payment batch, line by line, bank accounts masked."""
    from daipin.services.payments import service as payments

    _, batch = matter_views.lines_for_matter(session, actor, matter_id)
    return payments.batch_view(session, batch)


@router.post("/matters/{matter_id}/payments/{line_id}", dependencies=[CsrfDep], response_model=LineOut)
def record_payment(matter_id: Id, line_id: Id, body: RecordPayment, actor: CurrentActor, session: SessionDep,
                   now: NowDep) -> dict[str, Any]:
    """登记支付结果（乡镇干部、区级管理员）/ mark a payment line paid (bank reference) or failed (reason);
    township officials and district administrators only."""
    from daipin.services.payments import commands as payment_commands
    from daipin.services.payments import service as payments

    line = payment_commands.record(session, actor, line_id, body, at=now, matter_id=matter_id)
    return payments.line_view(line)
