"""Login throttling that a stranger cannot turn into a lock-out: an address that fails for an account waits a delay
that doubles with each further failure (capped), the real user elsewhere logs in; and the password rules at every
door (accounts, password change, demo accounts)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from daipin.db.models.auth import User
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import DaipinError, InputError, Throttled
from daipin.domain.localtime import for_people
from daipin.services.auth import service as auth
from tests.integration.api_support import START, app_on_session, client

PW = "correct-horse-9"
STRANGER, HOME, OFFICE = "203.0.113.66", "198.51.100.7", "192.0.2.10"


def _user(session: Session, username: str = "cadre") -> User:
    return auth.create_user(session, actor=SYSTEM_ACTOR, username=username, password=PW, role="village_cadre",
                            region="231002001001", at=START, display_name="测试")


def _try(session: Session, password: str, client: str, at: datetime, username: str = "cadre") -> str:
    """`ok`, `wrong` (the password was checked and was wrong) or `throttled` (refused unchecked)."""
    try:
        auth.authenticate(session, username=username, password=password, client=client, at=at)
    except Throttled:
        return "throttled"
    except InputError as exc:
        assert exc.code == "bad_credentials"
        return "wrong"
    return "ok"


def test_a_strangers_fifty_bad_passwords_from_one_address_do_not_stop_the_real_user_elsewhere(
        session: Session) -> None:
    _user(session)
    at = START
    answers = []
    for _ in range(50):
        at += timedelta(seconds=2)
        answers.append(_try(session, "guess-guess-1", STRANGER, at))
    # The stranger's first failures are checked; then the address waits, and most of the 50 are refused unchecked.
    assert answers[: auth.MAX_FAILED_LOGINS] == ["wrong"] * auth.MAX_FAILED_LOGINS
    assert answers.count("throttled") >= 40
    # Even the right password from the stranger's address waits ...
    assert _try(session, PW, STRANGER, at + timedelta(seconds=1)) == "throttled"
    # ... while the real user, from an address that has not failed for the account, logs in at once.
    assert _try(session, PW, HOME, at + timedelta(seconds=1)) == "ok"
    assert _try(session, PW, OFFICE, at + timedelta(seconds=2)) == "ok"


def test_the_delay_doubles_with_each_further_failure_up_to_fifteen_minutes(session: Session) -> None:
    _user(session)
    at = START
    for _ in range(auth.MAX_FAILED_LOGINS):
        at += timedelta(seconds=1)
        assert _try(session, "guess-guess-1", STRANGER, at) == "wrong"
    delays = []
    for _ in range(8):
        with pytest.raises(Throttled) as refused:
            auth.authenticate(session, username="cadre", password=PW, client=STRANGER, at=at + timedelta(seconds=1))
        retry_at = refused.value.retry_at
        delays.append(round((retry_at - at).total_seconds()))
        assert _try(session, PW, STRANGER, retry_at - timedelta(seconds=1)) == "throttled"
        at = retry_at
        assert _try(session, "guess-guess-1", STRANGER, at) == "wrong"  # checked again once the delay is over
    assert delays == [30, 60, 120, 240, 480, 900, 900, 900]


def test_the_right_password_gets_in_from_a_failed_address_once_its_delay_is_over(session: Session) -> None:
    _user(session)
    at = START
    for _ in range(auth.MAX_FAILED_LOGINS):
        at += timedelta(seconds=1)
        _try(session, "typo-typo-1", HOME, at)
    assert _try(session, PW, HOME, at + timedelta(seconds=29)) == "throttled"
    assert _try(session, PW, HOME, at + timedelta(seconds=30)) == "ok"
    # A success starts the count again: four new typos are checked, none is refused.
    assert [_try(session, "typo-typo-1", HOME, at + timedelta(seconds=31 + i)) for i in range(4)] == ["wrong"] * 4


def test_while_an_account_is_attacked_an_address_that_failed_once_waits_half_a_minute(session: Session) -> None:
    _user(session)
    at = START
    for _ in range(20):
        at += timedelta(seconds=1)
        _try(session, "guess-guess-1", STRANGER, at)
    at += timedelta(seconds=1)
    assert _try(session, "typo-typo-1", HOME, at) == "wrong"  # the real user mistypes once
    assert _try(session, PW, HOME, at + timedelta(seconds=10)) == "throttled"
    assert _try(session, PW, HOME, at + timedelta(seconds=30)) == "ok"


def test_failures_count_per_address_and_account_so_a_colleague_behind_the_same_address_logs_in(
        session: Session) -> None:
    _user(session, "cadre")
    _user(session, "colleague")
    at = START
    for _ in range(10):
        at += timedelta(seconds=1)
        _try(session, "typo-typo-1", OFFICE, at, username="cadre")
    assert _try(session, PW, OFFICE, at + timedelta(seconds=1), username="cadre") == "throttled"
    assert _try(session, PW, OFFICE, at + timedelta(seconds=1), username="colleague") == "ok"


def test_an_address_that_fails_for_many_accounts_is_slowed_for_all_and_others_are_not(session: Session) -> None:
    _user(session)
    at = START
    for i in range(auth.MAX_CLIENT_FAILURES):
        at += timedelta(seconds=1)
        assert _try(session, "guess-guess-1", STRANGER, at, username=f"u{i}") == "wrong"
    assert _try(session, PW, STRANGER, at + timedelta(seconds=1)) == "throttled"
    assert _try(session, "guess-guess-1", STRANGER, at + timedelta(seconds=1), username="fresh") == "throttled"
    assert _try(session, PW, HOME, at + timedelta(seconds=1)) == "ok"
    # A delay, not a lock: half a minute after its last failure the address is heard again.
    assert _try(session, PW, STRANGER, at + timedelta(seconds=30)) == "ok"


def test_unknown_and_known_usernames_are_throttled_alike(session: Session) -> None:
    _user(session)
    at = START
    for name in ("cadre", "ghost"):
        answers = [_try(session, "guess-guess-1", STRANGER, at + timedelta(seconds=i), username=name)
                   for i in range(auth.MAX_FAILED_LOGINS + 1)]
        assert answers == ["wrong"] * auth.MAX_FAILED_LOGINS + ["throttled"], name


def test_the_answer_is_429_saying_when_to_retry_in_beijing_time_on_the_api_and_the_login_page(
        session: Session) -> None:
    _user(session)
    app, clock = app_on_session(session)
    c = client(app)
    for _ in range(auth.MAX_FAILED_LOGINS):
        clock.advance(seconds=1)
        assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": "guess-guess-1"}).status_code == 422
    r = c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW})
    assert r.status_code == 429
    error = r.json()["error"]
    retry = clock.at + timedelta(seconds=30)  # 30 s after the last failure, shown to the minute rounded up
    when = for_people(retry.replace(second=0, microsecond=0) + timedelta(minutes=1))
    assert error["code"] == "throttled" and when in error["message_zh"] and "北京时间" in when
    assert re.search(r"try again after \d{4}-\d\d-\d\d \d\d:\d\d", error["message_en"]), error["message_en"]
    assert r.headers["Retry-After"] == "30"
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = c.post("/login", data={"username": "cadre", "password": PW, "csrf_token": token.group(1)})
    assert answer.status_code == 429 and when in answer.text
    clock.advance(seconds=30)
    assert c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW}).status_code == 200


# ---------------------------------------------------------------- password rules at every door


@pytest.mark.parametrize("password", ["12345678", "password", "aaaaaaaa", "abcdefgh", "cadre-2026", "测试的密码真的不错"])
def test_an_account_is_not_created_with_a_weak_password(session: Session, password: str) -> None:
    with pytest.raises(InputError) as refused:
        auth.create_user(session, actor=SYSTEM_ACTOR, username="cadre", password=password, role="village_cadre",
                         region="231002001001", at=START, display_name="测试")
    assert refused.value.field == "password"


@pytest.mark.parametrize("password", ["12345678", "password", "11111111", "cadre-new-pass"])
def test_a_password_is_not_changed_to_a_weak_one(session: Session, password: str) -> None:
    user = _user(session)
    with pytest.raises(InputError) as refused:
        auth.change_password(session, user_id=user.id, old_password=PW, new_password=password, at=START)
    assert refused.value.field == "new_password"


def test_the_api_names_the_field_and_the_reason(session: Session) -> None:
    _user(session)
    app, _ = app_on_session(session)
    c = client(app)
    login = c.post("/api/v1/auth/login", json={"username": "cadre", "password": PW}).json()
    r = c.post("/api/v1/auth/password", headers={"Authorization": f"Bearer {login['token']}"},
               json={"old_password": PW, "new_password": "password"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "new_password"
    assert "常见" in r.json()["error"]["message_zh"] and "common" in r.json()["error"]["message_en"]


def test_the_demo_accounts_keep_the_demo_password(session: Session) -> None:
    accounts = auth.create_demo_accounts(session, county="231002", township="231002001", village="231002001001",
                                         entity_id=None, at=START)
    assert {a.password for a in accounts} == {auth.DEMO_PASSWORD} == {"daipin-demo"}
    for a in accounts:
        assert auth.authenticate(session, username=a.username, password=a.password, client=HOME, at=START).is_demo


def test_a_throttled_answer_is_an_error_of_its_own(session: Session) -> None:
    assert issubclass(Throttled, DaipinError) and Throttled.status == 429


def test_a_burst_of_guesses_at_once_is_counted_in_turn(fresh_db_url: str) -> None:
    """Attempts that arrive together, each in its own transaction (a server's workers), get no more guesses
    than attempts one after another."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import sessionmaker

    from daipin.db.session import make_engine, session_scope

    engine = make_engine(fresh_db_url, pool_size=8)
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        with session_scope(factory) as s:
            _user(s)

        def one(i: int) -> str:
            with session_scope(factory) as s:
                return _try(s, "guess-guess-1", STRANGER, START + timedelta(milliseconds=i))

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(one, range(24)))
        assert answers.count("wrong") == auth.MAX_FAILED_LOGINS, answers
        with session_scope(factory) as s:
            assert _try(s, PW, HOME, START + timedelta(seconds=1)) == "ok"
    finally:
        engine.dispose()
