"""In a real browser, desktop and phone: a payment batch's lines found by status and by payee, counted, and paged;
the province's cross-county duplicate check from the counties' digest files to the findings and their export."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import (
    START,
    Server,
    Shots,
    fits_the_phone,
    login,
    new_page,
    no_raw_codes,
    running_server,
)

pytestmark = pytest.mark.e2e


def _new(browser: Any, server: Server, width: int) -> Any:
    """A page with axe loaded before the page's own scripts (the CSP stays on)."""
    from tests.e2e.test_accessibility import AXE

    page = new_page(browser, server, width=width, height=900)
    page.context.add_init_script(path=str(AXE))
    return page


def _accessible(page: Any) -> None:
    from tests.e2e.test_accessibility import axe_violations

    found = axe_violations(page)
    assert found == [], f"{page.url}:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo database of this module's own: the province account it adds is on no other test's pages."""
    with running_server(tmp_path_factory.mktemp("lines-duplicates")) as srv:
        yield srv


def _batch(server: Server) -> tuple[int, list[tuple[int, str]]]:
    """The demo's executed district allocation: its batch and its lines (id, payee) in order."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine

    with Session(server.engine) as s:
        batch_id = s.scalars(select(PaymentBatch.id).join(Matter, Matter.id == PaymentBatch.matter_id)
                             .where(Matter.kind == "district_allocation")).first()
        assert batch_id is not None
        lines = [(i, n) for i, n in s.execute(select(PaymentLine.id, PaymentLine.payee_name)
                                              .where(PaymentLine.batch_id == batch_id)
                                              .order_by(PaymentLine.seq, PaymentLine.id))]
    return batch_id, lines


@pytest.mark.parametrize("width", [1200, 375])
def test_a_batch_s_lines_are_found_by_status_and_payee_and_counted(browser: Any, server: Server, shots: Shots,
                                                                    width: int) -> None:
    batch_id, lines = _batch(server)
    page = _new(browser, server, width)
    login(page, "district")
    page.goto(f"/payments/batches/{batch_id}")
    assert page.inner_text("#line-count") == f"共 {len(lines)} 笔"
    assert page.locator(".pay-line").count() == len(lines) and page.locator(".line-pages").count() == 0
    fits_the_phone(page)
    no_raw_codes(page)
    shots(page, f"batch-{width}")
    # By payee: only that line; the filter stays in the form.
    name = lines[-1][1]
    page.fill("#line-filter input[name=q]", name)
    page.click("#line-filter button[type=submit]")
    page.wait_for_selector("#line-count")
    assert page.locator(".pay-line").count() == 1 and page.locator(f"#line-{lines[-1][0]}").count() == 1
    assert page.input_value("#line-filter input[name=q]") == name
    assert f"符合条件 1 笔，全批次 {len(lines)} 笔" in page.inner_text("#line-count")
    # By status: none paid yet in the demo; every line pending.
    page.fill("#line-filter input[name=q]", "")
    page.select_option("#line-filter select[name=status]", "paid")
    page.click("#line-filter button[type=submit]")
    page.wait_for_selector("#no-lines")
    assert "符合条件 0 笔" in page.inner_text("#line-count")
    page.select_option("#line-filter select[name=status]", "pending")
    page.select_option("#line-filter select[name=per_page]", "20")
    page.click("#line-filter button[type=submit]")
    page.wait_for_selector("#line-count")
    assert page.locator(".pay-line").count() == len(lines)
    assert page.locator("#line-filter select[name=status] option:checked").inner_text() == "待支付"
    fits_the_phone(page)
    no_raw_codes(page)
    _accessible(page)
    shots(page, f"batch-filtered-{width}")
    # A bad page size typed into the address: a Chinese error naming the field by its label.
    r = page.goto(f"/payments/batches/{batch_id}?per_page=7")
    assert r is not None and r.status == 422
    text = page.inner_text("main")
    assert "每页条数应为" in text and "per_page" not in text
    assert page.js_errors == []


PROVINCE_PASSWORD = "Sheng-ji-bi-dui-2026!"


def _digest(n: int) -> str:
    return hashlib.sha256(f"e2e person {n}".encode()).hexdigest()


def _file(county: str, people: list[tuple[str, int]]) -> bytes:
    return ("区县代码,编号,摘要\n" + "".join(f"{county},{ref},{_digest(n)}\n" for ref, n in people)).encode()


def test_the_province_checks_the_counties_digest_files_for_people_registered_twice(
        browser: Any, server: Server, shots: Shots) -> None:
    from sqlalchemy.orm import Session

    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.auth import service as auth_service

    with Session(server.engine) as s:
        auth_service.create_user(s, actor=SYSTEM_ACTOR, username="province-e2e", password=PROVINCE_PASSWORD,
                                 role="province",
                                 region="23", entity_id=None, at=START, display_name="省级（演示）")
        s.commit()
    for width in (1200, 375):
        page = _new(browser, server, width)
        page.goto("/login")
        page.fill("input[name=username]", "province-e2e")
        page.fill("input[name=password]", PROVINCE_PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        if width == 1200:
            page.click("#mainnav a[href='/province/duplicates']")
        else:
            page.goto("/province/duplicates")
        page.wait_for_selector("#duplicates-form")
        files = [{"name": "231002.csv", "mimeType": "text/csv",
                  "buffer": _file("231002", [("person:1", 1), ("person:2", 2), ("person:3", 3)])},
                 {"name": "231005.csv", "mimeType": "text/csv",
                  "buffer": _file("231005", [("w-9", 3), ("w-10", 4)])}]
        page.set_input_files("#duplicates-form input[type=file]", files=files)
        page.click("#duplicates-form button[value=page]")
        page.wait_for_selector("#duplicates-result")
        assert "发现跨县重复登记 1 人" in page.inner_text("#duplicates-summary")
        row = page.inner_text("#duplicates tbody tr")
        assert "东安区（231002）" in row and "person:3" in row and "w-9" in row and "person:1" not in row
        fits_the_phone(page)
        no_raw_codes(page)
        _accessible(page)
        shots(page, f"duplicates-{width}")
        page.set_input_files("#duplicates-form input[type=file]", files=files)
        with page.expect_download() as dl:
            page.click("#duplicates-xlsx")
        assert dl.value.suggested_filename.endswith(".xlsx")
        # An ID number where the county's reference belongs: refused, each problem by file, row and column.
        page.set_input_files("#duplicates-form input[type=file]", files=[
            {"name": "bad.csv", "mimeType": "text/csv", "buffer": _file("231002", [("231002199005050987", 1)])}])
        page.click("#duplicates-form button[value=page]")
        page.wait_for_selector("#problems")
        assert "bad.csv 第2行 编号" in page.inner_text("#problems")
        assert "231002199005050987" not in page.content()
        fits_the_phone(page)
        _accessible(page)
        shots(page, f"duplicates-refused-{width}")
        assert page.js_errors == []
    village = new_page(browser, server)
    login(village, "village")
    assert village.locator("#mainnav a[href='/province/duplicates']").count() == 0
    assert village.goto("/province/duplicates").status == 403


def _cells_fit(page: Any, selector: str) -> None:
    """Every cell of the tables inside the screen: on a phone the table stacks, each cell under its label."""
    cells = page.locator(selector)
    assert cells.count() > 0, selector
    width = page.evaluate("window.innerWidth")
    beyond = page.evaluate("""(sel) => [...document.querySelectorAll(sel)]
        .filter(td => td.getBoundingClientRect().right > window.innerWidth + 1).length""", selector)
    assert beyond == 0, f"{page.url}: {beyond} cells of {selector} beyond the {width}px screen"
    label = page.evaluate("(sel) => getComputedStyle(document.querySelector(sel), '::before').content", selector)
    assert label not in ("none", "normal", '""'), f"{selector} shows no label before its value"


def _label(page: Any, selector: str) -> str:
    return str(page.evaluate("(sel) => getComputedStyle(document.querySelector(sel), '::before').content", selector))


def test_a_matter_s_tables_and_the_findings_stack_on_a_phone(browser: Any, server: Server, shots: Shots) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from daipin.db.models.auth import User
    from daipin.db.models.workflow import Matter

    with Session(server.engine) as s:  # a matter of the demo village cadre's own village
        region = s.scalars(select(User.region_code).where(User.username == "village")).one()
        matter = s.scalars(select(Matter.id).where(Matter.region_code == region).order_by(Matter.id)).first()
    assert matter is not None
    village = new_page(browser, server, width=375, height=812)
    login(village, "village")
    village.goto("/matters/new")
    village.wait_for_selector("#document-readable")
    _cells_fit(village, "#document-readable td")
    fits_the_phone(village)
    shots(village, "draft-phone")
    village.goto(f"/matters/{matter}")
    _cells_fit(village, "#events td")
    assert "办理人" in _label(village, "#events td:nth-child(4)")
    fits_the_phone(village)
    shots(village, "matter-phone")
    district = new_page(browser, server, width=375, height=812)
    login(district, "district")
    district.goto("/supervision")
    district.click("#scan button[type=submit]")
    district.wait_for_selector("#scan-result")
    _cells_fit(district, "#findings td")
    assert "状态" in _label(district, "#findings td:nth-child(6)")
    fits_the_phone(district)
    shots(district, "findings-phone")
