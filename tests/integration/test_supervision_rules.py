"""Each red-flag rule finds its cause in a fixture made to trigger it and stays silent in one made not to, on SQLite
and PostgreSQL; the district scan opens each cause once, a second run adds nothing, and a cause that is gone leaves
its finding marked, not deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.obligations import RetainedDividend
from daipin.db.models.registry import Person, Run
from daipin.db.models.supervision import Finding
from daipin.db.models.workflow import Matter, MatterEvent, Notice, Objection, PaymentBatch, PaymentLine
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Forbidden, InputError, NotFound
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service as reg
from daipin.services.supervision import records
from daipin.services.supervision import service as sup
from tests.integration.registry_support import (
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    VILLAGE_B,
    entity,
    household,
    ledger_bodies,
    ledger_size,
    project,
    rs_fixture,
    sign,
)

_ = rs_fixture  # the registry's small district, as the registry tests use it

COUNTY = "231002"
TODAY = date(2025, 6, 1)
LAND = {"contribution_kind": "land_rights", "contribution_value_fen": 800000, "shares": "8000", "profit_share": "0.01"}
ROWS_MADE_DIRECTLY = pytest.mark.edits_rows_behind_the_ledger  # payment rows made as rows for the query under test


def causes(session: Session, rule: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in sup.find_causes(session, COUNTY, TODAY).items() if v["rule"] == rule}


def link(session: Session, p: Any, hh: Any, code: str) -> Any:
    return sign(session, ACTOR, code=code, model="shareholding", project_id=p.id, start_date=date(2025, 1, 1),
                end_date=date(2027, 12, 31), terms=LAND, payee_household_id=hh.id, at=AT)


def batch(session: Session, *, kind: str = "village_allocation", state: str = "executed", warnings: Any = (),
          created: datetime = AT, notice_days: int | None = 10, objection_open: bool = False,
          year: int | None = None) -> PaymentBatch:
    """A matter paid by a batch, made as rows (the matter path is tested elsewhere; here only the rules read)."""
    m = Matter(kind=kind, state=state, round=1, county_code=COUNTY, region_code=VILLAGE, title="2025年收益分配",
               year=year, document={}, document_digest="0" * 64, warnings=list(warnings), created_at=created,
               created_by="t", updated_at=created)
    session.add(m)
    session.flush()
    session.add(MatterEvent(matter_id=m.id, county_code=COUNTY, action="execute", from_state="notice_closed",
                            to_state="executed", actor="t", at=created, ledger_index=0, details={}))
    if notice_days is not None:
        n = Notice(matter_id=m.id, round=1, county_code=COUNTY, region_code=VILLAGE, posted_at=created,
                   window_days=notice_days, ends_at=created + timedelta(days=notice_days), content={},
                   content_digest="0" * 64, status="closed", posted_by="t")
        session.add(n)
        session.flush()
        if objection_open:
            session.add(Objection(notice_id=n.id, matter_id=m.id, county_code=COUNTY, filed_at=created,
                                  anonymous=True, text="有异议", status="open"))
    run = Run(kind="village_allocation", subject=VILLAGE, year=2025, input_json={}, output_json={},
              input_digest="0" * 64, output_digest="0" * 64, actor="t", at=created, county_code=COUNTY)
    session.add(run)
    session.flush()
    b = PaymentBatch(matter_id=m.id, pool_key=f"matter:{m.id}", run_id=run.id, county_code=COUNTY, total_fen=0,
                     status="paid", created_at=created, created_by="t")
    session.add(b)
    session.flush()
    return b


def pay(session: Session, b: PaymentBatch, hh: Any, *, on: datetime = AT, status: str = "paid", attempt: int = 1,
        amount: int = 10000) -> PaymentLine:
    line = PaymentLine(batch_id=b.id, county_code=COUNTY, payee_type="household", payee_ref=hh.household_no,
                       household_id=hh.id, payee_name="户主", amount_fen=amount, status=status,
                       paid_at=on if status == "paid" else None, attempt=attempt)
    session.add(line)
    session.flush()
    return line


# ---------------------------------------------------------------- rules on registry rows (services only)


def test_no_link_finds_a_funded_project_without_a_contract_in_force(rs: Session) -> None:
    lonely = project(rs, 1)
    linked = project(rs, 2)
    link(rs, linked, household(rs, "H-1", 1), "C-1")
    found = causes(rs, "NO_LINK")
    assert set(found) == {f"NO_LINK:project:{lonely.code}"}
    assert found[f"NO_LINK:project:{lonely.code}"]["region"] == VILLAGE


def test_concentration_finds_an_entity_over_the_share_of_its_townships_linked_households(rs: Session) -> None:
    big, small = project(rs, 1), project(rs, 2)
    homes = [household(rs, f"H-{i}", i) for i in range(1, 5)]
    for i, hh in enumerate(homes[:3]):
        link(rs, big, hh, f"C-B{i}")
    link(rs, small, homes[3], "C-S")
    found = causes(rs, "CONCENTRATION")
    e = reg.get_entity(rs, big.entity_id)
    assert set(found) == {f"CONCENTRATION:entity:{e.uscc}@{TOWN}"}  # 3 of 4 > 30 %; the other 1 of 4 is not
    sup.set_thresholds(rs, ACTOR, COUNTY, {"concentration_share": "0.80"}, AT)
    assert causes(rs, "CONCENTRATION") == {}


def test_no_insurance_finds_an_operating_asset_without_a_policy_in_force(rs: Session) -> None:
    p = project(rs, 1)
    bare, covered = entity(rs, 5), entity(rs, 6)
    for n, e in ((1, bare), (2, covered)):
        reg.register_asset(rs, ACTOR, code=f"A-{n}", name="大棚", kind="operating", value_fen=1_000_000,
                           project_id=p.id, owner_region_code=VILLAGE, operator_entity_id=e.id, at=AT)
    reg.add_insurance_policy(rs, ACTOR, covered.id, insurer="人保财险", policy_no="P-1",
                             valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31), at=AT)
    found = causes(rs, "NO_INSURANCE")
    assert set(found) == {"NO_INSURANCE:asset:A-1"}  # a policy naming no asset covers all its entity operates
    assert found["NO_INSURANCE:asset:A-1"]["details"] == [bare.uscc]


def test_no_insurance_is_judged_per_asset_by_the_policies_naming_it(rs: Session) -> None:
    p = project(rs, 1)
    e = entity(rs, 5)
    a1, a2, a3 = (reg.register_asset(rs, ACTOR, code=f"A-{n}", name="大棚", kind="operating", value_fen=1_000_000,
                                     project_id=p.id, owner_region_code=VILLAGE, operator_entity_id=e.id, at=AT)
                  for n in (1, 2, 3))
    reg.register_asset(rs, ACTOR, code="A-9", name="村道", kind="public", value_fen=1_000_000, project_id=p.id,
                       owner_region_code=VILLAGE, operator_entity_id=e.id, at=AT)  # not an operating asset
    rs.flush()
    reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no="P-1", valid_from=date(2025, 1, 1),
                             valid_to=date(2025, 12, 31), asset_id=a1.id, kind="property",
                             insured_sum_fen=1_000_000, at=AT)
    reg.add_insurance_policy(rs, ACTOR, e.id, insurer="人保财险", policy_no="P-2", valid_from=date(2024, 1, 1),
                             valid_to=date(2024, 12, 31), asset_id=a2.id, kind="property", at=AT)  # expired
    assert set(causes(rs, "NO_INSURANCE")) == {"NO_INSURANCE:asset:A-2", "NO_INSURANCE:asset:A-3"}
    reg.add_insurance_policy(rs, ACTOR, e.id, insurer="中华联合", policy_no="P-3", valid_from=date(2025, 6, 1),
                             valid_to=date(2026, 5, 31), asset_id=a3.id, kind="crop", at=AT)
    assert set(causes(rs, "NO_INSURANCE")) == {"NO_INSURANCE:asset:A-2"}


def test_an_asset_policy_refuses_bad_input_and_changes_nothing(rs: Session) -> None:
    p = project(rs, 1)
    e, other = entity(rs, 5), entity(rs, 6)
    mine = reg.register_asset(rs, ACTOR, code="A-1", name="大棚", kind="operating", value_fen=1_000_000,
                              project_id=p.id, owner_region_code=VILLAGE, operator_entity_id=e.id, at=AT)
    theirs = reg.register_asset(rs, ACTOR, code="A-2", name="大棚", kind="operating", value_fen=1_000_000,
                                project_id=p.id, owner_region_code=VILLAGE, operator_entity_id=other.id, at=AT)
    rs.flush()
    before = ledger_size(rs)
    base = {"insurer": "人保财险", "policy_no": "P-1", "valid_from": date(2025, 1, 1),
            "valid_to": date(2025, 12, 31), "at": AT}
    for bad, field, words in (({"asset_id": theirs.id}, "asset_id", "不由该主体经营"),
                              ({"asset_id": 999_999}, "asset_id", "不存在"),
                              ({"kind": "fire"}, "kind", "险种"),
                              ({"insured_sum_fen": 0}, "insured_sum_fen", "保险金额"),
                              ({"insured_sum_fen": "100"}, "insured_sum_fen", "保险金额")):
        with pytest.raises((InputError, NotFound)) as err:
            reg.add_insurance_policy(rs, ACTOR, e.id, **base, **bad)  # type: ignore[arg-type]
        assert err.value.field == field and words in err.value.message_zh, (bad, err.value.message_zh)
    assert ledger_size(rs) == before
    policy = reg.add_insurance_policy(rs, ACTOR, e.id, **base, asset_id=mine.id, kind="property",  # type: ignore[arg-type]
                                      insured_sum_fen=800_000)
    assert (policy.asset_id, policy.kind, policy.insured_sum_fen) == (mine.id, "property", 800_000)
    facts = ledger_bodies(rs)[-1]["facts"]
    assert (facts["asset"], facts["kind"], facts["insured_sum_fen"]) == ("A-1", "property", 800_000)


def test_return_finds_a_project_below_the_reference_rate_or_above_the_ceiling(rs: Session) -> None:
    project(rs, 1, expected_return="0.06")
    low = project(rs, 2, expected_return="0.01")
    high = project(rs, 3, expected_return="0.35")
    assert set(causes(rs, "RETURN")) == {f"RETURN:project:{low.code}", f"RETURN:project:{high.code}"}


def test_no_valuation_finds_an_asset_share_without_a_valuation(rs: Session) -> None:
    p = project(rs, 1)
    a = reg.register_asset(rs, ACTOR, code="A-1", name="光伏电站", kind="operating", value_fen=5_000_000,
                           project_id=p.id, owner_region_code=VILLAGE, at=AT)
    sign(rs, ACTOR, code="C-L", model="asset_lease", project_id=p.id, start_date=date(2025, 1, 1),
         end_date=date(2027, 12, 31), terms={"annual_rent_fen": 100000}, payee_village_code=VILLAGE, at=AT)
    assert set(causes(rs, "NO_VALUATION")) == {"NO_VALUATION:contract:C-L"}
    reg.add_valuation(rs, ACTOR, a.id, valuer="某评估公司", valued_on=date(2024, 12, 1), value_fen=5_000_000,
                      report_ref="评报字2024第1号", at=AT)
    assert causes(rs, "NO_VALUATION") == {}


def test_disposal_finds_a_pledge_without_a_decision(rs: Session) -> None:
    p = project(rs, 1)
    for n in (1, 2):
        reg.register_asset(rs, ACTOR, code=f"A-{n}", name="冷库", kind="operating", value_fen=1_000_000,
                           project_id=p.id, owner_region_code=VILLAGE, at=AT)
    records.record_asset_status(rs, ACTOR, asset="A-1", status="pledged", from_date=date(2025, 3, 1), at=AT)
    records.record_asset_status(rs, ACTOR, asset="A-2", status="leased", from_date=date(2025, 3, 1), at=AT,
                                decision_ref="兴隆村委〔2025〕3号")
    records.record_asset_status(rs, ACTOR, asset="A-2", status="idle", from_date=date(2025, 5, 1), at=AT)
    assert set(causes(rs, "DISPOSAL")) == {"DISPOSAL:asset:A-1"}


def test_pv_use_finds_a_village_that_spent_too_little_on_posts_and_labour(rs: Session) -> None:
    for purpose, amount in (("post_wages", 70_000), ("public_works", 30_000)):
        records.record_pv_use(rs, ACTOR, village=VILLAGE, year=2024, purpose=purpose, amount_fen=amount, at=AT)
    for purpose, amount in (("post_wages", 60_000), ("labour", 25_000), ("rewards", 15_000)):
        records.record_pv_use(rs, ACTOR, village=VILLAGE_B, year=2024, purpose=purpose, amount_fen=amount, at=AT)
    assert set(causes(rs, "PV_USE")) == {f"PV_USE:village:{VILLAGE}@2024"}  # 70 % < 80 %; 85 % is enough


def test_arrears_finds_a_due_unpaid_past_the_set_days(rs: Session) -> None:
    late, paid, recent = entity(rs, 1), entity(rs, 2), entity(rs, 3)
    records.record_due(rs, ACTOR, entity=late.id, kind="dividend", due_on=date(2025, 3, 1), amount_fen=50_000,
                       region=VILLAGE, at=AT)
    d = records.record_due(rs, ACTOR, entity=paid.id, kind="rent", due_on=date(2025, 3, 1), amount_fen=50_000,
                           region=VILLAGE, at=AT)
    records.pay_due(rs, ACTOR, due=d.id, amount_fen=50_000, paid_on=date(2025, 3, 5), at=AT)
    records.record_due(rs, ACTOR, entity=recent.id, kind="rent", due_on=date(2025, 5, 20), amount_fen=50_000,
                       region=VILLAGE, at=AT)
    assert set(causes(rs, "ARREARS")) == {f"ARREARS:entity:{late.uscc}"}


def test_the_registry_refuses_bad_records_and_writes_nothing(rs: Session) -> None:
    before = ledger_size(rs)
    with pytest.raises(InputError) as err:
        records.record_pv_use(rs, ACTOR, village=VILLAGE, year=2024, purpose="banquet", amount_fen=1, at=AT)
    assert err.value.field == "purpose"
    with pytest.raises(InputError) as err:
        records.record_asset_status(rs, ACTOR, asset="NOPE", status="idle", from_date=date(2025, 1, 1), at=AT)
    assert err.value.field == "asset"
    cadre = Actor(id="v", role=Role.VILLAGE_CADRE, region=VILLAGE_B)
    with pytest.raises(Forbidden):
        records.record_pv_use(rs, cadre, village=VILLAGE, year=2024, purpose="labour", amount_fen=1, at=AT)
    assert ledger_size(rs) == before


# ---------------------------------------------------------------- rules on payments (payment rows made directly)


@ROWS_MADE_DIRECTLY
def test_ineligible_finds_a_line_paid_after_the_household_exited_or_died_out(rs: Session) -> None:
    ok, exited, gone = household(rs, "H-1", 1), household(rs, "H-2", 2), household(rs, "H-3", 3)
    dynamic.change_household_status(rs, ACTOR, exited.id, "exited", date(2025, 3, 1), "稳定脱贫", AT, exit_year=2025)
    b = batch(rs)
    pay(rs, b, ok)
    bad = pay(rs, b, exited)
    early = pay(rs, b, exited, on=datetime(2025, 2, 27, 20, 0, tzinfo=UTC), attempt=2)  # 28 Feb in Beijing
    for p in rs.scalars(select(Person).where(Person.household_id == gone.id)):
        p.life_state, p.life_state_date = "deceased", date(2025, 1, 1)
    dead = pay(rs, b, gone)
    assert set(causes(rs, "INELIGIBLE")) == {f"INELIGIBLE:payment_line:{bad.id}", f"INELIGIBLE:payment_line:{dead.id}"}
    assert early.id not in {int(k.rsplit(":", 1)[1]) for k in causes(rs, "INELIGIBLE")}


def roster(session: Session, year: int, households: list[str], *, state: str = "executed") -> Matter:
    """A village's beneficiary roster of a year, made as a row (its path through the workflow is tested elsewhere)."""
    doc = {"version": 1, "kind": "beneficiary_roster", "village": VILLAGE, "year": year,
           "households": [{"id": h, "status": "poor"} for h in households]}
    m = Matter(kind="beneficiary_roster", state=state, round=1, county_code=COUNTY, region_code=VILLAGE,
               title=f"{year}年收益扶贫对象名单", year=year, document=doc, document_digest="0" * 64, warnings=[],
               created_at=AT, created_by="t", updated_at=AT)
    session.add(m)
    session.flush()
    return m


