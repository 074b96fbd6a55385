"""The performance coefficient of the district allocation (ENGINE.md §3, POLICY.md R3.2) derived from each village's
indicators, as the district decides: typed by hand (`manual`) or computed (`indicators`) by

    coefficient = 1 + a × (on-time share − county median)
                    + b × (income per household − county median) / county median
                    − c × open findings,

clamped to [minimum, maximum] and rounded half-up to two places. The county medians are taken over the villages
that have the indicator, then rounded half-up (the share to four places, the income to the fen). A village with no dues in the year takes the
median for its on-time share, one with no household paid takes the median income (no record is no evidence either
way); a county median of zero income leaves the income term out. Exact throughout (fractions, no floats); pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from daipin.domain.errors import InputError

MODES = ("manual", "indicators")
MODE_LABELS = {"manual": "人工填写", "indicators": "按绩效指标计算"}

# The setting's keys and defaults (exact decimal strings); kept in the county's supervision settings row.
DEFAULTS: dict[str, str] = {
    "performance_mode": "manual",
    "performance_on_time_weight": "0.2",  # a
    "performance_income_weight": "0.2",  # b
    "performance_finding_penalty": "0.02",  # c, per open finding
    "performance_min": "0.8",
    "performance_max": "1.2",
}
LABELS: dict[str, str] = {
    "performance_mode": "绩效系数来源",
    "performance_on_time_weight": "按期兑付率权重（a）",
    "performance_income_weight": "户均收益权重（b）",
    "performance_finding_penalty": "每个未销号问题扣减（c）",
    "performance_min": "绩效系数下限",
    "performance_max": "绩效系数上限",
}
_WEIGHT_LIMIT = Decimal(10)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Parameters:
    mode: str
    on_time_weight: Decimal
    income_weight: Decimal
    finding_penalty: Decimal
    minimum: Decimal
    maximum: Decimal

    def as_strings(self) -> dict[str, str]:
        return {"mode": self.mode, "a": str(self.on_time_weight), "b": str(self.income_weight),
                "c": str(self.finding_penalty), "min": str(self.minimum), "max": str(self.maximum)}


@dataclass(frozen=True)
class VillageIndicators:
    """One village's indicators for the year: dues to its households and collective that fell due and those paid in
    full by the due date, households paid and what they were paid per household (fen), findings still open."""

    village: str
    dues: int
    dues_on_time: int
    households: int
    per_household_fen: int
    open_findings: int

    @property
    def on_time_share(self) -> Fraction | None:
        return Fraction(self.dues_on_time, self.dues) if self.dues > 0 else None

    @property
    def income(self) -> Fraction | None:
        return Fraction(self.per_household_fen) if self.households > 0 else None


def _decimal(key: str, value: object) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError(f"{LABELS[key]}应为数字（如 0.2）", f"{key} must be a decimal number", field=key) from None
    if not d.is_finite():
        raise InputError(f"{LABELS[key]}应为数字（如 0.2）", f"{key} must be a decimal number", field=key)
    return d


def check(values: Mapping[str, object], current: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values as stored (exact strings), checked against each other with the current ones: weights 0–10, bounds
    with at most two decimals and minimum ≤ 1 ≤ maximum (a village with average indicators keeps 1)."""
    unknown = sorted(k for k in values if k not in DEFAULTS)
    if unknown:
        raise InputError(f"未知的绩效设置 {unknown[0]}", f"unknown performance setting {unknown[0]}", field="key")
    out: dict[str, str] = {}
    for key, value in values.items():
        if key == "performance_mode":
            mode = str(value).strip()
            if mode not in MODES:
                raise InputError("绩效系数来源应为“人工填写”或“按绩效指标计算”", "mode must be manual or indicators",
                                 field=key)
            out[key] = mode
            continue
        d = _decimal(key, value)
        if key in ("performance_min", "performance_max"):
            if d != d.quantize(_CENT) or not Decimal(0) <= d <= _WEIGHT_LIMIT:
                raise InputError(f"{LABELS[key]}应为 0 到 10 之间、最多两位小数的数", f"{key} must be 0-10, two "
                                 "decimals at most", field=key)
        elif not Decimal(0) <= d <= _WEIGHT_LIMIT:
            raise InputError(f"{LABELS[key]}应在 0 到 10 之间", f"{key} must be between 0 and 10", field=key)
        out[key] = format(d.normalize(), "f") if d else "0"
    merged = parameters({**(current or {}), **out})
    if merged.minimum > 1:
        raise InputError("绩效系数下限不能大于 1", "the minimum must not exceed 1", field="performance_min")
    if merged.maximum < 1:
        raise InputError("绩效系数上限不能小于 1", "the maximum must not be below 1", field="performance_max")
    return out


