"""A payment batch's lines a page at a time (PAYMENTS.md): every line on exactly one page in the batch's order,
the total each filter matches, a line's own page found after a retry, and bad paging refused by field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy.orm import Session

from daipin.db.models.workflow import PaymentBatch
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import InputError, NotFound
from daipin.services.payments import bankfiles, views
from daipin.services.payments import service as payments
from tests.integration.api_support import (
    FOREIGN_VILLAGE,
    OWN_TOWNSHIP,
    OWN_VILLAGE,
    START,
    executed_allocation,
)
from tests.integration.test_payment_files import answer

TOWNSHIP = Actor(7, Role.TOWNSHIP_OFFICIAL, OWN_TOWNSHIP)
VILLAGE = Actor(8, Role.VILLAGE_CADRE, OWN_VILLAGE)
STRANGER = Actor(9, Role.VILLAGE_CADRE, FOREIGN_VILLAGE)
AT = START + timedelta(days=1)


@pytest.fixture(scope="module")
def world(db_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, int]]:
    """A batch of more lines than a page holds (the sample district with 100 households a village), built once
    per engine in a transaction rolled back at the module's end."""
    import os

    from daipin.ledger import store
    from daipin.services.sample import service as sample

    conn = db_engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    old = os.environ.get("DAIPIN_KEYS_DIR")
    os.environ["DAIPIN_KEYS_DIR"] = str(tmp_path_factory.mktemp("line-pages-keys"))
    try:
        at = START - timedelta(days=60)
        store.ensure_log(s, at=at)
        sample.load_sample(s, SYSTEM_ACTOR, at, households_per_village=100)
        b = payments.batch_for_matter(s, executed_allocation(s, OWN_VILLAGE).id)
        assert b is not None
        s.flush()
        yield s, b.id
    finally:
        s.close()
        outer.rollback()
        conn.close()
        if old is None:
            os.environ.pop("DAIPIN_KEYS_DIR", None)
        else:
            os.environ["DAIPIN_KEYS_DIR"] = old


@pytest.fixture
def ws(world: tuple[Session, int]) -> Iterator[tuple[Session, PaymentBatch]]:
    """The world's session and batch; whatever a test writes is rolled back after it."""
    s, batch_id = world
    nested = s.begin_nested()
    try:
        yield s, s.get_one(PaymentBatch, batch_id)
    finally:
        nested.rollback()
        s.expire_all()


def _ids(page: dict[str, Any]) -> list[int]:
    return [ln.id for ln in page["lines"]]