@ROWS_MADE_DIRECTLY
def test_ineligible_finds_a_line_of_a_years_allocation_paid_to_a_household_off_that_years_confirmed_roster(
        rs: Session) -> None:
    on, dropped, other = household(rs, "H-1", 1), household(rs, "H-2", 2), household(rs, "H-3", 3)
    roster(rs, 2025, ["H-1", "H-2"])
    roster(rs, 2025, ["H-1", "H-3"])  # the latest confirmed roster of the year is the one that counts
    roster(rs, 2024, ["H-1", "H-2", "H-3"], state="approved")  # not confirmed: as if there were none
    roster(rs, 2026, ["H-2"], state="archived")  # archived still counts as confirmed
    this_year, last_year, next_year = batch(rs, year=2025), batch(rs, year=2024), batch(rs, year=2026)
    fine = [pay(rs, this_year, on), pay(rs, this_year, other), pay(rs, next_year, dropped)]
    off = pay(rs, this_year, dropped)
    unconfirmed = pay(rs, last_year, on)
    no_year = pay(rs, batch(rs), dropped)  # an allocation without a year is judged by the status history alone
    shares = pay(rs, batch(rs, kind="township_project", year=2024), dropped)  # no roster for other kinds
    found = causes(rs, "INELIGIBLE")
    assert set(found) == {f"INELIGIBLE:payment_line:{off.id}", f"INELIGIBLE:payment_line:{unconfirmed.id}"}
    assert {line.id for line in (*fine, no_year, shares)}.isdisjoint(int(k.rsplit(":", 1)[1]) for k in found)
    assert found[f"INELIGIBLE:payment_line:{off.id}"]["details"] == ["not_on_roster"]
    assert "不在本村已确认的年度收益扶贫对象名单上" in sup._summary("INELIGIBLE", ["not_on_roster"])


