"""What the account pages read: an account's own activity (the steps it took on matters, the changes made to it),
for the account itself or its district administrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.auth import User
from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.workflow import Matter, MatterEvent
from daipin.domain import access
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import NotFound
from daipin.domain.vocabulary import MATTER_EVENT
from daipin.services.shared.rows import utc

ACCOUNT_EVENTS = {"user.create": "创建账户", "user.disabled": "停用账户", "user.enabled": "启用账户",
                  "user.password_reset": "管理员重置密码", "user.password_changed": "本人修改密码",
                  "user.role_changed": "调整角色和区域"}
LIMIT = 100


def account_for(session: Session, actor: Actor, user_id: int) -> User:
    """One's own account, or an account the district administrator manages; NotFound otherwise."""
    user = session.get(User, user_id)
    own = user is not None and f"{actor.role.value}:{actor.id}" == f"{user.role}:{user.id}"
    if user is None or not (own or access.allowed(actor, "user.manage", region=user.region_code)):
        raise NotFound("账户不存在", "no such account", "user_id")
    return user


def activity(session: Session, actor: Actor, user_id: int, *, limit: int = LIMIT) -> list[dict[str, Any]]:
    """The account's latest steps on matters and the changes made to it (newest first), each with its time."""
    user = account_for(session, actor, user_id)
    labels = [f"{r.value}:{user.id}" for r in Role if r not in (Role.SYSTEM, Role.PUBLIC)]
    rows: list[tuple[datetime, dict[str, Any]]] = []
    for ev, title in session.execute(
            select(MatterEvent, Matter.title).join(Matter, Matter.id == MatterEvent.matter_id)
            .where(MatterEvent.actor.in_(labels)).order_by(MatterEvent.id.desc()).limit(limit)).all():
        rows.append((ev.at, {"at": utc(ev.at), "what": MATTER_EVENT.zh(ev.action) if ev.action in MATTER_EVENT.codes
                             else ev.action, "subject": f"#{ev.matter_id} {title}",
                             "url": f"/matters/{ev.matter_id}", "ledger_index": ev.ledger_index}))
    for idx, type_, at in session.execute(
            select(LedgerEntry.idx, LedgerEntry.type, LedgerEntry.at).where(LedgerEntry.subject == f"user:{user.id}")
            .order_by(LedgerEntry.idx.desc()).limit(limit)).all():
        rows.append((at, {"at": utc(at), "what": ACCOUNT_EVENTS.get(type_, type_), "subject": user.username, "url": "",
                          "ledger_index": idx}))
    rows.sort(key=lambda r: utc(r[0]), reverse=True)
    return [r for _, r in rows[:limit]]
