"""Beijing time for people: storage and the ledger keep UTC; every time shown to a person is formatted here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# China keeps one zone with no summer time since 1992, so this is UTC+8 all year round for any date here.
BEIJING = ZoneInfo("Asia/Shanghai")
ZONE_LABEL = "北京时间"
ZONE_LABEL_EN = "Beijing time"


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


def for_people(value: datetime | date | str | None, *, lang: str = "zh", date_only: bool = False) -> str:
    """The one way a time is shown to a person: `2026-12-17 00:33 北京时间` (`… Beijing time` in English).

    Accepts a datetime (naive = UTC, as SQLite gives it back; aware in any zone) or an ISO string as kept in
    documents and ledger facts (`…Z`, `…+00:00`). `date_only` gives the time's civil day in Beijing. A date
    is a civil date and is shown as it is (it has no zone to convert); None or empty text gives "".
    """
    if value is None or value == "":
        return ""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return parsed.isoformat()
    local = to_beijing(parsed)
    if date_only:
        return local.strftime("%Y-%m-%d")
    zone = ZONE_LABEL_EN if lang.startswith("en") else ZONE_LABEL
    return f"{local:%Y-%m-%d %H:%M} {zone}"


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
