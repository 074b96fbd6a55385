"""The demo's accounts, one per role, the province's among them (it reads every county of its province and writes
nothing); the sign-in page of a training database names them, a production database's never does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from daipin.domain import access
from daipin.domain.actors import Role
from daipin.domain.errors import DaipinError
from daipin.ledger import clock as ledger_clock
from daipin.ledger import keys, store
from daipin.services.auth import service as auth
from tests.integration.api_support import START, app_on_session, client

PLACES = {"county": "231002", "township": "231002001", "village": "231002001001"}


def test_the_demo_has_a_province_account_that_reads_every_county_and_writes_nothing(session: Session) -> None:
    accounts = {a.username: a for a in auth.create_demo_accounts(session, **PLACES, entity_id=None, at=START)}
    assert set(accounts) == {"district", "township", "village", "auditor", "discipline", "province"}  # no entity given
    province = accounts["province"]
    assert province.role is Role.PROVINCE and province.region == "23" and province.password == auth.DEMO_PASSWORD
    actor = auth.actor_for(auth.authenticate(session, username="province", password=auth.DEMO_PASSWORD,
                                             client="127.0.0.1", at=START))
    assert actor.role is Role.PROVINCE
    # Any county of province 23 is read, no other province's; nothing is written anywhere.
    assert access.allowed(actor, "matter.detail", region="231002001001")
    assert access.allowed(actor, "household.read", region="230101001001")
    assert not access.allowed(actor, "household.read", region="110101001001")
    for action in ("household.write", "matter.village.decide", "payment.record", "user.manage"):
        assert not access.may(actor, action)
        with pytest.raises(DaipinError):
            access.require(actor, action, region="231002001001")


def _login_page(session: Session) -> str:
    app, _ = app_on_session(session)
    r = client(app).get("/login")
    assert r.status_code == 200
    return r.text


def test_a_training_database_s_sign_in_page_names_the_demo_accounts(session: Session, tmp_path: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    store.ensure_log(session, at=START - timedelta(days=1), origin=ledger_clock.training_origin(keys.default_county()))
    assert 'id="demo-accounts"' not in _login_page(session)  # a training database without the demo's accounts
    auth.create_demo_accounts(session, **PLACES, entity_id=None, at=START)
    text = _login_page(session)
    assert 'id="demo-accounts"' in text and auth.DEMO_PASSWORD in text
    for username in ("district", "township", "village", "auditor", "province"):
        assert f"<code>{username}</code>" in text
    assert "省级" in text and "province</code> · province" not in text  # the role by its name


def test_a_production_database_s_sign_in_page_names_no_account(session: Session) -> None:
    store.ensure_log(session, at=START - timedelta(days=1))
    auth.create_demo_accounts(session, **PLACES, entity_id=None, at=START)
    text = _login_page(session)
    assert 'id="demo-accounts"' not in text and auth.DEMO_PASSWORD not in text
