"""The public portal's reads: posted notices by township and village, results, and objections from the public."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from daipin.db.models.registry import Region
from daipin.db.models.workflow import Matter, Notice, Objection
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import InputError, NotFound
from daipin.domain.privacy import mask_free_text
from daipin.domain.vocabulary import NOTICE_STATUS, OBJECTION_STATUS

if TYPE_CHECKING:
    from daipin.services.matters.commands import FileObjection

PUBLIC = Actor(id="public", role=Role.PUBLIC, region="", name="公众")
STATUS_LABELS = NOTICE_STATUS


@dataclass
class NoticeView:
    notice: Notice
    matter: Matter
    region_name: str
    township_name: str
    objections: dict[str, int]

    @property
    def content(self) -> dict[str, Any]:
        return self.notice.content or {}

    @property
    def result(self) -> dict[str, Any] | None:
        """The result announcement (事后公告), once the matter is executed and announced."""
        return self.matter.announcement if self.matter.announced_at is not None else None


def content_version(session: Session) -> int:
    """A number that changes whenever anything the portal shows may have changed: the ledger's size.

    Notices, objections and their answers, results and regions change only through services that write
    their ledger entry in the same transaction, so a page built while the ledger held N entries stays
    exact for as long as it still holds N. One index look-up (the ledger's primary key).
    """
    from daipin.ledger import store

    counties = store.counties(session)  # every county's log: the portal's pages may show any of them
    return sum(store.tree_size(session, county) for county in counties) if counties else store.tree_size(session)


def regions(session: Session, county: str | None = None) -> list[Region]:
    stmt = select(Region).where(Region.level.in_(("township", "village"))).order_by(Region.code)
    if county:
        stmt = stmt.where(Region.code.startswith(county))
    return list(session.scalars(stmt))


def region_choices(session: Session, chosen: str | None) -> list[dict[str, Any]]:
    """The portal's region filter, as plain rows (code, name, level, depth): with one county, its townships and
    villages; with several (a province's deployment), the counties, and the townships and villages of the county
    `chosen` lies in only, so that the list stays the size of a county's (about 300 where a province has 3,000
    villages)."""
    counties = list(session.execute(select(Region.code, Region.name).where(Region.level == "district")
                                    .order_by(Region.code)))
    rows = select(Region.code, Region.name, Region.level).where(Region.level.in_(("township", "village")))
    if len(counties) <= 1:
        return [{"code": c, "name": n, "level": lv, "depth": 1 if lv == "village" else 0}
                for c, n, lv in session.execute(rows.order_by(Region.code))]
    county = (chosen or "")[:6]
    out: list[dict[str, Any]] = []
    for code, name in counties:
        out.append({"code": code, "name": name, "level": "district", "depth": 0})
        if code == county:
            out.extend({"code": c, "name": n, "level": lv, "depth": 2 if lv == "village" else 1}
                       for c, n, lv in session.execute(rows.where(Region.code.startswith(code))
                                                       .order_by(Region.code)))
    return out


def list_notices(session: Session, *, region: str | None = None, limit: int = 100, offset: int = 0) -> list[NoticeView]:
    if region is not None and (not region.isdigit() or len(region) not in (6, 9, 12)):
        raise InputError("区划代码应为 6、9 或 12 位数字", "region must be 6, 9 or 12 digits", "region")
    stmt = (select(Notice, Matter).join(Matter, Matter.id == Notice.matter_id)
            .order_by(Notice.posted_at.desc(), Notice.id.desc()).limit(min(max(limit, 1), 500)).offset(max(offset, 0)))
    if region:
        stmt = stmt.where(Notice.region_code.startswith(region))
    rows = session.execute(stmt).all()
    codes = {n.region_code for n, _ in rows} | {n.region_code[:9] for n, _ in rows}
    names = _names(session, codes)
    counts = _objection_counts(session, [n.id for n, _ in rows])
    return [NoticeView(n, m, names.get(n.region_code, ""), names.get(n.region_code[:9], ""), counts.get(n.id, {}))
            for n, m in rows]


def count_notices(session: Session, *, region: str | None = None) -> int:
    """How many notices `list_notices` pages through (the same filter)."""
    stmt = select(func.count()).select_from(Notice).join(Matter, Matter.id == Notice.matter_id)
    if region:
        stmt = stmt.where(Notice.region_code.startswith(region))
    return int(session.scalar(stmt) or 0)


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


@cache
def _counts_statement() -> Any:
    return (select(Objection.notice_id, Objection.status, func.count())
            .where(Objection.notice_id.in_(bindparam("ids", expanding=True)))
            .group_by(Objection.notice_id, Objection.status))


def _objection_counts(session: Session, notice_ids: list[int]) -> dict[int, dict[str, int]]:
    if not notice_ids:
        return {}
    out: dict[int, dict[str, int]] = {}
    rows = session.execute(_counts_statement(), {"ids": notice_ids}).all()
    for nid, status, count in rows:
        out.setdefault(int(nid), {})[str(status)] = int(count)
    return out


@cache
def _notice_statement() -> Any:
    """A notice with its matter and the names of its village and township, built once (only `:nid` changes)."""
    village, township = aliased(Region), aliased(Region)
    return (select(Notice, Matter, village.name, township.name).join(Matter, Matter.id == Notice.matter_id)
            .outerjoin(village, village.code == Notice.region_code)
            .outerjoin(township, township.code == func.substr(Notice.region_code, 1, 9))
            .where(Notice.id == bindparam("nid")))


def get_notice(session: Session, notice_id: int) -> NoticeView:
    """A notice with its matter and region names (one statement) and its objections counted by status."""
    found = session.execute(_notice_statement(), {"nid": notice_id}).first()
    if found is None:
        raise NotFound(f"公示 {notice_id} 不存在", f"notice {notice_id} not found", "notice_id")
    n, m, village_name, township_name = found
    counts = _objection_counts(session, [n.id])
    return NoticeView(n, m, village_name or "", township_name or "", counts.get(n.id, {}))


@cache
def _answered_statement() -> Any:
    return (select(Objection).where(Objection.notice_id == bindparam("nid"), Objection.status != "open")
            .order_by(Objection.id))


def answered_objections(session: Session, notice_id: int) -> list[dict[str, Any]]:
    """Answered objections as the public sees them: the text and the answer, never who objected."""
    rows = session.scalars(_answered_statement(), {"nid": notice_id})
    return [public_objection(o) for o in rows]


def public_objection(o: Objection) -> dict[str, Any]:
    """An objection as the public sees it: the text and the answer with ID numbers, phones and bank numbers masked
    (or as an official redacted them), never who objected or how to reach them."""
    text = o.public_text if o.public_text is not None else mask_free_text(o.text)
    answer = o.public_answer if o.public_answer is not None else mask_free_text(o.answer)
    return {"id": o.id, "status": o.status, "status_label": OBJECTION_STATUS.zh(o.status), "text": text,
            "answer": answer, "merged_into": o.merged_into, "redacted": o.redacted_at is not None}


def check_objection(session: Session, receipt_no: str, check_code: str) -> dict[str, Any]:
    """What the objector sees with the receipt number and check code: the status and the answer (masked)."""
    from daipin.services.matters import service as workflow

    o = workflow.check_objection(session, receipt_no, check_code)
    out = public_objection(o)
    out.update({"receipt_no": o.receipt_no, "notice_id": o.notice_id, "filed_at": o.filed_at,
                "answered_at": o.answered_at, "notified_via": o.notified_via, "notified_at": o.notified_at})
    return out


def object_to(session: Session, notice_id: int, command: FileObjection, *, at: datetime,
              actor: Actor = PUBLIC, cookie: str | None = None, address: str | None = None) -> Objection:
    """File an objection against a posted notice (named or anonymous); the workflow checks the window, and
    throttles a client from the public (its anonymous `cookie` and its `address`, kept as salted digests only)."""
    from daipin.services.matters import service as workflow

    view = get_notice(session, notice_id)
    if view.notice.status != "open":
        from daipin.domain.errors import Conflict

        raise Conflict("该公示已结束，不能再提出异议", "this notice is no longer open for objections", "notice_id",
                       code="window_closed")
    client = workflow.ObjectionClient.of(session, cookie=cookie, address=address) if address is not None else None
    return workflow.file_objection(session, actor, view.matter.id, text=command.text, at=at, name=command.name,
                                   contact=command.contact, client=client)


def checkpoint_summary(view: NoticeView) -> dict[str, Any]:
    cp = view.content.get("ledger_checkpoint") or {}
    return {"size": cp.get("size"), "root": cp.get("root"), "key_id": cp.get("key_id"), "origin": cp.get("origin"),
            "note": view.notice.checkpoint or ""}
