"""One place that turns errors into responses: `{"error": {"code", "message", "field"}}` for the API, pages otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from daipin.domain.errors import DaipinError
from daipin.services.shared.commands import zh_reason

HTTP_TEXT: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求无效", "bad request"),
    401: ("unauthenticated", "请先登录", "login required"),
    403: ("forbidden", "无权进行此操作", "forbidden"),
    404: ("not_found", "未找到", "not found"),
    405: ("method_not_allowed", "不支持该方法", "method not allowed"),
    409: ("conflict", "当前状态不允许此操作", "conflict"),
    413: ("too_large", "上传内容过大", "payload too large"),
    422: ("invalid_input", "输入有误", "invalid input"),
    429: ("throttled", "请求过于频繁", "too many requests"),
    500: ("internal", "服务器内部错误", "internal error"),
}


def error_body(code: str, message_zh: str, message_en: str, field: str | None) -> dict[str, Any]:
    message = message_zh if message_zh == message_en else f"{message_zh} / {message_en}"
    return {"error": {"code": code, "message": message, "message_zh": message_zh, "message_en": message_en,
                      "field": field}}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def install(app: FastAPI, render_page_error: Callable[..., Response]) -> None:
    """Map every error to one answer: JSON for the API (and clients that ask for it), else the page that
    `render_page_error(request, status, message_zh, message_en, field, headers=None)` renders (the pages own
    their error templates; this package does not import them)."""
    render_error = render_page_error

    @app.exception_handler(DaipinError)
    async def _daipin(request: Request, exc: DaipinError) -> Response:
        headers = getattr(exc, "headers", None)  # Retry-After, on a throttled answer
        if wants_json(request):
            body = error_body(exc.code, exc.message_zh, exc.message_en, exc.field)
            details = getattr(exc, "details", None)  # every problem of a file refused whole (row, column, why)
            if details:
                body["error"]["details"] = details
            return JSONResponse(body, status_code=exc.status, headers=headers)
        return render_error(request, exc.status, exc.message_zh, exc.message_en, exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        first = errs[0] if errs else {"loc": ("body",), "msg": "invalid"}
        field = _loc_to_field(list(first.get("loc", ())))
        msg_en = f"{field}: {first.get('msg', 'invalid')}"
        msg_zh = f"输入有误：{field} {zh_reason(first)}"
        if wants_json(request):
            body = error_body("invalid_input", msg_zh, msg_en, field)
            body["error"]["details"] = [
                {"field": _loc_to_field(list(e.get("loc", ()))), "message_zh": zh_reason(e),
                 "message": str(e.get("msg", ""))} for e in errs[:20]
            ]
            return JSONResponse(body, status_code=422)
        return render_error(request, 422, msg_zh, msg_en, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, zh, en = HTTP_TEXT.get(exc.status_code, ("error", "请求失败", "request failed"))
        if isinstance(exc.detail, str) and exc.detail and exc.detail not in (en,):
            en = exc.detail if exc.detail.isascii() else en
        headers = getattr(exc, "headers", None)
        if wants_json(request):
            return JSONResponse(error_body(code, zh, en, None), status_code=exc.status_code, headers=headers)
        return render_error(request, exc.status_code, zh, en, None, headers=headers)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # The database refused a value the checks let through (PostgreSQL takes no NUL character in text):
        # bad input, not a crash. The request's transaction was rolled back, so nothing was written.
        zh, en = "输入含有数据库不能保存的字符或数值", "the input holds a character or value the database cannot store"
        if wants_json(request):
            return JSONResponse(error_body("invalid_input", zh, en, None), status_code=422)
        return render_error(request, 422, zh, en, None)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Never leak a traceback to the client; the server log has where it happened (see `crash_report`).
        import logging

        logging.getLogger("daipin.web").error("unhandled error on %s %s: %s", request.method, request.url.path,
                                              crash_report(exc))
        if wants_json(request):
            return JSONResponse(error_body("internal", "服务器内部错误", "internal error", None), status_code=500)
        return render_error(request, 500, "服务器内部错误", "internal error", None)


def crash_report(exc: BaseException) -> str:
    """An unhandled error for the server log: its type, the first line of its message with long numbers masked,
    and the stack (code lines only). Not the whole message: a database error's detail quotes the row's values
    (`Key (id_number)=(...)`), and those may be personal data."""
    import traceback

    from daipin.domain.privacy import mask_numbers

    text = str(exc).strip()
    first = mask_numbers(text.splitlines()[0]) if text else ""
    return f"{type(exc).__name__}: {first}\n" + "".join(traceback.format_tb(exc.__traceback__))
