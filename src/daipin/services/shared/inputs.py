"""Checks of typed input shared by every feature: each refuses with an InputError naming the field and the reason."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from daipin.domain.contracts import check_decimal, check_fen
from daipin.domain.errors import InputError
from daipin.domain.localtime import beijing_date
from daipin.domain.vocabulary import Vocab


def need(value: Any, field: str, zh: str, en: str, limit: int = 200) -> str:
    """A required text value, stripped: refused if missing, not text, or longer than its column (`limit`)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"缺少{zh}", f"missing {en}", field=field)
    if not isinstance(value, str):
        raise InputError(f"{zh}应为文字", f"{en} must be text", field=field)
    text: str = value.strip()
    if len(text) > limit:
        raise too_long(field, zh, en, limit)
    return text


def too_long(field: str, zh: str, en: str, limit: int) -> InputError:
    """The error for a text longer than its column (`limit` characters)."""
    return InputError(f"{zh}过长（最多 {limit} 个字）", f"{en} is too long (at most {limit} characters)", field=field)


def money(value: Any, field: str, zh: str, *, allow_negative: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{zh}应为整数（分）", f"{field} must be whole fen", field=field)
    if value < 0 and not allow_negative:
        raise InputError(f"{zh}不能为负数", f"{field} must not be negative", field=field)
    return check_fen(value, field, zh, field)


def decimal_str(value: Any, field: str, zh: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"{zh}应为十进制数字字符串", f"{field} must be a decimal string", field=field)
    check_decimal(value, field, zh, field)
    return str(value).strip()


def year(value: Any, field: str, zh: str, earliest: int = 2000, latest: int = 2100) -> None:
    """An optional year: a whole number from `earliest` to `latest` (2100 unless given)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not earliest <= value <= 2100):
        raise InputError(f"{zh}无效", f"{field} is invalid", field=field)
    if value is not None and value > latest:
        raise InputError(f"{zh} {value} 晚于 {latest} 年", f"{field} {value} is after {latest}", field=field)


def choice(value: Any, choices: Any, field: str, zh: str) -> str:
    """One of `choices`; from a code set of the vocabulary, or a mapping of code to Chinese label, the Chinese label
    (and the other words the vocabulary accepts for a code) is read as its code."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"缺少{zh}", f"missing {field}", field=field)
    if isinstance(choices, Vocab):
        code = choices.read(value)
        if code is not None:
            return code
        shown = "/".join(c if choices.zh(c) == c else f"{c}（{choices.zh(c)}）" for c in choices.codes)
        raise InputError(f"{zh} {value!r} 无效，应为 {shown} 之一",
                         f"{field} {value!r} must be one of {', '.join(choices.codes)}", field=field)
    if value in choices:
        return str(value)
    if isinstance(choices, dict):
        for code, label in choices.items():
            if isinstance(label, str) and value == label:
                return str(code)
        shown = "/".join(f"{c}（{label}）" if isinstance(label, str) else str(c) for c, label in choices.items())
    else:
        shown = "/".join(choices)
    raise InputError(f"{zh} {value!r} 无效，应为 {shown} 之一",
                     f"{field} {value!r} must be one of {', '.join(choices)}", field=field)


def as_date(value: Any, field: str, zh: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise InputError(f"{zh}不是有效日期", f"{field} is not an ISO date", field=field) from exc
    if value is None:
        raise InputError(f"缺少{zh}", f"missing {field}", field=field)
    raise InputError(f"{zh}不是有效日期（应为 YYYY-MM-DD）", f"{field} is not an ISO date (YYYY-MM-DD)", field=field)


def optional_text(value: Any, field: str, zh: str, en: str, limit: int) -> str | None:
    """An optional text value: None if missing or blank, else stripped; refused if not text or too long."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return need(value, field, zh, en, limit)


def not_future(day: date, at: datetime, field: str, zh: str) -> date:
    """`day`, refused if it is after the day of `at` in Beijing (a record cannot report what has not happened)."""
    today = beijing_date(at)
    if day > today:
        raise InputError(f"{zh} {day.isoformat()} 晚于操作日期 {today.isoformat()}（北京时间）",
                         f"{field} {day.isoformat()} is in the future (after {today.isoformat()}, Beijing time)",
                         field=field)
    return day
