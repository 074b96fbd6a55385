"""Real processes: a writer killed mid-batch leaves the log at a checkpoint; two writers at once never fork it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from daipin.db.session import make_engine
from daipin.ledger import merkle, store
from daipin.ledger.verify import verify_log

WRITER = r"""
import sys
from datetime import UTC, datetime, timedelta
from daipin.db.session import session_scope
from daipin.ledger import store

name, batches, per_batch, announce = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t0 = datetime(2024, 7, 1, tzinfo=UTC)
for b in range(batches):
    with session_scope() as s:
        for i in range(per_batch):
            store.append(s, type="test.write", actor=f"system:{name}", region="231002", subject=f"{name}:{b}:{i}",
                         facts={"writer": name, "batch": b, "i": i}, at=t0 + timedelta(seconds=b))
            if announce and b * per_batch + i + 1 == announce:
                print("MIDWAY", flush=True)
print("DONE", flush=True)
"""


def _writer(url: str, name: str, batches: int, per_batch: int, announce: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "DAIPIN_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-c", WRITER, name, str(batches), str(per_batch), str(announce)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def _session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    with Session(engine) as s:
        yield s
        s.commit()
    engine.dispose()


def _assert_linear_and_verified(url: str, size: int) -> None:
    with _session(url) as s:
        report = verify_log(s)
        assert report.ok, report.problems[:3]
        assert report.size == size == store.tree_size(s)
        cp = store.latest_checkpoint(s)
        assert cp is not None and cp.size == size
        hasher = merkle.Hasher(store.require_log(s).hash_name)
        sizes = [int(x) for (x,) in s.execute(store.C.select().with_only_columns(store.C.c.size))]
        for m in sizes:
            if 0 < m < size:
                proof = store.consistency_proof(s, m, size)
                merkle.verify_consistency(hasher, m, size, [bytes.fromhex(h) for h in proof["path"]],
                                          store.checkpoint_at(s, m).root, cp.root)  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_writer_killed_mid_batch_leaves_the_last_checkpoint_and_the_log_goes_on(fresh_db_url: str) -> None:
    first = _writer(fresh_db_url, "a", 1, 50)
    assert first.wait(60) == 0, first.stderr.read() if first.stderr else ""
    victim = _writer(fresh_db_url, "b", 1, 100_000, announce=300)
    assert victim.stdout is not None
    line = victim.stdout.readline()
    assert line.strip() == "MIDWAY", victim.stderr.read() if victim.stderr else ""
    time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL
    _assert_linear_and_verified(fresh_db_url, 50)
    after = _writer(fresh_db_url, "c", 3, 20)
    assert after.wait(60) == 0, after.stderr.read() if after.stderr else ""
    _assert_linear_and_verified(fresh_db_url, 110)


@pytest.mark.slow
def test_two_writers_at_once_make_one_linear_log(fresh_db_url: str) -> None:
    writers = [_writer(fresh_db_url, name, 40, 10) for name in ("x", "y")]
    for w in writers:
        assert w.wait(180) == 0, w.stderr.read() if w.stderr else ""
    _assert_linear_and_verified(fresh_db_url, 800)
    with _session(fresh_db_url) as s:
        bodies = [store.body_json(store.entry_body(s, i)) for i in range(800)]
    assert [b["index"] for b in bodies] == list(range(800))
    assert {b["facts"]["writer"] for b in bodies} == {"x", "y"}
    # each transaction's entries are contiguous: the lock is held for the whole transaction
    for start in range(0, 800, 10):
        assert len({(b["facts"]["writer"], b["facts"]["batch"]) for b in bodies[start : start + 10]}) == 1


def test_a_first_writer_that_loses_the_race_to_create_the_log_writes_to_the_winners(
        fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the MySQL-compatible engines no row can be locked before a county's log exists: two first writers both
    find none and both insert it. The loser's duplicate key is not an error: it takes the winner's log, under its
    row's lock, and appends after the winner's entries (PostgreSQL's advisory lock and SQLite's writer lock already
    make the second wait for the first)."""
    from daipin.ledger import keys as keystore

    engine = make_engine(fresh_db_url)
    if engine.dialect.name not in ("mysql", "mariadb"):
        engine.dispose()
        pytest.skip("PostgreSQL's advisory lock and SQLite's writer lock make the second first writer wait")
    init_keys = keystore.init_keys
    raced: list[int] = []

    def winner_first(*args: object, **kwargs: object) -> object:  # between the loser's look and its insert
        if not raced:
            raced.append(1)
            with Session(engine) as other:
                store.append(other, type="test.write", actor="system:winner", region="231002", subject="w",
                             facts={"writer": "winner"}, at=datetime(2024, 7, 1, tzinfo=UTC))
                other.commit()
        return init_keys(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(keystore, "init_keys", winner_first)
    with Session(engine) as loser:
        store.append(loser, type="test.write", actor="system:loser", region="231002", subject="l",
                     facts={"writer": "loser"}, at=datetime(2024, 7, 1, 0, 1, tzinfo=UTC))
        loser.commit()
    assert raced == [1]
    engine.dispose()
    _assert_linear_and_verified(fresh_db_url, 2)
    with _session(fresh_db_url) as s:
        assert [store.body_json(store.entry_body(s, i))["facts"]["writer"] for i in range(2)] == ["winner", "loser"]
        assert store.counties(s) == ["231002"]