@ROWS_MADE_DIRECTLY
def test_kin_finds_a_line_paid_to_a_serving_cadres_own_or_declared_household(rs: Session) -> None:
    cadre_home, kin_home, other = household(rs, "H-1", 1), household(rs, "H-2", 2), household(rs, "H-3", 3)
    head = rs.scalars(select(Person).where(Person.household_id == cadre_home.id)).first()
    c = records.record_cadre(rs, ACTOR, person=head.id, post="村委会主任", from_date=date(2024, 1, 1), at=AT)
    records.declare_kin(rs, ACTOR, cadre=c.id, household="H-2", relation="兄弟", declared_on=date(2024, 2, 1), at=AT)
    b = batch(rs)
    own, kin, clean = pay(rs, b, cadre_home), pay(rs, b, kin_home), pay(rs, b, other)
    assert set(causes(rs, "KIN")) == {f"KIN:payment_line:{own.id}", f"KIN:payment_line:{kin.id}"}
    assert clean.id not in {int(k.rsplit(":", 1)[1]) for k in causes(rs, "KIN")}


@ROWS_MADE_DIRECTLY
def test_account_finds_a_line_paid_to_an_account_not_held_by_the_household(rs: Session) -> None:
    mine, theirs = household(rs, "H-1", 1), household(rs, "H-2", 2)
    records.set_account_holder(rs, ACTOR, household="H-1", holder_name="成员10", recorded_on=date(2025, 1, 1), at=AT)
    records.set_account_holder(rs, ACTOR, household="H-2", holder_name="外人甲", recorded_on=date(2025, 1, 1), at=AT)
    b = batch(rs)
    pay(rs, b, mine)
    bad = pay(rs, b, theirs)
    assert set(causes(rs, "ACCOUNT")) == {f"ACCOUNT:payment_line:{bad.id}"}


