"""Exact numbers from documents: decimal strings and integers are read exactly, binary floats refused with a hint."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daipin.domain.numbers import (
    DuplicateKeyError,
    ExactValueError,
    FloatLiteral,
    format_decimal,
    format_percent,
    loads_exact_json,
    parse_exact,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.06", (6, 100)),
        ("12.5", (125, 10)),
        ("1800", (1800, 1)),
        (7, (7, 1)),
        ("-0.5", (-5, 10)),
        (Decimal("1.20"), (120, 100)),
    ],
)
def test_integers_and_decimal_strings_are_read_exactly(value: object, expected: tuple[int, int]) -> None:
    assert parse_exact(value) == expected


@pytest.mark.parametrize("value", ["1e3", ".5", "5.", "1,000", " 1", "NaN", "8%", ""])
def test_malformed_decimal_text_is_refused_with_the_way_to_write_it(value: str) -> None:
    with pytest.raises(ExactValueError) as err:
        parse_exact(value)
    assert '"0.06"' in err.value.message_zh and '"0.06"' in err.value.message_en


def test_a_json_float_is_refused_with_a_hint_to_quote_it() -> None:
    doc = loads_exact_json('{"annual_rate": 0.06, "n": 3}')
    assert isinstance(doc["annual_rate"], FloatLiteral) and doc["n"] == 3
    with pytest.raises(ExactValueError) as err:
        parse_exact(doc["annual_rate"])
    assert 'write it as the string "0.06", not 0.06' in err.value.message_en
    assert '"0.06"' in err.value.message_zh
    with pytest.raises(ExactValueError):
        parse_exact(0.06)
    with pytest.raises(ExactValueError):
        parse_exact(True)


def test_json_with_a_field_twice_in_one_object_is_refused() -> None:
    with pytest.raises(DuplicateKeyError) as err:
        loads_exact_json('{"a": 1, "a": 2}')
    assert err.value.key == "a"


@pytest.mark.parametrize(
    ("n", "d", "text"),
    [
        (125, 10, "12.5"),
        (100, 10, "10"),
        (5, 100, "0.05"),
        (-5, 100, "-0.05"),
        (3, 8, "0.375"),
        (1, 3, "1/3"),
        (7, 1, "7"),
    ],
)
def test_exact_values_are_written_back_without_trailing_zeros(n: int, d: int, text: str) -> None:
    assert format_decimal(n, d) == text


def test_rates_are_written_as_percentages() -> None:
    assert format_percent(8, 100) == "8%"
    assert format_percent(55, 1000) == "5.5%"
