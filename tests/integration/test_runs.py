"""Runs from the database: `daipin settle` / `daipin allocate` store input, output and digests; calc agrees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db.session import reset_engine
from daipin.domain.canonical import digest
from daipin.domain.engine import calculate
from daipin.domain.errors import InputError
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service as reg
from daipin.services.runs import service as runs
from tests.integration.registry_support import (
    ACTOR,
    AT,
    VILLAGE,
    household,
    ledger_bodies,
    project,
    rs_fixture,  # noqa: F401
    sign,
)


@pytest.fixture
def cli_db(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DAIPIN_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    reset_engine(None)
    yield CliRunner()
    reset_engine(None)


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.stderr if hasattr(result, "stderr") else "")
    return result.stdout


def test_settle_on_the_sample_district_gives_what_calc_gives_on_the_stored_document(
        cli_db: CliRunner, tmp_path: Path) -> None:
    _ok(cli_db, "init")
    _ok(cli_db, "sample", "load")
    out = json.loads(_ok(cli_db, "settle", "--project", "DA-2022-001", "--year", "2025"))
    assert out["kind"] == "settlement" and out["totals"]["due_fen"] > 0
    listed = _ok(cli_db, "runs", "list").strip().splitlines()
    run_id = listed[-1].split("\t")[0]
    doc = json.loads(_ok(cli_db, "runs", "show", run_id, "--input"))
    path = tmp_path / "input.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    again = json.loads(_ok(cli_db, "calc", str(path)))
    assert again == out
    assert listed[-1].split("\t")[-1] == digest(out)
    stored = json.loads(_ok(cli_db, "runs", "show", run_id))
    assert stored == out
    alloc = json.loads(_ok(cli_db, "allocate", "--village", "231002001001", "--year", "2025"))
    assert sum(alloc["households"].values()) + alloc["retained_fen"] + alloc["undistributed_fen"] == 30_000_000
    assert cli_db.invoke(app, ["sample", "load"]).exit_code == 2  # refuses a second load


def test_a_settlement_document_takes_statuses_as_of_the_period_end_and_days_from_work_records(rs: Session) -> None:
    p = project(rs)
    poor = household(rs, "H-1", 1)
    worker = household(rs, "H-2", 2, status="non_poor")
    dynamic.change_household_status(rs, ACTOR, poor.id, "exited", date(2026, 3, 1), "脱贫",
                                datetime(2026, 3, 1, 8, 0, tzinfo=UTC), exit_year=2026)
    lease = sign(rs, ACTOR, code="C-1", model="asset_lease", project_id=p.id,
                               start_date=date(2024, 1, 1), end_date=date(2030, 12, 31),
                               terms={"annual_rent_fen": 1_200_000}, payee_village_code=VILLAGE, at=AT)
    sign(rs, ACTOR, code="C-2", model="fixed_interest", project_id=p.id, start_date=date(2025, 4, 1),
                       end_date=date(2027, 3, 31), terms={"principal_fen": 1_000_000, "annual_rate": "0.08"},
                       payee_household_id=poor.id, at=AT)
    emp = sign(rs, ACTOR, code="C-3", model="employment", project_id=p.id, start_date=date(2025, 1, 1),
                             end_date=date(2025, 12, 31), person_id=reg.members(rs, worker.id)[0].id,
                             terms={"position": "工人", "hours": "8小时", "wage_basis": "day", "wage_fen": 15000,
                                    "pay_cycle": "monthly"}, payee_household_id=worker.id, at=AT)
    sign(rs, ACTOR, code="C-4", model="fund_support", project_id=p.id, start_date=date(2025, 1, 1),
                       end_date=date(2025, 12, 31), terms={"amount_fen": 1, "purpose": "购牛", "support_type": "grant"},
                       payee_household_id=poor.id, at=AT)
    sign(rs, ACTOR, code="C-5", model="asset_lease", project_id=p.id, start_date=date(2026, 1, 1),
                       end_date=date(2026, 12, 31), terms={"annual_rent_fen": 5}, payee_village_code=VILLAGE, at=AT)
    for days in ("40", "22.5"):
        reg.record_work(rs, ACTOR, kind="employment", household_id=worker.id, contract_id=emp.id,
                        period_start=date(2025, 5, 1), period_end=date(2025, 5, 31), days=days, at=AT)
    with pytest.raises(InputError) as err:
        runs.build_settlement_document(rs, p.id, 2025)
    assert err.value.code == "no_profit_record"
    reg.record_profit(rs, ACTOR, p.id, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
                      profit_fen=-1_250_000, cash_available_fen=1_800_000, at=AT)
    doc = runs.build_settlement_document(rs, p.code, 2025)
    assert [c["id"] for c in doc["contracts"]] == ["C-1", "C-2", "C-3"]
    assert doc["contracts"][1]["start"] == "2025-04-01" and "end" not in doc["contracts"][1]
    assert doc["contracts"][2]["days_worked"] == "62.5" and doc["contracts"][2]["wage_fen_per_day"] == 15000
    assert {p["id"]: p.get("status") for p in doc["payees"]} == {VILLAGE: None, "H-1": "poor", "H-2": "non_poor"}
    run = runs.run_settlement(rs, ACTOR, p.id, 2025, AT)
    assert run.output_json == calculate(doc)
    assert run.input_digest == digest(doc) and run.output_digest == digest(run.output_json)
    body = ledger_bodies(rs)[-1]
    assert body["type"] == "run.settlement" and body["facts"]["output_digest"] == run.output_digest
    assert run.ledger_index == body["index"]
    assert lease.code == "C-1"


def test_a_village_allocation_uses_the_stored_plan_and_year_end_registry(rs: Session) -> None:
    a = household(rs, "H-1", 1, labors=("none", "none"))
    b = household(rs, "H-2", 2, labors=("full",))
    household(rs, "H-3", 3, status="exited", labors=("full",))
    gone = household(rs, "H-4", 4, labors=("none",))
    dynamic.record_move(rs, ACTOR, gone.id, date(2025, 6, 1), AT)
    reg.record_work(rs, ACTOR, kind="public_welfare_post", household_id=b.id, post="保洁",
                    period_start=date(2025, 3, 1), period_end=date(2025, 11, 30), days="100", daily_wage_fen=5000,
                    at=AT)
    reg.record_contribution(rs, ACTOR, household_id=b.id, year=2025, points="120", at=AT)
    with pytest.raises(InputError) as err:
        runs.save_allocation_plan(rs, ACTOR, village_code=VILLAGE, year=2025, pool_fen=1_000_000, at=AT,
                                  buckets=[{"name": "公益岗位", "share": "0.6", "rule": "wages"}])
    assert err.value.field == "buckets"
    runs.save_allocation_plan(rs, ACTOR, village_code=VILLAGE, year=2025, pool_fen=1_000_000, at=AT,
                              buckets=[{"name": "公益岗位", "share": "0.6", "rule": "wages"},
                                       {"name": "兜底保障", "share": "0.3", "rule": "direct_support", "per": "person"},
                                       {"name": "小型公益事业", "share": "0.1", "rule": "retain"}])
    doc = runs.build_village_allocation_document(rs, VILLAGE, 2025)
    assert [h["id"] for h in doc["households"]] == ["H-1", "H-2", "H-3"]
    assert doc["households"][0] == {"id": "H-1", "status": "poor", "labor": "none", "members": 2}
    assert doc["work"] == [{"household": "H-2", "kind": "public_welfare_post", "post": "保洁", "days": "100",
                            "daily_wage_fen": 5000}]
    run = runs.run_village_allocation(rs, ACTOR, VILLAGE, 2025, AT)
    out = run.output_json
    assert out["households"] == {"H-1": 300_000, "H-2": 500_000}
    assert a.household_no in out["households"]
