"""Masking and salted digests of personal data (ID numbers, phones, bank accounts)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

_LONG_NUMBER = re.compile(r"\d{7,}[0-9Xx]?")


def mask_id(value: str | None) -> str:
    """`231002199001011234` -> `2310**********1234`."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 8:
        return "*" * len(v)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_bank(value: str | None) -> str:
    """Keep only the last four digits of a bank account."""
    if not value:
        return ""
    v = value.replace(" ", "")
    if len(v) <= 4:
        return "*" * len(v)
    return "*" * (len(v) - 4) + v[-4:]


def mask_reference(value: str | None, keep: int = 4) -> str:
    """A reference kept partly hidden (a bank's payment reference in a dossier): only its last `keep` characters
    shown, `NX-2026-0001` -> `********0001`; one of `keep` characters or fewer wholly hidden."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= keep:
        return "*" * len(v)
    return "*" * (len(v) - keep) + v[-keep:]


def mask_numbers(text: str) -> str:
    """Any run of seven or more digits in free text (a cell echoed in an error, say, that may be an ID number,
    phone or bank account in the wrong column) masked as `mask_id` masks: `1381234567` -> `1381**4567`."""
    return _LONG_NUMBER.sub(lambda m: mask_id(m.group()), text)


def mask_name(value: str | None) -> str:
    """`王小明` -> `王*明`; used where only a partly shown name may be posted."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def salted_digest(salt: bytes, value: str) -> str:
    """Keyed digest of personal data for ledger bodies: linkable by those with the salt, unreadable to others."""
    return hmac.new(salt, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def salted_digester(salt: bytes) -> Callable[[str], str]:
    """`salted_digest` with `salt` fixed, for many values in a row (a bank file's accounts): the keyed hash is set up
    once and copied for each value, which gives the same digest as `salted_digest(salt, value)`. OpenSSL's HMAC
    object is copied directly where Python has it (`hmac.HMAC` wraps it in Python code at every copy)."""
    try:
        from _hashlib import hmac_new
    except ImportError:  # a Python without OpenSSL's HMAC: the standard wrapper
        keyed: Any = hmac.new(salt, digestmod=hashlib.sha256)
    else:
        keyed = hmac_new(salt, digestmod="sha256")
    copy = keyed.copy

    def digest(value: str) -> str:
        h = copy()
        h.update(value.strip().upper().encode("utf-8"))
        return h.hexdigest()  # type: ignore[no-any-return]

    return digest


# A run of digits as a person types it: digits, possibly split by spaces or dashes (`6222 0212 3456 7890`,
# `0451-8765 4321`), ending in X for an ID number; never glued to an ASCII letter or digit on either side, so
# digests and codes (`a3f9…`, `H-001`) are left alone.
_TYPED_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?\d(?:[ \-]?\d)+(?:[ \-]?[Xx])?(?![0-9A-Za-z])")
# A landline: area code 0 + 2–3 digits, then 7–8 digits (`0451-87654321`, `010 12345678`).
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def _mask_typed_number(match: re.Match[str], local_phones: bool = True) -> str:
    typed = match.group()
    digits = re.sub(r"[ \-+]", "", typed)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]  # +86 in front of a mobile number
    bare = digits.rstrip("Xx")
    if len(digits) == 18 and bare.isdigit() and len(bare) >= 17:
        return mask_id(digits)  # resident ID (the last character may be X)
    if not bare.isdigit() or bare != digits:
        return typed if len(bare) < 7 else mask_id(digits)  # a number ending in X that is no ID: masked the same
    if len(digits) == 15:
        return mask_id(digits)  # an old 15-digit ID (or a bank number of 15 digits)
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return mask_phone(digits)  # mobile
    local = (local_phones and len(digits) in (7, 8) and digits[0] != "0"
             and len(re.findall(r"[ \-]", typed)) <= 1)  # not a date
    if _LANDLINE.match(digits) or local:
        return mask_phone(digits)  # landline, with or without its area code
    if 12 <= len(digits) <= 30:
        return mask_bank(digits)
    if len(digits) > 30 or len(digits) >= 9:
        return mask_id(digits)  # any other long run of digits: not shown in clear either
    return typed


def mask_free_text(text: str | None) -> str:
    """Free text a person typed (an objection, an answer, a comment) made fit to post: 18-digit resident IDs
    (with X), 15-digit old IDs, mobile and landline phones and 12–30 digit bank numbers, also typed with spaces
    or dashes inside, are masked (`231002199001011234` -> `2310**********1234`, `138 1234 5678` -> `138****5678`,
    `6222 0212 3456 7890 123` -> `***************0123`); everything else is kept as written. Years, amounts and
    other short numbers (six digits or fewer) are left alone."""
    if not text:
        return ""
    return _TYPED_NUMBER.sub(_mask_typed_number, text)


def has_personal_number(text: str | None, *, local_phones: bool = True) -> bool:
    """Whether free text holds something `mask_free_text` would mask (an ID number, phone or bank number).

    Without `local_phones`, a bare 7–8 digit run (a landline without its area code, as `mask_free_text` masks for
    the public) does not count: it is as likely a file or report number (`评估2025-001`, `ZC-DA-2022-001`), and a
    field that refuses personal numbers must not refuse those."""
    if not text:
        return False
    if local_phones:
        return mask_free_text(text) != text
    return _TYPED_NUMBER.sub(lambda m: _mask_typed_number(m, local_phones=False), text) != text
