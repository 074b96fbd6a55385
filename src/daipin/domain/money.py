"""Money in whole fen: half-up rounding, largest-remainder splits, and how amounts are written."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import compress, repeat
from operator import eq, floordiv, gt, mod, mul
from typing import Any

# The largest amount a record may carry, in fen: 10 trillion yuan, beyond any county's projects (a larger figure
# is a typing error), and inside 2^53, so every JSON reader holds it exactly.
MAX_FEN = 10**15
# The largest decimal term (a quantity, a number of units or shares, a rate) and its finest step.
MAX_DECIMAL = 10**12
DECIMAL_PLACES = 12


def half_up(numerator: int, denominator: int = 1) -> int:
    """floor(n/d + 1/2) in integers, for a positive denominator: 0.5 fen rounds up, 0.49 down."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return (2 * numerator + denominator) // (2 * denominator)


def round_half_up(value: int | Fraction | Decimal) -> int:
    """Half-up to the fen of an exact value (never a float)."""
    if isinstance(value, float):
        raise TypeError("binary floats are not exact")
    frac = Fraction(value)
    return half_up(frac.numerator, frac.denominator)


def split(total: int, weights: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Largest-remainder split of `total` fen by integer weights; the parts add up to `total`.

    Each recipient gets floor(total·w/Σw); the fen still left go one each to the largest
    fractional parts, ties broken by key in ascending code-point order. All weights zero is
    allowed only for a zero total (everyone gets nothing). Zero weights never receive a fen.
    """
    n = len(weights)
    if len(keys) != n:
        raise ValueError("one key per weight")
    if total < 0:
        raise ValueError("cannot split a negative amount")
    if n == 0:
        if total:
            raise ValueError("cannot split a positive amount among no recipients")
        return []
    if min(weights) < 0:
        raise ValueError("weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot split a positive amount over zero total weight")
        return [0] * n
    return _largest_remainder(total, weights, whole, keys.__getitem__)


def split_in_order(total: int, weights: Sequence[int], order: Sequence[int]) -> list[int]:
    """`split` for callers that already know the recipients' key order.

    `order` lists every index once, ascending by the recipients' keys. Zero weights are
    allowed and never receive a fen, so one order can serve every bucket of a village.
    """
    if total < 0:
        raise ValueError("cannot split a negative amount")
    if weights and min(weights) < 0:
        raise ValueError("weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot split a positive amount over zero total weight")
        return [0] * len(weights)
    rank = [0] * len(weights)
    for position, i in enumerate(order):
        rank[i] = position
    return _largest_remainder(total, weights, whole, rank.__getitem__)


def _largest_remainder(
    total: int, weights: Sequence[int], whole: int, key_of: Callable[[int], Any]
) -> list[int]:
    """The parts of a split; `key_of(i)` orders recipients whose remainders tie.

    Works column-wise in C (map over operator functions) so a split among 100,000 households
    costs little more than reading their weights; keys are compared only among the
    recipients that tie at the cut, never sorted all together.
    """
    # operator functions with repeat() are called without building argument tuples
    products = list(map(mul, weights, repeat(total)))
    parts = list(map(floordiv, products, repeat(whole)))  # ⌊total·w/Σw⌋
    left = total - sum(parts)
    if left:
        # The remainders share the denominator Σw, so comparing them as integers is exact.
        remainders = list(map(mod, products, repeat(whole)))
        # The cut: the left-th largest remainder. left < the number of non-zero remainders,
        # so the cut is positive and a zero weight never gains a fen.
        if left * 8 < len(remainders):
            cut = heapq.nlargest(left, remainders)[-1]
        else:
            cut = sorted(remainders, reverse=True)[left - 1]
        positions = range(len(remainders))
        above = list(compress(positions, map(gt, remainders, repeat(cut))))
        tied = list(compress(positions, map(eq, remainders, repeat(cut))))
        need = left - len(above)
        if need < len(tied):
            # ties broken by key in ascending code-point order (sorting is stable for equal keys)
            tied = sorted(tied, key=key_of)[:need]
        for i in above:
            parts[i] += 1
        for i in tied:
            parts[i] += 1
    return parts


def split_exact(total: int, weights: Sequence[int | Fraction | Decimal], keys: Sequence[str]) -> list[int]:
    """Largest-remainder split with exact rational weights (scaled to integers first)."""
    fractions = [Fraction(w) for w in weights]
    scale = 1
    for f in fractions:
        scale = scale * f.denominator // _gcd(scale, f.denominator)
    return split(total, [int(f * scale) for f in fractions], keys)


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


_CENTS = tuple(f".{c:02d}" for c in range(100))
_GROUPS = tuple(f",{g:03d}" for g in range(1000))
_UNDER_ONE_YUAN = tuple(f"0.{c:02d}" for c in range(100))


def format_yuan(fen: int, *, grouping: bool = True) -> str:
    """Fen as yuan, exactly: 1000000 -> "10,000.00", -5 -> "-0.05"; the one way amounts are written for people
    (pages, forms, PDFs, exports, the command line, messages). `grouping=False` leaves out the thousands
    separators, for a number a program reads rather than a person (a chart's data): 1000000 -> "10000.00"."""
    if not grouping:
        sign, fen = ("-", -fen) if fen < 0 else ("", fen)
        return f"{sign}{fen // 100}{_CENTS[fen % 100]}"
    # Every output line's basis shows two or three amounts, so this is on the hot path:
    # table look-ups for the digit groups are several times faster than format(yuan, ",").
    if fen >= 100_000:
        if fen < 100_000_000:  # 1,000.00 up to 999,999.99 yuan
            return f"{fen // 100_000}{_GROUPS[fen // 100 % 1000]}{_CENTS[fen % 100]}"
        if fen < 100_000_000_000:
            return (
                f"{fen // 100_000_000}{_GROUPS[fen // 100_000 % 1000]}"
                f"{_GROUPS[fen // 100 % 1000]}{_CENTS[fen % 100]}"
            )
        return f"{fen // 100:,}{_CENTS[fen % 100]}"
    if fen >= 100:
        return f"{fen // 100}{_CENTS[fen % 100]}"
    if fen >= 0:
        return _UNDER_ONE_YUAN[fen]
    return "-" + format_yuan(-fen)


def format_fen(fen: int) -> str:
    """Fen as a readable amount: 1000000 -> "10,000.00 元"."""
    return f"{format_yuan(fen)} 元"
