"""Beijing time for people: storage and the ledger keep UTC; every time shown to a person is formatted here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# China keeps one zone and no daylight saving, so this is UTC+8 all year round.
BEIJING = ZoneInfo("Asia/Shanghai")
ZONE_LABEL = "北京时间"


def as_utc(at: datetime) -> datetime:
    """A stored time as an aware UTC time; a naive one is read as UTC (SQLite gives them back naive)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def to_beijing(at: datetime) -> datetime:
    return as_utc(at).astimezone(BEIJING)


def _parse(value: datetime | date | str) -> datetime | date:
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value


def beijing_text(value: datetime | date | str | None, *, zone: bool = False, date_only: bool = False) -> str:
    """`2026-03-13 09:00` in Beijing time (`… 北京时间` with zone=True); empty for None or empty text.

    Accepts a datetime (naive = UTC), an ISO string as kept in documents and ledger facts, or a date
    (a civil date is shown as it is: it has no zone).
    """
    if value is None or value == "":
        return ""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return parsed.isoformat()
    local = to_beijing(parsed)
    text = local.strftime("%Y-%m-%d") if date_only else local.strftime("%Y-%m-%d %H:%M")
    return f"{text} {ZONE_LABEL}" if zone and not date_only else text


def beijing_date(value: datetime) -> date:
    """The civil date in Beijing of a stored time (a payment made at 23:30 UTC is dated the next day)."""
    return to_beijing(value).date()


def from_beijing(text: str) -> datetime:
    """A time typed by a person (`2026-03-13T09:00`, Beijing unless it names its zone) as aware UTC."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(UTC)


def beijing_input(at: datetime) -> str:
    """The value of an `<input type=datetime-local>` showing a stored time in Beijing time."""
    return to_beijing(at).strftime("%Y-%m-%dT%H:%M")
