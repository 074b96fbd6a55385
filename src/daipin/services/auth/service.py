"""Accounts: create users, log in with argon2 hashes and growing delays, sessions, password change, demo accounts."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.orm import Session

from daipin.db.models.auth import LoginAttempt, LoginSession, User
from daipin.domain import access
from daipin.domain.access import REGION_LENGTHS
from daipin.domain.actors import ROLE_LABELS, Actor, Role
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.services.auth import passwords
from daipin.services.shared import rows, scope, throttle, trace

# Failed logins slow down the address that made them and no other: a lock on the account would let anyone shut
# out any user with a few bad passwords. After MAX_FAILED_LOGINS failures for an account (since its last login,
# within FAILURE_WINDOW), an address that has failed for it waits FIRST_DELAY after its last failure, doubled for
# each of its failures beyond MAX_FAILED_LOGINS, at most MAX_DELAY; an address that has not failed for it (the
# real user elsewhere) is not held up.
MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = timedelta(hours=24)
# An address with MAX_CLIENT_FAILURES failures for any accounts within CLIENT_WINDOW (one guessing many
# usernames) waits likewise for every account.
MAX_CLIENT_FAILURES = 30
CLIENT_WINDOW = timedelta(hours=1)
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = passwords.MIN_LENGTH
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
DEMO_PASSWORD = "daipin-demo"


# argon2id with 7 MiB, 5 passes, 1 lane: one of the settings OWASP's Password Storage Cheat Sheet lists as equal
# in defence to its 19 MiB / 2-pass minimum, trading memory for passes. It is the cheapest of them in CPU here
# (a verify measured 14.1 ms against 18.7 ms for 19 MiB / 2 passes and 51 ms for 46 MiB / 1 pass), and a login
# under load waits on that CPU. Hashes made with other parameters (they are stored in the hash) still verify.
_hasher = PasswordHasher(time_cost=5, memory_cost=7168, parallelism=1)
# A hash to verify against when the username is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash("daipin-no-such-user")


@dataclass(frozen=True)
class LoggedIn:
    """What a login gives back: the cookie/bearer token (shown once) and the session's CSRF token."""

    token: str
    csrf_token: str
    user: User


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_id(token: str) -> str:
    """Sessions are stored under the token's digest so a leaked table yields no usable cookie."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def actor_for(user: User | Account) -> Actor:
    return Actor(
        id=str(user.id),
        role=Role(user.role),
        region=user.region_code,
        entity_id=user.entity_id,
        name=user.display_name or user.username,
    )


def _check_password_rules(password: str, field: str, *, username: str, display_name: str,
                          demo: bool = False) -> None:
    """The password rules (daipin.services.auth.passwords); the published demo password only for demo accounts."""
    if demo and password == DEMO_PASSWORD:
        return
    passwords.check(password, field, username=username, display_name=display_name)


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    region: str,
    at: datetime,
    entity_id: int | None = None,
    display_name: str = "",
    demo: bool = False,
) -> User:
    """Create an account. Only the district administrator (within the county) or the operator may."""
    access.require(actor, "user.manage")
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise InputError(
            "用户名只能使用小写字母、数字和 . _ -，2 至 64 个字符",
            "username: 2-64 characters of a-z, 0-9, '.', '_', '-'",
            "username",
        )
    _check_password_rules(password, "password", username=username, display_name=display_name or "", demo=demo)
    role_v, region, entity_id = _role_region(session, actor, role, region, entity_id)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InputError("用户名已存在", "username already taken", "username")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role_v.value,
        region_code=region,
        county_code=region[:6],
        entity_id=entity_id,
        display_name=(display_name or "").strip()[:100],
        active=True,
        is_demo=demo,
        failed_logins=0,
        created_at=at,
        password_changed_at=at,
    )
    session.add(user)
    session.flush()
    _record_user(session, actor, "user.create", user, at, {"role": user.role, "entity": user.entity_id})
    return user


def _record_user(session: Session, actor: Actor, type: str, user: User, at: datetime, facts: dict[str, Any]) -> int:
    """The ledger entry of a change to an account: its row (the password only as a digest of its hash, sign-in
    bookkeeping left out), the username as a salted digest."""
    return trace.record(session, actor=actor, type=type, subject=f"user:{user.id}", region=user.region_code,
                        facts={**facts, "username": trace.pii(session, user.username),
                               "row": rows.row_fact(session, user)}, at=at)


def _client_failures_statement(client: str, since: datetime) -> Any:
    """The number of an address's failures since `since` (any account), and the time of the last."""
    # `~ok` renders as the partial index ix_login_attempts_client_failed is defined (`NOT ok`, SQLite `ok = 0`),
    # so the count reads that index and never the client's successful logins.
    return select(func.count(), func.max(LoginAttempt.at)).select_from(LoginAttempt).where(
        LoginAttempt.client == client, LoginAttempt.at >= since, ~LoginAttempt.ok)


