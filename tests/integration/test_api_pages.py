"""Every list the API pages through has the one shape: `limit` and `cursor` in, `items`, `limit`, `next_cursor`
and `total` out; following the cursors walks the whole list once, in order; a cursor from elsewhere is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.integration.api_support import World, app_rolling_back, build_world, client

LISTS = [("/api/v1/matters", "district_admin"), ("/api/v1/public/notices", None),
         ("/api/v1/households?village=231002001001", "district_admin")]


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _walk(c: Any, path: str, headers: dict[str, str], limit: int) -> tuple[list[int], list[dict[str, Any]]]:
    sep = "&" if "?" in path else "?"
    ids: list[int] = []
    pages: list[dict[str, Any]] = []
    url = f"{path}{sep}limit={limit}"
    while True:
        r = c.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "limit", "next_cursor", "total"}
        assert body["limit"] == limit and len(body["items"]) <= limit
        pages.append(body)
        ids += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            return ids, pages
        assert len(body["items"]) == limit  # only a full page has a next one
        url = f"{path}{sep}limit={limit}&cursor={body['next_cursor']}"
        assert len(pages) < 1000


@pytest.mark.parametrize(("path", "role"), LISTS)
def test_following_the_cursors_walks_the_whole_list_once(session: Session, world: World, path: str,
                                                         role: str | None) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    headers = world.headers(role) if role else {}
    whole, _ = _walk(c, path, headers, 200)
    assert len(whole) >= 3, "the sample world has enough to page through"
    ids, pages = _walk(c, path, headers, 2)
    assert ids == whole and len(set(ids)) == len(ids)
    assert len(pages) == -(-len(whole) // 2)  # no empty last page
    assert {p["total"] for p in pages} == {len(whole)}


@pytest.mark.parametrize(("path", "role"), LISTS)
def test_a_cursor_not_given_by_this_list_is_refused_naming_the_field(session: Session, world: World, path: str,
                                                                     role: str | None) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    headers = world.headers(role) if role else {}
    sep = "&" if "?" in path else "?"
    others = [p for p, _ in LISTS if p != path]
    foreign = c.get(f"{others[0]}{'&' if '?' in others[0] else '?'}limit=1",
                    headers=world.headers("district_admin")).json()["next_cursor"]
    assert foreign
    for bad in (foreign, "bm90LWpzb24", "eyJrIjoibWF0dGVycyJ9"):
        r = c.get(f"{path}{sep}cursor={bad}", headers=headers)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["status"] == 422 and problem["code"] == "invalid_input"
        assert [e["field"] for e in problem["errors"]] == ["cursor"]
    assert c.get(f"{path}{sep}limit=201", headers=headers).status_code == 422
