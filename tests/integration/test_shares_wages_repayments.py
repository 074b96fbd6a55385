"""Shares paid while eligible (R1.4), wages paid against what work makes due (R1.3), revolving fund-support
repayments against their schedule (R1.1)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.obligations import FundRepayment, RetainedDividend, WagePayment
from daipin.domain.errors import Conflict, InputError
from daipin.services.contracts import service as svc
from daipin.services.dynamic import service as dynamic
from daipin.services.obligations import service as obligations
from daipin.services.obligations import views as ov
from daipin.services.registry import service as reg
from daipin.services.registry import views as rv
from daipin.services.runs import service as runs
from tests.integration.registry_support import (
    ACTOR,
    AT,
    VILLAGE,
    household,
    ledger_size,
    project,
    reassign,
    rs_fixture,  # noqa: F401
    sign,
)

LATER = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
QUANTIFIED = {"contribution_kind": "quantified_fund", "contribution_value_fen": 500000, "shares": "5000",
              "profit_share": "0.02", "annual_floor_fen": 40000}


def _profit(session: Session, project_id: int, year: int, profit: int = 3_000_000) -> None:
    reg.record_profit(session, ACTOR, project_id, period_start=date(year, 1, 1), period_end=date(year, 12, 31),
                      profit_fen=profit, at=AT)


def test_a_share_reassigned_within_the_year_pays_each_holder_by_days_and_the_pending_days_to_the_village(
        rs: Session) -> None:
    p = project(rs)
    old, new = household(rs, "H-0013", 1), household(rs, "H-0021", 2)
    c = sign(rs, ACTOR, code="C-Q", model="shareholding", project_id=p.id, start_date=date(2024, 1, 1),
                          end_date=date(2030, 12, 31), terms=dict(QUANTIFIED), payee_household_id=old.id, at=AT)
    _profit(rs, p.id, 2026)
    dynamic.change_household_status(rs, ACTOR, old.id, "exited", date(2026, 12, 1), "家庭收入稳定超过标准", LATER,
                                    exit_year=2026)
    reassign(rs, ACTOR, c, new, on=date(2026, 12, 15), at=LATER)
    run = runs.run_settlement(rs, ACTOR, p.id, 2026, LATER)
    lines = {(ln["payee"], bool(ln.get("retained"))): ln for ln in run.output_json["lines"]}
    # 3,000,000 × 2% = 60,000 fen for the year: 334 days to the old holder, 17 to the new, 14 retained.
    assert {k: (v["held_days"], v["due_fen"]) for k, v in lines.items()} == {
        ("H-0013", False): (334, 54904), ("H-0021", False): (17, 2795), (VILLAGE, True): (14, 2301)}
    assert sum(v["due_fen"] for v in lines.values()) == 60000
    assert run.output_json["retained_fen"] == 2301
    kept = rs.scalars(select(RetainedDividend)).all()
    assert [(r.village_code, r.year, r.days, r.amount_fen, r.allocation_year) for r in kept] == [
        (VILLAGE, 2026, 14, 2301, None)]
    # A re-run replaces the retained row, never adds one.
    runs.run_settlement(rs, ACTOR, p.id, 2026, LATER)
    assert rs.scalar(select(func.count()).select_from(RetainedDividend)) == 1

    # The village's next allocation (a later year's) distributes the retained pool with its plan's pool.
    runs.save_allocation_plan(rs, ACTOR, village_code=VILLAGE, year=2027, pool_fen=100_000,
                              buckets=[{"name": "普惠", "share": "1", "rule": "equal", "per": "household"}], at=LATER)
    runs.save_allocation_plan(rs, ACTOR, village_code=VILLAGE, year=2026, pool_fen=50_000,
                              buckets=[{"name": "普惠", "share": "1", "rule": "equal", "per": "household"}], at=LATER)
    assert runs.build_village_allocation_document(rs, VILLAGE, 2026)["pool_fen"] == 50_000  # not the same year's
    assert runs.build_village_allocation_document(rs, VILLAGE, 2027)["pool_fen"] == 102_301
    alloc = runs.run_village_allocation(rs, ACTOR, VILLAGE, 2027, LATER)
    assert alloc.input_json["pool_fen"] == 102_301
    assert rs.scalar(select(RetainedDividend.allocation_year)) == 2027
    # Taken by 2027: a 2028 allocation does not distribute it again; a re-run of 2027 still does.
    runs.save_allocation_plan(rs, ACTOR, village_code=VILLAGE, year=2028, pool_fen=100_000,
                              buckets=[{"name": "普惠", "share": "1", "rule": "equal", "per": "household"}], at=LATER)
    assert runs.build_village_allocation_document(rs, VILLAGE, 2028)["pool_fen"] == 100_000
    assert runs.build_village_allocation_document(rs, VILLAGE, 2027)["pool_fen"] == 102_301


def test_a_share_pending_on_the_last_day_still_pays_its_holder_for_the_days_it_was_eligible(rs: Session) -> None:
    p = project(rs)
    old = household(rs, "H-0013", 1)
    sign(rs, ACTOR, code="C-Q", model="shareholding", project_id=p.id, start_date=date(2024, 1, 1),
                      end_date=date(2030, 12, 31), terms=dict(QUANTIFIED), payee_household_id=old.id, at=AT)
    _profit(rs, p.id, 2026)
    _profit(rs, p.id, 2027)
    dynamic.change_household_status(rs, ACTOR, old.id, "exited", date(2026, 12, 1), "脱贫", LATER, exit_year=2026)
    out = runs.run_settlement(rs, ACTOR, p.id, 2026, LATER).output_json
    assert {(ln["payee"], ln["held_days"], ln["due_fen"]) for ln in out["lines"]} == {
        ("H-0013", 334, 54904), (VILLAGE, 31, 5096)}
    # Pending all of 2027: nobody holds it, the whole dividend is retained for the village.
    doc = runs.build_settlement_document(rs, p.id, 2027)
    assert doc["contracts"][0]["holders"] == [] and doc["contracts"][0]["payee"] == VILLAGE


def _worker(session: Session, p: Any, basis: str, rate: int, code: str, seq: int) -> Any:
    hh = household(session, f"H-W{seq}", 10 + seq)
    person = reg.members(session, hh.id)[0]
    return svc.sign_contract(session, ACTOR, code=code, model="employment", project_id=p.id,
                             start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                             terms={"position": "生产工人", "hours": "每日8小时", "wage_basis": basis,
                                    "wage_fen": rate, "pay_cycle": "monthly"},
                             payee_household_id=hh.id, person_id=person.id, at=AT), hh, person


def test_monthly_and_piece_wages_are_due_at_the_contracts_rate_and_arrears_feed_the_entitys_dues(
        rs: Session) -> None:
    p = project(rs)
    month, mhh, mp = _worker(rs, p, "month", 3_000_00, "E-M", 1)
    piece, phh, pp = _worker(rs, p, "piece", 1_50, "E-P", 2)
    # Records state what was worked in the contract's unit; a daily wage on a record never replaces the rate.
    for m in (1, 2, 3):
        reg.record_work(rs, ACTOR, kind="employment", household_id=mhh.id, person_id=mp.id, contract_id=month.id,
                        period_start=date(2026, m, 1), period_end=date(2026, m, 28), days="1",
                        daily_wage_fen=99_00, at=AT)
    reg.record_work(rs, ACTOR, kind="employment", household_id=phh.id, person_id=pp.id, contract_id=piece.id,
                    period_start=date(2026, 3, 1), period_end=date(2026, 3, 31), days="1200", at=AT)
    paid_at = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    obligations.record_wage_payment(rs, ACTOR, contract="E-M", paid_on=date(2026, 2, 10), amount_fen=3_000_00,
                                    note="1月工资", at=paid_at)
    obligations.record_wage_payment(rs, ACTOR, contract=piece.id, paid_on=date(2026, 4, 10), amount_fen=1_000_00,
                                    at=paid_at)
    got = ov.wages(rs, ACTOR, today=date(2026, 5, 1), project_id=p.id)
    rows = {r["contract"]: r for r in got["rows"]}
    assert (rows["E-M"]["due_fen"], rows["E-M"]["paid_fen"], rows["E-M"]["arrears_fen"]) == (9_000_00, 3_000_00,
                                                                                            6_000_00)
    assert rows["E-M"]["overdue_since"] == "2026-02-28" and rows["E-M"]["overdue_days"] == 62
    assert (rows["E-P"]["due_fen"], rows["E-P"]["arrears_fen"]) == (1_800_00, 800_00)
    assert got["totals"]["arrears_fen"] == 6_800_00 and got["by_project"][0]["workers"] == 2
    # Work not yet ended is not yet due.
    assert ov.wages(rs, ACTOR, today=date(2026, 1, 27), project_id=p.id)["totals"]["due_fen"] == 0
    page = rv.entity_page(rs, ACTOR, p.entity_id, date(2026, 5, 1))
    assert page["arrears_total_fen"] == 6_800_00 and page["wages"]["totals"]["arrears_fen"] == 6_800_00
    # The settlement uses the contract's rate too: 3 months × 3,000 yuan, 1,200 pieces × 1.50 yuan.
    _profit(rs, p.id, 2026)
    out = runs.run_settlement(rs, ACTOR, p.id, 2026, LATER).output_json
    assert {ln["contract"]: ln["due_fen"] for ln in out["lines"]} == {"E-M": 9_000_00, "E-P": 1_800_00}


@pytest.mark.parametrize(("kw", "field"), [
    ({"contract": "E-M", "paid_on": date(2026, 2, 10), "amount_fen": 0}, "amount_fen"),
    ({"contract": "E-M", "paid_on": date(2026, 2, 10), "amount_fen": -5}, "amount_fen"),
    ({"contract": "E-M", "paid_on": date(2026, 6, 1), "amount_fen": 100}, "paid_on"),
    ({"contract": "E-M", "paid_on": date(2025, 6, 1), "amount_fen": 100}, "paid_on"),
    ({"contract": "E-M", "paid_on": "2026-02-30", "amount_fen": 100}, "paid_on"),
    ({"contract": "NOPE", "paid_on": date(2026, 2, 10), "amount_fen": 100}, "contract"),
    ({"contract": "C-F", "paid_on": date(2026, 2, 10), "amount_fen": 100}, "contract"),
    ({"contract": "E-M", "paid_on": date(2026, 2, 10), "amount_fen": 100, "note": "电话 13912345678"}, "note"),
])
def test_a_bad_wage_payment_is_refused_naming_the_field_and_nothing_is_written(rs: Session, kw: dict[str, Any],
                                                                              field: str) -> None:
    p = project(rs)
    _worker(rs, p, "month", 3_000_00, "E-M", 1)
    hh = household(rs, "H-F", 30)
    svc.sign_contract(rs, ACTOR, code="C-F", model="fund_support", project_id=p.id, start_date=date(2026, 1, 1),
                      end_date=date(2028, 12, 31), payee_household_id=hh.id, at=AT,
                      terms={"amount_fen": 1_000_00, "purpose": "购买种牛", "support_type": "grant"})
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        obligations.record_wage_payment(rs, ACTOR, at=datetime(2026, 5, 1, 2, 0, tzinfo=UTC), **kw)
    assert err.value.field == field and err.value.message_zh and err.value.message_en
    assert ledger_size(rs) == before and rs.scalar(select(func.count()).select_from(WagePayment)) == 0


def _fund(session: Session, p: Any) -> Any:
    hh = household(session, "H-F", 30)
    return svc.sign_contract(session, ACTOR, code="C-F", model="fund_support", project_id=p.id,
                             start_date=date(2026, 1, 1), end_date=date(2028, 12, 31), payee_household_id=hh.id, at=AT,
                             terms={"amount_fen": 2_000_000, "purpose": "购买种牛", "support_type": "revolving",
                                    "repayment_schedule": [{"due": "2026-06-30", "amount_fen": 500_000},
                                                           {"due": "2026-12-31", "amount_fen": 500_000},
                                                           {"due": "2027-12-31", "amount_fen": 1_000_000}]})


def test_repayments_are_recorded_against_the_schedule_and_what_is_overdue_shows_amount_and_days(rs: Session) -> None:
    p = project(rs)
    c = _fund(rs, p)
    at = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)
    obligations.record_repayment(rs, ACTOR, contract="C-F", paid_on=date(2026, 7, 5), amount_fen=500_000,
                                 note="第一期", at=at)
    obligations.record_repayment(rs, ACTOR, contract=c.id, paid_on=date(2027, 1, 20), amount_fen=200_000, at=at)
    row = ov.repayments(rs, ACTOR, today=date(2027, 2, 1), project_id=p.id)["rows"][0]
    assert (row["due_fen"], row["repaid_fen"], row["overdue_fen"], row["outstanding_fen"]) == (
        1_000_000, 700_000, 300_000, 1_300_000)
    assert row["overdue_since"] == "2026-12-31" and row["overdue_days"] == 32
    assert row["next_due"] == {"due": "2027-12-31", "amount_fen": 1_000_000}
    # Before the second instalment fell due nothing was overdue.
    early = ov.repayments(rs, ACTOR, today=date(2026, 12, 30), project_id=p.id)["rows"][0]
    assert (early["overdue_fen"], early["overdue_days"]) == (0, 0)
    page = rv.project_page(rs, ACTOR, p.id, date(2027, 2, 1))
    assert page["repayments"]["totals"]["overdue_fen"] == 300_000
    # More than the amount supported is refused, nothing written.
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        obligations.record_repayment(rs, ACTOR, contract="C-F", paid_on=date(2027, 1, 25), amount_fen=1_300_001, at=at)
    assert err.value.field == "amount_fen" and ledger_size(rs) == before
    assert rs.scalar(select(func.count()).select_from(FundRepayment)) == 2


def test_a_grant_takes_no_repayment(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-F", 30)
    svc.sign_contract(rs, ACTOR, code="C-G", model="fund_support", project_id=p.id, start_date=date(2026, 1, 1),
                      end_date=date(2028, 12, 31), payee_household_id=hh.id, at=AT,
                      terms={"amount_fen": 1_000_00, "purpose": "购买种牛", "support_type": "grant"})
    with pytest.raises(Conflict) as err:
        obligations.record_repayment(rs, ACTOR, contract="C-G", paid_on=date(2026, 7, 5), amount_fen=100,
                                     at=datetime(2027, 2, 1, tzinfo=UTC))
    assert err.value.code == "not_revolving"
