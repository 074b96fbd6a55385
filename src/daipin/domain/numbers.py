"""Exact numbers from documents: decimal strings and integers in, binary floats refused with a hint."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class FloatLiteral(str):
    """A number written with a fraction or an exponent in JSON/YAML, kept as its text.

    Parsers hand these to validation instead of a binary float, so a document that
    writes `0.06` can be refused with the exact hint `write "0.06"`.
    """

    __slots__ = ()


class ExactValueError(ValueError):
    """A value that is not an exact number; carries the reason in Chinese and English."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} ({message_en})")


def float_hint(value: object) -> tuple[str, str]:
    """The message for a binary float where an exact value is required."""
    text = str(value)
    return (
        f'不接受浮点数 {text}，请写成带引号的小数字符串 "{text}"',
        f'binary float {text} is not exact: write it as the string "{text}", not {text}',
    )


def parse_exact(value: object) -> tuple[int, int]:
    """Read an integer or a decimal string exactly as (numerator, denominator), denominator a power of ten.

    `"12.5"` -> (125, 10); `7` -> (7, 1); Decimal values are accepted from Python callers.
    Raises ExactValueError for floats, booleans, malformed text and other types.
    """
    kind = type(value)
    if kind is int:
        return value, 1  # type: ignore[return-value]
    if kind is str:
        return _parse_text(value)  # type: ignore[arg-type]
    if isinstance(value, (FloatLiteral, float)):
        raise ExactValueError(*float_hint(value))
    if isinstance(value, bool):
        raise ExactValueError("应为数值，而不是 true/false", "must be a number, not true/false")
    if isinstance(value, int):
        return int(value), 1
    if isinstance(value, str):
        return _parse_text(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ExactValueError("数值必须有限", "number must be finite")
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        mantissa = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        if exponent >= 0:
            return mantissa * 10**exponent, 1
        return mantissa, 10**-exponent
    raise ExactValueError(
        '应为整数或小数字符串（如 "0.06"）', 'must be an integer or a decimal string such as "0.06"'
    )


def _parse_text(text: str) -> tuple[int, int]:
    if not _DECIMAL_TEXT.fullmatch(text):
        raise ExactValueError(
            f'"{text}" 不是小数（应写成 "0.06"、"12.5" 或整数）',
            f'"{text}" is not a decimal number (write "0.06", "12.5" or an integer)',
        )
    whole, _, frac = text.partition(".")
    return int(whole + frac), 10 ** len(frac)


def to_fraction(value: tuple[int, int]) -> Fraction:
    """The exact rational a parsed (numerator, denominator) pair stands for."""
    return Fraction(value[0], value[1])


def format_decimal(numerator: int, denominator: int = 1) -> str:
    """Exact decimal text of n/d, trailing zeros dropped: (125, 10) -> "12.5".

    Terminating decimals are written exactly; other rationals as a fraction "n/d".
    """
    if denominator == 1:
        return str(numerator)
    places = _POWERS_OF_TEN.get(denominator)
    if places is not None:
        # The usual case (a parsed decimal): plain string work, no Fraction.
        digits = str(abs(numerator)).rjust(places + 1, "0")
        whole, frac_digits = digits[:-places], digits[-places:].rstrip("0")
        sign = "-" if numerator < 0 else ""
        return f"{sign}{whole}.{frac_digits}" if frac_digits else f"{sign}{whole}"
    frac = Fraction(numerator, denominator)
    n, d = frac.numerator, frac.denominator
    twos = fives = 0
    rest = d
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return f"{n}/{d}"
    places = max(twos, fives)
    scaled = n * 10**places // d
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    if places == 0:
        return f"{sign}{digits}"
    whole, frac_digits = digits[:-places], digits[-places:].rstrip("0")
    return f"{sign}{whole}.{frac_digits}" if frac_digits else f"{sign}{whole}"


_POWERS_OF_TEN = {10**k: k for k in range(1, 40)}


def format_percent(numerator: int, denominator: int = 1) -> str:
    """A rate as a percentage: (8, 100) -> "8%", (55, 1000) -> "5.5%"."""
    return format_decimal(numerator * 100, denominator) + "%"


def loads_exact_json(text: str | bytes) -> Any:
    """Parse JSON keeping every number exact: fractional numbers come back as FloatLiteral text."""
    return json.loads(
        text,
        parse_float=FloatLiteral,
        parse_constant=_refuse_constant,
        object_pairs_hook=_unique_keys,
    )


class DuplicateKeyError(ValueError):
    """The same field name appears twice in one JSON object."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"duplicate field {key!r}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return out


def _refuse_constant(name: str) -> Any:
    return FloatLiteral(name)
