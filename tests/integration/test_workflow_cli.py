"""`daipin matter ...` walks a roster and an allocation through every step, each command its own transaction."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.api_support import Clock, cli, command_line_clock
from tests.integration.test_workflow import EXAMPLE

VILLAGE_AS = "village_cadre:c1@231002001001"
TOWN_AS = "township_official:t1@231002001"


def run(*args: str, code: int = 0) -> str:
    return str(cli(*args, code=code).output)


def walk(clock: Clock, matter: str, *, days: int, as_: str = VILLAGE_AS) -> None:
    """Call the meeting 10 days ahead, let it sit, decide, review, post the notice and close it when it has run."""
    sits = clock.at + timedelta(days=10)
    run("matter", "call-meeting", matter, "--type", "村民代表会议", "--scheduled-at", sits.isoformat(),
        "--place", "村委会", "--as", as_)
    clock.at = sits + timedelta(hours=1)
    run("matter", "attend", matter, "--representatives", "21", "--first-secretary", "--cadre", "第一书记", "--as", as_)
    run("matter", "vote", matter, "--for", "18", "--against", "2", "--abstain", "1", "--as", as_)
    assert "已表决通过" in run("matter", "decide", matter, "--as", as_)
    run("matter", "submit", matter, "--as", as_)
    run("matter", "review", matter, "approve", "--comments", "同意", "--as", TOWN_AS)
    clock.advance(days=1)
    run("matter", "publish", matter, "--as", as_)
    clock.advance(days=days)
    run("matter", "close", matter, "--as", as_)


def test_the_cli_walks_a_roster_and_an_allocation_to_archive_and_exports_the_dossier(
        cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = command_line_clock(monkeypatch, datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    run("matter", "roster", "231002001001", "2024", "--as", VILLAGE_AS)
    walk(clock, "1", days=10)  # a roster of poor and monitored households: 10 days
    run("matter", "execute", "1", "--as", TOWN_AS)
    doc = tmp_path / "alloc.json"
    doc.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    clock.advance(hours=1)
    out = run("matter", "draft", "village_allocation", "231002001001", str(doc), "--title", "2024年光伏收益分配",
              "--year", "2024", "--as", VILLAGE_AS)
    assert "wages_scaled" in out
    early = run("matter", "call-meeting", "2", "--type", "村民代表会议",
                "--scheduled-at", (clock.at + timedelta(days=3)).isoformat(), "--place", "村委会",
                "--as", VILLAGE_AS, code=2)
    assert "scheduled_at" in early
    walk(clock, "2", days=10)
    clock.advance(hours=1)
    executed = run("matter", "execute", "2", "--as", TOWN_AS)
    assert "17,800.00 元" in executed
    clock.advance(days=1)
    again = run("matter", "execute", "2", "--as", TOWN_AS)
    assert "already executed" in again
    shown = json.loads(run("matter", "show", "2"))
    assert shown["state"] == "executed" and len(shown["payments"]["lines"]) == 5
    clock.advance(days=1)
    for line in shown["payments"]["lines"]:
        run("matter", "pay", str(line["line"]), "--ref", f"B{line['line']}", "--as", TOWN_AS)
    clock.advance(days=1)
    run("matter", "announce", "2", "--as", VILLAGE_AS)
    clock.advance(days=1)
    assert "已归档" in run("matter", "archive", "2", "--as", VILLAGE_AS)
    listed = run("matter", "list", "--as", VILLAGE_AS)
    assert "2024年光伏收益分配" in listed and "收益扶贫对象确认" in listed
    zpath = tmp_path / "dossier.zip"
    run("matter", "dossier", "2", str(zpath), "--as", "auditor:a1@231002")
    assert "ledger-bundle.json" in zipfile.ZipFile(zpath).namelist()
    verified = run("ledger", "verify-bundle", str(zpath))
    assert "bundle verified" in verified
    assert "dossier verified: matter 2" in run("matter", "verify-dossier", str(zpath))
    assert "ledger verified" in run("ledger", "verify")


def test_the_cli_files_answers_merges_redacts_and_records_the_notification_of_objections(
        cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = command_line_clock(monkeypatch, datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    clock.at = datetime.fromisoformat("2024-03-01T09:00:00").replace(tzinfo=UTC)
    run("matter", "roster", "231002001001", "2024", "--as", VILLAGE_AS)
    d = 1
    clock.at = datetime.fromisoformat(f"2024-03-{d:02d}T09:00:00").replace(tzinfo=UTC)
    run("matter", "call-meeting", "1", "--type", "村民代表会议", "--scheduled-at", f"2024-03-{d + 10:02d}T09:00:00+00:00",
        "--place", "村委会", "--as", VILLAGE_AS)
    at = f"2024-03-{d + 10:02d}T10:00:00"
    clock.at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    run("matter", "attend", "1", "--representatives", "21", "--first-secretary", "--cadre", "第一书记", "--as", VILLAGE_AS)
    clock.at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    run("matter", "vote", "1", "--for", "18", "--against", "2", "--abstain", "1", "--as", VILLAGE_AS)
    clock.at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    run("matter", "decide", "1", "--as", VILLAGE_AS)
    clock.at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    run("matter", "submit", "1", "--as", VILLAGE_AS)
    clock.at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    run("matter", "review", "1", "approve", "--comments", "同意", "--as", TOWN_AS)
    clock.at = datetime.fromisoformat("2024-03-12T09:00:00").replace(tzinfo=UTC)
    # The paper notice was put up that morning (Beijing time); one said to be up before the approval is refused.
    early = run("matter", "publish", "1", "--posted-at", "2024-03-11T12:00", "--as", VILLAGE_AS, code=2)
    assert "posted_at" in early and "不能早于上一步骤" in early
    published = run("matter", "publish", "1", "--posted-at", "2024-03-12T08:00", "--as", VILLAGE_AS)
    assert "至 2024-03-22 17:00 北京时间 止" in published  # the window runs from the recording (17:00 Beijing)
    assert '"paper_posted_at": "2024-03-12T00:00:00+00:00"' in published
    clock.at = datetime.fromisoformat("2024-03-13T09:00:00").replace(tzinfo=UTC)
    filed = run("matter", "object", "1", "--text", "电话13912345678，名单漏了我家")
    assert "回执号" in filed and "查询码" in filed
    clock.at = datetime.fromisoformat("2024-03-13T10:00:00").replace(tzinfo=UTC)
    run("matter", "object", "1", "--text", "名单漏了一户")
    clock.at = datetime.fromisoformat("2024-03-14T09:00:00").replace(tzinfo=UTC)
    run("matter", "merge-objection", "2", "--into", "1", "--as", TOWN_AS)
    clock.at = datetime.fromisoformat("2024-03-14T10:00:00").replace(tzinfo=UTC)
    run("matter", "answer", "1", "dismissed", "--reasons", "已核实", "--as", TOWN_AS)
    clock.at = datetime.fromisoformat("2024-03-14T11:00:00").replace(tzinfo=UTC)
    run("matter", "notify-objector", "1", "phone", "--as", TOWN_AS)
    clock.at = datetime.fromisoformat("2024-03-14T12:00:00").replace(tzinfo=UTC)
    refused = run("matter", "redact-objection", "1", "text", "--reason", "含 13912345678", "--as", TOWN_AS, code=2)
    assert "reason" in refused
    clock.at = datetime.fromisoformat("2024-03-14T12:00:00").replace(tzinfo=UTC)
    run("matter", "redact-objection", "1", "text", "--reason", "含个人信息", "--as", TOWN_AS)
    clock.at = datetime.fromisoformat("2024-03-22T09:00:00").replace(tzinfo=UTC)  # the roster's 10 days have run
    run("matter", "close", "1", "--as", VILLAGE_AS)  # both answered
