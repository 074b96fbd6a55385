"""A fresh process behaves like the test process: a newly started server verifies the ledger over the same rows
as `daipin ledger verify`, and catches the same edits made behind the ledger's back; a process that was never
wired refuses to verify instead of reporting a clean ledger over no rows."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.slow, pytest.mark.edits_rows_behind_the_ledger]

DAIPIN = str(Path(sys.executable).with_name("daipin"))


def _env(url: str, keys: Path) -> dict[str, str]:
    return {**os.environ, "DAIPIN_DATABASE_URL": url, "DAIPIN_KEYS_DIR": str(keys), "DAIPIN_SECRET_KEY": "test-secret"}


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DAIPIN, *args], capture_output=True, text=True, env=env, timeout=300, input=stdin)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _row_ids(value: object, table: str) -> set[str]:
    """The ids of `table` rows an entry body records as row facts."""
    if isinstance(value, dict):
        found = {str(value["id"])} if value.get("table") == table and "digest" in value else set()
        for v in value.values():
            found |= _row_ids(v, table)
        return found
    if isinstance(value, list):
        return set().union(*(_row_ids(v, table) for v in value)) if value else set()
    return set()


def _edit_behind_the_ledger(url: str) -> None:
    """What an insider with database access might do: change a household's poverty cause and terminate a contract.
    The household is one an entry records by its own row fact (the sample's status changes)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        recorded: set[str] = set()
        for (body,) in conn.execute(text("SELECT body FROM ledger_entry ORDER BY idx")):
            recorded |= _row_ids(json.loads(bytes(body)), "households")
        assert recorded, "the sample district records no household by its own entry"
        hid = min(int(i) for i in recorded)
        conn.execute(text("UPDATE households SET poverty_cause = '改动未记账' WHERE id = :id"), {"id": hid})
        cid = conn.execute(text("SELECT min(id) FROM contracts")).scalar_one()
        conn.execute(text("UPDATE contracts SET status = 'terminated' WHERE id = :id"), {"id": cid})
    engine.dispose()


def test_a_fresh_server_checks_every_row_the_command_line_checks(fresh_db_url: str, tmp_path: Path) -> None:
    env = _env(fresh_db_url, tmp_path / "keys")
    for args in (("init",), ("sample", "load")):
        done = _cli(env, *args)
        assert done.returncode == 0, done.stderr
    # The password never on the command line: read from standard input (a script) or typed at a prompt.
    assert _cli(env, "user", "add", "verifier", "--role", "auditor", "--region", "231002", "--password",
                "Verify-the-ledger-7").returncode == 2
    done = _cli(env, "user", "add", "verifier", "--role", "auditor", "--region", "231002", "--password-stdin",
                stdin="Verify-the-ledger-7\n")
    assert done.returncode == 0, done.stderr
    clean = json.loads(_cli(env, "ledger", "verify", "--json").stdout)
    assert clean["ok"] and clean["rows_checked"] > 100

    _edit_behind_the_ledger(fresh_db_url)
    done = _cli(env, "ledger", "verify", "--json")
    assert done.returncode == 1
    cli = json.loads(done.stdout)
    assert not cli["ok"]
    reasons = " ".join(p["reason_en"] for p in cli["problems"])
    assert "households row" in reasons and "contracts row" in reasons

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "daipin", "serve", "--port", str(port), "--workers", "2"], env=env,
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the server did not come up"
            time.sleep(0.2)
        login = httpx.post(f"{base}/auth/login", json={"username": "verifier", "password": "Verify-the-ledger-7"})
        assert login.status_code == 200, login.text
        answer = httpx.post(f"{base}/ledger/verify", headers={"Authorization": f"Bearer {login.json()['token']}"},
                            timeout=120)
        assert answer.status_code == 200, answer.text
        web = answer.json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The server (each of its two worker processes imports the app afresh), asked first thing, checks the same rows and finds the same first problem.
    assert web["ok"] is False
    assert web["rows_checked"] == cli["rows_checked"] == clean["rows_checked"]
    assert web["problems"] == len(cli["problems"])
    assert web["first_bad"]["index"] == cli["first_bad_entry"]


UNWIRED = """
import sys
from daipin.db.session import session_scope
from daipin.ledger import store
from daipin.ledger.verify import verify_log
try:
    with session_scope() as s:
        verify_log(s)
except store.NotWired as exc:
    print("refused:", exc)
    sys.exit(3)
print("verified without its row checks")
"""


def test_a_process_that_was_not_wired_refuses_to_verify(fresh_db_url: str, tmp_path: Path) -> None:
    env = _env(fresh_db_url, tmp_path / "keys")
    assert _cli(env, "init").returncode == 0
    assert _cli(env, "sample", "load").returncode == 0
    done = subprocess.run([sys.executable, "-c", UNWIRED], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "daipin.bootstrap.configure()" in done.stdout
