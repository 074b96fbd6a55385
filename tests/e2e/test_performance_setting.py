"""The district allocation's performance coefficients in a real browser, on a phone: the district administrator sets
them to come from the indicators (a bad bound is named beside its field, nothing kept), the township reads the
setting without a form, and the district's draft form shows each village's coefficient, filled into its line,
with the basis; the drafted matter keeps the basis for whoever reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the county's setting changes no other test's draft form."""
    with running_server(tmp_path_factory.mktemp("performance")) as srv:
        yield srv


def test_the_district_sets_performance_from_indicators_and_its_draft_form_shows_the_coefficients(
        browser: Any, server: Server, shots: Shots) -> None:
    district = new_page(browser, server, width=375, height=812)
    login(district, "district")
    district.goto("/supervision/performance")
    assert "人工填写" in district.inner_text("#performance-settings")
    district.select_option("#performance_mode", "indicators")
    district.fill("#performance_min", "1.5")
    district.click("#performance-form button[type=submit]")
    district.wait_for_selector("#error-performance_min")
    assert "绩效系数下限不能大于 1" in district.inner_text("#error-performance_min")
    assert "人工填写" in district.inner_text("#performance-settings")  # nothing kept
    district.fill("#performance_min", "0.85")
    district.click("#performance-form button[type=submit]")
    district.wait_for_selector("#performance-saved")
    settings = district.inner_text("#performance-settings")
    assert "按绩效指标计算" in settings and "0.85" in settings
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "performance-setting")

    township = new_page(browser, server, width=375, height=812)
    login(township, "township")
    township.goto("/supervision/performance")
    assert "按绩效指标计算" in township.inner_text("#performance-settings")
    assert township.locator("#performance-form").count() == 0

    district.goto("/matters/new?kind=district_allocation&year=2026")  # the demo has allocated 2025
    district.wait_for_selector("#performance-table")
    rows = district.locator("#performance-table tbody tr")
    assert rows.count() >= 2
    lines = district.input_value("textarea[name=d_villages]").splitlines()
    computed = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        name, coefficient = cells.nth(0).inner_text(), cells.nth(4).inner_text()
        assert 0.85 <= float(coefficient) <= 1.2
        computed[name.rsplit("（", 1)[1].rstrip("）")] = coefficient
    for line in lines:
        code, *_, last = line.split()
        assert last == computed[code], line  # each village's line ends with its computed coefficient
    basis = district.inner_text("#performance-basis")
    assert "绩效指标年度" in basis and "0.85" in basis
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "performance-draft-form")

    first = lines[0].split()
    lines[0] = " ".join([*first[:-1], "1.15"])  # the district changes one village's coefficient by hand
    district.fill("textarea[name=d_villages]", "\n".join(lines))
    district.fill("input[name=d_fund]", "100000")
    district.click("#save-draft")
    district.wait_for_load_state()
    assert district.locator(".err").count() == 0, district.inner_text("main")[:600]
    district.wait_for_url(lambda u: "/matters/new" not in u and "/matters/" in u)
    district.click("#matter-document summary")
    document = district.inner_text("#matter-document")
    assert "绩效系数计算依据" in document and "人工调整" in document and "按指标计算" in document
    fits_the_phone(district)
    shots(district, "performance-matter")
