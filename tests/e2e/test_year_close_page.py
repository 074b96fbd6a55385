"""年度结账 in a real browser: the district closes the sample year for its county with one button, watches each
county's progress, and sees every project settled, every village allocated and the allocation matters drafted where
the roster is confirmed (the villages without one named); a second click does nothing again; a village cadre is
refused the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the close's runs touch no other test's pages."""
    with running_server(tmp_path_factory.mktemp("yearclose")) as srv:
        yield srv


def test_the_district_closes_the_year_and_sees_it_done(browser: Any, server: Server, shots: Shots) -> None:
    district = new_page(browser, server, width=375, height=812)
    login(district, "district")
    district.goto("/year-close?year=2025")
    row = district.locator("#year-close-counties tbody tr").first
    assert "东安区" in row.inner_text() and "未开始" in row.inner_text()
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "year-close-before")

    district.fill("#year-close input[name=year]", "2025")
    district.click("#year-close button[type=submit]")
    district.wait_for_selector("#year-close-result", timeout=120_000)
    assert "2025 年度结账完成" in district.inner_text("#year-close-result")
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "year-close-done")

    district.goto("/year-close?year=2025")
    row = district.locator("#year-close-counties tbody tr").first
    text = row.inner_text()
    assert "已完成" in text and "12 / 12" in text and "10 / 10" in text, text
    # Drafted: the first village (its roster confirmed); the next two already hold their allocation matters (the
    # demo's), so none is drafted twice; the other seven have no confirmed roster, and the page names them.
    assert "3 / 10" in text and "7 个村未确认名册，未起草" in text, text
    row.locator("details.unconfirmed summary").click()
    assert len(row.locator("details.unconfirmed li").all()) == 7
    # Again: nothing is left to run, nothing is run twice.
    district.click("#year-close button[type=submit]")
    district.wait_for_selector("#year-close-result")
    district.goto("/year-close?year=2025")
    assert "12 / 12" in district.locator("#year-close-counties tbody tr").first.inner_text()
    district.close()

    village = new_page(browser, server, width=375, height=812)
    login(village, "village")
    response = village.goto("/year-close")
    assert response is not None and response.status == 403
    village.close()
