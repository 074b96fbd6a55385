"""ASGI middleware for every answer: security headers, the anonymous CSRF cookie, and the admission queue."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Inline scripts are never needed (charts read their options from data attributes); ECharts sets inline styles.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}


class Headers:
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
        path = scope["path"]
        vendor = path.startswith("/static/vendor/")
        # Signed-in pages and the API may hold personal data: no copy kept by the browser or a proxy. The public
        # portal, the health checks and the static files hold none.
        private = not (path.startswith(("/static/", "/public")) or path in ("/healthz", "/readyz", "/metrics",
                                                                            "/favicon.ico", "/login"))

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                from starlette.datastructures import MutableHeaders

                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    if key not in headers:
                        headers[key] = value
                if vendor:
                    headers["Cache-Control"] = "public, max-age=86400"
                elif private and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                new_anon = (scope.get("state") or {}).get("new_anon")
                if new_anon:
                    from daipin.http.deps import ANON_COOKIE

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
