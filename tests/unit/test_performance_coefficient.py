"""The district allocation's performance coefficient from a village's indicators (domain.performance): the worked
example of docs/engine.md, the checks on the setting, and properties on generated indicators (hypothesis): every
coefficient within the bounds, monotone in each indicator."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daipin.domain import performance as perf
from daipin.domain.engine import district_allocation
from daipin.domain.errors import InputError

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT = perf.parameters(None)


def _v(code: str, dues: int, on_time: int, households: int, per_household_fen: int,
       findings: int) -> perf.VillageIndicators:
    return perf.VillageIndicators(code, dues, on_time, households, per_household_fen, findings)


# The worked example of docs/engine.md (绩效系数按指标计算 / performance from indicators).
EXAMPLE = [_v("V1", 4, 4, 10, 120_000, 0), _v("V2", 4, 2, 20, 100_000, 1), _v("V3", 6, 5, 8, 80_000, 3),
           _v("V4", 0, 0, 0, 0, 0), _v("V5", 0, 0, 0, 0, 20)]


def test_the_worked_example_gives_the_documented_coefficients() -> None:
    result = perf.coefficients(DEFAULT, EXAMPLE)
    # shares 1, 0.5, 5/6 → median 5/6, rounded to 0.8333; incomes 1200, 1000, 800 yuan → median 1000 yuan
    assert result.median_share == Fraction(8333, 10000) and result.median_income == 100_000
    assert perf.fraction_text(result.median_share) == "0.8333"
    assert {k: str(v) for k, v in result.coefficients.items()} == {
        "V1": "1.07",  # 1 + 0.2 × (1 − 0.8333) + 0.2 × 0.2 = 1.07334
        "V2": "0.91",  # 1 + 0.2 × (0.5 − 0.8333) + 0 − 0.02 × 1 = 0.91334
        "V3": "0.90",  # 1 + 0.2 × (5/6 − 0.8333) − 0.2 × 0.2 − 0.02 × 3 = 0.9000067
        "V4": "1.00",  # no dues, no household paid, no finding: neutral
        "V5": "0.80",  # twenty open findings: 0.6, raised to the least coefficient
    }


def test_rounding_is_half_up_to_two_places() -> None:
    p = perf.parameters({"performance_on_time_weight": "0.1", "performance_income_weight": "0",
                         "performance_finding_penalty": "0"})
    # 1 + 0.1 × (0.8 − 0.75) = 1.005 exactly → 1.01 (half up), not 1.00 (half even)
    c = perf.coefficient(p, on_time_share=Fraction(4, 5), median_share=Fraction(3, 4), income=None,
                         median_income=None, open_findings=0)
    assert c == Decimal("1.01")
    c = perf.coefficient(p, on_time_share=Fraction(7, 10), median_share=Fraction(3, 4), income=None,
                         median_income=None, open_findings=0)
    assert c == Decimal("1.00")  # 0.995 → 1.00


def test_a_zero_median_income_leaves_the_income_term_out() -> None:
    result = perf.coefficients(DEFAULT, [_v("A", 0, 0, 3, 0, 0), _v("B", 0, 0, 0, 0, 0)])
    assert result.median_income == 0 and set(map(str, result.coefficients.values())) == {"1.00"}


def test_the_setting_is_checked_and_stored_as_exact_strings() -> None:
    assert perf.check({"performance_mode": "indicators", "performance_on_time_weight": "0.30"}) == {
        "performance_mode": "indicators", "performance_on_time_weight": "0.3"}
    for values, field in (({"performance_mode": "auto"}, "performance_mode"),
                          ({"performance_income_weight": "abc"}, "performance_income_weight"),
                          ({"performance_finding_penalty": "-0.1"}, "performance_finding_penalty"),
                          ({"performance_min": "0.805"}, "performance_min"),
                          ({"performance_min": "1.1"}, "performance_min"),
                          ({"performance_max": "0.9"}, "performance_max"),
                          ({"performance_on_time_weight": "NaN"}, "performance_on_time_weight"),
                          ({"colour": "1"}, "key")):
        with pytest.raises(InputError) as err:
            perf.check(values)
        assert err.value.field == field, values
    # a bound is checked with the other one as stored
    with pytest.raises(InputError):
        perf.check({"performance_max": "0.95"}, {"performance_min": "0.9"})
    assert perf.settings({"performance_min": "0.9", "idle_days": "30"})["performance_min"] == "0.9"
    assert "idle_days" not in perf.settings({"idle_days": "30"})


def test_the_engine_reads_the_basis_as_information_only() -> None:
    doc = {"version": 1, "kind": "district_allocation", "fund_fen": 10_000,
           "villages": [{"id": "A", "poor_people": 10, "key_village": False, "performance": "1.12"},
                        {"id": "B", "poor_people": 10, "key_village": False, "performance": "0.9"}],
           "performance_basis": {"mode": "indicators", "indicator_year": 2025,
                                 "villages": {"A": {"computed": "1.12", "overridden": False},
                                              "B": {"computed": "0.96", "overridden": True}}}}
    lines = {line["village"]: line for line in district_allocation(doc)["lines"]}
    plain = {line["village"]: line for line in district_allocation(
        {k: v for k, v in doc.items() if k != "performance_basis"})["lines"]}
    assert {k: v["amount_fen"] for k, v in lines.items()} == {k: v["amount_fen"] for k, v in plain.items()}
    assert "按 2025 年绩效指标计算" in lines["A"]["basis"] and "人工调整，按指标计算为 0.96" in lines["B"]["basis"]
    with pytest.raises(InputError):
        district_allocation({**doc, "performance_basis": "按指标"})


# ---------------------------------------------------------------- properties

SHARE = st.fractions(min_value=0, max_value=1, max_denominator=50)
INCOME = st.integers(0, 10_000_000).map(Fraction)
CENTS = st.integers(0, 300).map(lambda n: Decimal(n) / 100)
PARAMS = st.builds(
    lambda a, b, c, lo, hi: perf.Parameters("indicators", a, b, c, min(lo, Decimal(1)), max(hi, Decimal(1))),
    CENTS, CENTS, CENTS.map(lambda d: d / 10), st.integers(0, 100).map(lambda n: Decimal(n) / 100),
    st.integers(100, 300).map(lambda n: Decimal(n) / 100))


@FAST
@given(PARAMS, SHARE, SHARE, SHARE, INCOME, INCOME, INCOME, st.integers(0, 50), st.integers(0, 50))
def test_every_coefficient_is_within_bounds_and_monotone(p: perf.Parameters, s1: Fraction, s2: Fraction,
                                                        ms: Fraction, i1: Fraction, i2: Fraction, mi: Fraction,
                                                        f1: int, f2: int) -> None:
    def c(s: Fraction, i: Fraction, f: int) -> Decimal:
        return perf.coefficient(p, on_time_share=s, median_share=ms, income=i, median_income=mi, open_findings=f)

    lo_s, hi_s = sorted((s1, s2))
    lo_i, hi_i = sorted((i1, i2))
    lo_f, hi_f = sorted((f1, f2))
    for s, i, f in ((s1, i1, f1), (s2, i2, f2)):
        v = c(s, i, f)
        assert p.minimum <= v <= p.maximum and v == v.quantize(Decimal("0.01"))
    assert c(lo_s, i1, f1) <= c(hi_s, i1, f1)  # more dues on time: never lower
    assert c(s1, lo_i, f1) <= c(s1, hi_i, f1)  # more income per household: never lower
    assert c(s1, i1, lo_f) >= c(s1, i1, hi_f)  # more open findings: never higher


@FAST
@given(PARAMS, st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 30),
                                  st.integers(0, 1_000_000), st.integers(0, 10)), min_size=1, max_size=12))
def test_a_county_of_villages_gets_coefficients_within_bounds(p: perf.Parameters,
                                                              rows: list[tuple[int, int, int, int, int]]) -> None:
    villages = [_v(f"V{n}", d, min(o, d), h, i if h else 0, f) for n, (d, o, h, i, f) in enumerate(rows)]
    result = perf.coefficients(p, villages)
    assert set(result.coefficients) == {v.village for v in villages}
    assert all(p.minimum <= c <= p.maximum for c in result.coefficients.values())
