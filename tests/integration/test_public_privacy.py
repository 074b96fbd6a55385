"""No ID number, phone, bank account or health detail on the public portal, its API or the notice PDFs."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Person
from tests.integration.api_support import World, app_rolling_back, build_world, client

# Not inside a longer word: a hex digest or a base64 token may hold a run of 18 digits by chance.
ID_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _secrets(session: Session) -> list[str]:
    """Every stored ID number, phone, bank account and health note: none may appear anywhere public."""
    out: list[str] = []
    for id_number, health in session.execute(select(Person.id_number, Person.health_note)):
        out.append(id_number)
        if health:
            out.append(health)
    for phone, bank in session.execute(select(Household.phone, Household.bank_account)):
        out.extend(v for v in (phone, bank) if v)
    return out


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _assert_clean(text: str, secrets: list[str], where: str) -> None:
    digits = re.sub(r"[\s,]", "", text)
    assert not ID_RE.search(text), f"{where}: an 18-digit ID pattern"
    assert not PHONE_RE.search(text), f"{where}: a mobile phone number"
    for s in secrets:
        assert s not in text and s not in digits, f"{where}: stored personal data {s[:3]}…"


def test_public_pages_api_and_notice_pdfs_show_no_personal_data(session: Session, world: World) -> None:
    secrets = _secrets(session)
    assert len(secrets) > 100  # the sample district really holds personal data to leak
    app, _ = app_rolling_back(session)
    c = client(app)
    notices = c.get("/api/v1/public/notices").json()["items"]
    assert notices, "the world has posted notices"
    seen = [("/public", c.get("/public").text), ("/api/v1/public/notices", str(notices)),
            ("/api/v1/public/regions", c.get("/api/v1/public/regions").text)]
    for n in notices:
        page = c.get(f"/public/notices/{n['id']}")
        assert page.status_code == 200
        seen.append((f"/public/notices/{n['id']}", page.text))
        seen.append((f"/api/v1/public/notices/{n['id']}", c.get(f"/api/v1/public/notices/{n['id']}").text))
        pdf = c.get(f"/public/notices/{n['id']}.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        text = _pdf_text(pdf.content)
        assert "公示" in text and "12317" in text  # the Chinese font is embedded: the text reads back
        seen.append((f"/public/notices/{n['id']}.pdf", text))
    for where, text in seen:
        _assert_clean(text, secrets, where)


def test_a_named_objectors_contact_never_reaches_the_portal(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    nid = world.ids["notice_open"]
    # The objector's own phone number goes to the committee, not to the public page.
    form = c.get(f"/public/notices/{nid}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    r = c.post(f"/public/notices/{nid}/objections", data={"csrf_token": token.group(1), "text": "名单漏了我家",
                                                          "name": "异议人", "contact": "13900001111"})
    assert r.status_code == 200 and "objection-filed" in r.text
    assert "13900001111" not in r.text and "异议人" not in r.text
    assert "13900001111" not in c.get(f"/api/v1/public/notices/{nid}").text


def test_household_pages_for_officials_mask_id_phone_and_bank(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    hh = session.get(Household, world.ids["hh_own"])
    assert hh is not None
    people = list(session.scalars(select(Person).where(Person.household_id == hh.id)))
    body = c.get(f"/api/v1/households/{hh.id}", headers=world.headers("village_cadre")).text
    c.cookies.set("daipin_session", world.tokens["village_cadre"])
    page = c.get(f"/households/{hh.id}").text
    for text in (body, page):
        for p in people:
            assert p.id_number not in text
        for v in (hh.phone, hh.bank_account):
            if v:
                assert v not in text
        assert not ID_RE.search(text)
