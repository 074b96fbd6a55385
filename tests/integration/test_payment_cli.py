"""`daipin payment …`: the bank file of an executed allocation is the one in docs/examples, the bank's return
there settles it, a return that does not match is refused whole (exit 2, every problem listed), and the batch
reconciles to the fen before the result is announced."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.api_support import command_line_clock
from tests.integration.test_workflow import EXAMPLE
from tests.integration.test_workflow_cli import TOWN_AS, VILLAGE_AS, run, walk

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    clock = command_line_clock(monkeypatch, datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    run("matter", "roster", "231002001001", "2024", "--as", VILLAGE_AS)
    walk(clock, "1", days=10)
    run("matter", "execute", "1", "--as", TOWN_AS)
    doc = tmp_path / "alloc.json"
    doc.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    clock.advance(hours=1)
    run("matter", "draft", "village_allocation", "231002001001", str(doc), "--title", "2024年光伏收益分配",
        "--year", "2024", "--as", VILLAGE_AS)
    walk(clock, "2", days=10)
    clock.advance(hours=1)
    run("matter", "execute", "2", "--as", TOWN_AS)
    clock.advance(days=1)
    return int(json.loads(run("matter", "show", "2"))["payments"]["batch"])


def test_the_bank_file_and_its_return_in_docs_examples_pay_the_batch(cli_db: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _executed(tmp_path, monkeypatch)
    out = tmp_path / "out.csv"
    said = run("payment", "bank-file", str(batch), str(out), "--as", TOWN_AS)
    assert "5 笔" in said and "17,800.00 元" in said
    if os.environ.get("DAIPIN_WRITE_EXAMPLES"):  # regenerate the fixture after a deliberate layout change
        (EXAMPLES / "bank-file-out.csv").write_bytes(out.read_bytes())
    assert out.read_bytes() == (EXAMPLES / "bank-file-out.csv").read_bytes()
    run("matter", "announce", "2", "--as", VILLAGE_AS, code=2)  # sent, not yet paid: no announcement
    bad = tmp_path / "bad.csv"
    text = (EXAMPLES / "bank-return-in.csv").read_text(encoding="utf-8-sig")
    bad.write_text(text.replace(",5300.00,", ",5030.00,", 1).replace("YH20240601003", "YH20240601002"),
                   encoding="utf-8")
    refused = run("payment", "return", str(batch), str(bad), "--as", TOWN_AS, code=2)
    assert "金额（元）" in refused and "流水号" in refused and "未登记任何结果" in refused
    applied = run("payment", "return", str(batch), str(EXAMPLES / "bank-return-in.csv"), "--as", TOWN_AS)
    assert "成功 paid 4 笔" in applied and "失败 failed 1 笔" in applied
    shown = json.loads(run("payment", "show", str(batch), "--as", TOWN_AS))
    failed = [ln for ln in shown["lines"] if ln["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["failure_reason"] == "户名与账号不符"
    assert shown["paid_fen"] + shown["failed_fen"] == shown["total_fen"] == 1780000
    run("payment", "requeue", str(failed[0]["line"]), "--as", TOWN_AS, code=2)  # the account is not corrected
    run("payment", "write-off", str(failed[0]["line"]), "--reason", "", "--decision", "x", "--as", TOWN_AS, code=2)
    run("payment", "write-off", str(failed[0]["line"]), "--reason", "户主已迁出，经村民代表会议同意核销",
        "--decision", "某村〔2024〕5号", "--as", TOWN_AS)
    recon = run("payment", "reconcile", str(batch), "--xlsx", str(tmp_path / "r.xlsx"), "--pdf",
                str(tmp_path / "r.pdf"), "--as", TOWN_AS)
    assert "平衡 / balanced" in recon
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    pools = run("payment", "pools", "2024", "--as", "district_admin:d1@231002")
    assert "平衡" in pools
    run("payment", "print", str(batch), str(tmp_path / "print"), "--as", TOWN_AS)
    assert len(list((tmp_path / "print").glob("*.pdf"))) == 6  # one village list, five slips
    run("matter", "announce", "2", "--as", VILLAGE_AS)
    shown_matter = json.loads(run("matter", "show", "2"))
    assert shown_matter["state"] == "executed"
