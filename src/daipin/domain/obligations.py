"""What falls due and what is overdue: wages by the employment contract's rate (R1.3) and revolving fund-support
repayments by their schedule (R1.1). Pure: amounts in fen, quantities exact, `today` passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction


def half_up(x: Fraction) -> int:
    """One amount from a rate, rounded half-up to the fen (ENGINE.md): floor(x + 1/2)."""
    return int((x + Fraction(1, 2)).__floor__())


@dataclass(frozen=True)
class Owed:
    """Due so far, paid so far, the arrears (never negative) and how many days the oldest unpaid part is late."""

    due_fen: int
    paid_fen: int
    arrears_fen: int
    overdue_days: int
    overdue_since: date | None


def wages_owed(rate_fen: int, work: list[tuple[date, Fraction]], paid_fen: int, today: date) -> Owed:
    """Wages due by the contract's rate: each work record (the last day of its period, the quantity worked in the
    contract's unit: days, months or pieces) falls due at its period's end; what is due is rate × the quantity
    worked up to today, rounded half-up once. Payments settle the oldest work first, so the days overdue are
    counted from the end of the oldest period not fully paid."""
    done = sorted((end, qty) for end, qty in work if end <= today)
    due = half_up(rate_fen * sum((q for _, q in done), Fraction(0)))
    since: date | None = None
    running = Fraction(0)
    for end, qty in done:
        running += qty
        if half_up(rate_fen * running) > paid_fen:
            since = end
            break
    arrears = max(due - paid_fen, 0)
    if not arrears:
        since = None
    return Owed(due, paid_fen, arrears, (today - since).days if since else 0, since)


def repayments_owed(schedule: list[tuple[date, int]], paid_fen: int, today: date) -> Owed:
    """A revolving fund's schedule (due day, amount) against what was repaid up to today: due = the instalments
    whose day has come; repayments settle the earliest instalments first; overdue days count from the day of the
    earliest instalment not fully repaid."""
    items = sorted(schedule)
    due = sum(amount for day, amount in items if day <= today)
    since: date | None = None
    running = 0
    for day, amount in items:
        if day > today:
            break
        running += amount
        if running > paid_fen:
            since = day
            break
    arrears = max(due - paid_fen, 0)
    if not arrears:
        since = None
    return Owed(due, paid_fen, arrears, (today - since).days if since else 0, since)
