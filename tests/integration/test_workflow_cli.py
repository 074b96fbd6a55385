"""`daipin matter ...` walks a roster and an allocation through every step, each command its own transaction."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db.session import make_engine, reset_engine
from tests.integration.test_workflow import EXAMPLE, seed

VILLAGE_AS = "village_cadre:c1@231002001001"
TOWN_AS = "township_official:t1@231002001"


@pytest.fixture
def cli_db(fresh_db_url: str) -> Iterator[str]:
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        seed(s)
        s.commit()
    reset_engine(engine)
    yield fresh_db_url
    reset_engine(None)
    engine.dispose()


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.output


def walk(matter: str, start_day: int, *, days: int, as_: str = VILLAGE_AS) -> None:
    d = start_day
    run("matter", "call-meeting", matter, "--type", "村民代表会议", "--scheduled-at", f"2024-03-{d + 10:02d}T09:00:00",
        "--place", "村委会", "--representatives", "25", "--at", f"2024-03-{d:02d}T09:00:00", "--as", as_)
    at = f"2024-03-{d + 10:02d}T10:00:00"
    run("matter", "attend", matter, "--representatives", "21", "--first-secretary", "--cadre", "第一书记",
        "--at", at, "--as", as_)
    run("matter", "vote", matter, "--for", "18", "--against", "2", "--abstain", "1", "--at", at, "--as", as_)
    assert "已表决通过" in run("matter", "decide", matter, "--at", at, "--as", as_)
    run("matter", "submit", matter, "--at", at, "--as", as_)
    run("matter", "review", matter, "approve", "--comments", "同意", "--at", at, "--as", TOWN_AS)
    run("matter", "publish", matter, "--at", f"2024-03-{d + 11:02d}T09:00:00", "--as", as_)
    run("matter", "close", matter, "--at", f"2024-03-{d + 11 + days:02d}T09:00:00", "--as", as_)


def test_the_cli_walks_a_roster_and_an_allocation_to_archive_and_exports_the_dossier(
        cli_db: str, tmp_path: Path) -> None:
    run("matter", "roster", "231002001001", "2024", "--at", "2024-03-01T09:00:00", "--as", VILLAGE_AS)
    walk("1", 1, days=5)
    run("matter", "execute", "1", "--at", "2024-03-18T09:00:00", "--as", TOWN_AS)
    doc = tmp_path / "alloc.json"
    doc.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    out = run("matter", "draft", "village_allocation", "231002001001", str(doc), "--title", "2024年光伏收益分配",
              "--year", "2024", "--at", "2024-03-02T09:00:00", "--as", VILLAGE_AS)
    assert "wages_scaled" in out
    early = run("matter", "call-meeting", "2", "--type", "村民代表会议", "--scheduled-at", "2024-03-05T09:00:00",
                "--place", "村委会", "--representatives", "25", "--at", "2024-03-02T09:00:00", "--as", VILLAGE_AS,
                code=2)
    assert "scheduled_at" in early
    walk("2", 2, days=10)
    executed = run("matter", "execute", "2", "--at", "2024-03-24T09:00:00", "--as", TOWN_AS)
    assert "17,800.00 元" in executed
    again = run("matter", "execute", "2", "--at", "2024-03-25T09:00:00", "--as", TOWN_AS)
    assert "already executed" in again
    shown = json.loads(run("matter", "show", "2"))
    assert shown["state"] == "executed" and len(shown["payments"]["lines"]) == 5
    for line in shown["payments"]["lines"]:
        run("matter", "pay", str(line["line"]), "--ref", f"B{line['line']}", "--at", "2024-03-26T09:00:00",
            "--as", TOWN_AS)
    run("matter", "announce", "2", "--at", "2024-03-27T09:00:00", "--as", VILLAGE_AS)
    assert "已归档" in run("matter", "archive", "2", "--at", "2024-03-28T09:00:00", "--as", VILLAGE_AS)
    listed = run("matter", "list", "--as", VILLAGE_AS)
    assert "2024年光伏收益分配" in listed and "收益扶贫对象确认" in listed
    zpath = tmp_path / "dossier.zip"
    run("matter", "dossier", "2", str(zpath), "--as", "auditor:a1@231002")
    assert "ledger-bundle.json" in zipfile.ZipFile(zpath).namelist()
    verified = run("ledger", "verify-bundle", str(zpath))
    assert "bundle verified" in verified
    assert "dossier verified: matter 2" in run("matter", "verify-dossier", str(zpath))
    assert "ledger verified" in run("ledger", "verify")


def test_the_cli_files_answers_merges_redacts_and_records_the_notification_of_objections(cli_db: str) -> None:
    run("matter", "roster", "231002001001", "2024", "--at", "2024-03-01T09:00:00", "--as", VILLAGE_AS)
    d = 1
    run("matter", "call-meeting", "1", "--type", "村民代表会议", "--scheduled-at", f"2024-03-{d + 10:02d}T09:00:00",
        "--place", "村委会", "--representatives", "25", "--at", f"2024-03-{d:02d}T09:00:00", "--as", VILLAGE_AS)
    at = f"2024-03-{d + 10:02d}T10:00:00"
    run("matter", "attend", "1", "--representatives", "21", "--first-secretary", "--cadre", "第一书记",
        "--at", at, "--as", VILLAGE_AS)
    run("matter", "vote", "1", "--for", "18", "--against", "2", "--abstain", "1", "--at", at, "--as", VILLAGE_AS)
    run("matter", "decide", "1", "--at", at, "--as", VILLAGE_AS)
    run("matter", "submit", "1", "--at", at, "--as", VILLAGE_AS)
    run("matter", "review", "1", "approve", "--comments", "同意", "--at", at, "--as", TOWN_AS)
    run("matter", "publish", "1", "--at", "2024-03-12T09:00:00", "--as", VILLAGE_AS)
    filed = run("matter", "object", "1", "--text", "电话13912345678，名单漏了我家", "--at", "2024-03-13T09:00:00")
    assert "回执号" in filed and "查询码" in filed
    run("matter", "object", "1", "--text", "名单漏了一户", "--at", "2024-03-13T10:00:00")
    run("matter", "merge-objection", "2", "--into", "1", "--at", "2024-03-14T09:00:00", "--as", TOWN_AS)
    run("matter", "answer", "1", "dismissed", "--reasons", "已核实", "--at", "2024-03-14T10:00:00", "--as", TOWN_AS)
    run("matter", "notify-objector", "1", "phone", "--at", "2024-03-14T11:00:00", "--as", TOWN_AS)
    refused = run("matter", "redact-objection", "1", "text", "--reason", "含 13912345678", "--at",
                  "2024-03-14T12:00:00", "--as", TOWN_AS, code=2)
    assert "reason" in refused
    run("matter", "redact-objection", "1", "text", "--reason", "含个人信息", "--at", "2024-03-14T12:00:00",
        "--as", TOWN_AS)
    run("matter", "close", "1", "--at", "2024-03-17T09:00:00", "--as", VILLAGE_AS)  # both answered
