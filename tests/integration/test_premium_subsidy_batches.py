"""Premium subsidies paid through a payment batch (issue 17): the district drafts the year's premium-subsidy matter
from the approved subsidies, the leading group decides it, it is posted and executed; the batch pays each entity
to its sealed account through the bank file, and the bank's return marks the subsidies paid with the line's
serial. A failed line leaves them approved until the retry is paid; a blacklisted entity's subsidy enters no
draft and stops the execution; a subsidy is in one batch at most, held by the database."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity
from daipin.db.models.supervision import PremiumSubsidy, PremiumSubsidyPayout
from daipin.db.models.workflow import Matter, PaymentLine
from daipin.db.session import session_scope
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError, NotFound
from daipin.services.insurance import batches, drafting
from daipin.services.insurance import service as insurance
from daipin.services.matters import service as wf
from daipin.services.payments import bankfiles
from daipin.services.payments import service as payments
from daipin.services.registry import service as reg
from tests.integration.api_support import cli, command_line_clock
from tests.integration.registry_support import ACTOR, AT, TOWN, blacklist, entity, ledger_bodies, rs_fixture
from tests.integration.test_payment_files import answer

_ = rs_fixture
COUNTY = "231002"
DAY = timedelta(days=1)
DISTRICT = Actor("d", Role.DISTRICT_ADMIN, COUNTY)
TOWNSHIP = Actor("t", Role.TOWNSHIP_OFFICIAL, TOWN)
AUDITOR = Actor("a", Role.AUDITOR, COUNTY)
ACCOUNT = "6217000012345678901"


def _approved(rs: Session, n: int, subsidy_fen: int, *, account: str | None = ACCOUNT) -> tuple[Entity, PremiumSubsidy]:
    e = entity(rs, n)
    if account:
        insurance.set_entity_account(rs, DISTRICT, e.id, bank_account=f"{account[:-2]}{n:02d}", at=AT)
    p = reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no=f"PICC-{n}",
                                 valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31), at=AT)
    s = insurance.apply(rs, ACTOR, policy=p.id, year=2025, premium_fen=subsidy_fen * 2, subsidy_fen=subsidy_fen,
                        at=AT)
    insurance.decide(rs, DISTRICT, s.id, approve=True, reason="", at=AT)
    return e, s


def _decide_and_post(rs: Session, matter_id: int) -> None:
    t = AT + DAY
    wf.call_meeting(rs, DISTRICT, matter_id, type="领导小组会议", scheduled_at=t + 2 * DAY, place="区政府",
                    eligible_members=9, at=t)
    wf.record_attendance(rs, DISTRICT, matter_id, present_members=7, first_secretary_present=False, at=t + 2 * DAY)
    wf.record_votes(rs, DISTRICT, matter_id, votes_for=7, against=0, abstain=0, at=t + 2 * DAY)
    wf.decide(rs, DISTRICT, matter_id, at=t + 2 * DAY)
    wf.publish_notice(rs, DISTRICT, matter_id, at=t + 3 * DAY)
    wf.close_notice(rs, DISTRICT, matter_id, at=t + 13 * DAY)


EXEC = AT + 15 * DAY


def test_the_years_subsidies_are_paid_through_a_batch_and_marked_paid_by_the_banks_return(rs: Session) -> None:
    e1, s1 = _approved(rs, 1, 60_000)
    e2, s2 = _approved(rs, 2, 45_001)
    m = drafting.draft_matter(rs, DISTRICT, county=COUNTY, year=2025, at=AT + DAY)
    assert m.kind == "premium_subsidy" and m.region_code == COUNTY and m.state == "draft"
    assert [it["id"] for it in m.document["subsidies"]] == sorted([s1.id, s2.id], key=lambda i: (
        e1.uscc if i == s1.id else e2.uscc, i))
    assert m.preview["totals"]["amount_fen"] == 105_001
    assert sum(ln["amount_fen"] for ln in m.preview["lines"]) == 105_001
    _decide_and_post(rs, m.id)
    ex = wf.execute(rs, DISTRICT, m.id, at=EXEC)
    assert ex.batch is not None and ex.batch.total_fen == 105_001
    lines = payments.lines(rs, ex.batch)
    assert {(ln.payee_type, ln.payee_ref, ln.amount_fen) for ln in lines} == {
        ("entity", e1.uscc, 60_000), ("entity", e2.uscc, 45_001)}
    assert all(ln.bank_account_masked and ACCOUNT not in ln.bank_account_masked for ln in lines)
    assert {p.subsidy_id for p in rs.scalars(select(PremiumSubsidyPayout))} == {s1.id, s2.id}
    # The account is in clear only in the file for the bank; never on the ledger.
    out = bankfiles.bank_file(rs, DISTRICT, ex.batch.id, "csv", at=EXEC + DAY)
    assert f"{ACCOUNT[:-2]}01".encode() in out.data and f"{ACCOUNT[:-2]}02".encode() in out.data
    assert ACCOUNT[:-2] not in str(ledger_bodies(rs))
    assert s1.status == "approved"
    bankfiles.apply_return(rs, DISTRICT, ex.batch.id, "return.csv", answer(out.data), at=EXEC + 2 * DAY)
    rs.refresh(s1)
    rs.refresh(s2)
    assert (s1.status, s2.status) == ("paid", "paid")
    by_payee = {ln.payee_ref: ln for ln in payments.lines(rs, ex.batch)}
    assert s1.payment_ref == by_payee[e1.uscc].payment_ref and s1.payment_ref.startswith("YH")
    assert s1.paid_on == (EXEC + 2 * DAY).date()
    assert {b["type"] for b in ledger_bodies(rs)} >= {"premium_subsidy.paid"}
    # Paid: in no later draft.
    with pytest.raises(InputError) as none_left:
        drafting.draft_matter(rs, DISTRICT, county=COUNTY, year=2025, at=EXEC + 3 * DAY)
    assert none_left.value.field == "year"


def test_a_failed_line_leaves_its_subsidy_approved_until_the_retry_is_paid(rs: Session) -> None:
    e, s = _approved(rs, 1, 30_000)
    m = drafting.draft_matter(rs, DISTRICT, county=COUNTY, year=2025, at=AT + DAY)
    _decide_and_post(rs, m.id)
    batch = wf.execute(rs, DISTRICT, m.id, at=EXEC).batch
    assert batch is not None
    out = bankfiles.bank_file(rs, DISTRICT, batch.id, "csv", at=EXEC + DAY)
    (line,) = payments.lines(rs, batch)
    bankfiles.apply_return(rs, DISTRICT, batch.id, "r.csv", answer(out.data, {line.seq: ("失败", "账户已销户")}),
                           at=EXEC + 2 * DAY)
    rs.refresh(s)
    assert s.status == "approved" and s.payment_ref == ""
    with pytest.raises(Conflict) as same:  # the spec: a failed line is retried after the account is corrected
        payments.requeue(rs, DISTRICT, line.id, at=EXEC + 3 * DAY)
    assert same.value.code == "account_not_corrected"
    insurance.set_entity_account(rs, DISTRICT, e.id, bank_account="6228480012345678", at=EXEC + 3 * DAY)
    retry = payments.requeue(rs, DISTRICT, line.id, at=EXEC + 3 * DAY)
    assert retry.bank_account_masked.endswith("5678")
    payments.mark_paid(rs, DISTRICT, retry.id, payment_ref="HD-0001", at=EXEC + 4 * DAY)
    rs.refresh(s)
    assert s.status == "paid" and s.payment_ref == "HD-0001"
    assert rs.scalar(select(PremiumSubsidyPayout.line_id).where(PremiumSubsidyPayout.subsidy_id == s.id)) == retry.id


def test_a_blacklisted_entitys_subsidy_enters_no_draft_and_stops_the_execution(rs: Session) -> None:
    e1, s1 = _approved(rs, 1, 10_000)
    e2, s2 = _approved(rs, 2, 20_000)
    blacklist(rs, e2.id, at=AT + DAY)
    m = drafting.draft_matter(rs, DISTRICT, county=COUNTY, year=2025, at=AT + DAY)
    assert [it["id"] for it in m.document["subsidies"]] == [s1.id]
    # Typed into a document by hand, it is refused.
    doc = dict(m.document, subsidies=[*m.document["subsidies"], {
        "id": s2.id, "entity": e2.uscc, "entity_name": e2.name, "policy_no": "PICC-2", "insurer": "人保财险",
        "premium_fen": 40_000, "subsidy_fen": 20_000}])
    with pytest.raises(Conflict) as refused:
        wf.update_draft(rs, DISTRICT, m.id, document=doc, at=AT + DAY)
    assert refused.value.code == "blacklisted"
    # Listed after the vote: the execution stops, nothing is paid.
    _decide_and_post(rs, m.id)
    blacklist(rs, e1.id, at=EXEC - DAY)
    with pytest.raises(Conflict) as stopped:
        wf.execute(rs, DISTRICT, m.id, at=EXEC)
    assert stopped.value.code == "blacklisted_party"
    assert m.state == "notice_closed" and payments.batch_for_matter(rs, m.id) is None
    assert rs.scalar(select(PremiumSubsidyPayout.id)) is None


def test_a_subsidy_is_in_one_batch_at_most(rs: Session) -> None:
    _, s = _approved(rs, 1, 10_000)
    m = drafting.draft_matter(rs, DISTRICT, county=COUNTY, year=2025, at=AT + DAY)
    with pytest.raises(Conflict) as listed:  # a second live matter cannot list it
        wf.draft_matter(rs, DISTRICT, kind="premium_subsidy", region=COUNTY, title="重复", document=m.document,
                        year=2025, at=AT + DAY)
    assert listed.value.code == "subsidy_listed"
    _decide_and_post(rs, m.id)
    batch = wf.execute(rs, DISTRICT, m.id, at=EXEC).batch
    assert batch is not None
    # The database itself refuses a second payout of the subsidy.
    with pytest.raises(IntegrityError), rs.begin_nested():
        rs.add(PremiumSubsidyPayout(subsidy_id=s.id, batch_id=batch.id, matter_id=m.id, county_code=COUNTY,
                                    payee_ref="x", created_at=EXEC))
        rs.flush()
    with pytest.raises(Conflict) as taken:  # and the service says so in words
        batches.put_in_batch(rs, DISTRICT, m, batch, EXEC)
    assert taken.value.code == "subsidy_in_batch"
    assert len(rs.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)).all()) == 1


def test_only_the_district_drafts_and_an_entitys_account_is_checked(rs: Session) -> None:
    e, _ = _approved(rs, 1, 10_000)
    with pytest.raises(Forbidden):
        drafting.draft_matter(rs, TOWNSHIP, county=COUNTY, year=2025, at=AT + DAY)
    with pytest.raises(Forbidden):
        drafting.draft_matter(rs, AUDITOR, county=COUNTY, year=2025, at=AT + DAY)
    with pytest.raises(NotFound):
        drafting.draft_matter(rs, Actor("o", Role.DISTRICT_ADMIN, "231003"), county=COUNTY, year=2025,
                               at=AT + DAY)
    with pytest.raises(InputError) as bad:
        insurance.set_entity_account(rs, DISTRICT, e.id, bank_account="12-34", at=AT)
    assert bad.value.field == "bank_account"
    with pytest.raises(Forbidden):
        insurance.set_entity_account(rs, AUDITOR, e.id, bank_account="6228480012345678", at=AT)


def test_the_command_line_records_a_policy_and_account_applies_decides_and_drafts(cli_db: str,
                                                                                  monkeypatch: Any) -> None:
    clock = command_line_clock(monkeypatch)
    year = clock.at.year
    with session_scope() as s:
        e = s.scalars(select(Entity).where(Entity.credit_status != "blacklisted").order_by(Entity.id)).first()
        assert e is not None
        eid, name = e.id, e.name
    out = cli("supervise", "subsidy", "policy", str(eid), "--insurer", "人保财险", "--policy-no", "CLI-PS-1",
              "--from", f"{year}-01-01", "--to", f"{year}-12-31", "--kind", "property").output
    found = re.search(r"保单 (\d+)", out)
    assert found is not None
    shown = cli("supervise", "subsidy", "account", str(eid), "--bank-account", "6217000012345678").output
    assert "5678" in shown and "6217" not in shown  # masked
    out = cli("supervise", "subsidy", "apply", found.group(1), "--year", str(year), "--premium-fen", "20000",
              "--subsidy-fen", "12345").output
    applied = re.search(r"保费补贴申请 (\d+)", out)
    assert applied is not None
    cli("supervise", "subsidy", "decide", applied.group(1), "--approve")
    out = cli("supervise", "subsidy", "draft", "231002", "--year", str(year)).output
    matter = re.search(r"事项 #(\d+)", out)
    assert matter is not None and "123.45" in out
    with session_scope() as s:
        m = s.get(Matter, int(matter.group(1)))
        assert m is not None and m.kind == "premium_subsidy"
        assert int(applied.group(1)) in [it["id"] for it in m.document["subsidies"]]
        assert name in [ln["name"] for ln in (m.preview or {})["lines"]]


def test_an_entitys_account_enters_its_row_state_only_as_a_digest_and_only_once_set(rs: Session) -> None:
    from daipin.services.shared import rows

    e = entity(rs, 1)
    assert "bank_account" not in rows.row_state(rs, e)  # entities recorded before migration 0028 keep their digests
    insurance.set_entity_account(rs, DISTRICT, e.id, bank_account="6217000012345678", at=AT)
    state = rows.row_state(rs, e)
    assert state["bank_account"] and "6217000012345678" not in str(state)


# ---------------------------------------------------------------- races between processes, on PostgreSQL

RACER = """
import json, sys, time
from daipin import bootstrap
bootstrap.configure()
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import DaipinError
from datetime import datetime
url, what, arg, start, name = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
reset_engine(make_engine(url))
district = Actor("d" + name, Role.DISTRICT_ADMIN, "231002")
at = datetime.fromisoformat(arg["at"])
while time.time() < start:
    time.sleep(0.001)
