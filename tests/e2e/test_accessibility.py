"""Every page of every role and the public portal, checked with axe-core (vendored, test-only) at desktop and phone
sizes: any WCAG 2.1 A/AA violation fails. Each role's pages are found by following the links a user of that role
sees, one page per route (a route's id replaced by a placeholder), so a new page is checked without listing it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Server, login, new_page

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
RUN_ONLY = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 375, "height": 812}
ROLES = ["district", "township", "village", "auditor", "entity"]
# Not pages: downloads, the language switch, the API (its own docs page is tested apart), static files.
SKIP = re.compile(r"^/(?:lang/|api/|static/|exports/|logout)|\.(?:pdf|xlsx|zip|csv|ico|json)$")
# A matter's page differs by its step: several of them are checked, one of every other route.
PER_ROUTE = {"/matters/{id}": 6}
MAX_PAGES = 60


def route_of(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def axe_violations(page: Any) -> list[str]:
    """The WCAG 2.1 A/AA violations axe finds on the page as shown, one line each (rule, impact, where)."""
    result = page.evaluate(
        """async (tags) => {
             const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' :: ' +
                                                                           (n.failureSummary || '').slice(0, 200))}));
           }""",
        RUN_ONLY)
    return [f"{v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"]) for v in result]


def axe_page(browser: Any, server: Server, user: str | None) -> Any:
    page = new_page(browser, server, **DESKTOP)
    page.context.add_init_script(path=str(AXE))  # CDP-injected before the page's own scripts; the CSP stays on
    if user:
        login(page, user)
    return page


def same_site_links(page: Any, base: str) -> list[str]:
    hrefs: list[str] = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    out = []
    for h in hrefs:
        parts = urlsplit(h)
        if f"{parts.scheme}://{parts.netloc}" != base or SKIP.search(parts.path):
            continue
        out.append(parts.path)
    return out


def check_every_page(browser: Any, server: Server, user: str | None, start: list[str]) -> dict[str, list[str]]:
    """Follows the links from `start`, runs axe on each new route at both sizes; returns violations by page."""
    page = axe_page(browser, server, user)
    queue = list(start)
    seen: set[str] = set()
    per_route: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    checked = 0
    while queue and checked < MAX_PAGES:
        path = queue.pop(0)
        route = route_of(path)
        if path in seen or per_route.get(route, 0) >= PER_ROUTE.get(route, 1):
            continue
        seen.add(path)
        page.set_viewport_size(DESKTOP)
        response = page.goto(path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if response.status >= 400:  # the error page is checked once per status, not once per refused route
            route = f"error {response.status}"
            if per_route.get(route):
                continue
        if urlsplit(page.url).path != path:  # a redirect: the page it lands on is checked under its own route
            queue.append(urlsplit(page.url).path)
            continue
        per_route[route] = per_route.get(route, 0) + 1
        checked += 1
        page.wait_for_load_state("load")
        if page.locator("[data-chart]").count():
            page.wait_for_selector("[data-chart-ready]")
        for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
            page.set_viewport_size(size)
            for v in axe_violations(page):
                found.setdefault(f"{path} [{name}]", []).append(v)
        queue.extend(p for p in same_site_links(page, server.url) if p not in seen)
    print(user, checked, sorted(per_route))
    assert checked >= len(start), f"only {checked} pages reached"
    assert page.js_errors == [], page.js_errors
    page.context.close()
    return found


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}:\n    " + "\n    ".join(vs) for where, vs in found.items())


def test_axe_is_vendored_and_finds_a_violation(browser: Any, server: Server) -> None:
    """The check can fail: an unlabelled field added to a page is reported."""
    page = axe_page(browser, server, None)
    page.goto("/public")
    assert page.evaluate("axe.version").startswith("4.")
    assert axe_violations(page) == []
    page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
    assert any(v.startswith("label ") for v in axe_violations(page))
    page.context.close()


@pytest.mark.parametrize("user", ROLES)
def test_every_page_of_a_role_has_no_wcag_violation(browser: Any, server: Server, user: str) -> None:
    found = check_every_page(browser, server, user, ["/"])
    assert not found, f"{len(found)} page views with WCAG 2.1 A/AA violations:\n{report(found)}"


def test_every_portal_page_has_no_wcag_violation(browser: Any, server: Server) -> None:
    found = check_every_page(browser, server, None, ["/public", "/login", "/public/objections/check", "/nowhere"])
    assert not found, f"{len(found)} page views with WCAG 2.1 A/AA violations:\n{report(found)}"

