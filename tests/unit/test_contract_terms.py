"""Contract terms per benefit model: required terms are named when missing, types are checked."""

from __future__ import annotations

import pytest

from daipin.domain.contracts import ENGINE_KIND, MODELS, TERMS, engine_terms, validate_terms
from daipin.domain.errors import InputError

COMPLETE = {
    "order_purchase": {"buyer": "合作社", "product": "木耳", "quantity": "1800", "price_rule": "market_with_floor",
                       "floor_price_fen": 300, "market_price_fen": 260, "delivery_schedule": ["9月底前"]},
    "fund_support": {"amount_fen": 2000000, "purpose": "购牛", "support_type": "grant"},
    "trusteeship": {"asset_kind": "land", "unit": "mu", "units": "12.5", "annual_fen_per_unit": 45000,
                    "duties": ["农业保险"]},
    "employment": {"position": "工人", "hours": "8小时", "wage_basis": "day", "wage_fen": 15000,
                   "pay_cycle": "monthly"},
    "shareholding": {"contribution_kind": "land_rights", "contribution_value_fen": 100, "shares": "10",
                     "profit_share": "0.05"},
    "equity_dividend": {"profit_share": "0.05", "annual_floor_fen": 50000},
    "asset_lease": {"annual_rent_fen": 1200000},
    "fixed_interest": {"principal_fen": 1000000, "annual_rate": "0.08"},
}
REQUIRED = [(m, t.name, t.zh, t.en) for m in MODELS for t in TERMS[m] if t.required]


def test_every_model_has_a_complete_example_that_validates() -> None:
    assert set(COMPLETE) == set(MODELS)
    for model, terms in COMPLETE.items():
        assert validate_terms(model, terms) == terms


@pytest.mark.parametrize(("model", "term", "zh", "en"), REQUIRED)
def test_a_missing_required_term_is_refused_with_its_name(model: str, term: str, zh: str, en: str) -> None:
    terms = dict(COMPLETE[model])
    terms.pop(term, None)
    with pytest.raises(InputError) as err:
        validate_terms(model, terms)
    assert err.value.field == f"terms.{term}"
    assert err.value.message_zh == f"缺少必填条款 {zh}"
    assert err.value.message_en == f"missing required term {en}"


def test_money_terms_are_whole_non_negative_fen_and_rates_are_decimal_strings() -> None:
    for bad in (12.5, -1, "100", True):
        with pytest.raises(InputError) as err:
            validate_terms("asset_lease", {"annual_rent_fen": bad})
        assert err.value.field == "terms.annual_rent_fen"
    with pytest.raises(InputError) as err:
        validate_terms("fixed_interest", {"principal_fen": 1, "annual_rate": 0.08})
    assert err.value.field == "terms.annual_rate"
    with pytest.raises(InputError):
        validate_terms("fixed_interest", {"principal_fen": 1, "annual_rate": "abc"})


def test_an_unknown_term_or_model_is_refused() -> None:
    with pytest.raises(InputError) as err:
        validate_terms("asset_lease", {"annual_rent_fen": 1, "anual_rent": 2})
    assert err.value.field == "terms.anual_rent"
    with pytest.raises(InputError) as err:
        validate_terms("lottery", {})
    assert err.value.field == "model"


def test_cross_checks_revolving_funds_fixed_prices_and_trusteeship_units() -> None:
    with pytest.raises(InputError) as err:
        validate_terms("fund_support", {**COMPLETE["fund_support"], "support_type": "revolving"})
    assert err.value.field == "terms.repayment_schedule"
    with pytest.raises(InputError) as err:
        validate_terms("order_purchase", {**COMPLETE["order_purchase"], "price_rule": "fixed"})
    assert err.value.field == "terms.price_fen"
    with pytest.raises(InputError) as err:
        validate_terms("trusteeship", {**COMPLETE["trusteeship"], "unit": "head"})
    assert err.value.field == "terms.unit"
    with pytest.raises(InputError):
        validate_terms("equity_dividend", {"profit_share": "1.5"})


def test_engine_terms_map_each_settled_model_to_its_engine_kind() -> None:
    assert engine_terms("fund_support", COMPLETE["fund_support"]) is None
    assert engine_terms("shareholding", COMPLETE["shareholding"]) == ("equity_dividend", {"profit_share": "0.05"})
    assert engine_terms("order_purchase", COMPLETE["order_purchase"]) == (
        "order_purchase", {"quantity": "1800", "floor_price_fen": 300, "market_price_fen": 260})
    assert engine_terms("trusteeship", COMPLETE["trusteeship"]) == (
        "trusteeship", {"units": "12.5", "unit": "mu", "annual_fen_per_unit": 45000})
    assert set(ENGINE_KIND) == set(MODELS) - {"fund_support"}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_terms_of_every_model_come_back_from_the_amend_form_unchanged(model: str) -> None:
    from daipin.web.pages.registry import form_fields, terms_from_form

    terms = dict(COMPLETE[model])
    if model == "fund_support":  # objects in a list term, money with fen
        terms.update(support_type="revolving", amount_fen=2000001,
                     repayment_schedule=[{"due": "2026-12-31", "amount_fen": 1000000}, "余款次年还清"])
    assert validate_terms(model, terms_from_form(model, form_fields(model, terms))) == validate_terms(model, terms)


