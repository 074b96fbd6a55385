"""Password rules: long enough, not one of the most common passwords (decorated or not), not one character
repeated or a run of consecutive characters, not containing the username or the display name."""

from __future__ import annotations

import pytest

from daipin.domain.errors import InputError
from daipin.services.auth import passwords


def _refused(password: str, says: str, **who: str) -> InputError:
    with pytest.raises(InputError) as refused:
        passwords.check(password, "password", **who)
    assert refused.value.field == "password"
    assert says in refused.value.message_zh, refused.value.message_zh
    assert refused.value.message_en and refused.value.message_en != refused.value.message_zh
    return refused.value


@pytest.mark.parametrize("password", ["password", "PASSWORD", "qwertyuiop", "iloveyou", "1qaz2wsx",
                                      "Password1", "password123!", "2024dragon", "woaini1314", "qq123456", "daipin-demo", "Daipin2026"])
def test_a_common_password_is_refused(password: str) -> None:
    _refused(password, "常见")


@pytest.mark.parametrize("password", ["12345678", "aaaaaaaa", "zzzzzzzzzz", "99999999", "abcdefgh", "ABCDEFGHIJ", "hgfedcba",
                                      "34567890", "98765432", "abababab", "123123123123"])
def test_one_character_repeated_or_a_run_of_consecutive_characters_is_refused(password: str) -> None:
    _refused(password, "连续")


def test_a_password_that_contains_the_username_or_the_display_name_is_refused() -> None:
    _refused("liqiang-2026", "用户名", username="liqiang", display_name="李强")
    _refused("My.LiQiang.pw", "用户名", username="liqiang")
    _refused("张伟的密码很长很长", "姓名", username="zw01", display_name="张伟")
    _refused("river-Wang-Fang!", "姓名", username="wf", display_name="Wang Fang")


def test_a_short_or_long_password_is_refused_as_before() -> None:
    _refused("short-1", "至少")
    _refused("x" * 257, "过长")


@pytest.mark.parametrize("password", ["correct-horse-9", "matrix-pass-1", "兴隆村的春天2026",
                                      "tq7-Lm2x-Vr", "a-long-password-9"])
def test_an_ordinary_good_password_is_accepted(password: str) -> None:
    passwords.check(password, "password", username="village", display_name="村干部（演示）")


def test_the_list_ships_with_the_package_and_holds_about_a_thousand_passwords() -> None:
    assert 1000 <= len(passwords.common()) <= 1200
    assert {"123456", "password", "qwerty", "5201314"} <= passwords.common()
