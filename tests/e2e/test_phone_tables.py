"""Every page that shows a table, opened on a 390×844 phone: each wide table stacks (every cell under its label),
so no cell is off the screen. The pages are found from the demo world, one of each kind; a table of the templates
that no page of the walk shows fails the test, so a new table is not forgotten."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, Shots, fits_the_phone, login, new_page

pytestmark = pytest.mark.e2e

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "daipin" / "web" / "templates"
# Tables shown only after an action, each walked by its own browser test: the import's refused rows
# (test_registry_forms), the province's comparison of digest files (test_batch_lines_and_duplicates); and the
# tables of what the demo does not have: findings past their rectification deadline, an entity employing people on
# two projects or more (its wages by project); the performance coefficients on the district's draft form, shown once
# the county takes them from the indicators (test_performance_setting sets that and reads them on a phone). They
# stack as the tables beside them do.
AFTER_AN_ACTION = {"import-errors", "counties", "duplicates", "overdue", "wages-by-project", "performance-table"}

# Per table on the page: its id, and each visible cell that ends beyond the screen, or a stacked cell whose label is
# not shown before its value, or a wide table (three columns or more) that does not stack.
_CHECK = """() => {
  const out = [];
  const width = window.innerWidth;
  document.querySelectorAll('main details').forEach(d => { d.open = true; });  // folded tables and forms too
  for (const table of document.querySelectorAll('main table')) {
    const r = table.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // folded away (a closed <details>)
    const id = table.id || '(' + (table.closest('[id]') || {id: '?'}).id + ')';
    const columns = table.querySelectorAll('thead th').length;
    const stacked = table.classList.contains('stack');
    if (columns >= 3 && !stacked) out.push(id + ': ' + columns + ' columns and does not stack');
    for (const cell of table.querySelectorAll('td, th')) {
      const b = cell.getBoundingClientRect();
      if (b.width === 0 && b.height === 0) continue;
      if (b.right > width + 1 || b.left < -1) out.push(id + ': a cell from ' + Math.round(b.left) + ' to '
        + Math.round(b.right) + 'px: ' + cell.innerText.slice(0, 30));
      if (stacked && cell.tagName === 'TD' && cell.dataset.label && !cell.classList.contains('title')) {
        const before = getComputedStyle(cell, '::before').content;
        if (!before.includes(cell.dataset.label)) out.push(id + ': ' + cell.dataset.label + ' not shown');
      }
    }
  }
  return out;
}"""
_SEEN = "() => [...document.querySelectorAll('main table')].map(t => t.id).filter(Boolean)"


def _template_table_ids() -> set[str]:
    ids: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<table[^>]*>", path.read_text(encoding="utf-8")):
            found = re.search(r'\bid="([\w-]+)"', tag)
            if found:
                ids.add(found.group(1))
    return ids


def _pages(server: Server) -> dict[str, list[str]]:
    """The pages to walk, by the demo account that opens them, built from the demo database."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from daipin.db.models.auth import User
    from daipin.db.models.registry import AllocationPlan, Asset, Contract, Entity, Household
    from daipin.db.models.workflow import Matter, Notice, PaymentBatch

    with Session(server.engine) as s:
        village = s.scalars(select(User.region_code).where(User.username == "village")).one()
        household = s.scalars(select(Household.id).where(Household.village_code == village)
                              .order_by(Household.id)).first()
        # One contract of each benefit model, its entity and project: dues, wages, repayments, versions.
        contracts = s.execute(select(func.min(Contract.id)).group_by(Contract.model)).scalars().all()
        rows = s.execute(select(Contract.entity_id, Contract.project_id).where(Contract.id.in_(contracts))).all()
        entities = sorted({e for e, _ in rows} | {s.scalars(select(Entity.id).order_by(Entity.id)).first()})
        plan = s.execute(select(AllocationPlan.village_code, AllocationPlan.year).order_by(AllocationPlan.id)).first()
        projects = sorted({p for _, p in rows})
        asset = s.scalars(select(Asset.id).order_by(Asset.id)).first()
        # One matter of each kind, the furthest along (with a payment batch where one exists).
        paid: dict[str, int] = dict(s.execute(
            select(Matter.kind, func.max(Matter.id)).join(PaymentBatch).group_by(Matter.kind)).all())
        for kind, m in s.execute(select(Matter.kind, func.max(Matter.id)).group_by(Matter.kind)).all():
            paid.setdefault(kind, m)
        batch = s.scalars(select(PaymentBatch.id).order_by(PaymentBatch.id)).first()
        notice = s.scalars(select(Notice.id).order_by(Notice.id.desc())).first()
    assert household and contracts and asset and plan and batch and notice
    district = [
        "/", "/matters", "/households", f"/households/{household}", "/entities", "/projects", "/contracts",
        *[f"/entities/{e}" for e in entities], f"/entities/{entities[0]}/credit",
        *[f"/projects/{p}" for p in projects], *[f"/contracts/{c}" for c in sorted(contracts)], f"/assets/{asset}",
        *[f"/matters/{m}" for m in sorted(paid.values())], f"/payments/batches/{batch}", "/payments/pools",
        "/reports/annual", "/supervision", "/supervision/indicators", "/supervision/inspections",
        "/supervision/insurance", "/supervision/performance", "/supervision/thresholds", f"/villages/{plan[0]}/plan?year={plan[1]}", f"/villages/{village}/representatives", "/year-close",
        "/ledger", "/admin/users", "/account/activity",
    ]
    return {"district": district, "village": ["/matters/new"], "": ["/public", f"/public/notices/{notice}"]}


def test_every_table_of_every_page_stacks_on_a_phone(browser: Any, server: Server, shots: Shots) -> None:
    seen: set[str] = set()
    problems: list[str] = []
    walked = 0
    for account, urls in _pages(server).items():
        page = new_page(browser, server, width=390, height=844)
        if account:
            login(page, account)
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            assert "<" not in page.title() and page.title().endswith(" · daipin"), (url, page.title())  # a title
            page.wait_for_load_state("networkidle")  # htmx parts (the draft's document) are in
            problems += [f"{url} {p}" for p in page.evaluate(_CHECK)]
            seen |= set(page.evaluate(_SEEN))
            fits_the_phone(page)
            walked += 1
        shots(page, f"last-page-{account or 'public'}")
        assert page.js_errors == [], page.js_errors
        page.context.close()
    assert not problems, "\n".join(problems)
    assert walked >= 40
    forgotten = _template_table_ids() - seen - AFTER_AN_ACTION
    assert not forgotten, f"tables no page of the walk shows (add a page that holds them): {sorted(forgotten)}"
