"""Accounts on the web: the district administrator disables, re-enables, resets a password, sets a role and
region, each a ledger entry as the command line's are; refusals write nothing; a user's own activity list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.auth import User
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import DaipinError
from daipin.services.auth import service as auth_service
from tests.integration.api_support import (
    FOREIGN_COUNTY_VILLAGE,
    OWN_TOWNSHIP,
    START,
    World,
    app_on_session,
    build_world,
    client,
)
from tests.integration.registry_support import ledger_bodies, ledger_size
from tests.integration.test_contract_page import csrf_of, section


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


def _as(app: Any, token: str) -> Any:
    c = client(app)
    c.cookies.set("daipin_session", token)
    return c


def _user(session: Session, username: str) -> User:
    u = session.scalar(select(User).where(User.username == username))
    assert u is not None
    return u


def _post(c: Any, user_id: int, change: str, data: dict[str, str]) -> Any:
    page = c.get(f"/admin/users/{user_id}")
    return c.post(f"/admin/users/{user_id}/{change}", data={"csrf_token": csrf_of(page.text), **data},
                  follow_redirects=False)


def test_the_administrator_disables_and_re_enables_an_account(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    admin = _as(app, world.tokens["district_admin"])
    cadre = _user(session, "village-cadre")
    assert _as(app, world.tokens["village_cadre"]).get("/").status_code == 200
    entries = ledger_size(session)
    r = _post(admin, cadre.id, "active", {"active": "0"})
    assert r.status_code == 303
    session.refresh(cadre)
    assert not cadre.active
    assert ledger_size(session) == entries + 1 and ledger_bodies(session)[-1]["type"] == "user.disabled"
    # Its sessions ended: the cadre is sent to sign in again, and cannot.
    assert _as(app, world.tokens["village_cadre"]).get("/", follow_redirects=False).status_code in (303, 401)
    page = admin.get(f"/admin/users/{cadre.id}")
    assert "停用" in section(page.text, "account-state") and "停用账户" in section(page.text, "activity")
    r = _post(admin, cadre.id, "active", {"active": "1"})
    assert r.status_code == 303 and ledger_bodies(session)[-1]["type"] == "user.enabled"
    session.refresh(cadre)
    assert cadre.active
    # The administrator does not disable itself: refused, nothing written.
    own = _user(session, "district-admin")
    entries = ledger_size(session)
    r = _post(admin, own.id, "active", {"active": "0"})
    assert r.status_code == 409 and "不能停用自己的账户" in r.text and ledger_size(session) == entries


def test_the_administrator_resets_a_password_and_the_old_one_stops_working(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    admin = _as(app, world.tokens["district_admin"])
    cadre = _user(session, "village-cadre")
    entries = ledger_size(session)
    weak = _post(admin, cadre.id, "password", {"new_password": "short"})
    assert weak.status_code == 422 and section(weak.text, "error-new_password")
    assert ledger_size(session) == entries
    r = _post(admin, cadre.id, "password", {"new_password": "a-fresh-pass-2026"})
    assert r.status_code == 303
    body = ledger_bodies(session)[-1]
    assert body["type"] == "user.password_reset" and "a-fresh-pass-2026" not in str(body)
    with pytest.raises(DaipinError):
        auth_service.authenticate(session, username="village-cadre", password="matrix-pass-1", client="t",
                                  at=START + timedelta(minutes=1))
    assert auth_service.authenticate(session, username="village-cadre", password="a-fresh-pass-2026", client="t",
                                     at=START + timedelta(minutes=2)).id == cadre.id


def test_the_administrator_sets_a_role_and_region_within_the_county_only(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    admin = _as(app, world.tokens["district_admin"])
    cadre = _user(session, "village-cadre")
    r = _post(admin, cadre.id, "role", {"role": "township_official", "region": OWN_TOWNSHIP})
    assert r.status_code == 303
    session.refresh(cadre)
    assert (cadre.role, cadre.region_code) == ("township_official", OWN_TOWNSHIP)
    body = ledger_bodies(session)[-1]
    assert body["type"] == "user.role_changed"
    bad = _post(admin, cadre.id, "role", {"role": "township_official", "region": "231002001001"})
    assert bad.status_code == 422 and section(bad.text, "error-region")
    entries = ledger_size(session)
    far = auth_service.create_user(session, actor=SYSTEM_ACTOR, username="far-cadre", password="matrix-pass-1",
                                   role="village_cadre", region=FOREIGN_COUNTY_VILLAGE, at=START)
    session.flush()
    entries = ledger_size(session)
    assert admin.get(f"/admin/users/{far.id}").status_code == 404
    page = admin.get(f"/admin/users/{cadre.id}")
    r = admin.post(f"/admin/users/{far.id}/active", data={"csrf_token": csrf_of(page.text), "active": "0"})
    assert r.status_code == 404 and ledger_size(session) == entries
    # Another role may not manage accounts at all.
    town = _as(app, world.tokens["township_official"])
    assert town.get(f"/admin/users/{far.id}").status_code in (403, 404)


def test_a_user_reads_its_own_activity(session: Session, world: World) -> None:
    from daipin.services.matters import service as wfs

    app, _ = app_on_session(session)
    cadre_user = _user(session, "village-cadre")
    cadre = auth_service.actor_for(cadre_user)
    wfs.call_meeting(session, cadre, world.ids["matter_own"], type="representatives_meeting",
                     scheduled_at=START + timedelta(days=11), place="村委会", at=START)
    session.flush()
    c = _as(app, world.tokens["village_cadre"])
    page = c.get("/account/activity")
    assert page.status_code == 200
    rows = section(page.text, "activity")
    assert "召集会议" in rows and "北京时间" in rows and "创建账户" in rows
    # Another account's activity is not the cadre's to read.
    other = _user(session, "township-official")
    assert c.get(f"/admin/users/{other.id}").status_code in (403, 404)
    assert 'href="/account/activity"' in c.get("/account/password").text
