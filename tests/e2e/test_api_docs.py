"""The API's documentation page works offline: Swagger UI from the vendored files, under the pages' CSP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import Server, new_page

pytestmark = pytest.mark.e2e


def test_the_api_docs_page_draws_every_area_from_vendored_files(browser: Any, server: Server) -> None:
    page = new_page(browser, server)
    hosts: set[str] = set()
    blocked: list[str] = []
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or ""))
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock-tag", timeout=20_000)
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert len(tags) >= 8 and any("payments" in t.lower() or "支付" in t for t in tags)
    assert hosts == {"127.0.0.1"}  # nothing from a CDN
    assert blocked == []
