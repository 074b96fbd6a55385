"""Accounts over the API: log in (bearer token), log out, who am I, change password, manage users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from daipin.api.schemas import LoginIn, LoginOut, Ok, PasswordIn, UserIn, UserOut
from daipin.db.models.auth import User
from daipin.domain.errors import DaipinError
from daipin.http.deps import (
    AuthDep,
    CsrfDep,
    CurrentActor,
    RealNowDep,
    SessionDep,
    Unauthenticated,
    UserInfo,
    unit_of_work,
)
from daipin.http.errors import daipin_problem
from daipin.services.auth import service as auth_service

router = APIRouter(tags=["auth 账户"])


def user_out(user: User | UserInfo) -> UserOut:
    return UserOut(id=user.id, username=user.username, role=user.role, region=user.region_code,
                   entity_id=user.entity_id, display_name=user.display_name, active=user.active)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/auth/login", response_model=LoginOut, responses={422: {}, 429: {}})
async def login(body: LoginIn, request: Request, now: RealNowDep) -> LoginOut | JSONResponse:
    """登录，取得会话令牌 / log in and get a bearer token."""

    def work(session: Session) -> LoginOut | JSONResponse:
        # The password hash is verified in this threadpool thread (argon2 releases the GIL): never on the loop.
        try:
            got = auth_service.login(session, username=body.username, password=body.password,
                                     client=client_of(request), at=now)
        except DaipinError as exc:
            # Answer without raising so the transaction commits: the failed attempt must count.
            return daipin_problem(request, exc)
        expires = now + request.app.state.settings.session_ttl
        return LoginOut(token=got.token, csrf_token=got.csrf_token, expires_at=expires.isoformat(),
                        user=user_out(got.user))

    return await unit_of_work(request, work)


@router.post("/auth/logout", response_model=Ok, dependencies=[CsrfDep])
def logout(auth: AuthDep, session: SessionDep) -> Ok:
    """退出登录 / end this session."""
    if not auth.logged_in:
        raise Unauthenticated("请先登录", "login required")
    auth_service.end_session(session, auth.token)
    return Ok()


@router.get("/auth/me", response_model=UserOut)
def me(actor: CurrentActor, auth: AuthDep) -> UserOut:
    """当前账户 / the account behind this token."""
    assert auth.user is not None
    return user_out(auth.user)


@router.post("/auth/password", response_model=Ok, dependencies=[CsrfDep])
def change_password(body: PasswordIn, actor: CurrentActor, auth: AuthDep, session: SessionDep, now: RealNowDep) -> Ok:
    """修改密码（其他会话随之失效）/ change password; other sessions end."""
    assert auth.user is not None
    auth_service.change_password(session, user_id=auth.user.id, old_password=body.old_password,
                                 new_password=body.new_password, at=now, keep_token=auth.token)
    return Ok()


@router.get("/users", response_model=list[UserOut])
def list_users(actor: CurrentActor, session: SessionDep) -> list[UserOut]:
    """账户列表（区级管理员）/ accounts (district administrator)."""
    return [user_out(u) for u in auth_service.list_users(session, actor=actor)]


@router.post("/users", response_model=UserOut, status_code=201, dependencies=[CsrfDep])
def create_user(body: UserIn, actor: CurrentActor, session: SessionDep, now: RealNowDep) -> UserOut:
    """创建账户（区级管理员）/ create an account (district administrator)."""
    user = auth_service.create_user(session, actor=actor, username=body.username, password=body.password,
                                    role=body.role, region=body.region, entity_id=body.entity_id,
                                    display_name=body.display_name, at=now)
    return user_out(user)