def test_every_line_is_on_exactly_one_page_in_the_batch_s_order(ws: tuple[Session, PaymentBatch]) -> None:
    session, batch = ws
    everything = payments.lines(session, batch)
    assert len(everything) > 20
    first = views.batch_page(session, VILLAGE, batch.id, per_page=20)
    pages = first["listing"]["pages"]
    assert first["listing"]["total"] == first["line_count"] == len(everything)
    assert pages == -(-len(everything) // 20) and len(first["lines"]) == 20
    seen: list[int] = []
    for n in range(1, pages + 1):
        page = views.batch_page(session, VILLAGE, batch.id, per_page=20, page=n)
        assert page["listing"]["page"] == n and 1 <= len(page["lines"]) <= 20
        seen += _ids(page)
    assert seen == [ln.id for ln in everything]
    # Past the last page: the last page; the reconciliation is always the whole batch's.
    past = views.batch_page(session, VILLAGE, batch.id, per_page=20, page=pages + 5)
    assert past["listing"]["page"] == pages and _ids(past) == seen[(pages - 1) * 20:]
    assert past["total_fen"] == past["lines_sum_fen"] == sum(ln.amount_fen for ln in everything)


def test_status_and_payee_filters_count_what_they_match_and_a_line_opens_its_own_page(
        ws: tuple[Session, PaymentBatch]) -> None:
    session, batch = ws
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    lines = payments.lines(session, batch)
    a, b = lines[3], lines[-1]
    assert a.seq is not None and b.seq is not None
    bankfiles.apply_return(session, TOWNSHIP, batch.id, "r.csv",
                           answer(out.data, {a.seq: ("失败", "户名与账号不符"), b.seq: ("失败", "账户已销户")}), at=AT)
    session.expire_all()
    failed = views.batch_page(session, VILLAGE, batch.id, status="failed")
    assert _ids(failed) == [a.id, b.id] and failed["listing"]["total"] == 2 and failed["listing"]["pages"] == 1
    paid = views.batch_page(session, VILLAGE, batch.id, status="paid", per_page=200)
    assert paid["listing"]["total"] == len(lines) - 2 and a.id not in _ids(paid)
    by_seq = views.batch_page(session, VILLAGE, batch.id, q=str(b.seq))
    assert _ids(by_seq) == [b.id]
    name = a.payee_name[1:] or a.payee_name
    by_name = views.batch_page(session, VILLAGE, batch.id, q=name, per_page=200)
    assert a.id in _ids(by_name) and all(name in ln.payee_name for ln in by_name["lines"])
    assert views.batch_page(session, VILLAGE, batch.id, q="²")["listing"]["total"] == 0  # a digit, not a number
    nobody = views.batch_page(session, VILLAGE, batch.id, q="无此人%_")
    assert nobody["lines"] == [] and nobody["listing"]["total"] == 0 and nobody["line_count"] == len(lines)
    # The last line's page, whatever page and filter were asked (after a retry, the new line is last).
    found = views.batch_page(session, VILLAGE, batch.id, per_page=20, page=1, status="paid", line=b.id)
    assert b.id in _ids(found) and found["listing"]["page"] == found["listing"]["pages"] > 1
    assert found["listing"]["status"] == ""


@pytest.mark.parametrize(("kwargs", "field"), [({"status": "lost"}, "status"), ({"per_page": 7}, "per_page"),
                                               ({"q": "甲" * 51}, "q")])
def test_bad_paging_is_refused_naming_the_field(ws: tuple[Session, PaymentBatch], kwargs: dict[str, Any],
                                                field: str) -> None:
    session, batch = ws
    with pytest.raises(InputError) as why:
        views.batch_page(session, VILLAGE, batch.id, **kwargs)
    assert why.value.field == field and why.value.message_zh


def test_another_village_s_cadre_finds_no_batch(ws: tuple[Session, PaymentBatch]) -> None:
    session, batch = ws
    with pytest.raises(NotFound):
        views.batch_page(session, STRANGER, batch.id)


def test_the_batch_page_shows_one_page_of_lines_with_its_numbers_and_keeps_the_filter_in_its_links(
        ws: tuple[Session, PaymentBatch]) -> None:
    import re

    from daipin.services.auth import service as auth_service
    from tests.integration.api_support import app_rolling_back, client

    session, batch = ws
    user = auth_service.create_user(session, actor=SYSTEM_ACTOR, username="line-pages-town", password="line-pages-1",
                                    role="township_official", region=OWN_TOWNSHIP, entity_id=None, at=START)
    auth = {"Authorization": f"Bearer {auth_service.start_session(session, user, at=START).token}"}
    everything = payments.lines(session, batch)
    app, _ = app_rolling_back(session)
    c = client(app)
    r = c.get(f"/payments/batches/{batch.id}?per_page=20&page=2", headers=auth)
    assert r.status_code == 200, r.text[:300]
    shown = [int(x) for x in re.findall(r'<article class="card pay-line" id="line-(\d+)"', r.text)]
    assert shown == [ln.id for ln in everything[20:40]]
    assert f"共 {len(everything)} 笔" in r.text and f"第 2 / {-(-len(everything) // 20)} 页" in r.text
    assert f'href="/payments/batches/{batch.id}?status=&amp;q=&amp;per_page=20&amp;page=1#lines" rel="prev"' in r.text
    assert '<b aria-current="page">2</b>' in r.text
    # A filter is kept by every page link; a bad one is refused with its field named, in Chinese.
    name = everything[0].payee_name[:1]
    r = c.get(f"/payments/batches/{batch.id}?q={name}&per_page=20", headers=auth)
    assert r.status_code == 200 and "符合条件" in r.text
    assert all(f"q={quote(name)}" in link for link in re.findall(r'href="(/payments/batches/\d+\?status[^"]*)"', r.text))
    bad = c.get(f"/payments/batches/{batch.id}?status=lost", headers=auth)
    assert bad.status_code == 422 and "支付状态不存在" in bad.text and "status" not in bad.text.split("支付状态不存在")[1][:40]