def _aware(value: datetime | None, like: datetime) -> datetime | None:
    """SQLite hands back naive datetimes; treat them as the same zone as `like`."""
    if value is None or value.tzinfo is not None or like.tzinfo is None:
        return value
    return value.replace(tzinfo=like.tzinfo)


def _wait_until(session: Session, username: str, client: str, at: datetime) -> datetime | None:
    """When `client` may next try to log in as `username`, if it must wait (None if it need not)."""
    waits = [at]
    count, last = session.execute(_client_failures_statement(client, at - CLIENT_WINDOW)).one()
    if count >= MAX_CLIENT_FAILURES and (last := _aware(last, at)) is not None:
        waits.append(last + throttle.delay(count - MAX_CLIENT_FAILURES, FIRST_DELAY, MAX_DELAY))
    # The account's failures since its last login (a login, from anywhere, starts the count again).
    last_login = _aware(session.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.ok, LoginAttempt.at >= at - FAILURE_WINDOW)), at)
    # (A failure stamped the same instant as the login is counted: which came first is not known.)
    since = LoginAttempt.at >= last_login if last_login is not None else LoginAttempt.at > at - FAILURE_WINDOW
    here = LoginAttempt.client == client
    failures, from_here, last_here = session.execute(
        select(func.count(), func.count(case((here, 1))), func.max(case((here, LoginAttempt.at))))
        .where(LoginAttempt.username == username, ~LoginAttempt.ok, since)).one()
    if failures >= MAX_FAILED_LOGINS and from_here and (last_here := _aware(last_here, at)) is not None:
        waits.append(last_here + throttle.delay(from_here - MAX_FAILED_LOGINS, FIRST_DELAY, MAX_DELAY))
    until = max(waits)
    return until if until > at else None


def authenticate(session: Session, *, username: str, password: str, client: str, at: datetime) -> User:
    """Check a username and password, after the address has waited out its failures (Throttled otherwise).

    Unknown users and wrong passwords give the same answer, and are slowed alike, so logins cannot be used to
    list accounts. A refused attempt checks no password and is not recorded: waiting the time it names is all
    it takes, and an impatient retry does not push the time back.
    """
    username = (username or "").strip().lower()[:64]
    client = (client or "unknown")[:64]
    # No account has a name outside USERNAME_RE: such a name is not looked up (PostgreSQL refuses a NUL in
    # a text parameter) and is recorded without its NULs; it is answered like any unknown user.
    valid = USERNAME_RE.match(username) is not None
    if not valid:
        username = username.replace("\x00", "")
    # The account's row is locked first, so that attempts at once for one account are counted in turn (a burst
    # would otherwise all pass the count before any of them is recorded).
    user = session.scalar(select(User).where(User.username == username).with_for_update()) if valid else None
    until = _wait_until(session, username, client, at)
    if until is not None:
        raise throttle.refused("登录失败次数过多", "too many failed logins", at=at, until=until)
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, client=client, at=at, ok=ok))
    if not ok or user is None:
        if user is not None:
            user.failed_logins += 1
        session.flush()
        raise InputError("用户名或密码错误", "wrong username or password", "password", code="bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = at
    session.flush()
    return user


def start_session(session: Session, user: User, *, at: datetime, ttl: timedelta = SESSION_TTL) -> LoggedIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    # The account's expired sessions go as it starts a new one (they can never be used again), so the
    # table holds about one row per account and device rather than one per login ever made.
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= at))
    session.add(
        LoginSession(id=token_id(token), user_id=user.id, csrf_token=csrf, created_at=at, last_seen_at=at,
                     expires_at=at + ttl)
    )
    session.flush()
    return LoggedIn(token=token, csrf_token=csrf, user=user)


def login(session: Session, *, username: str, password: str, client: str, at: datetime) -> LoggedIn:
    user = authenticate(session, username=username, password=password, client=client, at=at)
    return start_session(session, user, at=at)


@dataclass(frozen=True)
class Account:
    """A plain copy of an account as a request sees it, safe to use after the database session is closed."""

    id: int
    username: str
    display_name: str
    role: str
    region_code: str
    entity_id: int | None
    active: bool

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.username, user.display_name, user.role, user.region_code, user.entity_id,
                   user.active)


