"""Free text fit to post: ID numbers, phones and bank numbers masked wherever and however they are typed."""

from __future__ import annotations

import pytest

from daipin.domain.privacy import mask_free_text

PLANTED = [
    "231002199001011234", "23100219900101123X", "23100219900101123x", "231002900101123",  # IDs, new and old
    "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678",  # mobiles
    "0451-87654321", "045187654321", "010 12345678", "87654321",  # landlines, with and without the area code
    "622202123456789012", "6222 0212 3456 7890 123", "6222-0212-3456-7890-1234-5678", "123456789012",  # banks
    "1234 5678 9012 3456 7890 1234 5678 90",  # thirty digits with spaces
]


@pytest.mark.parametrize("value", PLANTED)
def test_a_number_typed_anyhow_is_masked_inside_chinese_text(value: str) -> None:
    text = f"我的号码是{value}，请联系。"
    out = mask_free_text(text)
    digits = "".join(ch for ch in value if ch.isdigit())
    assert value not in out and digits not in "".join(ch for ch in out if ch.isdigit())
    assert out.startswith("我的号码是") and out.endswith("，请联系。") and "*" in out


def test_what_is_not_personal_data_is_kept() -> None:
    text = "2024年分红 12,345.67 元，户号 H-001，第 3 组 20 户，摘要 a3f912345678901234bc，时间 2026-12-17"
    assert mask_free_text(text) == text
    assert mask_free_text("") == "" and mask_free_text(None) == ""


def test_the_masks_keep_the_ends_of_the_number() -> None:
    assert mask_free_text("231002199001011234") == "2310**********1234"
    assert mask_free_text("电话138 1234 5678") == "电话138****5678"
    assert mask_free_text("卡号6222021234567890123").endswith("0123")


def test_the_digester_for_many_values_gives_salted_digest_of_each() -> None:
    from daipin.domain.privacy import salted_digest, salted_digester

    digest = salted_digester(b"k" * 32)
    for value in ("6217000000012345", " 6217 0000 0001 2345 ", "23100219900101123x", "王小明", ""):
        assert digest(value) == salted_digest(b"k" * 32, value)
    assert digest("6217000000012345") != salted_digester(b"j" * 32)("6217000000012345")