@ROWS_MADE_DIRECTLY
def test_duplicate_finds_a_split_shortly_before_a_roster_and_a_household_paid_twice(rs: Session) -> None:
    old, new, late = household(rs, "H-1", 1), household(rs, "H-2", 2), household(rs, "H-3", 3)
    records.record_split(rs, ACTOR, household="H-2", from_household="H-1", split_on=date(2025, 3, 1), at=AT)
    records.record_split(rs, ACTOR, household="H-3", from_household="H-1", split_on=date(2024, 1, 1), at=AT)
    batch(rs, kind="beneficiary_roster")  # executed on 1 June 2025: 92 days after the first split, 517 after the other
    twice = batch(rs)
    pay(rs, twice, old)
    pay(rs, twice, old, attempt=2)
    pay(rs, twice, late)
    assert set(causes(rs, "DUPLICATE")) == {f"DUPLICATE:household:{new.household_no}",
                                           f"DUPLICATE:household:{old.household_no}"}


def settled(session: Session, period: tuple[str, str], lines: list[tuple[str, str, int]]) -> PaymentBatch:
    """A batch paying a settlement run of `period` whose output pays each (contract, payee, paid_fen)."""
    b = batch(session, kind="township_project")
    run = session.get(Run, b.run_id)
    assert run is not None
    run.kind = "settlement"
    run.input_json = {"kind": "settlement", "period": {"start": period[0], "end": period[1]}}
    run.output_json = {"kind": "settlement", "lines": [
        {"contract": c, "payee": p, "kind": "equity_dividend", "class": 2, "due_fen": paid, "paid_fen": paid,
         "arrears_fen": 0, "basis": {}} for c, p, paid in lines]}
    session.flush()
    return b


