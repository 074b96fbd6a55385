"""Browser tests: a real server on 127.0.0.1 (uvicorn in a thread) over a fresh SQLite database holding the
sample district, a clock the test moves, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "daipin-demo"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Clock:
    """The server's only clock; the test moves it forward to let meeting notice and notice windows run."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.at

    def advance(self, **kw: float) -> None:
        with self._lock:
            self.at += timedelta(**kw)


class Server:
    def __init__(self, url: str, clock: Clock, engine: Any) -> None:
        self.url = url
        self.clock = clock
        self.engine = engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_RUNNING: list[Path] = []


@contextmanager
def running_server(tmp: Path) -> Iterator[Server]:
    """A server of its own over a fresh demo database in `tmp` (the session's `server`, or a test's own)."""
    import uvicorn

    from daipin.commands.web import setup_demo
    from daipin.db import migrate
    from daipin.db.session import make_engine
    from daipin.http.settings import Settings
    from daipin.server import create_app
    from daipin.services.portal import views as portal  # noqa: F401  (import before threads start)

    old_keys = os.environ.get("DAIPIN_KEYS_DIR")
    if not _RUNNING:  # a second server at once signs with the first one's keys (the one county's)
        os.environ["DAIPIN_KEYS_DIR"] = str(tmp / "keys")
    _RUNNING.append(tmp)
    engine = make_engine(f"sqlite:///{tmp}/e2e.db")
    migrate.upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        setup_demo(session, START - timedelta(days=1))
        session.commit()
    clock = Clock(START)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(engine, Settings(secret_key="e2e-secret", clock=clock, base_url=url))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    yield Server(url, clock, engine)
    srv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    _RUNNING.remove(tmp)
    if _RUNNING:
        return
    if old_keys is None:
        os.environ.pop("DAIPIN_KEYS_DIR", None)
    else:
        os.environ["DAIPIN_KEYS_DIR"] = old_keys


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Shots:
    """Screenshots of each step, kept under test-artifacts/<test>/ (gitignored)."""

    def __init__(self, name: str) -> None:
        self.dir = ARTIFACTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):  # a step renamed or dropped must not leave a stale picture behind
            old.unlink()
        self.n = 0

    def __call__(self, page: Any, label: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.dir / f"{self.n:02d}-{label}.png"), full_page=True)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def new_page(browser: Any, server: Server, *, width: int = 1200, height: int = 900) -> Any:
    ctx = browser.new_context(viewport={"width": width, "height": height}, base_url=server.url, locale="zh-CN",
                              accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


def login(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def fits_the_phone(page: Any) -> None:
    """Nothing wider than the screen: a phone user never scrolls the whole page sideways."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the screen"


# Stored codes a person should never have to read: states, statuses and kinds are shown by their names.
RAW_CODES = re.compile(r"\b(?:[a-z]+_[a-z_]+|pending|active|open|closed|dismissed|upheld|paid|failed|operating|"
                       r"leased|in_use|alive|approve|draft|daily|monthly)\b")


def no_raw_codes(page: Any) -> None:
    text = page.inner_text("main")
    found = RAW_CODES.findall(text)
    assert not found, f"{page.url} shows codes instead of names: {sorted(set(found))}"
