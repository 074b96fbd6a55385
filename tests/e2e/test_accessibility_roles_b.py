"""Every page of the village's, the auditor's, the province's and the entity's accounts checked with axe-core at desktop and phone
sizes (tests/e2e/test_accessibility.py: how pages are found and checked; its ROLES_B)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import ROLES_B, every_page_of

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("user", ROLES_B)
def test_every_page_of_a_role_has_no_wcag_violation(browser: Any, server: Server, user: str) -> None:
    every_page_of(browser, server, user)
