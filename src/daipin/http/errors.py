"""One place that turns errors into responses. The JSON API (`/api/...`) answers every error as an RFC 9457
problem (`application/problem+json`: `type`, `title`, `status`, `detail`, plus `code`, the field list `errors`
and, for the clients written before it, the same facts under `error`); pages answer with their HTML error page.
`Problem` is the one body the OpenAPI advertises for every error of every operation (`PROBLEM_RESPONSES`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from daipin.domain.errors import DaipinError
from daipin.services.shared.commands import zh_reason

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:daipin:problem:"

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


class FieldProblem(BaseModel):
    field: str = Field(description="出错的字段（点分路径）/ the field, as a dotted path")
    message_zh: str = Field(description="原因（中文）/ why, in Chinese")
    message: str = Field(description="原因（英文）/ why, in English")


class LegacyError(BaseModel):
    """The error as answered before problem details (kept for existing clients)."""

    code: str
    message: str
    message_zh: str
    message_en: str
    field: str | None
    details: list[dict[str, Any]] | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with daipin's extension members `code`, `errors` and `error`."""

    type: str = Field(description="问题类型（URN，按 code 区分）/ the problem type, a URN per `code`")
    title: str = Field(description="问题类型的简述 / a short summary of the problem type")
    status: int = Field(description="HTTP 状态码 / the HTTP status code")
    detail: str = Field(description="本次问题的说明（中文 / 英文）/ this occurrence, in Chinese and English")
    instance: str = Field(description="请求的路径 / the request's path")
    code: str = Field(description="稳定的错误代码 / a stable error code")
    errors: list[FieldProblem] = Field(description="每个出错字段 / every field in error (empty when none is named)")
    error: LegacyError
    details: list[dict[str, Any]] | None = Field(
        default=None, description="整份文件被拒时的每处问题（行、列、原因）/ every problem of a file refused whole")


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Declared on every API operation (server.py, include_router): the body of every error status it may answer.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": f"{zh} / {en}"}
    for status, (_, zh, en) in HTTP_TEXT.items() if status not in (405, 413)
}
PROBLEM_RESPONSES["4XX"] = {"model": Problem, "description": "其他客户端错误 / another client error"}


def error_body(code: str, message_zh: str, message_en: str, field: str | None) -> dict[str, Any]:
    message = message_zh if message_zh == message_en else f"{message_zh} / {message_en}"
    return {"error": {"code": code, "message": message, "message_zh": message_zh, "message_en": message_en,
                      "field": field}}


def problem_body(request: Request, status: int, code: str, message_zh: str, message_en: str, field: str | None,
                 errors: list[dict[str, str]] | None = None,
                 details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The problem document of one error. `errors` defaults to the one named field (none when no field)."""
    _, title_zh, title_en = HTTP_TEXT.get(status, ("error", "请求失败", "request failed"))
    body = error_body(code, message_zh, message_en, field)
    if errors is None:
        errors = [{"field": field, "message_zh": message_zh, "message": message_en}] if field else []
    if details:
        body["error"]["details"] = details
    out: dict[str, Any] = {"type": PROBLEM_TYPE_PREFIX + code, "title": f"{title_zh} / {title_en}",
                           "status": status, "detail": body["error"]["message"], "instance": request.url.path,
                           "code": code, "errors": errors, **body}
    if details:
        out["details"] = details
    return out


def problem_response(request: Request, status: int, code: str, message_zh: str, message_en: str,
                     field: str | None, *, errors: list[dict[str, str]] | None = None,
                     details: list[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(request, status, code, message_zh, message_en, field, errors, details),
                        status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def daipin_problem(request: Request, exc: DaipinError) -> JSONResponse:
    """A refused request (`DaipinError`) as its problem response, e.g. for a route that answers without raising."""
    return problem_response(request, exc.status, exc.code, exc.message_zh, exc.message_en, exc.field,
                            details=getattr(exc, "details", None) or None, headers=getattr(exc, "headers", None))


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def problem_openapi(app: FastAPI) -> None:
    """Make the OpenAPI say what the handlers below answer: every error response of an API operation is
    `application/problem+json` with the `Problem` schema (FastAPI would list `Problem` under `application/json`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, item in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                for status, response in operation.get("responses", {}).items():
                    if status[0] in "45":
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}}
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, render_page_error: Callable[..., Response]) -> None:
    """Map every error to one answer: a problem document for the API, else the page that
    `render_page_error(request, status, message_zh, message_en, field, headers=None)` renders (the pages own
    their error templates; this package does not import them)."""
    render_error = render_page_error
    problem_openapi(app)

    @app.exception_handler(DaipinError)
    async def _daipin(request: Request, exc: DaipinError) -> Response:
        if wants_json(request):
            return daipin_problem(request, exc)
        headers = getattr(exc, "headers", None)  # Retry-After, on a throttled answer
        return render_error(request, exc.status, exc.message_zh, exc.message_en, exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        first = errs[0] if errs else {"loc": ("body",), "msg": "invalid"}
        field = _loc_to_field(list(first.get("loc", ())))
        msg_en = f"{field}: {first.get('msg', 'invalid')}"
        msg_zh = f"输入有误：{field} {zh_reason(first)}"
        if wants_json(request):
            fields = [{"field": _loc_to_field(list(e.get("loc", ()))), "message_zh": zh_reason(e),
                       "message": str(e.get("msg", ""))} for e in errs[:20]]
            # `error.details` as before problem details: the same list as `errors`
            return problem_response(request, 422, "invalid_input", msg_zh, msg_en, field, errors=fields,
                                    details=fields)
        return render_error(request, 422, msg_zh, msg_en, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, zh, en = HTTP_TEXT.get(exc.status_code, ("error", "请求失败", "request failed"))
        if isinstance(exc.detail, str) and exc.detail and exc.detail not in (en,):
            en = exc.detail if exc.detail.isascii() else en
        headers = getattr(exc, "headers", None)
        if wants_json(request):
            return problem_response(request, exc.status_code, code, zh, en, None, headers=headers)
        return render_error(request, exc.status_code, zh, en, None, headers=headers)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # The database refused a value the checks let through (PostgreSQL takes no NUL character in text):
        # bad input, not a crash. The request's transaction was rolled back, so nothing was written.
        zh, en = "输入含有数据库不能保存的字符或数值", "the input holds a character or value the database cannot store"
        if wants_json(request):
            return problem_response(request, 422, "invalid_input", zh, en, None)
        return render_error(request, 422, zh, en, None)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Never leak a traceback to the client; the server log has where it happened (see `crash_report`).
        import logging

        logging.getLogger("daipin.web").error("unhandled error on %s %s: %s", request.method, request.url.path,
                                              crash_report(exc))
        if wants_json(request):
            return problem_response(request, 500, "internal", "服务器内部错误", "internal error", None)
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
