"""Ledger speed on SQLite and PostgreSQL with SM3: appends, recompute, proofs at a million entries (LEDGER.md goals).

`python -m benchmarks ledger [--quick] [--url URL]`; figures are medians of several runs. With `--url` (a database
URL of a PostgreSQL or MySQL-compatible server: MariaDB, OceanBase seekdb) the same figures are taken on that
server instead, beside SQLite's in the same run as the baseline.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from benchmarks.pgdb import drop_database, engine_label, new_database, url_option

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GOALS = {"batched": 10_000, "single": 1_000, "recompute": 100_000, "proofs": 5_000, "verify": 10_000}


class Rate(float):
    """Items per second of wall time; `.cpu` is the same per second of this process's CPU time.

    On a shared machine the wall figure drops with the load; for SQLite (in process, no
    fsync per commit in WAL/NORMAL mode) the CPU figure is what an idle machine would give.
    For PostgreSQL it leaves out the server's share and only bounds the client side.
    """

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> Rate:
        r = super().__new__(cls, wall)
        r.cpu = cpu
        return r


def _start() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _rate(n: int, t: tuple[float, float]) -> Rate:
    wall, cpu = time.perf_counter() - t[0], time.process_time() - t[1]
    return Rate(n / wall, n / cpu if cpu > 0 else float("inf"))


def _median(fn: Callable[[], Rate], runs: int) -> Rate:
    rates = [fn() for _ in range(runs)]
    return Rate(statistics.median(rates), statistics.median(r.cpu for r in rates))


def _line(label: str, value: Rate, goal_key: str | None = None, unit: str = "/s") -> None:
    goal = GOALS.get(goal_key or "")
    mark = "" if goal is None else f"  (goal ≥ {goal:,}{unit}: {'met' if value >= goal else 'NOT met'})"
    print(f"  {label:<44} {value:>12,.0f}{unit}   cpu-time {value.cpu:>10,.0f}{unit}{mark}", flush=True)


@contextmanager
def _database(backend: str, tmp: str, admin_url: str | None = None) -> Iterator[Engine]:
    from daipin.db import migrate
    from daipin.db.session import make_engine

    url = f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:8]}.db" if backend == "sqlite" else new_database(
        admin_url=admin_url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if backend != "sqlite":
            drop_database(url)


def _item(n: int) -> dict[str, object]:
    return {"type": "bench.event", "actor": "system:bench", "region": "231002001001", "subject": f"household:{n}",
            "facts": {"n": n, "amount_fen": 123456, "status": "poor"}, "at": T0 + timedelta(seconds=n)}


def _reset(engine: Engine) -> None:
    from daipin.ledger import store

    with Session(engine) as s:
        for table in ("ledger_checkpoint", "ledger_node", "ledger_entry", "ledger_log"):
            s.execute(text(f"DELETE FROM {table}"))
        store.ensure_log(s, at=T0)
        s.commit()


def bench_appends(engine: Engine, batched_n: int, batch: int, single_n: int, runs: int) -> tuple[Rate, Rate]:
    from daipin.ledger import store

    def batched() -> Rate:
        _reset(engine)
        t = _start()
        for start in range(0, batched_n, batch):
            with Session(engine) as s:
                store.append_many(s, [_item(n) for n in range(start, min(start + batch, batched_n))])
                s.commit()
        return _rate(batched_n, t)

    def single() -> Rate:
        if not single_n:
            return Rate(0.0, 0.0)
        _reset(engine)
        t = _start()
        s = Session(engine)
        for n in range(single_n):
            store.append(s, **_item(n))
            s.commit()
        s.close()
        return _rate(single_n, t)

    one = _median(single, runs)
    return _median(batched, runs), one


def bench_recompute(engine: Engine, runs: int) -> tuple[int, Rate, Rate]:
    """Entries/s recomputing every leaf and node from the stored bodies (in memory), and the full `verify`."""
    from daipin.ledger import merkle, store
    from daipin.ledger.verify import verify_log

    with Session(engine) as s:
        bodies = [bytes(b) for (b,) in s.execute(text("SELECT body FROM ledger_entry ORDER BY idx"))]
        checkpoint = store.latest_checkpoint(s)
        assert checkpoint is not None
        root = checkpoint.root
    hasher = merkle.Hasher("sm3")

    def recompute() -> Rate:
        # Every leaf and every full node, level by level, then the root from the right edge.
        t = _start()
        levels = merkle.full_levels(hasher, hasher.leaves(bodies))
        assert merkle.root_from_levels(hasher, levels) == root
        return _rate(len(bodies), t)

    def full_verify() -> Rate:
        t = _start()
        with Session(engine) as s:
            report = verify_log(s, chunk=16384)
        assert report.ok, report.problems[:3]
        return _rate(len(bodies), t)

    return len(bodies), _median(recompute, runs), _median(full_verify, max(1, runs - 2))


def _bench_body(n: int) -> bytes:
    """Canonical JSON of a benchmark entry, formatted directly (keys already in sorted order)."""
    return (b'{"actor":"system:bench","at":"2024-01-01T00:00:00Z","facts":{"n":%d},"index":%d,'
            b'"region":"231002001001","subject":"household:%d","type":"bench.event"}' % (n, n, n))


def build_big_log(engine: Engine, size: int) -> bytes:
    """Fast path for the proof benchmark: leaves and every full node computed level by level in memory,
    bulk-loaded through the driver (COPY on PostgreSQL, multi-row INSERTs on the MySQL-compatible engines, one
    executemany per table on SQLite), one signed checkpoint."""
    from daipin.domain.canonical import canonical_json
    from daipin.ledger import keys, merkle, note, store

    for n in (0, 7, size - 1):  # the formatted bodies are the canonical ones
        assert _bench_body(n) == canonical_json({
            "index": n, "type": "bench.event", "at": "2024-01-01T00:00:00Z", "actor": "system:bench",
            "region": "231002001001", "subject": f"household:{n}", "facts": {"n": n}})
    _reset(engine)
    hasher = merkle.Hasher("sm3")
    bodies = [_bench_body(n) for n in range(size)]
    levels = merkle.full_levels(hasher, hasher.leaves(bodies))
    root: bytes = merkle.root_from_levels(hasher, levels)
    at = datetime(2024, 1, 1)
    with engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur:
                with cur.copy("COPY ledger_entry (idx, body, leaf_hash, type, subject, region, county_code, at) "
                              "FROM STDIN") as cp:
                    for n, (body, lh) in enumerate(zip(bodies, levels[0], strict=True)):
                        cp.write_row((n, body, lh, "bench.event", f"household:{n}", "231002001001", "231002", at))
                with cur.copy("COPY ledger_node (county_code, level, idx, hash) FROM STDIN") as cp:
                    for lv in range(1, len(levels)):
                        for i, h in enumerate(levels[lv]):
                            cp.write_row(("231002", lv, i, h))
        elif engine.dialect.name in ("mysql", "mariadb"):
            # PyMySQL sends an executemany of `INSERT … VALUES` as multi-row INSERTs; chunks of 10,000 rows stay
            # well under the servers' default max_allowed_packet.
            cur = raw.cursor()
            entries = [(n, body, lh, f"household:{n}", at) for n, (body, lh) in enumerate(zip(bodies, levels[0],
                                                                                              strict=True))]
            nodes = [("231002", lv, i, h) for lv in range(1, len(levels)) for i, h in enumerate(levels[lv])]
            for start in range(0, len(entries), 10_000):
                cur.executemany(
                    "INSERT INTO ledger_entry (idx, body, leaf_hash, type, subject, region, county_code, at) "
                    "VALUES (%s, %s, %s, 'bench.event', %s, '231002001001', '231002', %s)",
                    entries[start:start + 10_000])
            for start in range(0, len(nodes), 10_000):
                cur.executemany("INSERT INTO ledger_node (county_code, level, idx, hash) VALUES (%s, %s, %s, %s)",
                                nodes[start:start + 10_000])
            cur.close()
        else:
            at_text = at.isoformat(" ", "microseconds")  # how the DateTime column stores it on SQLite
            cur = raw.cursor()
            cur.executemany(
                "INSERT INTO ledger_entry (idx, body, leaf_hash, type, subject, region, county_code, at) "
                "VALUES (?, ?, ?, 'bench.event', ?, '231002001001', '231002', ?)",
                ((n, body, lh, f"household:{n}", at_text) for n, (body, lh) in enumerate(zip(bodies, levels[0], strict=True))))
            cur.executemany("INSERT INTO ledger_node (county_code, level, idx, hash) VALUES ('231002', ?, ?, ?)",
                            ((lv, i, h) for lv in range(1, len(levels)) for i, h in enumerate(levels[lv])))
            cur.close()
        log = conn.execute(text("SELECT origin FROM ledger_log")).scalar()
        signed = note.sign_checkpoint(note.Checkpoint(str(log), size, root), keys.load_signer())
        conn.execute(insert(store.C), {"county_code": "231002", "size": size, "root": root, "note": signed, "at": at})
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE ledger_entry"))
            conn.execute(text("ANALYZE ledger_node"))
            conn.commit()
    return root


def bench_proofs(engine: Engine, size: int, count: int, runs: int) -> tuple[Rate, Rate]:
    from daipin.ledger import merkle, store

    rng = random.Random(7)
    indices = [rng.randrange(size) for _ in range(count)]
    hasher = merkle.Hasher("sm3")
    proofs: list[dict[str, object]] = []

    def generate() -> Rate:
        proofs.clear()
        with Session(engine) as s:
            t = _start()
            for i in indices:
                proofs.append(store.inclusion_proof(s, i, size))
            return _rate(count, t)

    gen = _median(generate, runs)
    decoded = [(int(str(p["index"])), bytes.fromhex(str(p["leaf_hash"])),
                [bytes.fromhex(h) for h in cast(list[str], p["path"])], bytes.fromhex(str(p["root"]))) for p in proofs]

    def verify() -> Rate:
        t = _start()
        for i, leaf, path, root in decoded:
            merkle.verify_inclusion(hasher, i, size, leaf, path, root)
        return _rate(count, t)

    return gen, _median(verify, runs)


def main() -> None:
    quick = "--quick" in sys.argv or os.environ.get("DAIPIN_BENCH_QUICK") == "1"
    big = 100_000 if quick else 1_000_000
    batched_n, single_n, runs = (20_000, 500, 3) if quick else (50_000, 2_000, 3)
    print(f"ledger benchmark, SM3, {'quick' if quick else 'full'}: medians of {runs} runs "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at start)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAIPIN_KEYS_DIR"] = os.path.join(tmp, "keys")
        from daipin.ledger import keys

        keys.init_keys()
        admin_url = url_option()
        backends = ["sqlite", engine_label(admin_url)] if admin_url else ["sqlite", "postgresql"]
        for backend in backends:
            print(f"\n[{backend}]", flush=True)
            try:
                db = _database(backend, tmp, admin_url if backend != "sqlite" else None)
                engine = db.__enter__()
            except Exception as exc:  # e.g. no PostgreSQL server on this machine
                print(f"  skipped: {exc}")
                continue
            try:
                b, one = bench_appends(engine, batched_n, 1000, single_n, runs)
                _line(f"batched appends ({batched_n:,} in batches of 1,000)", b, "batched")
                _line("single-entry appends (one per transaction)", one, "single" if backend == "sqlite" else None)
                n, rec, ver = bench_recompute(engine, runs)
                _line(f"full recompute in memory ({n:,} entries)", rec, "recompute")
                _line(f"`verify` from the database ({n:,} entries)", ver)
                t = _start()
                build_big_log(engine, big)
                print(f"  built a {big:,}-entry log in {time.perf_counter() - t[0]:.1f} s (bulk path)", flush=True)
                gen, ver = bench_proofs(engine, big, 2_000, runs)
                _line(f"inclusion proofs generated at {big:,}", gen, "proofs")
                _line(f"inclusion proofs verified at {big:,}", ver, "verify")
            finally:
                db.__exit__(None, None, None)


if __name__ == "__main__":
    main()
