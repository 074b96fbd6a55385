"""Text a person types, on its way to the ledger and to what others read: one rule for every feature.

Any field a person types may hold an ID number, a phone or a bank number, and the ledger (published, kept
forever) must never hold one in clear (LEDGER.md: personal data only as salted digests). The rule:

- **A field with no reason to hold a personal number refuses one** (`check`, `text`): names (of entities,
  legal representatives, projects, assets, insurers, valuers, regions), titles, places, references (minutes,
  report, audit and decision references), a contract's terms (buyer, product, purpose, duties, …) and every
  reason or comment an official or an entity writes (credit changes, contributions, status changes, contract
  amendments, terminations and inheritances, representatives' terms ending, reviews, withdrawals, failed
  payments, redactions). Refused with an `InputError` naming the field, in Chinese and English; nothing written.
  Such a field then enters the ledger, the dossier and any page as written.
- **A free account a member of the public writes, and the answer to it, is accepted as written** (an objection,
  its answer): the ledger and the dossier keep only its salted digest (`digest`, the row states'
  `WORKFLOW_PRIVATE_TEXT_COLUMNS`), and the public reads it masked (`domain.privacy.mask_free_text`).

What counts as a personal number is `domain.privacy.has_personal_number` (what `mask_free_text` masks: resident
IDs, old IDs, mobiles and landlines with their area code, 12–30 digit bank numbers, also typed with spaces or
dashes; a bare 7–8 digit run is as likely a file number, `评估2025-001`, and is not refused). Identifiers the
system checks by their own format (household numbers, contract and project codes, the unified social credit code,
insurance policy numbers) are not free text and are left to their own checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from daipin.domain.errors import InputError
from daipin.domain.privacy import has_personal_number
from daipin.services.shared import inputs, trace


def refused(field: str, zh: str | None = None) -> InputError:
    """The refusal of a personal number in `field` (`zh`: the field's name for people)."""
    label = zh or field
    return InputError(f"“{label}”中不得写入身份证号、电话或银行账号", f"{field} must not hold an ID number, phone or "
                      "bank number", field)


def check(value: Any, field: str, zh: str | None = None) -> None:
    """Refuse a personal number anywhere in `value`: a text, or the texts inside lists and objects (a contract's
    terms), each named by its path (`terms.duties[1]`, `terms.delivery_schedule[0].note`)."""
    if isinstance(value, str):
        if has_personal_number(value, local_phones=False):
            raise refused(field, zh)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            check(inner, f"{field}.{key}", zh)
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            check(inner, f"{field}[{i}]", zh)


def check_fields(**fields: Any) -> None:
    """`check` of several fields by their names (the first refused is named)."""
    for name, value in fields.items():
        check(value, name)


def text(value: Any, field: str, zh: str, en: str, limit: int = 200, *, required: bool = True) -> str | None:
    """A typed text (`inputs.need`, or `inputs.optional_text` when not `required`) that may hold no personal
    number."""
    out = inputs.need(value, field, zh, en, limit) if required else inputs.optional_text(value, field, zh, en, limit)
    if out is not None and has_personal_number(out, local_phones=False):
        raise refused(field, zh)
    return out


def digest(session: Session, value: str | None) -> str | None:
    """The ledger's form of a free account a member of the public wrote (or its answer): a salted digest."""
    return trace.pii(session, value) if value else None
