"""Matters over the API: draft with preview, meeting, votes, review, notice, objections, execution, dossier."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from daipin.api.schemas import Strict
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep
from daipin.services.matters import service as wfs
from daipin.services.matters import views as matter_views

router = APIRouter(tags=["workflow 议事"])

Action = Literal["update_draft", "call_meeting", "record_attendance", "record_votes", "decide", "submit", "review",
                 "publish", "answer_objection", "close_notice", "execute", "announce", "archive"]


def matter_out(session: Any, m: Any) -> dict[str, Any]:
    out = wfs.summary(session, m)
    out["beneficiaries"] = wfs.beneficiaries(session, m)
    out["preview"] = m.preview
    return out


@router.get("/matters")
def list_matters(actor: CurrentActor, session: SessionDep,
                 state: str | None = Query(None, max_length=24)) -> list[dict[str, Any]]:
    """事项列表（本辖区）/ matters in your region."""
    return matter_views.list_for(session, actor, state=state)


class DraftIn(Strict):
    kind: str = Field("village_allocation", max_length=32)
    region: str = Field(max_length=12)
    title: str = Field(max_length=200)
    document: dict[str, Any]
    year: int | None = Field(None, ge=2000, le=2100)
    justification: str = Field("", max_length=4000)
    funding_source: str = Field("", max_length=200)
    responsible_person: str = Field("", max_length=60)


@router.post("/matters", status_code=201, dependencies=[CsrfDep])
def draft(body: DraftIn, actor: CurrentActor, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """起草事项（附计算文件，返回预览与警示）/ draft a matter with its engine document; returns the preview."""
    m = wfs.draft_matter(session, actor, kind=body.kind, region=body.region, title=body.title, document=body.document,
                         at=now, year=body.year, justification=body.justification,
                         funding_source=body.funding_source, responsible_person=body.responsible_person)
    return matter_out(session, m)


class PreviewIn(Strict):
    document: dict[str, Any]


@router.post("/preview", dependencies=[CsrfDep])
def preview(body: PreviewIn, actor: CurrentActor) -> dict[str, Any]:
    """计算预览（不保存）/ run the engine on a document and return the result and warnings; writes nothing."""
    result: dict[str, Any] = matter_views.preview(body.document)["result"]
    return result


@router.get("/matters/{matter_id}")
def get_matter(matter_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """事项详情 / a matter: state, next steps, meeting, notice, beneficiaries and amounts."""
    m = wfs.get_matter(session, actor, matter_id)
    return matter_out(session, m)


class ActionIn(Strict):
    """Fields of one step; each step reads only its own."""

    document: dict[str, Any] | None = None
    title: str | None = Field(None, max_length=200)
    justification: str | None = Field(None, max_length=4000)
    type: str | None = Field(None, max_length=40)
    scheduled_at: datetime | None = None
    place: str | None = Field(None, max_length=200)
    eligible_adults: int | None = Field(None, ge=0, le=1_000_000)
    eligible_households: int | None = Field(None, ge=0, le=1_000_000)
    eligible_representatives: int | None = Field(None, ge=0, le=1_000_000)
    present_adults: int | None = Field(None, ge=0, le=1_000_000)
    present_households: int | None = Field(None, ge=0, le=1_000_000)
    present_representatives: int | None = Field(None, ge=0, le=1_000_000)
    first_secretary_present: bool | None = None
    cadres_present: list[str] | None = Field(None, max_length=50)
    minutes_ref: str | None = Field(None, max_length=400)
    votes_for: int | None = Field(None, ge=0, le=1_000_000)
    against: int | None = Field(None, ge=0, le=1_000_000)
    abstain: int | None = Field(None, ge=0, le=1_000_000)
    decision: Literal["approve", "return"] | None = None
    comments: str | None = Field(None, max_length=4000)
    window_days: int | None = Field(None, ge=1, le=365)
    objection_id: int | None = Field(None, ge=1, le=2**62)
    outcome: Literal["upheld", "dismissed"] | None = None
    reasons: str | None = Field(None, max_length=4000)


def _fields(body: ActionIn) -> dict[str, str]:
    import json

    out: dict[str, str] = {}
    for k, v in body.model_dump(exclude_none=True).items():
        if k == "document":
            out[k] = json.dumps(v, ensure_ascii=False)
        elif isinstance(v, bool):
            out[k] = "yes" if v else "no"
        elif isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, list):
            out[k] = ",".join(str(x) for x in v)
        else:
            out[k] = str(v)
    return out


@router.post("/matters/{matter_id}/actions/{action}", dependencies=[CsrfDep])
def act(matter_id: Id, action: Action, body: ActionIn, actor: CurrentActor, session: SessionDep,
        now: NowDep) -> dict[str, Any]:
    """办理一步（召集会议、登记到会、表决、审核、公示、答复异议、执行、公告、归档）/ take one step on a matter."""
    matter_views.act(session, actor, matter_id, action, _fields(body), at=now)
    return matter_out(session, wfs.get_matter(session, actor, matter_id))


@router.get("/matters/{matter_id}/dossier", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
def dossier(matter_id: Id, actor: CurrentActor, session: SessionDep, now: NowDep) -> Response:
    """导出档案（含账本证明，可离线核验）/ the dossier zip with ledger proofs, verifiable offline."""
    name, data = matter_views.dossier_zip(session, actor, matter_id, at=now)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/matters/{matter_id}/payments")
def payment_batch(matter_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """支付批次（银行账号已遮蔽）/ an executed matter's payment batch, line by line, bank accounts masked."""
    from daipin.services.payments import service as payments

    _, batch = matter_views.lines_for_matter(session, actor, matter_id)
    return payments.batch_view(session, batch)


class PaymentIn(Strict):
    outcome: Literal["paid", "failed"]
    payment_ref: str = Field("", max_length=100)
    reason: str = Field("", max_length=400)


@router.post("/matters/{matter_id}/payments/{line_id}", dependencies=[CsrfDep])
def record_payment(matter_id: Id, line_id: Id, body: PaymentIn, actor: CurrentActor, session: SessionDep,
                   now: NowDep) -> dict[str, Any]:
    """登记支付结果（乡镇干部、区级管理员）/ mark a payment line paid (bank reference) or failed (reason);
    township officials and district administrators only."""
    from daipin.services.payments import service as payments

    line = matter_views.record_payment(session, actor, matter_id, line_id, body.model_dump(), at=now)
    return payments.line_view(line)
