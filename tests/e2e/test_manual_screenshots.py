"""The user manual's pictures, taken in a real browser on the demo: each role's main pages, 1000 px wide. With
DAIPIN_MANUAL_SHOTS=1 they are written into docs/manual/img/ (then committed); otherwise into the test artifacts.
Either way the manual must have a page per role and reference only pictures that exist and that this test takes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import ARTIFACTS, Server, login, new_page

pytestmark = pytest.mark.e2e

MANUAL = Path(__file__).resolve().parents[2] / "docs" / "manual"
ROLE_PAGES = ("index.md", "village.md", "township.md", "district.md", "auditor.md", "province.md")
WIDTH, HEIGHT = 1000, 720


def _out_dir() -> Path:
    if os.environ.get("DAIPIN_MANUAL_SHOTS") == "1":
        return MANUAL / "img"
    return ARTIFACTS / "manual"


def _village_of(server: Server) -> str:
    from sqlalchemy.orm import Session

    from daipin.db.models.auth import User

    with Session(server.engine) as session:
        region = session.scalar(select(User.region_code).where(User.username == "village"))
    assert region is not None and len(region) == 12
    return str(region)


def _first_link(page: Any, pattern: str) -> str:
    """The first link on the page whose path matches `pattern` (a detail page reached as a person would)."""
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    for href in hrefs:
        if re.fullmatch(pattern, href.split("?")[0].split("#")[0]):
            return str(href)
    raise AssertionError(f"no link matching {pattern} on {page.url}")


def _save(page: Any, out: Path, name: str) -> Path:
    """The screen as the person sees it (not the whole scroll), kept small: a palette PNG, optimised."""
    from PIL import Image

    assert page.locator("main").count() == 1, f"{page.url} has no main content"
    assert page.js_errors == [], page.js_errors
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    with Image.open(path) as img:
        assert img.width == WIDTH
        small = img.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", str(path)], check=True)
    return path


# Each role's main pages: (picture name, how to reach it). A step is a path, or ("link", list path, pattern).
def _walks(village: str) -> dict[str, list[tuple[str, Any]]]:
    return {
        "village": [
            ("village-home", "/"),
            ("village-households", "/households"),
            ("village-household", ("link", "/households", r"/households/\d+")),
            ("village-household-new", "/households/new"),
            ("village-plan", f"/villages/{village}/plan"),
            ("village-representatives", f"/villages/{village}/representatives"),
            ("village-matters", "/matters"),
            ("village-matter-new", "/matters/new"),
            ("village-matter", ("link", "/matters", r"/matters/\d+")),
        ],
        "township": [
            ("township-home", "/"),
            ("township-matters", "/matters"),
            ("township-matter", ("link", "/matters", r"/matters/\d+")),
            ("township-projects", "/projects"),
            ("township-entities", "/entities"),
            ("township-contracts", "/contracts"),
            ("township-pools", "/payments/pools"),
        ],
        "district": [
            ("district-home", "/"),
            ("district-users", "/admin/users"),
            ("district-supervision", "/supervision"),
            ("district-indicators", "/supervision/indicators"),
            ("district-annual", "/reports/annual"),
            ("district-training-clock", "/training/clock"),
        ],
        "auditor": [
            ("auditor-home", "/"),
            ("auditor-ledger", "/ledger"),
            ("auditor-matter", ("link", "/matters", r"/matters/\d+")),
            ("auditor-supervision", "/supervision"),
            ("auditor-activity", "/account/activity"),
        ],
        "province": [
            ("province-matters", "/matters"),
            ("province-duplicates", "/province/duplicates"),
        ],
    }


# Pages without signing in: the portal, and the demo's sign-in page that names its accounts.
PUBLIC = [("public-portal", "/public"), ("demo-login", "/login")]


def _names() -> set[str]:
    return {name for steps in _walks("0" * 12).values() for name, _ in steps} | {n for n, _ in PUBLIC}


def test_each_role_s_main_pages_are_photographed_for_the_manual(browser: Any, server: Server) -> None:
    out = _out_dir()
    out.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    for role, steps in _walks(_village_of(server)).items():
        page = new_page(browser, server, width=WIDTH, height=HEIGHT)
        login(page, role)
        for name, how in steps:
            if isinstance(how, tuple):
                _, listing, pattern = how
                page.goto(listing)
                how = _first_link(page, pattern)
            response = page.goto(how)
            assert response is not None and response.status == 200, f"{role} {how}: {response and response.status}"
            page.wait_for_load_state("networkidle")
            taken.append(_save(page, out, name))
        page.context.close()
    page = new_page(browser, server, width=WIDTH, height=HEIGHT)
    for name, path in PUBLIC:
        assert page.goto(path).status == 200
        taken.append(_save(page, out, name))
    page.context.close()
    assert {p.stem for p in taken} == _names()
    total = sum(p.stat().st_size for p in taken)
    assert total < 3 * 1024 * 1024, f"the pictures weigh {total} bytes"


def test_the_manual_has_a_page_per_role_and_references_only_pictures_that_exist() -> None:
    for name in ROLE_PAGES:
        assert (MANUAL / name).is_file(), f"docs/manual/{name} is missing"
    index = (MANUAL / "index.md").read_text(encoding="utf-8")
    for name in ROLE_PAGES[1:]:
        assert f"({name})" in index, f"the index does not link {name}"
    referenced: set[str] = set()
    for md in MANUAL.glob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", md.read_text(encoding="utf-8")):
            assert target.startswith("img/") and target.endswith(".png"), f"{md.name}: {target}"
            assert (MANUAL / target).is_file(), f"{md.name} shows {target}, which does not exist"
            referenced.add(Path(target).stem)
    assert referenced, "the manual shows no screenshot"
    assert referenced <= _names(), f"pictures no browser test takes: {sorted(referenced - _names())}"
    committed = {p.stem for p in (MANUAL / "img").glob("*.png")}
    assert committed <= _names(), f"stale pictures: {sorted(committed - _names())}"
    assert sum(p.stat().st_size for p in (MANUAL / "img").glob("*.png")) < 3 * 1024 * 1024
    readme = (MANUAL.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/manual/index.md" in readme