try:
    with session_scope() as s:
        if what == "draft":
            from daipin.services.insurance import drafting
            drafting.draft_matter(s, district, county="231002", year=2025, at=at)
        else:
            from daipin.services.matters import service as wf
            if not wf.execute(s, district, arg["matter"], at=at).created:
                print("ok:as executed before")  # (execution is idempotent: the first one's batch stands)
                raise SystemExit(0)
    print("ok")
except DaipinError as exc:
    print("refused:" + exc.code + ":" + (exc.field or ""))
"""


def _race(url: str, keys: str, what: str, arg: dict[str, Any], n: int = 4) -> list[str]:
    import json
    import os
    import subprocess
    import sys
    import time

    env = {**os.environ, "DAIPIN_DATABASE_URL": url, "DAIPIN_KEYS_DIR": keys}
    start = time.time() + 3  # every process is up and waiting before any begins
    procs = [subprocess.Popen([sys.executable, "-c", RACER, url, what, json.dumps(arg), str(start), str(i)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip().splitlines()[-1])
    return sorted(outs)


def test_of_four_processes_drafting_and_then_executing_the_years_subsidies_at_once_one_wins_each_time(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four district officials draft the year's premium-subsidy matter at once: one matter; then four execute it at
    once: one execution makes the batch and the others find it made (execution is idempotent), each subsidy paid
    out once, one payment line per entity, and the ledger verifies."""
    from sqlalchemy import func

    from daipin.db.models.ledger import LedgerEntry
    from daipin.db.session import make_engine, reset_engine
    from daipin.ledger import store
    from daipin.ledger.verify import verify_log
    from tests.conftest import create_database, drop_database
    from tests.integration.registry_support import TOWN, VILLAGE, VILLAGE_B

    url = create_database("postgresql", str(tmp_path))
    keys = str(tmp_path / "keys")
    monkeypatch.setenv("DAIPIN_KEYS_DIR", keys)
    engine = make_engine(url)
    reset_engine(engine)
    try:
        with session_scope() as s:
            store.ensure_log(s, county=COUNTY, at=AT)
            reg.create_region(s, ACTOR, code=COUNTY, name="东安区", level="district", at=AT)
            reg.create_region(s, ACTOR, code=TOWN, name="兴隆镇", level="township", at=AT)
            reg.create_region(s, ACTOR, code=VILLAGE, name="兴隆村", level="village", poor_village=True, at=AT)
            reg.create_region(s, ACTOR, code=VILLAGE_B, name="新民村", level="village", at=AT)
            subsidies = [_approved(s, n, 10_000 * n)[1].id for n in (1, 2)]
        outs = _race(url, keys, "draft", {"at": (AT + DAY).isoformat()})
        # each other is refused: by the pool's unique key, or, as its reads found the first committed meanwhile, by
        # its subsidies being listed already or none being left to list
        assert outs[0] == "ok" and set(outs[1:]) <= {"refused:pool_taken:year", "refused:invalid_input:year",
                                                     "refused:subsidy_listed:document.subsidies[0].id"}, outs
        with session_scope() as s:
            (m,) = s.scalars(select(Matter).where(Matter.kind == "premium_subsidy")).all()
            assert sorted(it["id"] for it in m.document["subsidies"]) == sorted(subsidies)
            _decide_and_post(s, m.id)
            matter = m.id
        outs = _race(url, keys, "execute", {"matter": matter, "at": EXEC.isoformat()})
        assert outs == ["ok"] + ["ok:as executed before"] * 3, outs
        with session_scope() as s:
            payouts = s.scalars(select(PremiumSubsidyPayout)).all()
            assert sorted(p.subsidy_id for p in payouts) == sorted(subsidies)
            assert len({p.batch_id for p in payouts}) == 1
            lines = s.scalars(select(PaymentLine)).all()
            assert sorted(ln.amount_fen for ln in lines) == [10_000, 20_000]
            assert s.scalar(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.type == "matter.execute")) == 1
            assert verify_log(s).ok
    finally:
        reset_engine(None)
        engine.dispose()
        drop_database(url)
