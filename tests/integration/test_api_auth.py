"""Accounts over the API and the pages: argon2 logins, throttling, sessions, CSRF, password change."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from daipin.db.models.auth import LoginSession, User
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import Forbidden, InputError
from daipin.services.auth import service as auth_service
from tests.integration.api_support import START, app_on_session, bearer, client

PW = "correct-horse-9"


def make_user(session: Session, username: str = "cadre", role: str = "village_cadre",
              region: str = "231002001001") -> User:
    return auth_service.create_user(session, actor=SYSTEM_ACTOR, username=username, password=PW, role=role,
                                    region=region, at=START, display_name="测试")


def test_passwords_are_stored_as_argon2_hashes_only(session: Session) -> None:
    user = make_user(session)
    # argon2id, 7 MiB, 5 passes, 1 lane: an OWASP setting equal in defence to its 19 MiB / 2-pass minimum.
    assert user.password_hash.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert PW not in user.password_hash


@pytest.mark.edits_rows_behind_the_ledger  # a hash as an older deployment wrote it, put in place directly
def test_a_hash_made_with_other_parameters_still_logs_in(session: Session) -> None:
    from argon2 import PasswordHasher

    user = make_user(session)
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PW)
    session.flush()
    app, _ = app_on_session(session)
    c = client(app)
    assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW}).status_code == 200
    assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW + "x"}).status_code == 422


def test_a_user_logs_in_by_api_and_sees_who_they_are(session: Session) -> None:
    make_user(session)
    app, _ = app_on_session(session)
    c = client(app)
    headers = bearer(c, "cadre", PW)
    me = c.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "village_cadre"
    assert me.json()["region"] == "231002001001"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    wrong = c.post("/api/v1/auth/login", json={"username": "cadre", "password": "nope-nope-nope"})
    unknown = c.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 422
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert wrong.json()["error"]["field"] == "password"


def test_five_failures_make_the_address_wait_before_the_right_password_gets_in(session: Session) -> None:
    make_user(session)
    app, clock = app_on_session(session)
    c = client(app)
    for _ in range(auth_service.MAX_FAILED_LOGINS):
        assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": "wrong-wrong"}).status_code == 422
    locked = c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW})
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    clock.advance(minutes=16)
    assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW}).status_code == 200


def test_one_address_guessing_many_usernames_is_refused(session: Session) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    for i in range(auth_service.MAX_CLIENT_FAILURES):
        c.post("/api/v1/auth/login", json={"username": f"u{i}", "password": "wrong-wrong"})
    r = c.post("/api/v1/auth/login", json={"username": "another", "password": "wrong-wrong"})
    assert r.status_code == 429


def test_a_session_expires_after_its_time_to_live(session: Session) -> None:
    make_user(session)
    app, clock = app_on_session(session)
    c = client(app)
    headers = bearer(c, "cadre", PW)
    clock.advance(hours=13)
    assert c.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_logout_ends_the_session(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    headers = bearer(c, "cadre", PW)
    assert c.post("/api/v1/auth/logout", headers=headers).status_code == 200
    assert c.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_changing_the_password_ends_the_other_sessions(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    first = bearer(c, "cadre", PW)
    second = bearer(c, "cadre", PW)
    r = c.post("/api/v1/auth/password", headers=second, json={"old_password": PW, "new_password": "brand-new-pass"})
    assert r.status_code == 200
    assert c.get("/api/v1/auth/me", headers=first).status_code == 401
    assert c.get("/api/v1/auth/me", headers=second).status_code == 200
    assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": "brand-new-pass"}).status_code == 200


def test_a_short_new_password_is_refused_naming_the_field(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    headers = bearer(c, "cadre", PW)
    r = c.post("/api/v1/auth/password", headers=headers, json={"old_password": PW, "new_password": "short"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "new_password"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "form without CSRF token"
    return m.group(1)


def test_the_login_page_sets_an_httponly_samesite_cookie(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    page = c.get("/login")
    r = c.post("/login", data={"username": "cadre", "password": PW, "csrf_token": _csrf(page.text), "next": "/"},
               follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "daipin_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()


def test_a_form_post_without_the_csrf_token_is_refused(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    c.get("/login")
    r = c.post("/login", data={"username": "cadre", "password": PW, "next": "/"}, follow_redirects=False)
    assert r.status_code == 403
    assert not session.scalars(select(LoginSession)).all()


def test_a_cookie_session_must_echo_the_csrf_token_on_writes(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    page = c.get("/login")
    c.post("/login", data={"username": "cadre", "password": PW, "csrf_token": _csrf(page.text), "next": "/"})
    form = c.get("/account/password")
    assert form.status_code == 200
    data = {"old_password": PW, "new_password": "brand-new-pass", "new_password2": "brand-new-pass"}
    assert c.post("/account/password", data=data).status_code == 403
    ok = c.post("/account/password", data={**data, "csrf_token": _csrf(form.text)})
    assert ok.status_code == 200
    assert "密码已修改" in ok.text


def test_login_redirects_only_to_paths_on_this_site(session: Session) -> None:
    make_user(session)
    c = client(app_on_session(session)[0])
    page = c.get("/login")
    r = c.post("/login", data={"username": "cadre", "password": PW, "csrf_token": _csrf(page.text),
                               "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_only_the_district_administrator_creates_accounts(session: Session) -> None:
    township = Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region="231002001")
    with pytest.raises(Forbidden):
        auth_service.create_user(session, actor=township, username="x1", password=PW, role="village_cadre",
                                 region="231002001001", at=START)
    admin = Actor(id="a", role=Role.DISTRICT_ADMIN, region="231002")
    with pytest.raises(Forbidden):
        auth_service.create_user(session, actor=admin, username="x2", password=PW, role="village_cadre",
                                 region="231003001001", at=START)


def test_a_village_cadre_needs_a_twelve_digit_village_code(session: Session) -> None:
    with pytest.raises(InputError) as err:
        auth_service.create_user(session, actor=SYSTEM_ACTOR, username="x3", password=PW, role="village_cadre",
                                 region="231002001", at=START)
    assert err.value.field == "region"
    assert session.scalar(select(User).where(User.username == "x3")) is None


def test_the_api_refuses_an_unknown_field_naming_it(session: Session) -> None:
    c = client(app_on_session(session)[0])
    r = c.post("/api/v1/auth/login", json={"username": "a", "password": "b", "extra": 1})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "extra"


def test_a_clients_recent_failures_are_counted_from_the_failures_index(session: Session) -> None:
    """Every login counts its client's recent failures; the count reads only failed attempts (a partial index),
    so a busy client's many successful logins do not slow every login down."""
    from datetime import timedelta

    from daipin.db.models.auth import LoginAttempt

    stmt = auth_service._client_failures_statement("127.0.0.1", START - timedelta(minutes=15))
    dialect = session.get_bind().dialect
    compiled = stmt.compile(dialect=dialect)
    raw = session.connection().connection.driver_connection
    cur = raw.cursor()
    if dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))
        cur.execute("EXPLAIN " + str(compiled), compiled.params)
    elif dialect.name in ("mysql", "mariadb"):
        # No partial indexes there: the same index over every attempt's (client, at), read for the one client.
        cur.execute("EXPLAIN " + str(compiled), compiled.params)
    else:
        cur.execute("EXPLAIN QUERY PLAN " + str(compiled), [compiled.params[k] for k in compiled.positiontup or []])
    plan = " ".join(str(r) for r in cur.fetchall())
    cur.close()
    assert "ix_login_attempts_client_failed" in plan, plan
    session.add_all([LoginAttempt(username="x", client="127.0.0.1", at=START, ok=ok) for ok in (True, False, False)])
    session.flush()
    assert session.scalar(stmt) == 2


def test_a_new_login_removes_the_accounts_expired_sessions_only(session: Session) -> None:
    from datetime import timedelta

    user = make_user(session)
    old = auth_service.start_session(session, user, at=START - timedelta(days=2), ttl=timedelta(hours=12))
    live = auth_service.start_session(session, user, at=START - timedelta(hours=1), ttl=timedelta(hours=12))
    other = make_user(session, username="other")
    theirs = auth_service.start_session(session, other, at=START - timedelta(days=2), ttl=timedelta(hours=12))
    new = auth_service.start_session(session, user, at=START)
    ids = set(session.scalars(select(LoginSession.id)))
    assert auth_service.token_id(old.token) not in ids
    assert {auth_service.token_id(t.token) for t in (live, theirs, new)} <= ids
