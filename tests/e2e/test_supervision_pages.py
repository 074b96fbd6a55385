"""Supervision in a real browser, on a phone: the district scans and assigns a finding, the village reports its
rectification, the township verifies it, the auditor reads without a form; an entity is told of a proposed credit
listing, objects, and the district upholds the objection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page, no_raw_codes, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: a scan's findings and a credit listing touch no other test's pages,
    and other tests' refused sign-ins (counted per client) do not hold back this module's."""
    with running_server(tmp_path_factory.mktemp("supervision")) as srv:
        yield srv


def test_a_finding_walks_from_the_scan_to_its_verification_and_the_auditor_only_reads(
        browser: Any, server: Server, shots: Shots) -> None:
    village = new_page(browser, server, width=375, height=812)
    login(village, "village")
    district = new_page(browser, server, width=375, height=812)
    login(district, "district")
    district.goto("/supervision")
    district.click("#scan button[type=submit]")
    district.wait_for_selector("#scan-result")
    assert "扫描完成" in district.inner_text("#scan-result")
    assert district.locator("#findings tbody tr").count() >= 1
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "supervision-findings")

    village.goto("/supervision")
    first = village.locator("#findings tbody a[href^='/supervision/findings/']").first
    href = str(first.get_attribute("href"))
    village.goto(href)
    assert village.locator("form[id^=step-]").count() == 0  # nothing to do before it is assigned

    district.goto(href)
    district.fill("#step-assign input[name=deadline]", "2026-12-31")
    district.fill("#step-assign textarea[name=note]", "请于年底前整改")
    district.click("#step-assign button[type=submit]")
    district.wait_for_selector("#status")
    assert "整改中" in district.inner_text("#status")
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "supervision-finding-assigned")

    village.goto(href)
    village.fill("#step-rectify textarea[name=note]", "已补签协议并公示")
    village.click("#step-rectify button[type=submit]")
    village.wait_for_selector("#status")
    assert "已整改待验收" in village.inner_text("#status")
    assert village.locator("#step-verify").count() == 0  # the village does not verify its own rectification

    township = new_page(browser, server, width=375, height=812)
    login(township, "township")
    township.goto(href)
    township.click("#step-verify button[type=submit]")
    township.wait_for_selector("#status")
    assert "已验收销号" in township.inner_text("#status")

    auditor = new_page(browser, server, width=375, height=812)
    login(auditor, "auditor")
    auditor.goto("/supervision")
    assert auditor.locator("#findings tbody tr").count() >= 1  # the whole district, read only
    assert auditor.locator("#scan").count() == 0
    auditor.goto(href)
    assert auditor.locator("form[id^=step-]").count() == 0 and "已验收销号" in auditor.inner_text("#status")
    auditor.goto("/supervision/inspections")
    assert auditor.locator("#add-inspection").count() == 0
    auditor.goto("/supervision/indicators?year=2025")
    auditor.wait_for_selector("#villages-chart[data-chart-ready]")
    assert auditor.locator("#villages tbody tr").count() >= 1 and auditor.locator("#projects tbody tr").count() >= 1
    fits_the_phone(auditor)
    no_raw_codes(auditor)
    shots(auditor, "supervision-indicators")
    for p in (village, district, township, auditor):
        p.close()


def test_an_entity_is_told_objects_and_the_district_upholds_the_objection(
        browser: Any, server: Server, shots: Shots) -> None:
    entity = new_page(browser, server, width=375, height=812)
    login(entity, "entity")
    entity.goto("/entities")
    own = str(entity.locator("main table a[href^='/entities/']").first.get_attribute("href"))
    district = new_page(browser, server, width=375, height=812)
    login(district, "district")
    district.goto(f"{own}/credit")
    district.fill("#propose textarea[name=reasons]", "连续两年拖欠分红")
    district.fill("#propose textarea[name=basis]", "国办发〔2020〕49号")
    district.click("#propose button[type=submit]")
    district.wait_for_selector("section[id^=listing-]")
    assert "已告知，异议期中" in district.inner_text("main") and "异议" in district.inner_text("main")
    assert "正常" in district.inner_text("#credit-status")  # told, not listed

    entity.goto(own)
    entity.click("#credit-history")  # the entity's page leads to its whole credit history
    entity.wait_for_selector("#credit-events")
    entity.fill("form[id^=object-] textarea[name=text]", "分红已于上月补付，附银行回单")
    entity.click("form[id^=object-] button[type=submit]")
    entity.wait_for_selector("section[id^=listing-]")
    assert "已提出异议，待答复" in entity.inner_text("main")
    fits_the_phone(entity)
    no_raw_codes(entity)
    shots(entity, "credit-objection")

    district.goto(f"{own}/credit")
    district.fill("form[id^=answer-] textarea[name=answer]", "核实回单无误，异议成立")
    district.select_option("form[id^=answer-] select[name=upheld]", "true")
    district.click("form[id^=answer-] button[type=submit]")
    district.wait_for_selector("section[id^=listing-]")
    text = district.inner_text("main")
    assert "异议成立，已撤销" in text and "正常" in district.inner_text("#credit-status")
    assert "告知拟列入失信名单" in district.inner_text("#credit-events")
    fits_the_phone(district)
    no_raw_codes(district)
    shots(district, "credit-withdrawn")
    entity.close()
    district.close()
