"""Every page of every role and the public portal, checked with axe-core (vendored, test-only) at desktop and phone
sizes: any WCAG 2.1 A/AA violation fails. Each role's pages are found by following the links a user of that role
sees, one page per route (a route's id replaced by a placeholder), so a new page is checked without listing it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Server, Shots, login, new_page, running_server

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
RUN_ONLY = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 375, "height": 812}
ROLES = ["district", "township", "village", "auditor", "discipline", "province", "entity"]
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
    page.evaluate("""() => { const d = document.createElement('div'); d.style.cssText = 'overflow:auto;width:100px';
                             d.innerHTML = '<p style="width:900px">' + 'x '.repeat(400) + '</p>';
                             document.querySelector('main').append(d); }""")
    assert any(v.startswith("scrollable-region-focusable ") for v in axe_violations(page))  # the 17
    page.context.close()


def test_charts_tables_and_steps_speak_text_not_only_colour_or_pictures(browser: Any, server: Server) -> None:
    page = axe_page(browser, server, "district")
    page.set_viewport_size(PHONE)
    page.goto("/")
    page.wait_for_selector("[data-chart-ready]")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 1
    for i in range(charts.count()):  # each chart named, and its figures as a table folded under it
        chart = charts.nth(i)
        assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-label")
        table = page.locator(f"#{chart.get_attribute('id')} + details.chart-data table")
        assert table.locator("tbody tr").count() >= 1 and table.locator("caption").text_content()
    page.goto("/households")
    page.goto(str(page.locator("main table a[href^='/households/']").first.get_attribute("href")))
    wrap = page.locator("#members").locator("xpath=ancestor::div[contains(@class,'table-wrap')]")
    assert wrap.get_attribute("tabindex") == "0" and wrap.get_attribute("role") == "region"
    assert wrap.get_attribute("aria-label")
    page.goto("/matters")
    page.goto(str(page.locator("main table a[href^='/matters/']").first.get_attribute("href")))
    now = page.locator(".steps [aria-current=step]")
    assert now.count() == 1 and "当前步骤" in now.inner_text()
    page.goto("/public")
    assert page.get_attribute("footer a[href^='tel:']", "href") == "tel:12317"
    assert page.js_errors == [], page.js_errors
    page.context.close()


# Each role's pages are walked in tests/e2e/test_accessibility_roles_{a,b}.py (two files, so the two browser-test
# workers, which take a file each, share the walk); between them they take every role of ROLES.
ROLES_A = ["district", "township", "discipline"]
ROLES_B = ["village", "auditor", "province", "entity"]


def every_page_of(browser: Any, server: Server, user: str) -> None:
    found = check_every_page(browser, server, user, ["/"])
    assert not found, f"{len(found)} page views with WCAG 2.1 A/AA violations:\n{report(found)}"


def test_the_two_role_walks_take_every_role_once() -> None:
    assert sorted(ROLES_A + ROLES_B) == sorted(ROLES) and not set(ROLES_A) & set(ROLES_B)


def test_every_portal_page_has_no_wcag_violation(browser: Any, server: Server) -> None:
    found = check_every_page(browser, server, None, ["/public", "/login", "/public/objections/check", "/nowhere"])
    assert not found, f"{len(found)} page views with WCAG 2.1 A/AA violations:\n{report(found)}"



# What a finger taps on its own; a link inside a sentence (display inline) is exempt, as WCAG's target rules allow.
SIZES_JS = """() => {
  const shown = el => { const r = el.getBoundingClientRect(); const st = getComputedStyle(el);
                        return r.width > 0 && r.height > 0 && st.visibility !== 'hidden'; };
  const small = [], targets = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let chars = 0;
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const t = n.textContent.trim(), el = n.parentElement;
    if (!t || !el || !shown(el) || el.closest('script, style, svg, [aria-hidden=true]')) continue;
    chars += t.length;
    const px = parseFloat(getComputedStyle(el).fontSize);
    small.push([px, el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''),
                t.slice(0, 20), t.length]);
  }
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!shown(el) || getComputedStyle(el).display === 'inline') continue;
    const r = el.getBoundingClientRect();
    targets.push([Math.round(r.width), Math.round(r.height),
                  el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || el.name || '').trim().slice(0, 16)]);
  }
  return {text: small, chars: chars, targets: targets};
}"""


def sizes(page: Any, min_text: float, min_target: float) -> tuple[list[Any], list[Any], int]:
    """Text under `min_text` px and tap targets under `min_target` px tall (or under 44 px wide)."""
    got = page.evaluate(SIZES_JS)
    small = [t for t in got["text"] if t[0] < min_text - 0.01]
    tiny = [t for t in got["targets"] if t[1] < min_target - 0.5 or t[0] < 44]
    assert got["targets"] and got["chars"] > 50, "nothing measured"
    return small, tiny, len(got["targets"])


def enhanced_contrast(page: Any) -> list[str]:
    """WCAG's 7:1 contrast (AAA 1.4.6), checked by axe on the page as shown."""
    result = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'rule',
                                values: ['color-contrast-enhanced']}})).violations.flatMap(v => v.nodes.map(
                                n => n.target.join(' ') + ' ' + (n.any[0] ? n.any[0].message : '')))""")
    return list(result)


def open_notice(page: Any) -> str:
    """The first notice still taking objections, as an anonymous visitor finds it on the portal."""
    page.goto("/public")
    hrefs = [str(a.get_attribute("href")) for a in page.locator("main h2 a[href^='/public/notices/']").all()]
    for href in hrefs:
        page.goto(href)
        if page.locator("#objection-form").count():
            return href
    raise AssertionError("no notice open for objections in the demo")


def test_the_large_text_mode_is_one_tap_away_remembered_and_big_enough_on_a_phone(
        browser: Any, server: Server, shots: Shots) -> None:
    page = axe_page(browser, server, None)
    page.set_viewport_size(PHONE)
    notice = open_notice(page)
    for path in ("/public", notice):  # the normal mode first: text 16 px and up, targets 44 px
        page.goto(path)
        small, tiny, n = sizes(page, 16, 44)
        assert not small, f"{path}: text under 16 px: {small[:8]}"
        assert not tiny, f"{path}: of {n} tap targets, under 44 px: {tiny[:8]}"
        shots(page, "normal")
    page.goto("/public")
    toggle = page.locator("#elder-toggle")
    assert toggle.get_attribute("aria-pressed") == "false" and toggle.inner_text() == "长辈版"
    toggle.click()
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert toggle.get_attribute("aria-pressed") == "true"
    for path in ("/public", notice):  # remembered on the next page and the next visit, without a script inline
        page.goto(path)
        assert page.evaluate("document.documentElement.classList.contains('elder')"), path
        assert page.get_attribute("#elder-toggle", "aria-pressed") == "true"
        body = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p, main li')).fontSize)"))
        assert body >= 18, body
        small, tiny, n = sizes(page, 18, 60)
        assert not small, f"{path}: text under 18 px in the 长辈版: {small[:8]}"
        assert not tiny, f"{path}: of {n} tap targets, under 60 px in the 长辈版: {tiny[:8]}"
        assert enhanced_contrast(page) == [], f"{path}: under 7:1 in the 长辈版: {enhanced_contrast(page)[:6]}"
        assert axe_violations(page) == []
        shots(page, "elder")
    page.set_viewport_size(DESKTOP)
    shots(page, "elder-desktop")  # the desktop keeps the large text; the size of targets is a phone's rule
    small, _, _ = sizes(page, 18, 0)
    assert not small, small[:8]
    page.click("#elder-toggle")  # and back, also remembered
    page.goto("/public")
    assert not page.evaluate("document.documentElement.classList.contains('elder')")
    assert page.js_errors == [], page.js_errors
    page.context.close()


def test_a_refused_objection_keeps_what_was_typed_and_takes_the_focus_to_its_error(
        browser: Any, server: Server) -> None:
    page = axe_page(browser, server, None)
    page.set_viewport_size(PHONE)
    notice = open_notice(page)
    page.goto(notice)
    assert page.get_attribute("#objection-contact", "type") == "tel"
    assert page.get_attribute("#objection-contact", "autocomplete") == "tel"
    assert page.get_attribute("#objection-name", "autocomplete") == "name"
    page.fill("#objection-text", "   ")  # blank: the browser's own check passes it, the server refuses it
    page.fill("#objection-name", "村民甲")
    page.fill("#objection-contact", "0452-1234567")
    page.click("#objection-form button[type=submit]")
    page.wait_for_selector("#objection-error")
    assert page.evaluate("document.activeElement.id") == "objection-error"  # read out and scrolled to first
    box = page.locator("#objection-error").bounding_box()
    assert box and 0 <= box["y"] < PHONE["height"], "the error is off the screen"
    assert page.input_value("#objection-name") == "村民甲"
    assert page.input_value("#objection-contact") == "0452-1234567"
    assert page.get_attribute("#objection-text", "aria-describedby") == "objection-error"
    assert page.get_attribute("#objection-text", "aria-invalid") == "true"
    assert axe_violations(page) == []
    assert page.js_errors == [], page.js_errors
    page.context.close()


def tab_to(page: Any, selector: str, limit: int = 120) -> None:
    """Presses Tab until the focus is on `selector` (only the keyboard moves it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            box = page.evaluate("() => { const r = document.activeElement.getBoundingClientRect(); "
                                "return r.width > 0 && r.height > 0; }")
            assert box, f"{selector} has the focus but is not shown"
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def test_a_keyboard_user_on_a_phone_signs_in_files_an_objection_and_logs_out(
        browser: Any, tmp_path: Path) -> None:
    with running_server(tmp_path) as own:  # the objection it files stays out of the other tests' demo
        keyboard_story(browser, own)


def keyboard_story(browser: Any, server: Server) -> None:
    page = axe_page(browser, server, None)
    page.set_viewport_size(PHONE)
    notice = open_notice(page)
    page.goto("/login")
    assert page.evaluate("document.activeElement.name") == "username"
    page.keyboard.type("village")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong-password")
    page.keyboard.press("Enter")  # refused: the name typed stays, the focus is on the error at the top
    page.wait_for_selector("#form-error")
    assert page.evaluate("document.activeElement.id") == "form-error"
    assert page.input_value("input[name=username]") == "village"
    assert page.get_attribute("input[name=username]", "aria-describedby") == "form-error"
    tab_to(page, "input[name=password]")
    page.keyboard.type("daipin-demo")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)
    assert not page.is_visible("#mainnav a[href='/public']")  # the menu is folded on a phone
    tab_to(page, "#navbtn")
    assert page.get_attribute("#navbtn", "aria-expanded") == "false"
    page.keyboard.press("Enter")
    assert page.get_attribute("#navbtn", "aria-expanded") == "true"
    tab_to(page, "#mainnav a[href='/public']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/public$"))
    tab_to(page, f"main a[href='{notice}']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(notice) + "$"))
    tab_to(page, "#objection-text")
    page.keyboard.type("公示名单里的金额与村务公开栏不一致，请核实。")
    tab_to(page, "#objection-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#objection-filed")
    tab_to(page, "#navbtn")
    page.keyboard.press("Enter")
    tab_to(page, "#mainnav form[action='/logout'] button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/login"))
    assert page.locator("#mainnav a[href='/login']").count() == 1
    assert page.js_errors == [], page.js_errors
    page.context.close()
