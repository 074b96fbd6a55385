"""Contracts in force during a period: each version is in force from a date, and a period's settlement reads
each contract as its version in force on the period's last day (ENGINE.md: payees' statuses as of the period
end, contracts in force during the period), so what is recorded later never reaches back into a past year."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db import migrate
from daipin.db.models.registry import Contract, ContractVersion, Household
from daipin.db.session import make_engine, reset_engine
from daipin.domain.errors import Conflict, InputError
from daipin.services.contracts import service as svc
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import records as records
from daipin.services.registry import service as reg
from daipin.services.runs import service as runs
from tests.integration.api_support import command_line_clock
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

QUANTIFIED = {"contribution_kind": "quantified_fund", "contribution_value_fen": 500000, "shares": "5000",
              "profit_share": "0.01", "annual_floor_fen": 40000}
LATER = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # recorded after the 2025 settlement


def _profits(session: Session, project_id: int, *years: int) -> None:
    for year in years:
        reg.record_profit(session, ACTOR, project_id, period_start=date(year, 1, 1), period_end=date(year, 12, 31),
                          profit_fen=2_000_000, at=AT)


def _line(doc: dict[str, Any], code: str) -> dict[str, Any] | None:
    return next((c for c in doc["contracts"] if c["id"] == code), None)


def _state(session: Session, c: Contract) -> tuple[Any, ...]:
    count = session.scalar(select(func.count()).select_from(ContractVersion)
                           .where(ContractVersion.contract_id == c.id))
    return c.version, dict(c.terms), c.status, c.payee_household_id, c.end_date, count, ledger_size(session)


def _share(session: Session, p: Any, hh: Any, code: str = "C-Q") -> Contract:
    return sign(session, ACTOR, code=code, model="shareholding", project_id=p.id,
                             start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), terms=dict(QUANTIFIED),
                             payee_household_id=hh.id, at=AT)


def test_a_share_reassigned_after_the_period_keeps_the_old_payee_for_it_and_the_new_one_gets_the_next(
        rs: Session) -> None:
    p = project(rs)
    old, new = household(rs, "H-1", 1), household(rs, "H-2", 2)
    c = _share(rs, p, old)
    _profits(rs, p.id, 2025, 2026)
    before = runs.build_settlement_document(rs, p.id, 2025)
    assert _line(before, "C-Q")["payee"] == "H-1"  # type: ignore[index]
    dynamic.change_household_status(rs, ACTOR, old.id, "exited", date(2026, 6, 1), "脱贫", LATER,
                                exit_year=2026)
    with pytest.raises(InputError) as early:  # not before the share was freed (version 2, from 2026-06-01)
        reassign(rs, ACTOR, c, new, on=date(2026, 5, 31), at=LATER)
    assert early.value.field == "document.reassignments[0].on" and c.version == 2
    assert "早于第2版的生效日期 2026-06-01" in early.value.message_zh
    reassign(rs, ACTOR, c, new, on=date(2026, 11, 20), at=LATER)
    assert [(h["version"], h["effective_from"], h["status"]) for h in svc.history(rs, c.id)] == [
        (1, "2025-01-01", "active"), (2, "2026-06-01", "pending_reassignment"), (3, "2026-11-20", "active")]
    assert runs.build_settlement_document(rs, p.id, 2025) == before
    later = runs.build_settlement_document(rs, p.id, 2026)
    # 2026 is paid by the days each held it; the days it waited for reassignment go to the village's pool.
    assert _line(later, "C-Q")["payee"] == VILLAGE  # type: ignore[index]
    assert _line(later, "C-Q")["holders"] == [  # type: ignore[index]
        {"payee": "H-1", "start": "2026-01-01", "end": "2026-05-31"},
        {"payee": "H-2", "start": "2026-11-20", "end": "2026-12-31"}]
    assert {x["id"]: x.get("status") for x in later["payees"]} == {"H-1": "exited", "H-2": "poor", VILLAGE: None}
    run = runs.run_settlement(rs, ACTOR, p.id, 2025, LATER)
    assert run.input_json == before


def test_a_later_amendment_does_not_change_a_past_year(rs: Session) -> None:
    p = project(rs)
    lease = sign(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id,
                              start_date=date(2025, 1, 1), end_date=date(2030, 12, 31),
                              terms={"annual_rent_fen": 1_200_000}, payee_village_code=VILLAGE, at=AT)
    _profits(rs, p.id, 2025, 2026, 2027)
    before = runs.build_settlement_document(rs, p.id, 2025)
    state = _state(rs, lease)
    with pytest.raises(InputError) as err:
        svc.amend_contract(rs, ACTOR, lease.id, terms={"annual_rent_fen": 1_000_000}, reason="租金下调",
                           effective_from=date(2024, 12, 31), at=LATER)
    assert err.value.field == "effective_from" and "早于协议起始日期" in err.value.message_zh
    assert _state(rs, lease) == state
    v = svc.amend_contract(rs, ACTOR, lease.id, terms={"annual_rent_fen": 1_000_000}, reason="2027年起租金下调",
                           effective_from=date(2027, 1, 1), at=LATER)
    assert v.effective_from == date(2027, 1, 1)
    assert runs.build_settlement_document(rs, p.id, 2025) == before
    assert _line(runs.build_settlement_document(rs, p.id, 2026), "C-1")["annual_rent_fen"] == 1_200_000  # type: ignore[index]
    assert _line(runs.build_settlement_document(rs, p.id, 2027), "C-1")["annual_rent_fen"] == 1_000_000  # type: ignore[index]
    with pytest.raises(InputError) as err:  # not before the version it follows
        svc.amend_contract(rs, ACTOR, lease.id, terms={"annual_rent_fen": 900_000}, reason="再调",
                           effective_from=date(2026, 6, 1), at=LATER)
    assert err.value.field == "effective_from" and "第2版" in err.value.message_zh
    # Without a date the amendment holds from the day it is recorded, in Beijing (2026-12-01 10:00 there).
    v3 = svc.amend_contract(rs, ACTOR, lease.id, end_date=date(2029, 12, 31), reason="缩短租期", at=LATER)
    assert v3.effective_from == date(2027, 1, 1)  # not before version 2's date
    assert runs.build_settlement_document(rs, p.id, 2025) == before


def test_an_amendment_without_a_date_holds_from_the_day_it_is_recorded_in_beijing(rs: Session) -> None:
    p = project(rs)
    lease = sign(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id,
                              start_date=date(2025, 1, 1), end_date=date(2030, 12, 31),
                              terms={"annual_rent_fen": 1_200_000}, payee_village_code=VILLAGE, at=AT)
    v = svc.amend_contract(rs, ACTOR, lease.id, terms={"annual_rent_fen": 1_000_000}, reason="租金下调",
                           at=datetime(2026, 3, 31, 17, 0, tzinfo=UTC))
    assert v.effective_from == date(2026, 4, 1)
    assert svc.history(rs, lease.id)[-1]["effective_from"] == "2026-04-01"


def test_a_household_that_died_out_after_the_period_end_is_still_paid_for_the_period(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    c = _share(rs, p, hh)
    _profits(rs, p.id, 2025)
    before = runs.build_settlement_document(rs, p.id, 2025)
    dynamic.record_death(rs, ACTOR, reg.members(rs, hh.id)[0].id, date(2026, 10, 1), LATER)
    assert c.status == "pending_reassignment"
    doc = runs.build_settlement_document(rs, p.id, 2025)
    assert doc == before
    assert _line(doc, "C-Q")["payee"] == "H-1" and doc["payees"] == [  # type: ignore[index]
        {"id": "H-1", "type": "household", "status": "poor"}]
    # A household that died out within the period: it is paid for the days it held the share, the rest of the
    # year (pending reassignment) goes to the village's retained pool.
    _profits(rs, p.id, 2026)
    line = _line(runs.build_settlement_document(rs, p.id, 2026), "C-Q")
    assert line is not None and line["payee"] == VILLAGE
    assert line["holders"] == [{"payee": "H-1", "start": "2026-01-01", "end": "2026-09-30"}]


def test_a_quantified_share_cannot_be_made_inheritable_by_amending_its_contribution_kind(rs: Session) -> None:
    p = project(rs)
    hh, heir = household(rs, "H-1", 1), household(rs, "H-2", 2)
    c = _share(rs, p, hh)
    dynamic.record_death(rs, ACTOR, reg.members(rs, hh.id)[0].id, date(2026, 10, 1), LATER)
    state = _state(rs, c)
    with pytest.raises(InputError) as err:
        svc.amend_contract(rs, ACTOR, c.id, terms={**QUANTIFIED, "contribution_kind": "own_money"},
                           reason="改为自有资金入股", at=LATER)
    assert err.value.field == "terms.contribution_kind" and "入股方式不能通过变更修改" in err.value.message_zh
    assert _state(rs, c) == state
    with pytest.raises(Conflict) as refused:
        svc.transfer_share_to_heir(rs, ACTOR, c.id, heir.id, reason="继承", at=LATER)
    assert refused.value.code == "not_inheritable"
    # Through `daipin record amendment` the same.
    with pytest.raises(InputError) as err:
        records.record_all(rs, ACTOR, "amendment", {"contract": "C-Q", "reason": "改为自有资金入股",
                                                    "terms": {**QUANTIFIED, "contribution_kind": "own_money"}}, LATER)
    assert err.value.field == "terms.contribution_kind"
    assert _state(rs, c) == state
    # Its other terms may still be amended.
    v = svc.amend_contract(rs, ACTOR, c.id, terms={**QUANTIFIED, "annual_floor_fen": 50000}, reason="保底上调",
                           at=LATER)
    assert v.terms["contribution_kind"] == "quantified_fund"


def test_a_termination_after_the_contracts_end_is_refused_and_one_within_holds_from_its_date(rs: Session) -> None:
    p = project(rs)
    lease = sign(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id,
                              start_date=date(2025, 1, 1), end_date=date(2027, 12, 31),
                              terms={"annual_rent_fen": 1_200_000}, payee_village_code=VILLAGE, at=AT)
    _profits(rs, p.id, 2025, 2026)
    state = _state(rs, lease)
    with pytest.raises(InputError) as err:
        svc.terminate_contract(rs, ACTOR, lease.id, on=date(2030, 1, 1), reason="资产收回", at=LATER)
    assert err.value.field == "on" and "终止日期晚于协议到期日" in err.value.message_zh
    assert _state(rs, lease) == state and lease.status == "active"
    v = svc.terminate_contract(rs, ACTOR, lease.id, on=date(2026, 6, 30), reason="资产收回", at=LATER)
    assert (v.effective_from, v.end_date, v.status) == (date(2026, 6, 30), date(2026, 6, 30), "terminated")
    assert "end" not in _line(runs.build_settlement_document(rs, p.id, 2025), "C-1")  # type: ignore[operator]
    assert _line(runs.build_settlement_document(rs, p.id, 2026), "C-1")["end"] == "2026-06-30"  # type: ignore[index]


def test_a_change_made_from_a_version_no_longer_current_is_refused(rs: Session) -> None:
    p = project(rs)
    lease = sign(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id,
                              start_date=date(2025, 1, 1), end_date=date(2027, 12, 31),
                              terms={"annual_rent_fen": 1_200_000}, payee_village_code=VILLAGE, at=AT)
    svc.amend_contract(rs, ACTOR, lease.id, terms={"annual_rent_fen": 1_300_000}, reason="上调", at=LATER,
                       expected_version=1)
    state = _state(rs, lease)
    for change in (lambda: svc.amend_contract(rs, ACTOR, lease.id, terms={"annual_rent_fen": 1_100_000},
                                              reason="下调", at=LATER, expected_version=1),
                   lambda: svc.terminate_contract(rs, ACTOR, lease.id, on=date(2026, 6, 30), reason="收回",
                                                  at=LATER, expected_version=1)):
        with pytest.raises(Conflict) as err:
            change()
        assert err.value.status == 409 and err.value.field == "version"
        assert err.value.message_zh == "协议已被变更为第2版，请刷新后重试"
        assert _state(rs, lease) == state


def test_record_amendment_takes_an_effective_date(rs: Session) -> None:
    p = project(rs)
    sign(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id, start_date=date(2025, 1, 1),
                      end_date=date(2030, 12, 31), terms={"annual_rent_fen": 1_200_000}, payee_village_code=VILLAGE,
                      at=AT)
    records.record_all(rs, ACTOR, "amendment", {"contract": "C-1", "reason": "2027年起租金下调",
                                                "terms": {"annual_rent_fen": 1_000_000},
                                                "effective_from": "2027-01-01"}, LATER)
    assert [h["effective_from"] for h in svc.history(rs, "C-1")] == ["2025-01-01", "2027-01-01"]


# ------------------------------------------------------------------ the sample district through the CLI

@pytest.fixture
def cli_db(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, str]]:
    monkeypatch.setenv("DAIPIN_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    reset_engine(None)
    yield CliRunner(), fresh_db_url
    reset_engine(None)


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def test_the_sample_districts_2025_settlement_stays_as_it_was_after_2026_changes(
        cli_db: tuple[CliRunner, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner, url = cli_db
    command_line_clock(monkeypatch, datetime(2026, 11, 21, 10, 0, tzinfo=UTC))
    _ok(runner, "init")
    _ok(runner, "sample", "load")
    first = json.loads(_ok(runner, "settle", "--project", "DA-2022-001", "--year", "2025"))
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            share = s.scalar(select(Contract).where(Contract.code == "HT-2025-0008"))
            assert share is not None and share.terms["contribution_kind"] == "quantified_fund"
            holder = s.get(Household, share.payee_household_id)
            assert holder is not None
            other = s.scalar(select(Household.household_no).where(
                Household.village_code == holder.village_code, Household.id != holder.id,
                Household.status.in_(("poor", "monitored")), Household.life_state == "alive")
                .order_by(Household.household_no).limit(1))
            lease = s.scalar(select(Contract).where(Contract.project_id == share.project_id,
                                                    Contract.model == "asset_lease"))
            assert lease is not None
            holder_no, lease_code, rent = holder.household_no, lease.code, dict(lease.terms)
    finally:
        engine.dispose()
    docs = {
        "household-status": {"household": holder_no, "status": "exited", "from_date": "2026-06-01", "exit_year": 2026,
                             "reason": "家庭收入稳定超过标准"},
        "amendment": {"contract": lease_code, "reason": "2027年起租金下调", "effective_from": "2027-01-01",
                      "terms": {**rent, "annual_rent_fen": rent["annual_rent_fen"] // 2}},
    }
    for kind, record in docs.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        _ok(runner, "record", kind, str(path))
        if kind == "household-status":
            # The freed share goes to its new holder only by the village's share-quantification matter.
            engine = make_engine(url)
            try:
                with Session(engine) as s:
                    reassign(s, ACTOR, share.id, s.scalar(select(Household).where(Household.household_no == other)),
                             on=date(2026, 11, 20), at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC))
                    s.commit()
            finally:
                engine.dispose()
    again = json.loads(_ok(runner, "settle", "--project", "DA-2022-001", "--year", "2025"))
    assert again == first
    assert [x["payee"] for x in again["lines"] if x["contract"] == "HT-2025-0008"] == [holder_no]
    shown = json.loads(_ok(runner, "contracts", "history", "HT-2025-0008"))
    assert [v["effective_from"] for v in shown] == ["2024-01-01", "2026-06-01", "2026-11-20"]
    # Rows stored before the column existed are filled by the migration from what is stored: the contract's
    # start, else the date the ledger entry of the change records (a reassignment's, a freed share's `on`, an
    # amendment's effective date).
    engine = make_engine(url)
    try:
        migrate.downgrade(engine, "0005_roster_indexes")
        migrate.upgrade(engine)
        with Session(engine) as s:
            filled = {(code, v): day for code, v, day in s.execute(
                select(Contract.code, ContractVersion.version, ContractVersion.effective_from)
                .join(Contract, Contract.id == ContractVersion.contract_id)
                .where(Contract.code.in_(("HT-2025-0008", lease_code))))}
    finally:
        engine.dispose()
    assert filled == {("HT-2025-0008", 1): date(2024, 1, 1), ("HT-2025-0008", 2): date(2026, 6, 1),
                      ("HT-2025-0008", 3): date(2026, 11, 20), (lease_code, 1): date(2024, 1, 1),
                      (lease_code, 2): date(2027, 1, 1)}


def test_an_heir_transfer_takes_effect_no_earlier_than_the_version_it_follows(rs: Session) -> None:
    p = project(rs)
    holder, heir = household(rs, "H-1", 1), household(rs, "H-2", 2, status="non_poor")
    land = sign(rs, ACTOR, code="C-L", model="shareholding", project_id=p.id,
                             start_date=date(2025, 1, 1), end_date=date(2030, 12, 31),
                             terms={"contribution_kind": "land_rights", "contribution_value_fen": 800000,
                                    "shares": "8000", "profit_share": "0.01"}, payee_household_id=holder.id, at=AT)
    for person in reg.members(rs, holder.id):
        dynamic.record_death(rs, ACTOR, person.id, date(2026, 6, 1), LATER)
    assert holder.life_state == "died_out" and land.version == 1  # a land share is not freed, it waits for heirs
    with pytest.raises(InputError) as early:  # before version 1 was in force
        svc.transfer_share_to_heir(rs, ACTOR, land.id, heir.id, reason="法定继承", at=LATER, on=date(2024, 12, 31))
    assert early.value.field == "on" and land.version == 1 and land.payee_household_id == holder.id
    svc.transfer_share_to_heir(rs, ACTOR, land.id, heir.id, reason="法定继承", at=LATER, on=date(2026, 6, 2))
    assert land.version == 2 and land.payee_household_id == heir.id
