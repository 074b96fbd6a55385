"""The process's settings: every `DAIPIN_*` environment variable in one typed object, with its default and meaning.

Every module reads its settings here, never `os.environ` itself (`tests/unit/test_config.py` checks), so that an
operator finds each variable in one place and in `docs/operations.md`, and a bad value stops the process at start
with the variable named instead of failing later, or silently meaning something else. The object is read again
when the environment changes (tests and `daipin serve` set variables for the processes they start), and is
otherwise built once: the ledger asks for its key folder on every commit.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "DAIPIN_"


class SettingError(ValueError):
    """A variable with a value the process cannot run with; the message names it, in Chinese and English."""

    def __init__(self, variable: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{variable}: {message_zh} / {message_en}")
        self.variable = variable
        self.message_zh = message_zh
        self.message_en = message_en


class Settings(BaseSettings):
    """Each field is the variable `DAIPIN_<FIELD>`; its description is what `docs/operations.md` says of it."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True, env_ignore_empty=True,
                                      case_sensitive=False)

    database_url: str = Field(
        "sqlite:///var/daipin.db",
        description="数据库地址（SQLAlchemy URL）；`postgresql://…` 使用 psycopg 3，`mysql://…` 使用 PyMySQL "
                    "/ the database, any SQLAlchemy URL")
    keys_dir: str = Field(
        "var/keys",
        description="账本签名密钥、个人信息摘要盐与个人信息加密密钥所在目录（不在数据库中） / the ledger's signing key, "
                    "the personal-data salt and the personal-data keys (never in the database)")
    county: str = Field(
        "231002", pattern=r"^\d{6}$",
        description="本部署的区县代码（GB/T 2260，6 位） / this deployment's county code (GB/T 2260, 6 digits)")
    secret_key: SecretStr | None = Field(
        None,
        description="签名会话 Cookie 的密钥；未设置时在 DAIPIN_VAR_DIR 中生成一次 / key that signs session cookies; "
                    "when unset, one is made once in DAIPIN_VAR_DIR")
    var_dir: str = Field(
        "var", description="本机数据目录（生成的会话密钥） / local data folder (the generated session key)")
    base_url: str = Field(
        "http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="门户的公开地址，印在公告的链接和二维码上 / the portal's public address, printed on notices")
    cookie_secure: bool = Field(
        False, description="会话 Cookie 仅经 HTTPS 发送（经 HTTPS 提供服务时必须开启） / send session cookies over "
                           "HTTPS only (required when served over HTTPS)")
    concurrency: int = Field(
        0, ge=0, le=10_000,
        description="每个进程同时处理的请求数，0 为不限；`daipin serve --concurrency` 设置 / requests one process "
                    "works on at once, 0 = no limit")
    db_pool: int = Field(
        10, ge=1, le=200,
        description="每个进程保持的数据库连接数；`daipin serve --db-pool` 设置 / database connections kept open "
                    "per process")
    cjk_font: str = Field(
        "", description="打印 PDF 用的中文字体文件；空则查找系统字体 / the CJK font file for PDFs; empty = look "
                        "for the system's")
    cipher: Literal["aes-256-gcm", "sm4-gcm"] = Field(
        "aes-256-gcm",
        description="新建个人信息数据密钥所用的算法：AES-256-GCM，或 SM4-GCM（密评） / the cipher of a new personal-data "
                    "key: AES-256-GCM, or SM4-GCM for 密评")
    data_key: SecretStr | None = Field(
        None,
        description="个人信息数据密钥（`aes-256-gcm:<64 位十六进制>` 或 `sm4-gcm:<32 位十六进制>`）；未设置时用密钥目录中的 "
                    "`pii-data-*.key` / the personal-data key; when unset, the key files in DAIPIN_KEYS_DIR")
    index_key: SecretStr | None = Field(
        None,
        description="个人信息盲索引密钥（64 位十六进制）；未设置时用密钥目录中的 `pii-index.key` / the blind-index key "
                    "(64 hex digits); when unset, `pii-index.key` in DAIPIN_KEYS_DIR")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="日志级别 / log level")
    log_format: Literal["json", "text"] = Field(
        "json", description="日志格式：每行一个 JSON 对象，或便于阅读的文本 / one JSON object per line, or text")

    def shown(self) -> dict[str, str]:
        """Each variable and its effective value as `daipin config show` prints it: secrets hidden, a database
        URL's password replaced."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value: Any = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "（已设置，隐藏 / set, hidden）"
            elif value is None:
                text = "（未设置 / unset）"
            elif name == "database_url":
                text = hide_password(str(value))
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            out[PREFIX + name.upper()] = text
        return out


def hide_password(url: str) -> str:
    """A URL with its password replaced by ***."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    auth, host = rest.split("@", 1)
    user = auth.split(":", 1)[0]
    return f"{head}://{user}:***@{host}" if ":" in auth else url


_cache: tuple[tuple[tuple[str, str], ...], Settings] | None = None

_REASONS = {
    "int_parsing": ("应为整数", "must be a whole number"),
    "bool_parsing": ("应为 true 或 false", "must be true or false"),
    "string_pattern_mismatch": ("格式不对", "has the wrong form"),
    "literal_error": ("不是可选的值之一", "is not one of the allowed values"),
    "greater_than_equal": ("太小", "is too small"),
    "less_than_equal": ("太大", "is too large"),
}


_PREFIX_BYTES = PREFIX.encode()


def _daipin_environ() -> tuple[tuple[str, str], ...]:
    """The DAIPIN_ variables of the environment now, sorted. Asked on every `settings()` call, which hot paths
    make (each personal-data digest reads the keys folder's name): on POSIX the environment's raw bytes are
    filtered before anything is decoded (0.36 ms → about 10 µs with some 80 variables)."""
    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict) and all(type(k) is bytes for k in raw):
        n = len(_PREFIX_BYTES)
        return tuple(sorted((os.fsdecode(k).upper(), os.fsdecode(v)) for k, v in raw.items()
                            if k[:n].upper() == _PREFIX_BYTES))
    return tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith(PREFIX)))


def settings() -> Settings:
    """The settings as the environment holds them now (built again only when a DAIPIN_ variable changed)."""
    global _cache
    env = _daipin_environ()
    cached = _cache
    if cached is not None and cached[0] == env:
        return cached[1]
    try:
        built = Settings()  # type: ignore[call-arg]  # (every field has its default; pydantic reads the rest)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else ""
        variable = PREFIX + field.upper()
        zh, en = _REASONS.get(err["type"], ("取值无效", "has a value that cannot be used"))
        got = os.environ.get(variable, "")
        raise SettingError(variable, f"{zh}（当前为“{got}”）", f"{en} (got {got!r}): {err['msg']}") from None
    _cache = (env, built)
    return built
