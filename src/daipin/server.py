"""The web server's composition root: wires the process (`daipin.bootstrap`), then mounts the JSON API under
/api/v1, the pages, the static files and the one error mapping on one ASGI app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from daipin.api.docs import docs_router
from daipin.http.middleware import Admission, Headers
from daipin.http.observe import RequestLog
from daipin.http.observe import router as observe_router
from daipin.http.settings import Settings

API_PREFIX = "/api/v1"


def create_app(engine: Engine | None = None, settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """Build the app. `engine` defaults to DAIPIN_DATABASE_URL's; `settings` to the environment's."""
    from daipin import bootstrap
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
    from daipin.db.session import get_engine
    from daipin.http import errors
    from daipin.http.deps import ReadOnlySession
    from daipin.web import STATIC, render_error
    from daipin.web.pages import router as pages_router
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

    for module in (auth, public, registry, registry_writes, villages, workflow, payments, ledger, dashboard, obligations, exports,
                   supervision):
        app.include_router(module.router, prefix=API_PREFIX, responses=errors.PROBLEM_RESPONSES)
    app.include_router(pages_router)
    app.include_router(observe_router)  # /healthz, /readyz, /metrics
    app.include_router(docs_router(API_PREFIX))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    app.add_middleware(Headers, cookie_secure=settings.cookie_secure)
    if settings.concurrency:
        app.add_middleware(Admission, limit=settings.concurrency)
    app.add_middleware(RequestLog)  # outermost: its time and status are the whole request's
    return app
