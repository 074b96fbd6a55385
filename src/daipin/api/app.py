"""The application factory: JSON API under /api/v1, the pages, static files, one error mapping."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from daipin.api.settings import Settings

API_PREFIX = "/api/v1"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Inline scripts are never needed (charts read their options from data attributes); ECharts sets inline styles.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}


class _Headers:
    """Security headers on every answer, caching of vendored files, and the anonymous CSRF cookie when a page
    made one. A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` costs a task group and a stream per
    request."""

    def __init__(self, app: Any, cookie_secure: bool) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        vendor = scope["path"].startswith("/static/vendor/")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                from starlette.datastructures import MutableHeaders

                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    if key not in headers:
                        headers[key] = value
                if vendor:
                    headers["Cache-Control"] = "public, max-age=86400"
                new_anon = (scope.get("state") or {}).get("new_anon")
                if new_anon:
                    from daipin.api.deps import ANON_COOKIE

                    cookie = Response()
                    cookie.set_cookie(ANON_COOKIE, new_anon, httponly=True, samesite="lax",
                                      secure=self.cookie_secure, path="/")
                    headers.append("set-cookie", cookie.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Admission:
    """At most `limit` requests of this process are worked on at once; the rest wait their turn in arrival order.

    Without it every request in flight shares the CPU with every other (the event loop interleaves them, and
    threadpool threads and the argon2 hashing, which releases the GIL, compete with them): under load a request
    that needs 15 ms of CPU — a login's password hash — takes many times that while it shares the cores with
    everything else, and every request's latency grows with the number in flight. Taking requests in turn
    gives the same work done with a far shorter tail: a request waits for those ahead of it, then runs nearly
    alone. A request gives its slot back when its answer starts (sending a large body to a slow client holds
    none) or after `hold_seconds` (a long export or verification then runs beside the others instead of
    stopping them). `asyncio.Semaphore` wakes its waiters first come, first served.
    """

    def __init__(self, app: Any, limit: int, hold_seconds: float = 0.25) -> None:
        import asyncio

        self.app = app
        self.slots = asyncio.Semaphore(limit)
        self.hold_seconds = hold_seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        import asyncio

        await self.slots.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.slots.release()

        timer = asyncio.get_running_loop().call_later(self.hold_seconds, release)

        async def send_releasing(message: Any) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            timer.cancel()
            release()


def create_app(engine: Engine | None = None, settings: Settings | None = None, **overrides: Any) -> FastAPI:
    """Build the app. `engine` defaults to DAIPIN_DATABASE_URL's; `settings` to the environment's."""
    from daipin.api import errors
    from daipin.api.deps import ReadOnlySession
    from daipin.api.routers import auth, dashboard, ledger, public, registry, workflow
    from daipin.db.session import get_engine
    from daipin.web import STATIC
    from daipin.web.pages import router as pages_router
    from daipin.web.pages.public import PageCache

    settings = settings or Settings.from_env()
    engine = engine or get_engine()
    app = FastAPI(
        title="带贫益贫 daipin API",
        version="1",
        description="扶贫产业项目带贫益贫管理系统的 JSON 接口。错误统一为 "
        '`{"error": {"code", "message", "field"}}`。登录：`POST /api/v1/auth/login` 取得令牌，'
        "以 `Authorization: Bearer <token>` 调用。",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
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

    errors.install(app)

    for module in (auth, public, registry, workflow, ledger, dashboard):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    app.add_middleware(_Headers, cookie_secure=settings.cookie_secure)
    if settings.concurrency:
        app.add_middleware(Admission, limit=settings.concurrency)
    return app
