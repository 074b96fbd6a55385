"""Every message the pages translate has its English: extracted from the templates as `pybabel extract` would
(web/locale/babel.cfg), each must have a non-empty English translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "src" / "daipin" / "web"


def _messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for fname, lineno, msg, _comments, _ctx in extract_from_dir(
            str(WEB), [("templates/**.html", "jinja2")], {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        text = msg if isinstance(msg, str) else msg[0]
        found.setdefault(text, []).append(f"{fname}:{lineno}")
    return found


def test_every_page_message_has_its_english_translation() -> None:
    messages = _messages()
    # The pages added last are among those read: objections (the matter page, the check page) and representatives.
    pages = {where.split(":")[0] for wheres in messages.values() for where in wheres}
    assert {"templates/matters/detail.html", "templates/public/check.html", "templates/public/notice.html",
            "templates/registry/representatives.html"} <= pages
    with (WEB / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    missing = {m: w for m, w in messages.items() if not ((entry := catalog.get(m)) and entry.string)}
    assert not missing, missing
    placeholders = re.compile(r"%\(\w+\)s")
    differ = {m: catalog.get(m).string for m in messages
              if sorted(placeholders.findall(m)) != sorted(placeholders.findall(str(catalog.get(m).string)))}
    assert not differ, differ
