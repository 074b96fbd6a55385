"""The API fuzzed against its own OpenAPI schema: whatever arrives, no 500 and errors in the one shape."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from tests.integration.api_support import World, app_rolling_back, build_world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def test_no_api_operation_answers_500_to_generated_requests(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    headers = world.headers("district_admin")
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()

        @settings(max_examples=6, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{case.operation.label}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400 and "json" in str(response.headers.get("content-type", "")):
                err = response.json().get("error")
                if not isinstance(err, dict) or not {"code", "message", "field"} <= set(err):
                    failures.append(f"{case.operation.label}: error body not in the shape: {response.text[:200]}")

        with warnings.catch_warnings():
            # starlette's test client nags about its httpx dependency; not this test's concern
            warnings.simplefilter("ignore")
            given(strategy)(run)()
    assert failures == []