@ROWS_MADE_DIRECTLY
def test_duplicate_finds_a_contract_period_paid_by_two_batches_whose_periods_overlap(rs: Session) -> None:
    p = project(rs, 1)
    twice, once, apart = household(rs, "H-1", 1), household(rs, "H-2", 2), household(rs, "H-3", 3)
    for hh, code in ((twice, "C-T"), (once, "C-O"), (apart, "C-A")):
        link(rs, p, hh, code)
    first = settled(rs, ("2025-01-01", "2025-12-31"), [("C-T", "H-1", 5000), ("C-O", "H-2", 5000),
                                                       ("C-A", "H-3", 5000)])
    a = pay(rs, first, twice)
    pay(rs, first, once)
    pay(rs, first, apart)
    # A second settlement of part of the same year: it pays C-T again (pending), and C-O only on a line that failed.
    second = settled(rs, ("2025-07-01", "2025-12-31"), [("C-T", "H-1", 2500), ("C-O", "H-2", 2500)])
    b = pay(rs, second, twice, status="pending")
    pay(rs, second, once, status="failed")
    # The next year pays C-A for a period that does not overlap the first; nor does a zero line pay anything.
    pay(rs, settled(rs, ("2026-01-01", "2026-12-31"), [("C-A", "H-3", 5000), ("C-T", "H-1", 0)]), apart)
    found = {k: v for k, v in causes(rs, "DUPLICATE").items() if k.startswith("DUPLICATE:contract:")}
    assert set(found) == {"DUPLICATE:contract:C-T"}
    rows = found["DUPLICATE:contract:C-T"]["rows"]
    assert sorted((r["table"], r["id"]) for r in rows) == sorted(("payment_lines", x.id) for x in (a, b))
    assert found["DUPLICATE:contract:C-T"]["region"] == VILLAGE
    b.status = "written_off"
    rs.flush()
    assert not any(k.startswith("DUPLICATE:contract:") for k in causes(rs, "DUPLICATE"))


