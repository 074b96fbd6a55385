"""Settings of the web app: secret key, clock, base address, cookie flags, demo mode."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from daipin.config import settings
from daipin.domain.localtime import beijing_date


def utc_now() -> datetime:
    return datetime.now(UTC)


def _secret_from_env() -> str:
    """DAIPIN_SECRET_KEY, else a key kept next to the database in var/ (made once)."""
    config = settings()
    if config.secret_key is not None:
        return config.secret_key.get_secret_value()
    path = Path(config.var_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


@dataclass
class Settings:
    """`clock` is the only source of time for requests, so tests can move it (notice windows are days long)."""

    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    clock: Callable[[], datetime] = utc_now
    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool = False
    session_ttl: timedelta = timedelta(hours=12)
    default_locale: str = "zh_CN"
    county_code: str = "231002"
    # Requests one server process works on at once (`api.app.Admission`); 0 = no limit.
    concurrency: int = 0

    def now(self) -> datetime:
        at = self.clock()
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at

    def today(self) -> date:
        """Chinese civil dates (notice windows, due dates) are counted in Beijing time."""
        return beijing_date(self.now())

    @classmethod
    def from_env(cls) -> Settings:
        config = settings()
        return cls(
            secret_key=_secret_from_env(),
            base_url=config.base_url.rstrip("/"),
            cookie_secure=config.cookie_secure,
            county_code=config.county,
            concurrency=config.concurrency,
        )
