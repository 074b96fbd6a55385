"""Request and response bodies shared by API routers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
