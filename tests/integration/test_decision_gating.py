"""Decision-gated actions (WORKFLOW.md): a contract committing quantified poverty funds or collective assets, a
share quantification (and the reassignment of a freed quantified share), and an asset's lease, pledge or disposal
take effect only by executing the approved matter of that kind. Before, such matters changed nothing when executed
while `sign_contract`, share issuance and `reassign_share` (with a free-text decision reference) needed no decided
matter. Contract changes take a row lock: of processes changing one contract at once on PostgreSQL, one wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Asset, Contract
from daipin.db.models.workflow import Matter
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, InputError
from daipin.services.contracts import service as contracts
from daipin.services.dynamic import service as dynamic
from daipin.services.matters import service as wf
from daipin.services.registry import service as reg
from tests.conftest import create_database, drop_database
from tests.integration.registry_support import (
    ACTOR,
    AT,
    VILLAGE,
    VILLAGE_B,
    household,
    ledger_bodies,
    ledger_size,
    project,
    reassign,
    rs_fixture,  # noqa: F401
    walk_matter,
)

LEASE = {"annual_rent_fen": 1_200_000}
QUANTIFIED = {"contribution_kind": "quantified_fund", "contribution_value_fen": 500000, "shares": "5000",
              "profit_share": "0.01"}
GATED = [("asset_lease", LEASE), ("equity_dividend", {"profit_share": "0.1"}),
         ("fixed_interest", {"basis": "capital", "principal_fen": 1_000_000, "annual_rate": "0.06"}),
         ("shareholding", QUANTIFIED)]
CADRE = Actor(id="cadre", role=Role.VILLAGE_CADRE, region=VILLAGE)


def _contract_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Contract)) or 0)


@pytest.mark.parametrize(("model", "terms"), GATED, ids=[m for m, _ in GATED])
def test_a_contract_committing_funds_or_assets_is_not_signed_directly(rs: Session, model: str, terms: dict) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    before = ledger_size(rs)
    with pytest.raises(Conflict) as refused:
        contracts.sign_contract(rs, ACTOR, code="C-1", model=model, project_id=p.id, start_date=date(2025, 1, 1),
                                end_date=date(2027, 12, 31), terms=terms, payee_household_id=hh.id, at=AT)
    assert refused.value.code == "decision_required" and refused.value.field == "model"
    assert "事项" in refused.value.message_zh
    assert ledger_size(rs) == before and _contract_count(rs) == 0
    # A contract that commits none of them (a land trusteeship of the household's own land) is signed directly.
    contracts.sign_contract(rs, ACTOR, code="C-T", model="trusteeship", project_id=p.id, start_date=date(2025, 1, 1),
                            end_date=date(2027, 12, 31), payee_household_id=hh.id, at=AT,
                            terms={"asset_kind": "land", "unit": "mu", "units": "3", "annual_fen_per_unit": 450_00,
                                   "duties": ["购买农业保险"]})


def test_executing_the_approved_contract_matter_signs_what_it_decided_and_nothing_before(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    doc = {"kind": "contract", "contracts": [
        {"code": "C-L", "model": "asset_lease", "project": p.code, "start_date": "2025-01-01",
         "end_date": "2027-12-31", "terms": LEASE, "payee_village_code": VILLAGE},
        {"code": "C-Q", "model": "shareholding", "project": p.code, "start_date": "2025-01-01",
         "end_date": "2027-12-31", "terms": QUANTIFIED, "payee_household_no": hh.household_no}]}
    m = wf.draft_matter(rs, CADRE, kind="contract", region=VILLAGE, title="光伏电站租赁及量化入股协议", document=doc,
                        at=AT)
    assert [i["code"] for i in m.preview["items"]] == ["C-L", "C-Q"]
    assert _contract_count(rs) == 0  # drafted, voted and posted: still nothing signed
    wf.withdraw(rs, CADRE, m.id, reason="改为重新起草后表决", at=AT)
    m = walk_matter(rs, ACTOR, "contract", VILLAGE, doc, at=AT)
    assert m.state == "executed"
    signed = {c.code: c for c in rs.scalars(select(Contract))}
    assert set(signed) == {"C-L", "C-Q"} and signed["C-Q"].payee_household_id == hh.id
    assert contracts.history(rs, "C-L")[0]["reason"] == f"依事项 #{m.id} 决议签订"
    entries = [b for b in ledger_bodies(rs) if b["type"] == "contract.sign"]
    assert [e["facts"]["matter"] for e in entries] == [m.id, m.id]
    # Executing again pays and signs once.
    wf.execute(rs, ACTOR, m.id, at=AT.replace(year=2026))
    assert _contract_count(rs) == 2


def test_a_contract_matter_that_could_not_be_signed_is_refused_when_drafted_naming_the_item(rs: Session) -> None:
    p = project(rs)
    before = ledger_size(rs)
    bad = {"kind": "contract", "contracts": [
        {"code": "C-L", "model": "asset_lease", "project": p.code, "start_date": "2025-01-01",
         "end_date": "2027-12-31", "terms": {}, "payee_village_code": VILLAGE}]}
    with pytest.raises(InputError) as refused:
        wf.draft_matter(rs, CADRE, kind="contract", region=VILLAGE, title="租赁协议", document=bad, at=AT)
    assert refused.value.field == "document.contracts[0].terms.annual_rent_fen"
    other = {"kind": "contract", "contracts": [
        {"code": "C-L", "model": "asset_lease", "project": p.code, "start_date": "2025-01-01",
         "end_date": "2027-12-31", "terms": LEASE, "payee_village_code": VILLAGE_B}]}
    with pytest.raises(InputError) as elsewhere:  # another village's collective assets are its own decision
        wf.draft_matter(rs, ACTOR, kind="contract", region=VILLAGE, title="租赁协议", document=other, at=AT)
    assert elsewhere.value.field == "document.contracts[0].payee"
    with pytest.raises(InputError) as free:  # a free description no longer makes a contract matter
        wf.draft_matter(rs, CADRE, kind="contract", region=VILLAGE, title="租赁协议", document={"text": "租给合作社"},
                        at=AT)
    assert free.value.field == "document.kind"
    assert ledger_size(rs) == before


def test_execution_checks_again_and_changes_nothing_when_the_registry_no_longer_allows_it(rs: Session) -> None:
    p = project(rs)
    hh = household(rs, "H-1", 1)
    doc = {"kind": "contract", "contracts": [
        {"code": "C-Q", "model": "shareholding", "project": p.code, "start_date": "2025-01-01",
         "end_date": "2027-12-31", "terms": QUANTIFIED, "payee_household_no": hh.household_no}]}
    m = wf.draft_matter(rs, ACTOR, kind="contract", region=VILLAGE, title="量化入股协议", document=doc, at=AT)
    from datetime import timedelta

    sits = AT + timedelta(days=10)
    mt = wf.call_meeting(rs, ACTOR, m.id, type="villagers_meeting", scheduled_at=sits, place="村委会", at=AT)
    wf.record_attendance(rs, ACTOR, m.id, present_adults=mt.eligible_adults, present_households=mt.eligible_households,
                         first_secretary_present=True, at=sits)
    wf.record_votes(rs, ACTOR, m.id, votes_for=mt.eligible_adults, against=0, abstain=0, at=sits)
    wf.decide(rs, ACTOR, m.id, at=sits)
    wf.submit_for_review(rs, ACTOR, m.id, at=sits)
    wf.review(rs, ACTOR, m.id, decision="approve", comments="程序合规", at=sits)
    wf.publish_notice(rs, ACTOR, m.id, at=sits)
    wf.close_notice(rs, ACTOR, m.id, at=sits + timedelta(days=10))
    # The household leaves poverty before the matter is executed: a quantified share is no longer its to take.
    dynamic.change_household_status(rs, ACTOR, hh.id, "exited", date(2024, 12, 1), "稳定脱贫",
                                    sits + timedelta(days=10), exit_year=2024)
    before = ledger_size(rs)
    with pytest.raises(Conflict), rs.begin_nested():
        wf.execute(rs, ACTOR, m.id, at=sits + timedelta(days=10))
    assert ledger_size(rs) == before and _contract_count(rs) == 0 and m.state == "notice_closed"


def _asset(rs: Session, p: Any, valued: int | None = 2_000_000) -> Asset:
    a = reg.register_asset(rs, ACTOR, code="ZC-1", name="光伏电站", kind="operating", value_fen=3_000_000,
                           project_id=p.id, owner_region_code=VILLAGE, at=AT)
    if valued is not None:
        reg.add_valuation(rs, ACTOR, a.id, valuer="评估公司", valued_on=date(2025, 1, 1), value_fen=valued,
                          report_ref="评报字第1号", at=AT)
    return a


def test_shares_are_quantified_only_on_a_valued_asset_and_only_by_executing_the_matter(rs: Session) -> None:
    p = project(rs)
    one, two = household(rs, "H-1", 1), household(rs, "H-2", 2)
    a = _asset(rs, p, valued=None)
    doc: dict[str, Any] = {"kind": "share_quantification", "asset": a.code, "project": p.code,
                           "start_date": "2025-01-01", "end_date": "2029-12-31", "holders": [
                               {"code": "Q-1", "household_no": one.household_no, "contribution_value_fen": 600_000,
                                "shares": "6000", "profit_share": "0.01"},
                               {"code": "Q-2", "household_no": two.household_no, "contribution_value_fen": 600_000,
                                "shares": "6000", "profit_share": "0.01"}]}
    with pytest.raises(Conflict) as unvalued:
        wf.draft_matter(rs, CADRE, kind="share_quantification", region=VILLAGE, title="光伏资产折股量化",
                        document=doc, at=AT)
    assert unvalued.value.code == "not_valued" and unvalued.value.field == "document.asset"
    reg.add_valuation(rs, ACTOR, a.id, valuer="评估公司", valued_on=date(2025, 1, 1), value_fen=1_000_000,
                      report_ref="评报字第1号", at=AT)
    with pytest.raises(InputError) as too_much:
        wf.draft_matter(rs, CADRE, kind="share_quantification", region=VILLAGE, title="光伏资产折股量化",
                        document=doc, at=AT)
    assert too_much.value.field == "document.holders" and "10,000.00" in too_much.value.message_zh
    doc["holders"][1]["contribution_value_fen"] = 400_000
    m = walk_matter(rs, ACTOR, "share_quantification", VILLAGE, doc, at=AT)
    shares = {c.code: c for c in rs.scalars(select(Contract))}
    assert set(shares) == {"Q-1", "Q-2"}
    assert all(c.model == "shareholding" and c.terms["contribution_kind"] == "quantified_fund"
               for c in shares.values())
    assert shares["Q-2"].terms["contribution_value_fen"] == 400_000
    assert {b["facts"].get("matter") for b in ledger_bodies(rs) if b["type"] == "contract.sign"} == {m.id}


def test_a_freed_share_goes_to_a_new_holder_only_by_the_matter_and_not_by_the_records_import(rs: Session) -> None:
    from daipin.services.registry import records

    p = project(rs)
    old, new = household(rs, "H-1", 1), household(rs, "H-2", 2)
    a = _asset(rs, p)
    walk_matter(rs, ACTOR, "share_quantification", VILLAGE, {
        "kind": "share_quantification", "asset": a.code, "project": p.code, "start_date": "2025-01-01",
        "end_date": "2029-12-31", "holders": [{"code": "Q-1", "household_no": old.household_no,
                                               "contribution_value_fen": 500_000, "shares": "5000",
                                               "profit_share": "0.01"}]}, at=AT)
    share = rs.scalar(select(Contract).where(Contract.code == "Q-1"))
    assert share is not None
    dynamic.change_household_status(rs, ACTOR, old.id, "exited", date(2025, 5, 1), "稳定脱贫", AT, exit_year=2025)
    assert share.status == "pending_reassignment"
    assert "reassignment" not in records.KINDS  # no free-text decision reference moves a share any more
    m = reassign(rs, ACTOR, share, new, on=date(2025, 7, 1), at=AT)
    assert share.payee_household_id == new.id and share.status == "active"
    assert contracts.history(rs, "Q-1")[-1]["reason"] == f"依事项 #{m.id} 决议重新分配"


def test_an_asset_is_leased_pledged_or_disposed_of_only_by_executing_its_matter(rs: Session) -> None:
    p = project(rs)
    with pytest.raises(Conflict) as registered:
        reg.register_asset(rs, ACTOR, code="ZC-9", name="冷库", kind="operating", value_fen=1, project_id=p.id,
                           owner_region_code=VILLAGE, status="leased", at=AT)
    assert registered.value.code == "decision_required" and registered.value.field == "status"
    a = _asset(rs, p)
    lease = {"kind": "asset_disposal", "asset": a.code, "action": "lease", "on": "2025-07-01",
             "counterparty": "兴隆种养专业合作社", "value_fen": 120_000, "reason": "闲置期间出租增加集体收入"}
    with pytest.raises(InputError) as personal:
        wf.draft_matter(rs, CADRE, kind="asset_disposal", region=VILLAGE, title="光伏电站出租",
                        document={**lease, "counterparty": "个人 13912345678"}, at=AT)
    assert personal.value.field == "document.counterparty"
    m = wf.draft_matter(rs, CADRE, kind="asset_disposal", region=VILLAGE, title="光伏电站出租", document=lease, at=AT)
    assert a.status == "in_use" and m.preview["action_label"] == "出租"
    wf.withdraw(rs, CADRE, m.id, reason="重新表决", at=AT)
    walk_matter(rs, ACTOR, "asset_disposal", VILLAGE, lease, at=AT)
    assert a.status == "leased"
    entry = [b for b in ledger_bodies(rs) if b["type"] == "asset.status"][-1]
    assert (entry["facts"]["from"], entry["facts"]["to"]) == ("in_use", "leased")
    assert "兴隆种养" not in json.dumps(entry, ensure_ascii=False)  # free text reaches the ledger as a digest
    with pytest.raises(Conflict) as again:  # a leased asset is not leased a second time
        wf.draft_matter(rs, CADRE, kind="asset_disposal", region=VILLAGE, title="再次出租", document=lease, at=AT)
    assert again.value.code == "asset_state"


# ---------------------------------------------------------------- one winner on PostgreSQL

RACER = """
import sys, time
from daipin import bootstrap
bootstrap.configure()
from datetime import date, datetime, timezone
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.domain.errors import DaipinError
from daipin.services.contracts import service as contracts
url, code, start, name = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
reset_engine(make_engine(url))
while time.time() < start:
    time.sleep(0.001)
