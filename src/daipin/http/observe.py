"""What an operator watches: one log line per request with its request id (also sent back in `X-Request-ID`),
personal numbers masked in every log line, Prometheus metrics at /metrics, and /healthz and /readyz."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from daipin.domain.privacy import mask_free_text

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("daipin.access")

# ---------------------------------------------------------------- logs

_EXTRA = ("method", "path", "status", "duration_ms", "client")


class RedactPersonalNumbers(logging.Filter):
    """Every record that reaches a handler has its ID numbers, phones and bank accounts masked (message, path and
    exception text): a search for a resident ID number, or an error quoting a typed value, is logged masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_free_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = mask_free_text(path)
        if record.exc_info:
            record.exc_text = mask_free_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id, and a request's method,
    path, status, duration and client when the record carries them."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        for key in _EXTRA:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{datetime.fromtimestamp(record.created, UTC).isoformat(timespec='seconds')} {record.levelname} " \
               f"{record.name} [{REQUEST_ID.get()}] {record.getMessage()}"
        if hasattr(record, "path"):
            line += f" {getattr(record, 'method', '')} {record.path} {getattr(record, 'status', '')} " \
                    f"{getattr(record, 'duration_ms', '')}ms"
        return line + (f"\n{record.exc_text}" if record.exc_text else "")


def configure_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> logging.Handler:
    """The process's one log handler (standard error), on the root logger: uvicorn's and SQLAlchemy's records go
    through it too, masked and formatted alike. Returns the handler (tests read what it wrote)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactPersonalNumbers())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_daipin", False)]:
        root.removeHandler(old)
    handler._daipin = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access log has the request id and masks numbers
    return handler


# ---------------------------------------------------------------- metrics

def _metrics() -> Any:
    """The process's metrics (made once). With several worker processes (`daipin serve --workers N` sets
    PROMETHEUS_MULTIPROC_DIR), prometheus-client keeps them in files that /metrics adds up across workers."""
    global _METRICS
    if _METRICS is None:
        from prometheus_client import Counter, Histogram

        _METRICS = {
            "requests": Counter("daipin_http_requests_total", "HTTP requests answered, by route and status",
                                ["method", "route", "status"]),
            "latency": Histogram("daipin_http_request_duration_seconds", "Time to answer a request, by route",
                                 ["route"], buckets=(.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10)),
        }
    return _METRICS


_METRICS: Any = None


class RequestLog:
    """Request id, access log line and request metrics for every HTTP request (a plain ASGI middleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        _metrics()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for key, value in scope.get("headers") or ():
            if key == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or \
                ("/static" if scope["path"].startswith("/static/") else "(unmatched)")
            m = _metrics()
            m["requests"].labels(scope["method"], route, str(status)).inc()
            m["latency"].labels(route).observe(elapsed)
            query = scope.get("query_string", b"").decode("latin-1")
            client = scope.get("client")
            access_log.info("%s %s %s", scope["method"], scope["path"], status, extra={
                "method": scope["method"], "path": scope["path"] + (f"?{query}" if query else ""),
                "status": status, "duration_ms": round(elapsed * 1000, 1),
                "client": client[0] if client else ""})
            REQUEST_ID.reset(token)


# ---------------------------------------------------------------- health, readiness, metrics endpoints

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (for a process manager's liveness check)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and the ledger's signing key is there (503 naming what is not)."""
    from sqlalchemy import text

    from daipin.services.ledger.views import signing_key_problem

    checks: dict[str, str] = {}
    try:
        with request.app.state.engine.connect() as conn:
            conn.execution_options(read_only=True).execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the report
        checks["database"] = f"unreachable: {type(exc).__name__}"
    problem = signing_key_problem()
    checks["ledger_key"] = "ok" if problem is None else f"missing: {problem}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latency (all workers), the database pool, the ledger's size and the
    age of its last checkpoint, and the payment lines and import batches by state (read from the database)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    engine = request.app.state.engine
    now = datetime.now(UTC)

    class Database:
        def collect(self) -> Any:
            from sqlalchemy import func, select

            from daipin.db.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerLog
            from daipin.db.models.workflow import PaymentBatch

            pool = engine.pool
            g = GaugeMetricFamily("daipin_db_pool_connections", "Database connections of this process",
                                  labels=["state"])
            for state, fn in (("checked_out", "checkedout"), ("idle", "checkedin")):
                value = getattr(pool, fn, None)
                if callable(value):
                    g.add_metric([state], float(value()))
            yield g
            with engine.connect() as conn:  # each a key lookup or a scan of an index's range: cheap at any size
                conn.execution_options(read_only=True)
                # One ledger per county (docs/scale.md): its size and its last checkpoint's age, each county read
                # by its own key range.
                logs = []
                for county in conn.execute(select(LedgerLog.county_code).order_by(LedgerLog.county_code)).scalars():
                    size = conn.execute(select(func.max(LedgerEntry.idx))
                                        .where(LedgerEntry.county_code == county)).scalar()
                    last = conn.execute(select(LedgerCheckpoint.at).where(LedgerCheckpoint.county_code == county)
                                        .order_by(LedgerCheckpoint.size.desc()).limit(1)).scalar()
                    logs.append((county, size, last))
                batches = conn.execute(select(PaymentBatch.status, func.count()).group_by(PaymentBatch.status)).all()
                counted = conn.execute(select(LedgerEntry.type, func.count()).where(
                    LedgerEntry.type.like("payment.%") | LedgerEntry.type.like("household.import%"))
                    .group_by(LedgerEntry.type)).all()
            entries = GaugeMetricFamily("daipin_ledger_entries", "Entries in each county's ledger",
                                        labels=["county"])
            age = GaugeMetricFamily("daipin_ledger_last_checkpoint_age_seconds",
                                    "Seconds since each county's ledger's last signed checkpoint", labels=["county"])
            for county, size, last in logs:
                entries.add_metric([county], float(0 if size is None else size + 1))
                if last is not None:
                    at = last if last.tzinfo else last.replace(tzinfo=UTC)
                    age.add_metric([county], max(0.0, (now - at).total_seconds()))
            yield entries
            yield age
            b = GaugeMetricFamily("daipin_payment_batches", "Payment batches by status", labels=["status"])
            for status, n in batches:
                b.add_metric([str(status)], float(n))
            yield b
            c = CounterMetricFamily("daipin_ledger_steps", "Payment and import steps recorded in the ledger, by kind",
                                    labels=["type"])
            for kind, n in counted:
                c.add_metric([str(kind)], float(n))
            yield c

    out = generate_latest(registry)
    extra = CollectorRegistry()
    extra.register(Database())
    return Response(out + generate_latest(extra), media_type=CONTENT_TYPE_LATEST)