# Built once: SQLAlchemy reuses the statement's construction and cache key on every request. Plain columns,
# not ORM entities: this runs on every request that carries a token, and loading two mapped objects (and
# their identity map entries) costs more than the look-up itself.
_SESSION_LOOKUP = (select(User.id, User.username, User.display_name, User.role, User.region_code, User.entity_id,
                          User.active, LoginSession.csrf_token, LoginSession.expires_at)
                   .join(User, User.id == LoginSession.user_id)
                   .where(LoginSession.id == bindparam("sid")))


def resolve_session(session: Session, token: str | None, *, at: datetime) -> tuple[Account, str] | None:
    """The account and the session's CSRF token behind a token, or None when absent, expired or the user
    is inactive. Reads only: nothing about the session is written on a request."""
    if not token or len(token) > 200:
        return None
    # One primary-key look-up joined to its user.
    found = session.execute(_SESSION_LOOKUP, {"sid": token_id(token)}).first()
    if found is None:
        return None
    uid, username, display_name, role, region_code, entity_id, active, csrf, expires_at = found
    expires = _aware(expires_at, at)
    if expires is not None and expires <= at:
        return None
    if not active:
        return None
    return Account(uid, username, display_name, role, region_code, entity_id, active), csrf


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(LoginSession).where(LoginSession.id == token_id(token)))


def change_password(
    session: Session, *, user_id: int, old_password: str, new_password: str, at: datetime, keep_token: str | None = None
) -> None:
    """Change one's own password; every other session of the user is ended."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("账户不存在", "no such account", "user")
    try:
        _hasher.verify(user.password_hash, old_password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise InputError("原密码错误", "the current password is wrong", "old_password") from None
    _check_password_rules(new_password, "new_password", username=user.username, display_name=user.display_name)
    if new_password == old_password:
        raise InputError("新密码不能与原密码相同", "the new password must differ from the current one", "new_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = at
    keep = token_id(keep_token) if keep_token else ""
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.id != keep))
    session.flush()
    _record_user(session, actor_for(user), "user.password_changed", user, at, {})


def set_active(session: Session, *, actor: Actor, username: str, active: bool, at: datetime | None = None) -> User:
    access.require(actor, "user.manage")
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not access.allowed(actor, "user.manage", region=user.region_code):
        raise NotFound("账户不存在", "no such account", "username")
    changed = user.active != active
    user.active = active
    if not active:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    if changed:
        from datetime import UTC

        _record_user(session, actor, "user.enabled" if active else "user.disabled", user, at or datetime.now(UTC), {})
    return user


def _managed_user(session: Session, actor: Actor, user_id: int) -> User:
    """The account, row-locked, if it lies in the actor's reach of `user.manage`; NotFound otherwise."""
    access.require(actor, "user.manage")
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or not access.allowed(actor, "user.manage", region=user.region_code):
        raise NotFound("账户不存在", "no such account", "user_id")
    return user


def _is_self(actor: Actor, user: User) -> bool:
    """Whether the account is the actor's own (its id under its current role)."""
    return f"{actor.role.value}:{actor.id}" == f"{user.role}:{user.id}"


def set_active_by_id(session: Session, *, actor: Actor, user_id: int, active: bool, at: datetime) -> User:
    """停用/启用 an account in the administrator's county: a disabled one's sessions end. One's own account is
    not disabled (nobody would be left to enable it)."""
    user = _managed_user(session, actor, user_id)
    if not active and _is_self(actor, user):
        raise Conflict("不能停用自己的账户", "you cannot disable your own account", "user_id", code="own_account")
    if user.active == active:
        return user
    user.active = active
    if not active:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    _record_user(session, actor, "user.enabled" if active else "user.disabled", user, at, {})
    return user


def reset_password(session: Session, *, actor: Actor, user_id: int, new_password: str, at: datetime) -> User:
    """重置密码 by the administrator: the new password follows the rules; every session of the account ends."""
    user = _managed_user(session, actor, user_id)
    _check_password_rules(new_password, "new_password", username=user.username, display_name=user.display_name)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = at
    user.failed_logins = 0
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    _record_user(session, actor, "user.password_reset", user, at, {})
    return user


