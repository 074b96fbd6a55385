"""Errors shared by every ring: each names its field and reason in Chinese and English."""

from __future__ import annotations

from datetime import datetime


class DaipinError(Exception):
    """Base error. `status` is the HTTP status the API maps it to; `code` is stable."""

    status = 400
    code = "error"

    def __init__(self, message_zh: str, message_en: str = "", field: str | None = None, code: str | None = None):
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.field = field
        if code is not None:
            self.code = code
        super().__init__(self.text())

    def text(self) -> str:
        where = f"{self.field}: " if self.field else ""
        if self.message_en and self.message_en != self.message_zh:
            return f"{where}{self.message_zh} ({self.message_en})"
        return f"{where}{self.message_zh}"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": f"{self.message_zh} / {self.message_en}" if self.message_en != self.message_zh else self.message_zh,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "field": self.field,
        }


class InputError(DaipinError):
    """Bad input: a field is missing, unknown, of the wrong type or out of range."""

    status = 422
    code = "invalid_input"


class NotFound(DaipinError):
    """The thing does not exist, or the actor may not know it exists (region scope)."""

    status = 404
    code = "not_found"


class Forbidden(DaipinError):
    """The actor is known but the role may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DaipinError):
    """The request is well-formed but the current state does not allow it."""

    status = 409
    code = "conflict"


class Throttled(DaipinError):
    """Too many attempts: refused until `retry_at` (a UTC time); `retry_after` is the wait in whole seconds (the
    Retry-After header)."""

    status = 429
    code = "throttled"

    def __init__(self, message_zh: str, message_en: str = "", field: str | None = None, code: str | None = None,
                 *, retry_at: datetime | None = None, retry_after: int | None = None):
        super().__init__(message_zh, message_en, field, code)
        self.retry_at = retry_at
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
