"""`daipin init` and `daipin ledger ...` print exactly the forms LEDGER.md fixes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daipin.cli import app
from daipin.db.session import make_engine, reset_engine, session_scope
from daipin.ledger import merkle, note, store

runner = CliRunner()


@pytest.fixture
def cli_db(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    engine = make_engine(fresh_db_url)
    reset_engine(engine)
    yield fresh_db_url
    reset_engine(None)
    engine.dispose()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fill(n: int) -> None:
    with session_scope() as s:
        for i in range(n):
            store.append(s, type="test.cli", actor="system:test", region="231002", subject=f"s:{i}", facts={"i": i},
                         at=datetime(2024, 8, 1, tzinfo=UTC))


def test_init_is_idempotent_and_refuses_to_change_the_hash(cli_db: str, tmp_path: Path) -> None:
    out = _run("init")
    assert "daipin.231002/ledger (sm3)" in out
    assert (tmp_path / "keys" / "ledger.key").stat().st_mode & 0o777 == 0o600
    assert _run("init") == out
    assert runner.invoke(app, ["init", "--hash", "sha256"]).exit_code != 0


def test_checkpoint_pubkey_entry_proof_consistency_and_info_print_their_forms(cli_db: str) -> None:
    _run("init")
    _fill(6)
    _fill(5)
    vkey = _run("ledger", "pubkey").strip()
    verifier = note.Verifier.parse(vkey)
    cp_text = _run("ledger", "checkpoint")
    cp = note.open_checkpoint(cp_text, verifier, origin="daipin.231002/ledger")
    assert cp.size == 11
    assert cp_text.startswith(f"daipin.231002/ledger\n11\n{base64.b64encode(cp.root).decode()}\n\n— daipin.231002/ledger ")
    body = runner.invoke(app, ["ledger", "entry", "4"]).stdout_bytes
    assert json.loads(body)["facts"] == {"i": 4} and not body.endswith(b"\n")
    proof = json.loads(_run("ledger", "proof", "--index", "4"))
    assert set(proof) == {"index", "size", "leaf_hash", "path", "root"} and proof["size"] == 11
    hasher = merkle.Hasher("sm3")
    assert proof["leaf_hash"] == hasher.leaf(body).hex() == proof["leaf_hash"].lower()
    merkle.verify_inclusion(hasher, 4, 11, hasher.leaf(body), [bytes.fromhex(h) for h in proof["path"]], cp.root)
    cons = json.loads(_run("ledger", "consistency", "--from", "6"))
    assert set(cons) == {"from", "to", "path", "root_from", "root_to"} and (cons["from"], cons["to"]) == (6, 11)
    merkle.verify_consistency(hasher, 6, 11, [bytes.fromhex(h) for h in cons["path"]], bytes.fromhex(cons["root_from"]),
                              cp.root)
    info = _run("ledger", "info")
    assert "hash: sm3" in info and "size: 11" in info and f"root: {cp.root.hex()}" in info
    # The checkpoint was signed at the last entry's time, 00:00 UTC on 1 August: 08:00 that day in Beijing.
    assert "checkpoint_at: 2024-08-01 08:00 北京时间" in info and "00:00" not in info


def test_verify_exits_zero_on_a_good_log_and_one_naming_the_first_bad_entry(cli_db: str) -> None:
    _run("init")
    _fill(9)
    assert "ledger verified: 9 entries" in _run("ledger", "verify")
    from sqlalchemy import text

    with session_scope() as s:
        s.execute(text("UPDATE ledger_entry SET body = :b WHERE idx = 3"),
                  {"b": store.entry_body(s, 3).replace(b'"i":3', b'"i":8')})
    result = runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 1
    assert "first bad entry 3" in result.output


def test_export_and_verify_bundle_work_without_the_database(cli_db: str, tmp_path: Path) -> None:
    _run("init")
    _fill(12)
    out = tmp_path / "b.json"
    _run("ledger", "export", "-o", str(out), "--index", "2", "--index", "11")
    vkey = _run("ledger", "pubkey").strip()
    reset_engine(make_engine("sqlite:////nonexistent/dir/never.db"))  # no database reachable from here on
    assert "bundle verified: 2 entries" in _run("ledger", "verify-bundle", str(out), "--key", vkey)
    data = json.loads(out.read_text())
    data["entries"][0]["path"][0] = "00" * 32
    out.write_text(json.dumps(data))
    assert runner.invoke(app, ["ledger", "verify-bundle", str(out)]).exit_code == 1


def test_commands_before_init_say_to_run_init(cli_db: str) -> None:
    result = runner.invoke(app, ["ledger", "info"])
    assert result.exit_code == 2
    assert "daipin init" in result.output
