"""Password rules for every account: long enough, not a common password, not a repeat or a run, not one's own name."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

from daipin.domain.errors import InputError

MIN_LENGTH = 8
MAX_LENGTH = 256
# What people add around a common word to pass a length rule: dragon2024, iloveyou!, 2024dragon.
_EDGES = string.digits + string.punctuation + " "
# Dropped when a name is looked for in a password, so that "Wang Fang" is found in "wang-fang-9".
_SEPARATORS = frozenset(" .-_·•")


@cache
def common() -> frozenset[str]:
    """The refused passwords (lower case), from `daipin/data/common_passwords.txt`."""
    text = resources.files("daipin").joinpath("data", "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#"))


def is_common(password: str) -> bool:
    lower = password.lower()
    core = lower.strip(_EDGES)
    return lower in common() or (core != "" and core in common())


def _step(a: str, b: str) -> int:
    if a.isdigit() and b.isdigit():
        return (int(b) - int(a) + 5) % 10 - 5  # 9 then 0 continues a run: 34567890
    return ord(b) - ord(a)


def is_pattern(password: str) -> bool:
    """One character or a short piece repeated (aaaaaaaa, 12121212, abcabcabc), or a run of consecutive
    characters up or down (12345678, 87654321, abcdefgh)."""
    s = password.lower()
    for size in range(1, 5):
        if len(s) >= 2 * size and s == (s[:size] * (len(s) // size + 1))[: len(s)]:
            return True
    steps = {_step(a, b) for a, b in zip(s, s[1:], strict=False)}
    return steps in ({1}, {-1})


def _squash(text: str) -> str:
    return "".join(c for c in text.lower() if c not in _SEPARATORS)


def contains_name(password: str, name: str) -> bool:
    """Whether the password holds the name (case and separators aside); names too short to mean anything (two
    Latin letters, one Chinese character) are not looked for."""
    squashed = _squash(name or "")
    if len(squashed) < (3 if squashed.isascii() else 2):
        return False
    return squashed in _squash(password)


def check(password: object, field: str, *, username: str = "", display_name: str = "") -> None:
    """Refuse a password that breaks a rule (InputError naming `field` and the reason)."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InputError(f"密码至少 {MIN_LENGTH} 个字符", f"password must have at least {MIN_LENGTH} characters", field)
    if len(password) > MAX_LENGTH:
        raise InputError(f"密码过长（最多 {MAX_LENGTH} 个字符）", f"password too long (at most {MAX_LENGTH} characters)",
                         field)
    if is_pattern(password):
        raise InputError("密码不能是同一字符或一小段字符的重复，也不能是连续的字符（如 11111111、12121212、12345678、"
                         "abcdefgh）",
                         "password must not be one character or a short piece repeated, or a run of consecutive "
                         "characters (11111111, 12121212, 12345678, abcdefgh)", field)
    if is_common(password):
        raise InputError("密码过于常见，容易被猜中（在最常用的密码之列，或只是在其前后加了数字或符号），请换一个",
                         "password is too common and easily guessed (one of the most used passwords, or one with "
                         "digits or symbols added); choose another", field)
    if contains_name(password, username):
        raise InputError("密码不能包含用户名", "password must not contain the username", field)
    if contains_name(password, display_name):
        raise InputError("密码不能包含姓名（显示名称）", "password must not contain the display name", field)
