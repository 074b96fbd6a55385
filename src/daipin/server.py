"""The web server's composition root: wires the process (`daipin.bootstrap`), then mounts the JSON API under
/api/v1, the pages, the static files and the one error mapping on one ASGI app."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from daipin.api.docs import docs_router
from daipin.http.middleware import Admission, Headers
from daipin.http.observe import RequestLog
from daipin.http.settings import Settings

API_PREFIX = "/api/v1"

# The app answering the current request (set by `_AnsweringApp`, outermost of the app's own layers).
_answering: ContextVar[Any] = ContextVar("daipin_answering_app", default=None)


class _AnsweringAppOverrides:
    """The dependency overrides FastAPI consults for the shared routes below: those of the app answering the
    request, so each app's `dependency_overrides` (the tests' sessions) apply to its own requests only."""

    @property
    def dependency_overrides(self) -> dict[Any, Any]:
        app = _answering.get()
        return app.dependency_overrides if app is not None else {}


class _AnsweringApp:
    """ASGI layer naming the answering app (Starlette puts it in the scope) for `_AnsweringAppOverrides`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        token = _answering.set(scope.get("app"))
        try:
            await self.app(scope, receive, send)
        finally:
            _answering.reset(token)


_shared: list[Any] = []
_shared_lock = threading.Lock()


def _shared_routes() -> list[Any]:
    """The API's and the pages' routes, included once per process and shared by every app it builds.

    FastAPI (0.16x) builds an included route's request state (its dependency tree, a pydantic field per declared
    response) lazily, per including router: about 1.3 s of CPU for this app's 228 routes, on the first request of
    every new app. A server builds one app per worker and never notices; the tests build one per test. Built here
    once, under a router whose overrides are the answering app's, each further app costs milliseconds and keeps its
    own `dependency_overrides`."""
    with _shared_lock:
        if not _shared:
            from daipin.api.routers import (
                auth,
                dashboard,
                exports,
                ledger,
                obligations,
                payments,
                public,
                registry,
                registry_writes,
                supervision,
                villages,
                workflow,
            )
            from daipin.http import errors
            from daipin.http.observe import router as observe_router
            from daipin.web.pages import router as pages_router

            root = APIRouter(dependency_overrides_provider=_AnsweringAppOverrides())
            for module in (auth, public, registry, registry_writes, villages, workflow, payments, ledger, dashboard,
                           obligations, exports, supervision):
                root.include_router(module.router, prefix=API_PREFIX, responses=errors.PROBLEM_RESPONSES)
            root.include_router(pages_router)
            root.include_router(observe_router)  # /healthz, /readyz, /metrics
            _shared.extend(root.routes)
        return _shared


def create_app(engine: Engine | None = None, settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """Build the app. `engine` defaults to DAIPIN_DATABASE_URL's; `settings` to the environment's."""
    from daipin import bootstrap
    from daipin.db.session import get_engine
    from daipin.http import errors
    from daipin.http.deps import ReadOnlySession
    from daipin.web import STATIC, render_error
    from daipin.web.pages.public import PageCache

    bootstrap.configure()
    settings = settings or Settings.from_env()
    engine = engine or get_engine()
    app = FastAPI(
        title="带贫益贫 daipin API",
        version="1",
        description="扶贫产业项目带贫益贫管理系统的 JSON 接口。错误统一为 RFC 9457 "
        "`application/problem+json`（`type`、`title`、`status`、`detail`、`code`、字段列表 `errors`）。"
        "列表统一分页：`limit` 与 `cursor`，回答带 `next_cursor`（及 `total`）。登录：`POST /api/v1/auth/login` 取得令牌，"
        "以 `Authorization: Bearer <token>` 调用。",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from the vendored files below (`api.docs`), not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = sessionmaker(engine, expire_on_commit=False)
    # Sessions for read-only requests (`deps.read_only`): autocommit on PostgreSQL, so reading costs no
    # BEGIN and COMMIT round trips; SQLite reads as before (its engine begins every transaction itself).
    read_engine = engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" \
        else engine
    app.state.read_session_factory = sessionmaker(read_engine, class_=ReadOnlySession, expire_on_commit=False)

    # Rendered public notice pages, one cache per app (see `PageCache`).
    app.state.notice_pages = PageCache()

    errors.install(app, render_page_error=render_error)

    app.router.routes.extend(_shared_routes())  # the API, the pages, /healthz, /readyz, /metrics
    app.include_router(docs_router(API_PREFIX))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    app.add_middleware(Headers, cookie_secure=settings.cookie_secure)
    if settings.concurrency:
        app.add_middleware(Admission, limit=settings.concurrency)
    app.add_middleware(_AnsweringApp)
    app.add_middleware(RequestLog)  # outermost: its time and status are the whole request's
    return app
