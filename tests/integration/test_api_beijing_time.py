"""Times people read are Beijing time (北京时间) on pages, the portal and the notice PDF; storage stays UTC."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.db.models.workflow import Notice
from daipin.domain.localtime import for_people
from tests.integration.api_support import World, app_rolling_back, build_world, client

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "daipin" / "web" / "templates"


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def test_no_template_formats_a_time_itself_or_says_utc() -> None:
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "strftime" not in text and "UTC" not in text, f"{path.name}: times go through the bjt filter"


def test_the_notice_window_is_beijing_time_on_the_portal_the_pdf_and_the_matter_page(session: Session,
                                                                                   world: World) -> None:
    from pypdf import PdfReader

    notice = session.get(Notice, world.ids["notice_open"])
    assert notice is not None
    posted = for_people(notice.posted_at)
    assert posted.endswith("09:00 北京时间")  # published at 01:00 UTC
    app, _ = app_rolling_back(session)
    c = client(app)
    page = c.get(f"/public/notices/{notice.id}").text
    assert f"{posted} — " in page and "北京时间" in page and "UTC" not in page
    index = c.get("/public").text
    assert posted in index
    pdf = c.get(f"/public/notices/{notice.id}.pdf").content
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    assert posted in text and "北京时间" in text and "UTC" not in text
    c.cookies.set("daipin_session", world.tokens["township_official"])
    matter = c.get(f"/matters/{world.ids['matter_in_notice']}").text
    assert f"{posted} — " in matter and "北京时间" in matter
