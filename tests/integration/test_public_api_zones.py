"""The public notice API names the zone of every time it returns (ISO 8601 with its offset), and /favicon.ico is
a vendored icon, never a 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.matters import service as wfs
from tests.integration.api_support import (
    OWN_VILLAGE,
    START,
    World,
    app_on_session,
    build_world,
    client,
    executed_allocation,
)

# A date and time (either separator), with or without seconds and fractions, then whatever follows it.
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(.{0,6})")


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    w = build_world(session, str(tmp_path / "keys"))
    wfs.file_objection(session, SYSTEM_ACTOR, w.ids["matter_in_notice"], text="名单漏了我家", at=START, name="村民")
    executed_allocation(session, OWN_VILLAGE)
    session.flush()
    return w


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _unzoned(value: Any) -> list[str]:
    out = []
    for s in _strings(value):
        for m in TIME.finditer(s):
            tail = m.group(1)
            if not re.match(r"(Z|[+-]\d\d:?\d\d| 北京时间| Beijing)", tail):
                out.append(s[max(0, m.start() - 10):m.end() + 10])
    return out


def test_every_time_of_the_public_notice_api_names_its_zone(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    listed = c.get("/api/v1/public/notices").json()["items"]
    assert listed and _unzoned(listed) == []
    for item in listed:
        one = c.get(f"/api/v1/public/notices/{item['id']}").json()
        assert "posted_at" in one and _unzoned(one) == [], _unzoned(one)[:5]


def test_the_favicon_is_served_from_the_vendored_file(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    r = c.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert r.content[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in c.get("/public").text
