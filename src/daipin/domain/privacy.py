"""Masking and salted digests of personal data (ID numbers, phones, bank accounts)."""

from __future__ import annotations

import hashlib
import hmac
import re

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