@ROWS_MADE_DIRECTLY
def test_notice_finds_money_moved_without_a_notice_with_a_short_one_or_with_an_open_objection(rs: Session) -> None:
    good = batch(rs)
    none, short, objected = batch(rs, notice_days=None), batch(rs, notice_days=3), batch(rs, objection_open=True)
    found = causes(rs, "NOTICE")
    assert set(found) == {f"NOTICE:payment_batch:{b.id}" for b in (none, short, objected)}
    assert f"NOTICE:payment_batch:{good.id}" not in found
    assert "公示期不足" in sup._summary("NOTICE", found[f"NOTICE:payment_batch:{short.id}"]["details"])


@ROWS_MADE_DIRECTLY
def test_flat_finds_an_executed_allocation_with_the_flat_warning(rs: Session) -> None:
    flat = batch(rs, warnings=[{"code": "flat_distribution", "message": "平均分配"}])
    batch(rs, warnings=[{"code": "cap_applied", "message": "超过每户上限"}])
    batch(rs, state="approved", warnings=[{"code": "flat_distribution", "message": "平均分配"}])
    assert set(causes(rs, "FLAT")) == {f"FLAT:matter:{flat.matter_id}"}


@ROWS_MADE_DIRECTLY
def test_idle_finds_income_retained_or_lines_unpaid_past_the_set_days(rs: Session) -> None:
    hh = household(rs, "H-1", 1)
    old = batch(rs, created=AT - timedelta(days=120))
    pay(rs, old, hh, status="pending")
    fresh = batch(rs, created=AT - timedelta(days=10))
    pay(rs, fresh, hh, status="pending")
    p = project(rs, 1)
    link_c = link(rs, p, hh, "C-1")
    rs.add(RetainedDividend(village_code=VILLAGE, county_code=COUNTY, year=2024, project_id=p.id,
                            contract_id=link_c.id, run_id=old.run_id, days=30, due_fen=100, amount_fen=100))
    rs.flush()
    assert set(causes(rs, "IDLE")) == {f"IDLE:payment_batch:{old.id}", f"IDLE:village:{VILLAGE}"}