try:
    with session_scope() as s:
        contracts.terminate_contract(s, SYSTEM_ACTOR, code, on=date(2025, 6, 1), reason="并发终止 " + name,
                                     at=datetime(2025, 7, 1, tzinfo=timezone.utc), expected_version=1)
    print("ok")
except DaipinError as exc:
    print("refused:" + exc.code)
"""


def test_of_four_processes_changing_one_contract_at_once_one_wins(tmp_path: Path) -> None:
    from daipin.db.models.registry import ContractVersion
    from daipin.db.session import make_engine, reset_engine, session_scope
    from daipin.ledger import store
    from daipin.ledger.verify import verify_log
    from daipin.services.registry.service import create_region

    url = create_database("postgresql", str(tmp_path))
    keys = str(tmp_path / "keys")
    os.environ["DAIPIN_KEYS_DIR"] = keys
    engine = make_engine(url)
    reset_engine(engine)
    try:
        with session_scope() as s:
            store.ensure_log(s, county="231002", at=AT)
            create_region(s, ACTOR, code="231002", name="东安区", level="district", at=AT)
            create_region(s, ACTOR, code="231002001", name="兴隆镇", level="township", at=AT)
            create_region(s, ACTOR, code=VILLAGE, name="兴隆村", level="village", at=AT)
            p = project(s)
            hh = household(s, "H-1", 1)
            contracts.sign_contract(s, ACTOR, code="C-T", model="trusteeship", project_id=p.id,
                                    start_date=date(2025, 1, 1), end_date=date(2027, 12, 31),
                                    payee_household_id=hh.id, at=AT,
                                    terms={"asset_kind": "land", "unit": "mu", "units": "3",
                                           "annual_fen_per_unit": 450_00, "duties": ["购买农业保险"]})
        env = {**os.environ, "DAIPIN_DATABASE_URL": url, "DAIPIN_KEYS_DIR": keys}
        start = time.time() + 3
        procs = [subprocess.Popen([sys.executable, "-c", RACER, url, "C-T", str(start), str(i)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
        outs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outs.append(out.strip().splitlines()[-1])
        assert sorted(outs) == ["ok"] + ["refused:stale_version"] * 3
        with session_scope() as s:
            c = s.scalar(select(Contract).where(Contract.code == "C-T"))
            assert c is not None and c.status == "terminated" and c.version == 2
            assert s.scalar(select(func.count()).select_from(ContractVersion)) == 2
            assert s.scalar(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.type == "contract.terminate")) == 1
            assert verify_log(s).ok
    finally:
        reset_engine(None)
        engine.dispose()
        drop_database(url)


def test_the_sample_district_signs_its_asset_income_contracts_by_executed_matters(
        session: Session, tmp_path: Path) -> None:
    """The sample district has no asset-income contract or quantified share that a matter did not decide."""
    from daipin.domain.contracts import needs_decision
    from daipin.ledger import store
    from daipin.services.sample import service as sample

    os.environ["DAIPIN_KEYS_DIR"] = str(tmp_path / "keys")
    at = datetime(2026, 3, 2, tzinfo=UTC)
    store.ensure_log(session, at=at)
    sample.load_sample(session, ACTOR, at)
    rs = session
    gated = [c for c in rs.scalars(select(Contract)) if needs_decision(c.model, c.terms)]
    assert gated
    signs = {b["subject"]: b["facts"] for b in ledger_bodies(rs) if b["type"] == "contract.sign"}
    executed = {m.id for m in rs.scalars(select(Matter).where(Matter.kind == "contract",
                                                                  Matter.state == "executed"))}
    assert all(signs[f"contract:{c.code}"].get("matter") in executed for c in gated)