def test_a_list_line_that_looks_like_an_object_but_is_not_is_refused_naming_the_line() -> None:
    from daipin.web.pages.registry import terms_from_form

    with pytest.raises(InputError) as err:
        terms_from_form("fund_support", {"t_repayment_schedule": "第一期\n{due: 2026}"})
    assert err.value.field == "terms.repayment_schedule[1]"


@pytest.mark.parametrize(("model", "term", "value", "reason"), [
    ("asset_lease", "annual_rent_fen", 10**15 + 1, "过大"),
    ("shareholding", "contribution_value_fen", 2**63, "过大"),
    ("shareholding", "shares", "NaN", "不是有效数字"),
    ("shareholding", "shares", "Infinity", "不是有效数字"),
    ("shareholding", "shares", "sNaN", "不是有效数字"),
    ("shareholding", "shares", "-1", "不能为负数"),
    ("order_purchase", "quantity", "1e400", "过大"),
    ("fixed_interest", "annual_rate", "0.0000000000001", "小数位数过多"),
])
def test_numbers_no_contract_holds_are_refused_with_the_reason(model: str, term: str, value: object,
                                                               reason: str) -> None:
    with pytest.raises(InputError) as err:
        validate_terms(model, {**COMPLETE[model], term: value})
    assert err.value.field == f"terms.{term}" and reason in err.value.message_zh


def test_the_largest_amount_and_finest_decimal_are_accepted() -> None:
    terms = validate_terms("fixed_interest", {"principal_fen": 10**15, "annual_rate": "0.000000000001"})
    assert terms == {"principal_fen": 10**15, "annual_rate": "0.000000000001"}


FUND = {"amount_fen": 2000000, "purpose": "购牛", "support_type": "revolving"}


@pytest.mark.parametrize(("schedule", "field", "reason"), [
    ([{"due": "2026-13-31", "amount_fen": 100}], "terms.repayment_schedule[0].due", "日期应为 YYYY-MM-DD"),
    ([{"due": "2026-12-31", "amount_fen": -5}], "terms.repayment_schedule[0].amount_fen", "金额应大于零"),
    ([{"due": "2026-12-31"}], "terms.repayment_schedule[0].amount_fen", "金额应为整数"),
    ([{"due": "2026-12-31", "amount_fen": "100"}], "terms.repayment_schedule[0].amount_fen", "金额应为整数"),
    (["第一期", 2], "terms.repayment_schedule[1]", "每项应为一行文字"),
    ([{"due": "2026-12-31", "amount_fen": 100, "rate": "1"}], "terms.repayment_schedule[0]", "不接受 rate"),
    ([{"due": "2026-12-31", "amount_fen": 1500000}, {"due": "2027-12-31", "amount_fen": 600000}],
     "terms.repayment_schedule", "超过扶持金额"),
])
def test_a_repayment_schedule_is_dates_with_amounts_or_lines_of_text(schedule: list, field: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        validate_terms("fund_support", {**FUND, "repayment_schedule": schedule})
    assert err.value.field == field and reason in err.value.message_zh
    good = [{"due": "2026-12-31", "amount_fen": 1000000}, "余款次年还清", {"due": "2027-12-31", "amount_fen": 1000000,
                                                                       "note": "第二期"}]
    assert validate_terms("fund_support", {**FUND, "repayment_schedule": good})["repayment_schedule"] == good


def test_repayments_made_are_checked_the_same_way() -> None:
    with pytest.raises(InputError) as err:
        validate_terms("fund_support", {**FUND, "repayment_schedule": ["按年还款"],
                                        "repayments": [{"on": "2026-02-30", "amount_fen": 100}]})
    assert err.value.field == "terms.repayments[0].on"


def test_the_form_reads_a_repayment_as_a_date_and_yuan_and_shows_it_so() -> None:
    from daipin.web.pages.registry import form_fields, terms_from_form

    fields = {"t_amount_fen": "20000", "t_purpose": "购牛", "t_support_type": "revolving",
              "t_repayment_schedule": "2026-12-31 10,000.00元\n2027-12-31 10000\n余款视收益情况商定"}
    terms = terms_from_form("fund_support", fields)
    assert terms["repayment_schedule"] == [{"due": "2026-12-31", "amount_fen": 1000000},
                                           {"due": "2027-12-31", "amount_fen": 1000000}, "余款视收益情况商定"]
    shown = form_fields("fund_support", validate_terms("fund_support", terms))["t_repayment_schedule"]
    assert shown == "2026-12-31 10,000.00\n2027-12-31 10,000.00\n余款视收益情况商定"
    with pytest.raises(InputError) as err:
        terms_from_form("fund_support", {**fields, "t_repayment_schedule": "2026-12-31 99999999999999999999"})
    assert err.value.field == "terms.repayment_schedule[0].amount_fen"
