"""Recording payments of an executed matter: township and district mark lines paid or failed; others only read."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Household
from daipin.db.models.workflow import PaymentLine
from tests.integration.api_support import (
    World,
    app_on_session,
    client,
    world_with_executed_allocation,
)


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return world_with_executed_allocation(session, str(tmp_path / "keys"))


def _batch(c: Any, w: World, role: str = "township_official") -> dict[str, Any]:
    r = c.get(f"/api/v1/matters/{w.ids['executed']}/payments", headers=w.headers(role))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_a_township_official_marks_a_line_paid_and_the_batch_follows_its_lines(session: Session,
                                                                                world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    batch = _batch(c, world)
    assert batch["status"] == "pending" and len(batch["lines"]) > 1
    line = batch["lines"][0]
    entries = session.scalar(select(func.count()).select_from(LedgerEntry))
    r = c.post(f"/api/v1/matters/{world.ids['executed']}/payments/{line['line']}",
               json={"outcome": "paid", "payment_ref": "NX-0001"}, headers=world.headers("township_official"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid" and r.json()["payment_ref"] == "NX-0001"
    assert r.json()["paid_at"].endswith("+00:00")  # the API keeps UTC; only pages show Beijing time
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == entries + 1
    assert _batch(c, world)["status"] == "partly_paid"
    again = c.post(f"/api/v1/matters/{world.ids['executed']}/payments/{line['line']}", json={"outcome": "paid"},
                   headers=world.headers("district_admin"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_paid"


def test_a_failed_payment_needs_its_reason_and_is_not_marked_paid_afterwards(session: Session, world: World) -> None:
    """A failed line stays failed: it is requeued as a new line (after the account is corrected) or written off."""
    app, _ = app_on_session(session)
    c = client(app)
    line = _batch(c, world)["lines"][0]["line"]
    url = f"/api/v1/matters/{world.ids['executed']}/payments/{line}"
    headers = world.headers("district_admin")
    bad = c.post(url, json={"outcome": "failed"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "reason"
    assert session.get(PaymentLine, line).status == "pending"  # type: ignore[union-attr]
    empty = c.post(url, json={"outcome": "paid", "payment_ref": "  "}, headers=headers)
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "payment_ref"
    failed = c.post(url, json={"outcome": "failed", "reason": "账户冻结"}, headers=headers)
    assert failed.status_code == 200 and failed.json()["failure_reason"] == "账户冻结"
    paid = c.post(url, json={"outcome": "paid", "payment_ref": "NX-0002"}, headers=headers)
    assert paid.status_code == 409 and paid.json()["error"]["code"] == "already_settled"


def test_village_cadres_and_auditors_see_the_batch_but_may_not_mark_it(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    line = _batch(c, world, "village_cadre")["lines"][0]["line"]
    assert _batch(c, world, "auditor")["lines"][0]["line"] == line
    for role in ("village_cadre", "auditor"):
        r = c.post(f"/api/v1/matters/{world.ids['executed']}/payments/{line}", json={"outcome": "paid"},
                   headers=world.headers(role))
        assert r.status_code == 403, role
    assert session.get(PaymentLine, line).status == "pending"  # type: ignore[union-attr]


def test_a_line_is_found_only_under_its_own_matter(session: Session, world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    line = _batch(c, world)["lines"][0]["line"]
    r = c.post(f"/api/v1/matters/{world.ids['matter_in_notice']}/payments/{line}", json={"outcome": "paid"},
               headers=world.headers("township_official"))
    assert r.status_code == 404
    none = c.get(f"/api/v1/matters/{world.ids['matter_in_notice']}/payments",
                 headers=world.headers("township_official"))
    assert none.status_code == 404 and none.json()["error"]["code"] == "no_batch"


def test_the_payment_page_gives_the_township_forms_and_the_village_a_read_only_view(session: Session,
                                                                                     world: World) -> None:
    app, _ = app_on_session(session)
    c = client(app)
    mid = world.ids["executed"]
    c.cookies.set("daipin_session", world.tokens["village_cadre"])
    village_view = c.get(f"/matters/{mid}/payments")
    assert village_view.status_code == 200
    assert "pay-form" not in village_view.text and "read-only-note" in village_view.text
    c.cookies.set("daipin_session", world.tokens["township_official"])
    page = c.get(f"/matters/{mid}/payments")
    assert page.status_code == 200 and "pay-form" in page.text
    line = session.scalars(select(PaymentLine).order_by(PaymentLine.id)).first()
    assert line is not None
    hh = session.get(Household, line.household_id) if line.household_id else None
    if hh is not None and hh.bank_account:
        assert hh.bank_account not in page.text and line.bank_account_masked in page.text
    refused = c.post(f"/matters/{mid}/payments/{line.id}", data={"outcome": "paid"}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token, no write
    assert session.get(PaymentLine, line.id).status == "pending"  # type: ignore[union-attr]
    done = c.post(f"/matters/{mid}/payments/{line.id}", follow_redirects=False,
                  data={"outcome": "paid", "payment_ref": "NX-0003", "csrf_token": _csrf(page.text)})
    assert done.status_code == 303 and done.headers["location"].endswith(f"#line-{line.id}")
    after = c.get(f"/matters/{mid}/payments").text
    assert "NX-0003" in after and "已支付" in after
    assert "2026-03-02 09:00" in after  # paid at the clock's 01:00 UTC, shown in Beijing time


@pytest.mark.edits_rows_behind_the_ledger
def test_a_household_s_income_is_dated_by_the_day_in_beijing(session: Session, world: World) -> None:
    """A batch made at 17:00 UTC on 1 June was made on 2 June in Beijing: the household's income says 2 June."""
    from datetime import UTC, datetime

    from daipin.db.models.workflow import PaymentBatch

    line = session.scalars(select(PaymentLine).join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
                           .where(PaymentBatch.matter_id == world.ids["executed"])).first()
    assert line is not None and line.household_id is not None
    batch = session.get_one(PaymentBatch, line.batch_id)
    batch.created_at = datetime(2025, 6, 1, 17, 0, tzinfo=UTC)
    session.flush()
    app, _ = app_on_session(session)
    r = client(app).get(f"/api/v1/households/{line.household_id}", headers=world.headers("district_admin"))
    assert r.status_code == 200, r.text
    assert [i["at"] for i in r.json()["income"] if i["matter"] == world.ids["executed"]] == ["2025-06-02"]
