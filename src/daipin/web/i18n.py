"""Message catalogs: Chinese (zh_CN) is the source language and default; English is switchable.

The .po files under web/locale are compiled in memory at start-up, so no binary .mo is kept in the tree.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from daipin.domain import vocabulary

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "daipin_lang"


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for a locale; Chinese needs none because the messages are written in Chinese."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def pick_locale(cookie: str | None, query: str | None = None, accept: str | None = None) -> str:
    for cand in (query, cookie):
        if cand in LOCALES:
            return cand
    return DEFAULT_LOCALE


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


# The names templates gave code sets before the vocabulary named them, still understood.
_GROUPS = {"state": "matter_state", "action": "matter_event", "kind": "matter_kind", "notice": "notice_status",
           "objection": "objection_status", "payment": "payment_status", "contract": "contract_status",
           "project": "project_status", "decision": "review_decision", "choice": "term_choice",
           "warning": "engine_warning"}


def label(locale: str, code: object, group: str) -> str:
    """The name people read for a stored code, in the page's language: the vocabulary's Chinese, or its English
    on an English page; an unknown code is shown as is."""
    return vocabulary.label(_GROUPS.get(group, group), code, "en" if locale == "en" else "zh")
