"""Resident ID numbers and social credit codes: checked with python-stdnum, birth date and sex cross-checked."""

from __future__ import annotations

from datetime import date

import pytest

from daipin.domain.errors import InputError
from daipin.domain.identity import (
    check_resident_id,
    make_resident_id,
    make_uscc,
    parse_resident_id,
    validate_uscc,
)


def test_a_generated_id_number_validates_and_encodes_birth_date_and_sex() -> None:
    n = make_resident_id("231002", date(1990, 5, 17), 99, "F")
    rid = parse_resident_id(n)
    assert rid.birth_date == date(1990, 5, 17) and rid.sex == "F"
    assert parse_resident_id(make_resident_id("231002", date(1990, 5, 17), 199, "男")).sex == "M"


def test_the_published_example_with_an_x_check_digit_is_accepted_in_lower_case() -> None:
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("231002199005170000", "校验码错误"), ("2310021990", "长度"), ("", "缺少"), ("231002199013170007", "出生日期")],
)
def test_bad_id_numbers_are_refused_with_the_reason_and_only_a_masked_number(value: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        parse_resident_id(value, field="members[0].id_number")
    assert err.value.field == "members[0].id_number"
    assert reason in err.value.message_zh
    if len(value) == 18:
        assert value not in err.value.text()


def test_a_stated_birth_date_or_sex_must_match_the_number() -> None:
    n = make_resident_id("231002", date(1990, 5, 17), 99, "M")
    assert check_resident_id(n, birth_date=date(1990, 5, 17), sex="男").sex == "M"
    with pytest.raises(InputError) as err:
        check_resident_id(n, birth_date=date(1990, 5, 18))
    assert err.value.field == "birth_date"
    with pytest.raises(InputError) as err:
        check_resident_id(n, sex="F")
    assert err.value.field == "sex"


def test_social_credit_codes_are_validated() -> None:
    code = make_uscc("91231002MA0000001")
    assert validate_uscc(code.lower()) == code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InputError) as err:
        validate_uscc(wrong)
    assert err.value.field == "uscc" and "校验码错误" in err.value.message_zh