def _role_region(session: Session, actor: Actor, role: str, region: str,
                 entity_id: int | None) -> tuple[Role, str, int | None]:
    """A role, its region (of the role's length, in the actor's reach) and entity, as an account holds them."""
    try:
        role_v = Role(role)
    except ValueError:
        raise InputError(
            f"未知角色 {role!r}", f"unknown role {role!r}; one of {', '.join(r.value for r in REGION_LENGTHS)}", "role"
        ) from None
    if role_v not in REGION_LENGTHS:
        raise InputError("该角色不能登录", "this role cannot have an account", "role")
    region = (region or "").strip()
    if not region.isdigit() or len(region) not in REGION_LENGTHS[role_v]:
        lengths = "/".join(str(n) for n in REGION_LENGTHS[role_v])
        raise InputError(
            f"{ROLE_LABELS[role_v]}的区域代码应为 {lengths} 位数字",
            f"region code for {role_v.value} must be {lengths} digits",
            "region",
        )
    access.require(actor, "user.manage", region=region, field="region")
    if role_v is Role.ENTITY_USER and entity_id is None:
        raise InputError("实施主体账户必须指定实施主体", "an entity user needs an entity id", "entity_id")
    if role_v is not Role.ENTITY_USER and entity_id is not None:
        raise InputError("只有实施主体账户可以指定实施主体", "only entity users have an entity id", "entity_id")
    if entity_id is not None:
        from daipin.db.models.registry import Entity

        entity = session.get(Entity, entity_id) if isinstance(entity_id, int) else None
        if entity is None or entity.county_code != region[:6]:
            raise InputError(f"本区没有实施主体 {entity_id}", f"no entity {entity_id} in the account's county",
                             "entity_id")
    return role_v, region, entity_id


def set_role(session: Session, *, actor: Actor, user_id: int, role: str, region: str, entity_id: int | None,
             at: datetime) -> User:
    """设置角色和区域: both the account's old and new region in the administrator's reach; its sessions end (the
    next sign-in carries the new role). One's own role is not changed here."""
    user = _managed_user(session, actor, user_id)
    role_v, region, entity_id = _role_region(session, actor, role, region, entity_id)
    if _is_self(actor, user):
        raise Conflict("不能修改自己的角色和区域", "you cannot change your own role or region", "user_id",
                       code="own_account")
    before = {"role": user.role, "region": user.region_code, "entity": user.entity_id}
    if before == {"role": role_v.value, "region": region, "entity": entity_id}:
        return user
    user.role, user.region_code, user.county_code, user.entity_id = role_v.value, region, region[:6], entity_id
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    _record_user(session, actor, "user.role_changed", user, at,
                 {"role": user.role, "entity": user.entity_id, "before": before})
    return user


def list_users(session: Session, *, actor: Actor) -> list[User]:
    access.require(actor, "user.manage")
    in_reach = scope.where(access.reach(actor, "user.manage"), region=User.region_code)
    return list(session.scalars(select(User).where(in_reach).order_by(User.username)))


def has_demo_accounts(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User).where(User.is_demo.is_(True))) != 0


# The demo database's accounts (`daipin demo`), one per role: user name, role, display name. The sign-in page of a
# training database lists them.
DEMO_ACCOUNTS: tuple[tuple[str, Role, str], ...] = (
    ("district", Role.DISTRICT_ADMIN, "区级管理员（演示）"),
    ("township", Role.TOWNSHIP_OFFICIAL, "乡镇干部（演示）"),
    ("village", Role.VILLAGE_CADRE, "村干部（演示）"),
    ("auditor", Role.AUDITOR, "审计监督（演示）"),
    ("discipline", Role.DISCIPLINE, "纪检监察（演示）"),
    ("province", Role.PROVINCE, "省级（演示）"),
    ("entity", Role.ENTITY_USER, "实施主体（演示）"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    region: str
    entity_id: int | None
    label: str


def create_demo_accounts(
    session: Session, *, county: str, township: str, village: str, entity_id: int | None, at: datetime
) -> list[DemoAccount]:
    """One account per role, for the demo database only (`daipin demo`); all share DEMO_PASSWORD. The province's
    reads every county of the county's province (its code's first two digits) and writes nothing there."""
    regions = {Role.DISTRICT_ADMIN: county, Role.TOWNSHIP_OFFICIAL: township, Role.VILLAGE_CADRE: village,
               Role.AUDITOR: county, Role.DISCIPLINE: county, Role.PROVINCE: county[:2], Role.ENTITY_USER: county}
    plan: list[tuple[str, Role, str, int | None, str]] = [
        (username, role, regions[role], entity_id if role is Role.ENTITY_USER else None, label)
        for username, role, label in DEMO_ACCOUNTS if role is not Role.ENTITY_USER or entity_id is not None]
    out = []
    from daipin.domain.actors import SYSTEM_ACTOR

    for username, role, region, ent, label in plan:
        existing = session.scalar(select(User).where(User.username == username))
        if existing is None:
            create_user(session, actor=SYSTEM_ACTOR, username=username, password=DEMO_PASSWORD, role=role.value,
                        region=region, entity_id=ent, display_name=label, at=at, demo=True)
        out.append(DemoAccount(username, DEMO_PASSWORD, role, region, ent, label))
    return out
