"""`daipin record KIND FILE`: registry facts from JSON/YAML, references by the keys people know, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Asset, AssetValuation, Contract, ContractVersion, Entity, Project
from daipin.db.session import make_engine
from daipin.domain.errors import InputError, NotFound
from daipin.domain.identity import make_uscc
from daipin.services.registry import records as records
from tests.integration.registry_support import (  # noqa: F401 - rs is a fixture
    ACTOR,
    AT,
    TOWN,
    VILLAGE,
    household,
    ledger_size,
    person_id,
    rs_fixture,
)

USCC = make_uscc("91231002MA0088888")


def _entity() -> dict[str, object]:
    return {"name": "东安区红星食用菌有限公司", "kind": "enterprise", "uscc": USCC,
            "legal_representative": "法人代表", "county_code": "231002", "region_code": TOWN}


def _project(code: str = "DA-2026-100") -> dict[str, object]:
    return {"code": code, "name": "食用菌大棚扩建", "category": "设施农业", "entity": USCC, "township_code": TOWN,
            "village_code": VILLAGE, "expected_return": "0.07", "start_year": 2026,
            "funding": [{"source": "财政扶贫资金", "amount_fen": 50_000_000}, {"source": "自筹", "amount_fen": 10_000_000}]}


def _contract(code: str, household_no: str, **terms: object) -> dict[str, object]:
    return {"code": code, "model": "trusteeship", "project": "DA-2026-100", "payee_household": household_no,
            "start_date": "2026-01-01", "end_date": "2028-12-31",
            "terms": {"asset_kind": "land", "unit": "mu", "units": "3.5", "annual_fen_per_unit": 45_000,
                      "duties": ["购买农业保险"], **terms}}


def test_records_resolve_keys_and_go_through_the_services(rs: Session) -> None:
    household(rs, "H-001", 1)
    before = ledger_size(rs)
    out = records.record_all(rs, ACTOR, "entity", _entity(), AT)
    assert out == [f"已登记 / recorded: entity 东安区红星食用菌有限公司 (id {rs.scalar(select(Entity.id))})"]
    records.record_all(rs, ACTOR, "project", [_project()], AT)
    records.record_all(rs, ACTOR, "asset", {"code": "ZC-1", "name": "大棚", "kind": "经营性", "value_fen": 60_000_000,
                                            "project": "DA-2026-100", "owner_region_code": VILLAGE,
                                            "operator_entity": USCC}, AT)
    records.record_all(rs, ACTOR, "valuation", {"asset": "ZC-1", "valuer": "东安资产评估所", "valued_on": "2026-03-01",
                                                "value_fen": 58_000_000, "report_ref": "东评字〔2026〕3号"}, AT)
    records.record_all(rs, ACTOR, "contract", _contract("HT-1", "H-001"), AT)
    said = records.record_all(rs, ACTOR, "amendment", {"contract": "HT-1", "reason": "面积复核",
                                                       "terms": _contract("HT-1", "H-001", units="4")["terms"]}, AT)
    assert said[0].startswith("已登记 / recorded: amendment HT-1 第2版 (id ")  # the contract by its code
    project = rs.scalar(select(Project).where(Project.code == "DA-2026-100"))
    asset = rs.scalar(select(Asset).where(Asset.code == "ZC-1"))
    contract = rs.scalar(select(Contract).where(Contract.code == "HT-1"))
    assert project is not None and asset is not None and contract is not None
    assert project.entity_id == asset.operator_entity_id == rs.scalar(select(Entity.id).where(Entity.uscc == USCC))
    assert asset.project_id == project.id
    assert rs.scalar(select(AssetValuation.value_fen).where(AssetValuation.asset_id == asset.id)) == 58_000_000
    assert contract.terms["units"] == "4"
    assert rs.scalar(select(func.count()).select_from(ContractVersion)
                     .where(ContractVersion.contract_id == contract.id)) == 2
    assert ledger_size(rs) == before + 6  # every record wrote its ledger entry


def test_a_bad_record_names_its_index_and_field(rs: Session) -> None:
    household(rs, "H-001", 1)
    records.record_all(rs, ACTOR, "entity", _entity(), AT)
    records.record_all(rs, ACTOR, "project", _project(), AT)
    bad = [_contract("HT-1", "H-001"), _contract("HT-2", "H-001")]
    del bad[1]["terms"]["annual_fen_per_unit"]  # type: ignore[attr-defined]
    with pytest.raises(InputError) as err:
        records.record_all(rs, ACTOR, "contract", bad, AT)
    assert err.value.field == "[1].terms.annual_fen_per_unit"
    with pytest.raises(NotFound) as nf:
        records.record_all(rs, ACTOR, "contract", [_contract("HT-3", "H-404")], AT)
    assert nf.value.field == "[0].payee_household" and "H-404" in nf.value.message_zh
    with pytest.raises(InputError) as unknown:
        records.record_all(rs, ACTOR, "asset", {"code": "ZC-2", "nmae": "大棚"}, AT)
    assert unknown.value.field == "nmae" and "name" in unknown.value.message_en
    with pytest.raises(InputError) as missing:
        records.record_all(rs, ACTOR, "valuation", {"valuer": "x"}, AT)
    assert missing.value.field == "asset"
    with pytest.raises(InputError) as kind:
        records.record_all(rs, ACTOR, "entities", _entity(), AT)
    assert kind.value.field == "kind" and "entity" in kind.value.message_en
    idn = person_id(999)
    with pytest.raises(NotFound) as who:
        records.record_all(rs, ACTOR, "death", {"person": idn, "on": "2026-01-02"}, AT)
    assert idn not in who.value.text() and who.value.field == "person"  # an ID number is never echoed


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.output


def _count(url: str, model: object) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_the_cli_records_a_file_in_one_transaction(cli_url: str, tmp_path: Path) -> None:
    _run("init")
    regions = [{"code": "231002", "name": "东安区", "level": "district"},
               {"code": TOWN, "name": "兴隆镇", "level": "township"},
               {"code": VILLAGE, "name": "兴隆村", "level": "village", "poor_village": True}]
    (tmp_path / "regions.json").write_text(json.dumps(regions, ensure_ascii=False), encoding="utf-8")
    assert _run("record", "region", str(tmp_path / "regions.json")).count("已登记") == 3
    (tmp_path / "e.yaml").write_text("\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}"
                                               for k, v in _entity().items()), encoding="utf-8")
    _run("record", "entity", str(tmp_path / "e.yaml"))
    good, bad = _project("DA-1"), _project("DA-2")
    bad["funding"] = [{"source": "财政扶贫资金", "amount_fen": "500.5"}]
    (tmp_path / "p.json").write_text(json.dumps([good, bad], ensure_ascii=False), encoding="utf-8")
    entries = _count(cli_url, LedgerEntry)
    out = _run("record", "project", str(tmp_path / "p.json"), code=2)
    assert "[1].funding" in out
    assert _count(cli_url, Project) == 0 and _count(cli_url, LedgerEntry) == entries  # the good one was not kept
    (tmp_path / "p.json").write_text(json.dumps([good], ensure_ascii=False), encoding="utf-8")
    assert "DA-1" in _run("record", "project", str(tmp_path / "p.json"))
    assert _count(cli_url, Project) == 1 and _count(cli_url, LedgerEntry) == entries + 1
    shown = _run("record", "--help")
    assert "record" in shown and "valuation" in shown
    # The fields inside a household's members and each model's terms are listed too.
    assert "id_number*" in shown and "户主" in shown and "floor_price_fen*" in shown and "annual_rent_fen*" in shown


def test_the_cli_says_how_to_start_on_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DAIPIN_DATABASE_URL", url)
    done = subprocess.run([sys.executable, "-m", "daipin", "households", "list"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "daipin init" in done.stderr and "Traceback" not in done.stderr
    monkeypatch.setenv("DAIPIN_DATABASE_URL", "postgresql+psycopg://someone:s3cret@127.0.0.1:1/none")
    done = subprocess.run([sys.executable, "-m", "daipin", "households", "list"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "s3cret" not in done.stderr and "Traceback" not in done.stderr
