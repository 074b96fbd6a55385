"""The public side of the API (no login): health, notices by township and village, results, objections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from daipin.api.schemas import Cursor, Limit, Page, make_cursor, read_cursor
from daipin.domain.localtime import as_utc
from daipin.http.deps import ANON_COOKIE, CsrfDep, Id, NowDep, SessionDep
from daipin.services.matters.commands import FileObjection
from daipin.services.portal import views as portal

router = APIRouter(tags=["public 公开"])


class Health(BaseModel):
    status: str
    version: str


@router.get("/health", response_model=Health)
def health() -> Health:
    """运行状态 / liveness."""
    from daipin import __version__

    return Health(status="ok", version=__version__)


class RegionOut(BaseModel):
    code: str
    name: str
    level: str


class NoticeOut(BaseModel):
    id: int
    title: str
    region: str
    region_name: str
    township_name: str
    status: str
    status_label: str
    posted_at: str
    ends_at: str
    window_days: int
    objections: dict[str, int]
    has_result: bool


class PublicObjectionOut(BaseModel):
    id: int
    status: str
    status_label: str
    text: str | None
    answer: str | None
    merged_into: int | None
    redacted: bool


class NoticeDetailOut(NoticeOut):
    content: dict[str, Any]
    result: Any = Field(description="执行结果（未执行为 null）/ the execution result, null before")
    checkpoint: Any = Field(description="公示时的账本检查点 / the ledger checkpoint the notice was posted under")
    answered_objections: list[PublicObjectionOut]


class FiledOut(BaseModel):
    id: int
    status: str
    anonymous: bool
    receipt_no: str
    check_code: str


def _notice(v: portal.NoticeView, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": v.notice.id, "title": v.content.get("title", ""), "region": v.notice.region_code,
                           "region_name": v.region_name, "township_name": v.township_name,
                           "status": v.notice.status, "status_label": portal.STATUS_LABELS.zh(v.notice.status),
                           "posted_at": as_utc(v.notice.posted_at).isoformat(),
                           "ends_at": as_utc(v.notice.ends_at).isoformat(), "window_days": v.notice.window_days,
                           "objections": v.objections, "has_result": v.result is not None}
    if full:
        out["content"] = v.content
        out["result"] = v.result
        out["checkpoint"] = v.notice.checkpoint
    return out


@router.get("/public/regions", response_model=list[RegionOut])
def regions(session: SessionDep) -> list[dict[str, str]]:
    """乡镇和村 / townships and villages, for filtering notices."""
    return [{"code": r.code, "name": r.name, "level": r.level} for r in portal.regions(session)]


@router.get("/public/notices", response_model=Page[NoticeOut])
def notices(session: SessionDep, region: str | None = Query(None, pattern=r"^\d{6}(\d{3}){0,2}$"),
            limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """公示公告（按乡镇、村；新发布的在前，分页）/ posted notices, newest first, by township or village; one page
    of `limit`, the next asked for with `cursor`."""
    at = read_cursor("notices", cursor, "offset")
    offset = at["offset"] if at else 0
    got = portal.list_notices(session, region=region, limit=limit + 1, offset=offset)
    more = len(got) > limit
    return {"items": [_notice(v, full=False) for v in got[:limit]], "limit": limit,
            "next_cursor": make_cursor("notices", offset=offset + limit) if more else None,
            "total": portal.count_notices(session, region=region)}


@router.get("/public/notices/{notice_id}", response_model=NoticeDetailOut)
def notice(notice_id: Id, session: SessionDep) -> dict[str, Any]:
    """公示详情：受益对象与金额、异议渠道、账本检查点、执行结果 / a notice with its result and checkpoint."""
    v = portal.get_notice(session, notice_id)
    out = _notice(v, full=True)
    out["answered_objections"] = portal.answered_objections(session, notice_id)
    return out


@router.post("/public/notices/{notice_id}/objections", status_code=201, dependencies=[CsrfDep],
             response_model=FiledOut)
def object_to(notice_id: Id, body: FileObjection, request: Request, session: SessionDep,
              now: NowDep) -> dict[str, Any]:
    """提出异议（可匿名；同一客户端对同一公示每天至多 3 条）/ object to a notice during its window, named or
    anonymous (at most 3 a day from one client to one notice)."""
    o = portal.object_to(session, notice_id, body, at=now, cookie=request.cookies.get(ANON_COOKIE),
                         address=request.client.host if request.client else "unknown")
    return {"id": o.id, "status": o.status, "anonymous": o.anonymous, "receipt_no": o.receipt_no,
            "check_code": o.check_code}


class CheckObjection(BaseModel):
    receipt_no: str = Field(max_length=24)
    check_code: str = Field(max_length=16)


class CheckedOut(PublicObjectionOut):
    receipt_no: str
    notice_id: int
    filed_at: str
    answered_at: str | None
    notified_via: str | None
    notified_at: str | None


@router.post("/public/objections/check", dependencies=[CsrfDep], response_model=CheckedOut)
def check_objection(body: CheckObjection, session: SessionDep) -> dict[str, Any]:
    """查询异议办理情况（回执号与查询码）/ an objection's status and answer, by its receipt number and check code."""
    out = portal.check_objection(session, body.receipt_no, body.check_code)
    for key in ("filed_at", "answered_at", "notified_at"):
        out[key] = as_utc(out[key]).isoformat() if out[key] is not None else None
    return out
