"""Money rules by hand: half-up to the fen, the largest-remainder split and its tie rule, amounts as text."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daipin.domain.money import (
    format_fen,
    format_yuan,
    half_up,
    round_half_up,
    split,
    split_exact,
    split_in_order,
)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 2, 1),  # 0.5 fen rounds up
        (3, 2, 2),  # 1.5 -> 2
        (5, 2, 3),  # 2.5 -> 3 (half-up, not banker's rounding)
        (49, 100, 0),  # 0.49 -> 0
        (51, 100, 1),
        (0, 7, 0),
        (22000000, 365, 60274),  # 10,000.00 元 × 8% × 275/365 = 602.7397… 元
        (60273, 1, 60273),
    ],
)
def test_half_up_rounds_exact_fractions_to_the_nearest_fen_with_halves_going_up(
    numerator: int, denominator: int, expected: int
) -> None:
    assert half_up(numerator, denominator) == expected


def test_half_up_refuses_a_non_positive_denominator() -> None:
    with pytest.raises(ValueError):
        half_up(1, 0)


def test_round_half_up_takes_decimals_and_fractions_but_refuses_floats() -> None:
    assert round_half_up(Decimal("602.5")) == 603
    assert round_half_up(Decimal("602.4999")) == 602
    assert round_half_up(Fraction(2011, 2)) == 1006
    with pytest.raises(TypeError):
        round_half_up(0.5)  # type: ignore[arg-type]


def test_split_gives_floors_then_the_leftover_fen_to_the_largest_remainders() -> None:
    # 100 fen by 1:1:1 -> 33.33 each; one fen left goes to the first key in code-point order.
    assert split(100, [1, 1, 1], ["B", "A", "C"]) == [33, 34, 33]
    # 10 fen by 6:6:2 -> 4.2857, 4.2857, 1.4286: floors 4,4,1; the one fen goes to the .4286 remainder.
    assert split(10, [6, 6, 2], ["a", "b", "c"]) == [4, 4, 2]
    # 11 fen: 4.714, 4.714, 1.571 -> the two fen go to a and b.
    assert split(11, [6, 6, 2], ["a", "b", "c"]) == [5, 5, 1]


def test_split_breaks_ties_by_ascending_code_point_order_not_by_input_order_or_locale() -> None:
    # Two fen left among four equal remainders: "A" (U+0041) and "B" sort before "a" (U+0061) and "兴".
    parts = split(6, [1, 1, 1, 1], ["兴", "a", "B", "A"])
    assert parts == [1, 1, 2, 2]
    # Digits sort before letters; "H-010" before "H-2" (strings, not numbers).
    assert split(1, [1, 1], ["H-2", "H-010"]) == [0, 1]


def test_split_parts_always_add_up_and_zero_weights_get_nothing() -> None:
    parts = split(1_000_001, [0, 3, 0, 7], ["a", "b", "c", "d"])
    assert sum(parts) == 1_000_001
    assert parts[0] == parts[2] == 0


def test_split_of_zero_over_zero_weights_is_all_zero_but_a_positive_amount_is_refused() -> None:
    assert split(0, [0, 0], ["a", "b"]) == [0, 0]
    with pytest.raises(ValueError):
        split(1, [0, 0], ["a", "b"])
    with pytest.raises(ValueError):
        split(-1, [1], ["a"])
    with pytest.raises(ValueError):
        split(5, [1, -1], ["a", "b"])


def test_split_in_order_agrees_with_split_when_given_the_key_order() -> None:
    keys = ["c", "a", "b", "d"]
    weights = [1, 1, 1, 0]
    order = sorted(range(4), key=keys.__getitem__)
    assert split_in_order(5, weights, order) == split(5, weights, keys) == [1, 2, 2, 0]


def test_split_exact_scales_rational_weights_without_rounding_them() -> None:
    # 129 : 49.2 : 57 (the district example) -> the published amounts.
    assert split_exact(
        5_000_000, [Decimal("129"), Decimal("49.2"), Decimal("57")], ["V-XL", "V-HX", "V-SY"]
    ) == [
        2742347,
        1045918,
        1211735,
    ]


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00 元"),
        (5, "0.05 元"),
        (1000000, "10,000.00 元"),
        (60274, "602.74 元"),
        (-1250000, "-12,500.00 元"),
    ],
)
def test_amounts_are_written_in_yuan_with_thousands_separators(fen: int, text: str) -> None:
    assert format_fen(fen) == text
    assert format_yuan(fen) == text.removesuffix(" 元")


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (-1, "-0.01"),
        (-5, "-0.05"),
        (99, "0.99"),
        (100, "1.00"),
        (-100, "-1.00"),
        (99_999, "999.99"),
        (100_000, "1,000.00"),
        (-100_000, "-1,000.00"),
        (99_999_999, "999,999.99"),
        (100_000_000, "1,000,000.00"),
        (99_999_999_999, "999,999,999.99"),
        (100_000_000_000, "1,000,000,000.00"),
        (10**15, "10,000,000,000,000.00"),  # MAX_FEN, the largest amount a record carries
        (-(10**15) - 1, "-10,000,000,000,000.01"),
        (10**20 + 7, "1,000,000,000,000,000,000.07"),
    ],
)
def test_an_amount_is_written_in_yuan_with_its_fen_and_its_sign(fen: int, text: str) -> None:
    assert format_yuan(fen) == text
    assert format_yuan(fen, grouping=False) == text.replace(",", "")


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_every_amount_reads_back_to_the_fen_it_was_written_from(fen: int) -> None:
    text = format_yuan(fen)
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", text)
    assert Decimal(text.replace(",", "")) * 100 == fen
    assert format_yuan(fen, grouping=False) == text.replace(",", "")


def test_pages_pdfs_and_charts_write_amounts_as_format_yuan_does() -> None:
    from daipin.reports.notice_pdf import _fen as pdf_yuan
    from daipin.services.dashboard.views import Overview, chart_options
    from daipin.web import fen as page_yuan
    from daipin.web.pages.registry import form_fields

    for fen in (0, -5, 123_456_789, 10**15):
        assert page_yuan(fen) == pdf_yuan(fen) == format_yuan(fen)
    assert page_yuan(None) == page_yuan("") == ""
    assert form_fields("asset_lease", {"annual_rent_fen": 1_200_000})["t_annual_rent_fen"] == "12,000.00"
    # A chart reads its data as numbers: no thousands separators there.
    charts = chart_options(Overview(income_by_year=[("2025", 123_456_78)], arrears_by_entity=[("某合作社", -5)]))
    assert charts["income"]["series"][0]["data"] == ["123456.78"]
    assert charts["arrears"]["series"][0]["data"] == ["-0.05"]
