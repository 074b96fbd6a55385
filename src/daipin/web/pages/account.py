"""Pages for logging in and out, changing one's password, switching language, and user admin."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError
from daipin.http.deps import (
    SESSION_COOKIE,
    TRAINING,
    AuthDep,
    CsrfDep,
    CurrentActor,
    Id,
    RealNowDep,
    SessionDep,
    database_kind,
)
from daipin.services.auth import service as auth_service
from daipin.web import render
from daipin.web.i18n import LANG_COOKIE, LOCALES

router = APIRouter()


def _safe_next(nxt: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce users to another site."""
    if not nxt:
        return "/"
    parsed = urlparse(nxt)
    if parsed.scheme or parsed.netloc or not nxt.startswith("/") or nxt.startswith("//"):
        return "/"
    return nxt


def _demo_accounts(request: Request, session: Session) -> list[tuple[str, str]]:
    """A training database's sign-in hints: the demo accounts (user name, role), when the demo made them."""
    if database_kind(request, session) != TRAINING or not auth_service.has_demo_accounts(session):
        return []
    return [(username, role.value) for username, role, _ in auth_service.DEMO_ACCOUNTS]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, auth: AuthDep, session: SessionDep, next: str | None = None) -> Response:
    if auth.logged_in:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": "",
                                          "demo_accounts": _demo_accounts(request, session),
                                          "demo_password": auth_service.DEMO_PASSWORD})


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfDep])
def login_submit(
    request: Request,
    session: SessionDep,
    now: RealNowDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        got = auth_service.login(session, username=username, password=password, client=client, at=now)
    except DaipinError as exc:
        # returned, not raised, so the request commits and the failure counts
        return render(request, "login.html", {"next": _safe_next(next), "error": exc, "username": username,
                                              "demo_accounts": _demo_accounts(request, session),
                                              "demo_password": auth_service.DEMO_PASSWORD},
                      status_code=exc.status, headers=getattr(exc, "headers", None))
    settings = request.app.state.settings
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, got.token, httponly=True, samesite="lax", secure=settings.cookie_secure,
                    max_age=int(settings.session_ttl.total_seconds()), path="/")
    return resp