def settings(stored: Mapping[str, object] | None) -> dict[str, str]:
    """The county's performance settings: its own over the defaults."""
    out = dict(DEFAULTS)
    out.update({k: str(v) for k, v in (stored or {}).items() if k in DEFAULTS})
    return out


def parameters(stored: Mapping[str, object] | None) -> Parameters:
    s = settings(stored)
    return Parameters(mode=s["performance_mode"], on_time_weight=Decimal(s["performance_on_time_weight"]),
                      income_weight=Decimal(s["performance_income_weight"]),
                      finding_penalty=Decimal(s["performance_finding_penalty"]),
                      minimum=Decimal(s["performance_min"]), maximum=Decimal(s["performance_max"]))


def median(values: Sequence[Fraction]) -> Fraction | None:
    """The middle value (the mean of the two middle ones for an even count); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def _round(x: Fraction) -> Decimal:
    """Half up to two places, exactly."""
    cents = x * 100
    whole = (cents.numerator * 2 + cents.denominator) // (cents.denominator * 2)
    return (Decimal(whole) / 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def coefficient(p: Parameters, *, on_time_share: Fraction | None, median_share: Fraction | None,
                income: Fraction | None, median_income: Fraction | None, open_findings: int) -> Decimal:
    """One village's coefficient (see the module's formula); a missing indicator or median contributes nothing."""
    x = Fraction(1)
    if on_time_share is not None and median_share is not None:
        x += Fraction(p.on_time_weight) * (on_time_share - median_share)
    if income is not None and median_income:
        x += Fraction(p.income_weight) * (income - median_income) / median_income
    x -= Fraction(p.finding_penalty) * max(open_findings, 0)
    x = min(max(x, Fraction(p.minimum)), Fraction(p.maximum))
    return _round(x)


@dataclass(frozen=True)
class CountyCoefficients:
    median_share: Fraction | None
    median_income: Fraction | None
    coefficients: dict[str, Decimal]


def coefficients(p: Parameters, villages: Sequence[VillageIndicators]) -> CountyCoefficients:
    """Every village's coefficient against the county's medians (over the villages that have the indicator)."""
    shares = [s for v in villages if (s := v.on_time_share) is not None]
    incomes = [i for v in villages if (i := v.income) is not None]
    ms, mi = rounded(median(shares), 4), rounded(median(incomes), 0)
    return CountyCoefficients(ms, mi, {v.village: coefficient(p, on_time_share=v.on_time_share, median_share=ms,
                                                              income=v.income, median_income=mi,
                                                              open_findings=v.open_findings) for v in villages})


def rounded(x: Fraction | None, places: int) -> Fraction | None:
    """Half up to `places` decimals (the medians are rounded so: the share to 4 places, the income to the fen, and
    the basis states exactly the value the formula used)."""
    if x is None:
        return None
    scaled = x * 10**places
    return Fraction((scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2), 10**places)


def fraction_text(x: Fraction | None, places: int = 4) -> str:
    """A fraction as a decimal string, rounded half-up to `places` (exact when it terminates within them)."""
    r = rounded(x, places)
    if r is None:
        return ""
    d = Decimal(r.numerator) / Decimal(r.denominator)
    return format(d.normalize(), "f") if d else "0"
