"""The OpenAPI says what every API operation answers: a response model (or a file's media type) for success,
and the one `Problem` document (`application/problem+json`) for every error, the 422 included — the body the
handlers really return."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine

from daipin.http.settings import Settings
from daipin.server import create_app
from tests.integration.api_support import client

FILE_TYPES = {"application/zip", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(engine=create_engine("sqlite://"), settings=Settings(secret_key="test-secret"))


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in spec["paths"].items() if path.startswith("/api/v1/")
            for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")]


def _named(schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    """A schema that is a model of the components (or a list of one) with its fields listed."""
    if schema.get("type") == "array":
        return _named(schema.get("items", {}), spec)
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return False
    model = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return bool(model.get("properties")) or model.get("type") == "object" and "description" in model


def test_every_operation_declares_its_success_and_its_errors(app: Any) -> None:
    spec = app.openapi()
    operations = _operations(spec)
    assert len(operations) > 50
    missing: list[str] = []
    for method, path, op in operations:
        label = f"{method} {path}"
        ok = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        if len(ok) != 1:
            missing.append(f"{label}: {len(ok)} success responses")
            continue
        content = next(iter(ok.values())).get("content", {})
        if "application/json" in content:
            if not _named(content["application/json"].get("schema", {}), spec):
                missing.append(f"{label}: no response model")
        elif not content or set(content) - FILE_TYPES or any(
                c.get("schema") != {"type": "string", "format": "binary"} for c in content.values()):
            missing.append(f"{label}: neither a model nor a file: {sorted(content)}")
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        if "422" not in errors or "4XX" not in errors:
            missing.append(f"{label}: the 422 or the other errors undeclared")
        for status, response in errors.items():
            if response.get("content") != {"application/problem+json": {"schema": PROBLEM}}:
                missing.append(f"{label}: {status} is not the Problem document: {response.get('content')}")
    assert missing == []
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(problem["required"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_the_422_returned_is_the_problem_the_openapi_advertises(app: Any) -> None:
    spec = app.openapi()
    problem = spec["components"]["schemas"]["Problem"]
    field = spec["components"]["schemas"]["FieldProblem"]
    r = client(app).get("/api/v1/public/notices?region=12x&limit=0")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(problem["required"]) <= set(body) <= set(problem["properties"])
    assert body["status"] == 422 and body["code"] == "invalid_input"
    assert body["type"] == "urn:daipin:problem:invalid_input" and body["instance"] == "/api/v1/public/notices"
    assert sorted(e["field"] for e in body["errors"]) == ["limit", "region"]
    for e in body["errors"]:
        assert set(e) == set(field["required"]) and e["message_zh"] and e["message"]
    # the answer before problem details, still there for existing clients
    assert body["error"]["code"] == "invalid_input" and body["error"]["field"] in ("limit", "region")
    # pages keep their HTML errors
    page = client(app).get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = client(app).get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"] == "urn:daipin:problem:not_found"