@router.post("/logout", dependencies=[CsrfDep])
def logout(auth: AuthDep, session: SessionDep) -> Response:
    auth_service.end_session(session, auth.token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    return render(request, "password.html", {"error": None, "done": False,
                                             "region_name": _region_name(session, actor)})


@router.post("/account/password", response_class=HTMLResponse, dependencies=[CsrfDep])
def password_submit(
    request: Request,
    actor: CurrentActor,
    auth: AuthDep,
    session: SessionDep,
    now: RealNowDep,
    old_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password2: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    assert auth.user is not None
    try:
        if new_password != new_password2:
            from daipin.domain.errors import InputError

            raise InputError("两次输入的新密码不一致", "the new passwords differ", "new_password2")
        with session.begin_nested():
            auth_service.change_password(session, user_id=auth.user.id, old_password=old_password,
                                         new_password=new_password, at=now, keep_token=auth.token)
    except DaipinError as exc:
        return render(request, "password.html", {"error": exc, "done": False,
                                                 "region_name": _region_name(session, actor)}, status_code=exc.status)
    return render(request, "password.html", {"error": None, "done": True, "region_name": _region_name(session, actor)})


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    back = _safe_next(request.headers.get("referer", "/").split(str(request.base_url).rstrip("/"), 1)[-1])
    resp = RedirectResponse(back, status_code=303)
    if code in LOCALES:
        resp.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400, path="/")
    return resp


def _region_name(session: SessionDep, actor: Actor) -> str:
    from sqlalchemy import select

    from daipin.db.models.registry import Region

    return session.scalar(select(Region.name).where(Region.code == actor.region)) or actor.region


def _users_ctx(session: SessionDep, actor: Actor) -> dict[str, Any]:
    """The accounts with their regions by name, and the regions and entities to choose from for a new one."""
    from sqlalchemy import select

    from daipin.db.models.registry import Entity, Region

    users = auth_service.list_users(session, actor=actor)
    county = actor.region[:6]
    regions = list(session.scalars(select(Region).where(Region.code.startswith(county)).order_by(Region.code)))
    entities = list(session.scalars(select(Entity).where(Entity.county_code == county).order_by(Entity.name)))
    return {"users": users, "regions": regions, "region_names": {r.code: r.name for r in regions},
            "entities": entities, "entity_names": {e.id: e.name for e in entities}}


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    return render(request, "users.html", {**_users_ctx(session, actor), "error": None})


@router.post("/admin/users", response_class=HTMLResponse, dependencies=[CsrfDep])
def users_create(
    request: Request,
    actor: CurrentActor,
    session: SessionDep,
    now: RealNowDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    region: Annotated[str, Form(max_length=12)] = "",
    entity_id: Annotated[str, Form(max_length=20)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    error = None
    try:
        ent = None
        if entity_id.strip():
            if not entity_id.strip().isdigit():
                from daipin.domain.errors import InputError

                raise InputError("实施主体编号应为数字", "entity id must be a number", "entity_id")
            ent = int(entity_id)
        with session.begin_nested():
            auth_service.create_user(session, actor=actor, username=username, password=password, role=role,
                                     region=region, entity_id=ent, display_name=display_name, at=now)
    except DaipinError as exc:
        error = exc
    return render(request, "users.html", {**_users_ctx(session, actor), "error": error},
                  status_code=error.status if error else 200)


# ---------------------------------------------------------------- one account: its activity, and its administration


def _account_ctx(session: SessionDep, actor: Actor, user_id: int) -> dict[str, Any]:
    from daipin.services.auth import views as account_views

    user = account_views.account_for(session, actor, user_id)
    ctx = {"u": user, "activity": account_views.activity(session, actor, user_id), "error": None,
           "failed": None, "managed": False}
    if f"{user.role}:{user.id}" != f"{actor.role.value}:{actor.id}":
        ctx.update(_users_ctx(session, actor), managed=True)
    return ctx


@router.get("/account/activity", response_class=HTMLResponse)
def own_activity(request: Request, actor: CurrentActor, session: SessionDep) -> Response:
    """One's own activity: the steps taken on matters, the changes made to the account."""
    if not actor.id.isdigit():
        from daipin.domain.errors import NotFound

        raise NotFound("账户不存在", "no such account", "user_id")
    return render(request, "account.html", _account_ctx(session, actor, int(actor.id)))


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, user_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    return render(request, "account.html", _account_ctx(session, actor, user_id))


@router.post("/admin/users/{user_id}/{change}", response_class=HTMLResponse, dependencies=[CsrfDep])
async def user_change(request: Request, user_id: Id, change: str, actor: CurrentActor, session: SessionDep,
                      now: RealNowDep) -> Response:
    """停用/启用 (`active`), 重置密码 (`password`), 角色和区域 (`role`): each a ledger entry."""
    from daipin.domain.errors import InputError, NotFound

    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        with session.begin_nested():
            if change == "active":
                auth_service.set_active_by_id(session, actor=actor, user_id=user_id,
                                              active=fields.get("active") == "1", at=now)
            elif change == "password":
                auth_service.reset_password(session, actor=actor, user_id=user_id,
                                            new_password=fields.get("new_password", ""), at=now)
            elif change == "role":
                ent = fields.get("entity_id", "").strip()
                if ent and not ent.isdigit():
                    raise InputError("实施主体编号应为数字", "entity id must be a number", "entity_id")
                auth_service.set_role(session, actor=actor, user_id=user_id, role=fields.get("role", ""),
                                      region=fields.get("region", ""), entity_id=int(ent) if ent else None, at=now)
            else:
                raise NotFound(f"未知操作 {change}", f"unknown change {change}", "change")
    except DaipinError as exc:
        ctx = _account_ctx(session, actor, user_id)
        return render(request, "account.html", {**ctx, "error": exc, "failed": change}, status_code=exc.status)
    return RedirectResponse(f"/admin/users/{user_id}?done={change}", status_code=303)