# ---------------------------------------------------------------- the scan


def test_the_scan_opens_each_cause_once_and_a_cause_gone_is_marked_not_deleted(rs: Session) -> None:
    lonely = project(rs, 1)
    project(rs, 2, expected_return="0.01")
    first = sup.scan(rs, ACTOR, COUNTY, AT)
    keys = set(rs.scalars(select(Finding.finding_key)))
    assert {f"NO_LINK:project:{lonely.code}", "RETURN:project:P-002", "NO_LINK:project:P-002"} <= keys
    assert len(first.opened) == len(keys)
    f = rs.scalar(select(Finding).where(Finding.finding_key == f"NO_LINK:project:{lonely.code}"))
    assert f.status == "open" and f.severity == "high" and f.region_code == VILLAGE
    assert f.evidence["rows"] == [{"table": "projects", "id": lonely.id}] and f.evidence["ledger"]
    size = ledger_size(rs)
    again = sup.scan(rs, ACTOR, COUNTY, AT + timedelta(hours=1))
    assert again.changed == 0 and ledger_size(rs) == size
    assert rs.scalar(select(func.count()).select_from(Finding)) == len(keys)
    link(rs, lonely, household(rs, "H-1", 1), "C-1")  # the cause is gone
    third = sup.scan(rs, ACTOR, COUNTY, AT + timedelta(hours=2))
    assert third.gone == [f.id]
    # the new contract makes its entity carry all the township's linked households: that cause is new
    assert {rs.get(Finding, i).rule for i in third.opened} == {"CONCENTRATION"}
    rs.refresh(f)
    assert f.cause_gone_at is not None and f.status == "open"
    assert sup.scan(rs, ACTOR, COUNTY, AT + timedelta(hours=3)).changed == 0
    assert rs.scalar(select(func.count()).select_from(Finding)) == len(keys) + len(third.opened)


def test_only_the_district_runs_the_scan(rs: Session) -> None:
    township = Actor(id="t", role=Role.TOWNSHIP_OFFICIAL, region=TOWN)
    with pytest.raises(Forbidden):
        sup.scan(rs, township, COUNTY, AT)
    with pytest.raises(InputError) as err:
        sup.scan(rs, ACTOR, "999999", AT)
    assert err.value.field == "county"


def test_thresholds_are_checked_and_kept_per_county(rs: Session) -> None:
    assert sup.county_thresholds(rs, COUNTY)["concentration_share"] == "0.30"
    for key, value in (("idle_days", "ninety"), ("concentration_share", "1.5"), ("arrears_days", "2.5"),
                       ("nonsense", "1")):
        with pytest.raises(InputError):
            sup.set_thresholds(rs, ACTOR, COUNTY, {key: value}, AT)
    assert sup.set_thresholds(rs, ACTOR, COUNTY, {"idle_days": "60"}, AT)["idle_days"] == "60"
    assert sup.county_thresholds(rs, COUNTY)["arrears_days"] == "30"


def test_a_scan_opening_many_findings_states_each_in_an_entry_of_bounded_size_and_a_rescan_adds_nothing(
        rs: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sup, "ENTRY_ROWS", 2)
    lonely = [project(rs, n) for n in range(1, 6)]
    size = ledger_size(rs)
    first = sup.scan(rs, ACTOR, COUNTY, AT)
    no_link = {f.id for f in rs.scalars(select(Finding).where(Finding.rule == "NO_LINK"))}
    assert len(no_link) == len(lonely) and no_link <= set(first.opened)
    entries = [b for b in ledger_bodies(rs)[size:] if b["type"] == "finding.opened"]
    stated = [e["facts"]["findings"] for e in entries if e["facts"]["rule"] == "NO_LINK"]
    assert [len(s) for s in stated] == [2, 2, 1] and {i for s in stated for i in s} == no_link
    assert all(len(e["facts"].get("rows", [e["facts"].get("row")])) == len(e["facts"]["findings"]) for e in entries)
    again = sup.scan(rs, ACTOR, COUNTY, AT + timedelta(hours=1))
    assert again.changed == 0 and rs.scalar(select(func.count()).select_from(Finding)) == len(first.opened)
    # (the ledger still verifies after this test: each finding's row digest, worked out from the values written,
    # is the digest of the row read back)
