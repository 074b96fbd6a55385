"""Request and response bodies shared by API routers."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from daipin.domain.errors import InputError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    region: str
    entity_id: int | None
    display_name: str
    active: bool


class LoginOut(BaseModel):
    token: str
    csrf_token: str
    expires_at: str
    user: UserOut


class PasswordIn(Strict):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class UserIn(Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: str = Field(max_length=32)
    region: str = Field(max_length=12)
    entity_id: int | None = Field(default=None, ge=1, le=2**62)
    display_name: str = Field(default="", max_length=100)


class Ok(BaseModel):
    ok: bool = True


# One shape for every list the API pages through: ask with `limit` and, for the next page, the `cursor` the
# previous answer gave as `next_cursor` (null on the last page); `total` counts every match where that is cheap.
T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=200, description="每页条数 / items per page")]
Cursor = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="上一页回答中的 next_cursor / `next_cursor` of the previous page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int = Field(description="每页条数 / items per page")
    next_cursor: str | None = Field(description="下一页的游标；无下一页为 null / the next page's cursor, null on the last")
    total: int | None = Field(description="符合条件的总数（代价大时为 null）/ every match, or null where costly to count")


def make_cursor(kind: str, **position: int) -> str:
    """An opaque cursor: which list it pages through and where the next page starts."""
    raw = json.dumps({"k": kind, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(kind: str, cursor: str | None, *keys: str) -> dict[str, int] | None:
    """The position a cursor of list `kind` holds (None without a cursor); a cursor that is not one this list
    gave is refused, naming the field."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("k") != kind:
            raise ValueError(cursor)
        position = {k: data[k] for k in keys}
        if not all(type(v) is int and 0 <= v <= 2**62 for v in position.values()):
            raise ValueError(cursor)
    except (ValueError, KeyError, TypeError):
        raise InputError("分页游标无效，请从第一页重新开始", "the cursor is not one this list gave; start from the "
                         "first page", "cursor") from None
    return position
