"""The API fuzzed against its own OpenAPI schema: whatever arrives, no 500, every answer's status, media type and
body as the OpenAPI says (errors included: the `Problem` document every operation declares)."""

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
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def _media_type(response: Any) -> str:
    value = response.headers.get("content-type") or [""]
    return str(value[0] if isinstance(value, list) else value).split(";")[0].strip()


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def test_no_api_operation_contradicts_its_openapi(session: Session, world: World) -> None:
    app, _ = app_rolling_back(session)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    checked = {"answers": 0, "errors": 0}
    headers = world.headers("district_admin")
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()

        @settings(max_examples=6, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            checked["answers"] += 1
            if response.status_code >= 500:
                failures.append(f"{case.operation.label}: {response.status_code} {response.text[:200]}")
                return
            if response.status_code >= 400:
                checked["errors"] += 1
                if _media_type(response) != "application/problem+json":
                    failures.append(f"{case.operation.label}: error not a problem document: {response.text[:200]}")
                    return
                body = response.json()
                if body.get("status") != response.status_code or not body.get("type", "").startswith(
                        "urn:daipin:problem:") or not isinstance(body.get("errors"), list):
                    failures.append(f"{case.operation.label}: problem body wrong: {response.text[:200]}")
            try:
                case.validate_response(response, checks=CONFORMANCE)
            except Exception as exc:  # schemathesis reports every contradiction it found in one exception
                failures.append(f"{case.operation.label}: {response.status_code} {str(exc)[:600]}")

        with warnings.catch_warnings():
            # starlette's test client nags about its httpx dependency; not this test's concern
            warnings.simplefilter("ignore")
            given(strategy)(run)()
    assert checked["answers"] > 100 and checked["errors"] > 10, checked
    assert failures == [], "\n".join(failures[:40])
