"""Typed dependencies shared by the API and the pages: the request's session, clock and actor, CSRF."""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from daipin.db.session import session_scope
from daipin.domain import access
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import DaipinError, Forbidden
from daipin.domain.localtime import beijing_date
from daipin.http.settings import Settings
from daipin.services.auth.service import Account

SESSION_COOKIE = "daipin_session"
ANON_COOKIE = "daipin_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PUBLIC_ACTOR = Actor(id="public", role=Role.PUBLIC, region="", name="公众")


class Unauthenticated(DaipinError):
    status = 401
    code = "unauthenticated"


class CsrfFailed(DaipinError):
    status = 403
    code = "csrf"


# Dependencies that only compute are `async def`: FastAPI runs a plain `def` dependency in the threadpool,
# and each such hop costs more than the work. Those that touch the database stay `def` (or hop explicitly).


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _finish(session: Session, ok: bool) -> None:
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back when it raises.

    Opening a Session does no I/O (it connects on first use); the commit or rollback and the close run in
    the threadpool in one hop, and not at all when the request never reached the database.
    """
    factory = request.app.state.session_factory
    session: Session = factory()
    request.state.db_session = session  # the request's own session, for reads the route's helpers need
    try:
        yield session
    except BaseException:
        request.state.db_session = None
        await run_in_threadpool(_finish, session, False)
        raise
    request.state.db_session = None
    if session.in_transaction():
        await run_in_threadpool(_finish, session, True)
    else:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


TRAINING, PRODUCTION = "training", "production"


def database_kind(request: Request, session: Session | None = None) -> str | None:
    """Whether the app's database is a training one (its ledger's origin says so) or a production one; learnt once
    per process (a ledger's origin never changes) through the request's own session (a second one could wait on
    the first's lock), None while it is not known."""
    kind: str | None = getattr(request.app.state, "database_kind", None)
    session = session or getattr(request.state, "db_session", None)
    if kind is None and session is not None:
        from daipin.services.shared import clock

        origin = clock.origin(session)
        if origin is not None:
            kind = TRAINING if clock.is_training_origin(origin) else PRODUCTION
            request.app.state.database_kind = kind
    return kind


def _recorded_now(request: Request, session: Session) -> datetime:
    from daipin.services.shared import clock

    settings: Settings = request.app.state.settings
    if database_kind(request, session) != TRAINING:
        return settings.now()
    return clock.now(session, settings.now)


async def get_now(request: Request, settings: SettingsDep, session: SessionDep) -> datetime:
    """The time a step taken by this request is recorded at: the settings' clock (the real time; tests inject one),
    plus a training database's recorded offset, read in the request's own session. Nobody types it."""
    if getattr(request.app.state, "database_kind", None) == PRODUCTION:
        at = settings.now()
    else:
        at = await run_in_threadpool(_recorded_now, request, session)
    request.state.now = at
    return at


async def get_real_now(settings: SettingsDep) -> datetime:
    """The real time, for sign-in, sessions and throttles (a training database's advanced clock does not log
    anyone out)."""
    return settings.now()


async def get_today(now: Annotated[datetime, Depends(get_now)]) -> date:
    """Chinese civil dates (notice windows, due dates) are counted in Beijing time."""
    return beijing_date(now)


NowDep = Annotated[datetime, Depends(get_now)]
RealNowDep = Annotated[datetime, Depends(get_real_now)]
TodayDep = Annotated[date, Depends(get_today)]


# A plain copy of the account, safe to use after the request's session is closed (error pages).
UserInfo = Account


@dataclass
class Auth:
    """Who is calling and how: by cookie (needs CSRF on writes), by bearer token, or nobody (public)."""

    actor: Actor
    user: UserInfo | None = None
    csrf: str | None = None
    token: str | None = None
    via_cookie: bool = False

    @property
    def logged_in(self) -> bool:
        return self.user is not None


def _token(request: Request) -> tuple[str | None, bool]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return request.cookies.get(SESSION_COOKIE), True


def _resolve_auth(request: Request, session: Session, now: datetime) -> Auth:
    cached = getattr(request.state, "auth", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from daipin.services.auth import service as auth_service

    token, via_cookie = _token(request)
    found = auth_service.resolve_session(session, token, at=now) if token else None
    if found is None:
        result = Auth(actor=PUBLIC_ACTOR)
    else:
        user, csrf = found
        result = Auth(actor=auth_service.actor_for(user), user=user, csrf=csrf, token=token, via_cookie=via_cookie)
    request.state.auth = result
    return result


def get_auth(request: Request, session: SessionDep, now: RealNowDep) -> Auth:
    return _resolve_auth(request, session, now)


AuthDep = Annotated[Auth, Depends(get_auth)]


async def get_actor(auth: AuthDep) -> Actor:
    """The caller, or the public actor when nobody is logged in."""
    return auth.actor


async def require_user(auth: AuthDep) -> Actor:
    if not auth.logged_in:
        raise Unauthenticated("请先登录", "login required")
    return auth.actor


OptionalActor = Annotated[Actor, Depends(get_actor)]
CurrentActor = Annotated[Actor, Depends(require_user)]


async def require_writer(actor: CurrentActor) -> Actor:
    if not access.may_write(actor):  # no write of its own in the policy: auditors, entities, the public
        raise Forbidden("只读账户不能修改数据", "read-only account")
    return actor


WriterActor = Annotated[Actor, Depends(require_writer)]


def anon_csrf(secret: str, anon: str) -> str:
    # base64url, like the session's token: a hex digest can hold a run of 18 digits that reads as an ID number
    digest = hmac.new(secret.encode(), b"csrf:" + anon.encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token_for(request: Request, auth: Auth, settings: Settings) -> str:
    """The token a page embeds in its forms: the session's, or one bound to the anonymous cookie."""
    if auth.csrf is not None:
        return auth.csrf
    anon = request.cookies.get(ANON_COOKIE) or getattr(request.state, "new_anon", None)
    if anon is None:
        import secrets

        anon = secrets.token_urlsafe(24)
        request.state.new_anon = anon
    return anon_csrf(settings.secret_key, anon)


async def verify_csrf(request: Request, auth: AuthDep, settings: SettingsDep) -> None:
    """Every unsafe request carried by a cookie must echo the CSRF token (form field or htmx header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if auth.token is not None and not auth.via_cookie:
        return  # bearer tokens are not sent by browsers on their own
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if auth.csrf is not None:
        expected = auth.csrf
    else:
        anon = request.cookies.get(ANON_COOKIE)
        if not anon:
            if request.url.path.startswith("/api/"):
                return  # an API call with no cookie at all carries no ambient authority
            raise CsrfFailed("表单已过期，请刷新页面后重试", "missing CSRF cookie; reload the page")
        expected = anon_csrf(settings.secret_key, anon)
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("表单已过期，请刷新页面后重试", "CSRF token missing or wrong; reload the page")


CsrfDep = Depends(verify_csrf)

T = TypeVar("T")


class ReadOnlySession(Session):
    """The session of a read-only request (`read_only`). Flushing one is a bug: on PostgreSQL it reads in
    autocommit mode, where the statements of a flush would commit one by one."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.info["read_only"] = True  # what it reads is all committed: lists may keep counts (`counts.count`)

    def flush(self, objects: Any = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise RuntimeError("a read-only request tried to write")
        super().flush(objects)


@contextmanager
def _own_session(request: Request, factory: Callable[[], Session], *, commit: bool) -> Iterator[Session]:
    """A session for one hop: the tests' `get_session` override when there is one (it owns its transaction),
    else a new one from `factory`, committed at the end if `commit` (rolled back on an error) and closed."""
    override = request.app.dependency_overrides.get(get_session)
    if override is not None:
        with contextmanager(override)() as bound:
            request.state.db_session = bound
            try:
                yield bound
            finally:
                request.state.db_session = None
        return
    with session_scope(factory, commit=commit) as session:
        request.state.db_session = session
        try:
            yield session
        finally:
            request.state.db_session = None


def _read(request: Request, work: Callable[[Session, Auth], T], logged_in: bool) -> T:
    with _own_session(request, request.app.state.read_session_factory, commit=False) as session:
        auth = _resolve_auth(request, session, request.app.state.settings.now())
        if logged_in and not auth.logged_in:
            raise Unauthenticated("请先登录", "login required")
        return work(session, auth)


def _unit(request: Request, work: Callable[[Session], T]) -> T:
    with _own_session(request, request.app.state.session_factory, commit=True) as session:
        return work(session)


async def unit_of_work(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work(session)` and commit it (roll back when it raises) in one threadpool hop, where SessionDep
    costs two (the handler, then the commit): row locks taken by the work are released as soon as it ends."""
    return await run_in_threadpool(_unit, request, work)


async def read_only(request: Request, work: Callable[[Session, Auth], T], *, logged_in: bool = True) -> T:
    """Run a read-only request in one threadpool hop: look up the caller's session, refuse (401) when
    `logged_in` and nobody is, then call `work(session, auth)`, which must only read.

    The hot pages use this instead of the SessionDep/AuthDep dependencies, which cost a threadpool hop
    each (the auth look-up, the handler, the commit). On PostgreSQL the session reads in autocommit mode
    (`read_session_factory`), so no BEGIN and COMMIT round trips either: at READ COMMITTED every statement
    takes its own snapshot inside a transaction too, so the reads see exactly what they saw before.
    """
    return await run_in_threadpool(_read, request, work, logged_in)

# Row ids in paths: bounded so a huge number is a 422, not a database overflow.
Id = Annotated[int, Path(ge=1, le=2**62)]
