"""The synthetic province on PostgreSQL (or, with `--url URL`, on MariaDB or OceanBase seekdb): `daipin sample province` generated and loaded (regions, the roster through
the import's bulk path, entities, projects, contracts, plans, events, every row stated in the ledger), then
`daipin ledger verify` of the whole province, then `daipin year close` for the whole province (every project
settled, every village allocated, parallel by county), each beside a same-run baseline: COPY (on MySQL-compatible engines, multi-row INSERTs) of the same number of run rows and
ledger rows. Goals on the default province, PostgreSQL:
load ≤ 5 min; close ≤ 60 s wall, peak RSS of any process ≤ 2 GB.

`python -m benchmarks province` runs both; `python -m benchmarks yearclose` (bench_yearclose) the close alone.
Knobs (environment): BENCH_PROVINCE_HOUSEHOLDS (300000; the other sizes scale with it as `daipin sample province`'s
defaults: 10 counties, a village per 100 households, 10/3 people and contracts per household, an entity per 30
households), BENCH_PROVINCE_COUNTIES (10), BENCH_PROVINCE_WORKERS (2), BENCH_PROVINCE_KEEP=1 (keep the database and
print its address), BENCH_PROVINCE_DATABASE=<url> (close a year on a database kept earlier; it is left in place).
`--url URL`: the server of that database URL instead of PostgreSQL, e.g. `mysql://root@127.0.0.1:3306/test`, or
seekdb's (scripts/seekdb_server.py prints it); the issue asks these at a tenth: BENCH_PROVINCE_HOUSEHOLDS=30000.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

YEAR = 2025


def size() -> Any:
    from daipin.services.sample.province import ProvinceSize

    households = int(os.environ.get("BENCH_PROVINCE_HOUSEHOLDS", "300000"))
    counties = int(os.environ.get("BENCH_PROVINCE_COUNTIES", "10"))
    villages = max(15 * counties, households // 100)
    return ProvinceSize(counties=counties, townships=15 * counties, villages=villages, households=households,
                        people=households * 10 // 3, entities=max(counties, households // 30),
                        contracts=households * 10 // 3, events=households // 100)


def _rss_mb() -> tuple[float, float]:
    """Peak RSS of this process and of the largest child waited for, in MB (Linux reports kB). This process's own is
    read from /proc (VmHWM, this program's memory alone): `ru_maxrss` keeps, across the exec of a spawned process, the
    peak of the process it was forked from."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/status") as f:
            own = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        pass
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def load(url: str) -> float:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from daipin.db import migrate
    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.sample import province as prov

    engine = make_engine(url)
    migrate.upgrade(engine)
    at = datetime(2026, 3, 1, 2, tzinfo=UTC)
    sz = size()
    t0 = time.perf_counter()
    with Session(engine) as s:
        store.ensure_log(s, at=at)
        loaded = prov.load_province(s, SYSTEM_ACTOR, at, seed=2026, year=YEAR, size=sz,
                                    progress=lambda msg: print(f"    {msg}  ({time.perf_counter() - t0:.0f} s)",
                                                               flush=True))
        s.commit()
    elapsed = time.perf_counter() - t0
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
    engine.dispose()
    print("  loaded: " + ", ".join(f"{k} {v:,}" for k, v in loaded.counts.items()), flush=True)
    print(f"  generate + load: {elapsed:,.1f} s (goal ≤ 300 s at the default size)", flush=True)
    return elapsed


def verify(url: str) -> None:
    """`daipin ledger verify` of the whole province: every county's log (hashes, tree, checkpoints and their
    signatures) and every row its entries state, beside a same-run baseline: each entry's body read and hashed
    once, and every row of the tables entries state read once (a plain streamed SELECT), with nothing checked."""
    import hashlib

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from daipin.db.session import make_engine, reset_engine
    from daipin.ledger import store
    from daipin.ledger.verify import verify_log

    engine = make_engine(url)
    reset_engine(engine)
    own0 = _rss_mb()[0]
    t0 = time.perf_counter()
    with Session(engine) as s:
        report = verify_log(s)
    wall = time.perf_counter() - t0
    own = _rss_mb()[0]
    entries = sum(size for size, _root in report.counties.values())
    print(f"  ledger verify, {len(report.counties)} counties' logs and the rows they state: {wall:,.1f} s, "
          f"{entries:,} entries, {'ok' if report.ok else f'{len(report.problems)} problems'}; peak RSS {own:,.0f} MB "
          f"(this process, {own0:,.0f} MB before)", flush=True)
    t0 = time.perf_counter()
    n = 0
    with engine.connect() as c:
        # (the options on the statement: given to the connection, psycopg fetched every row at once, 6.8 GB here)
        res = c.execute(text("SELECT body FROM ledger_entry ORDER BY county_code, idx")
                        .execution_options(stream_results=True, max_row_buffer=8192))
        sha = hashlib.sha256
        for (body,) in res:
            sha(b"\x00" + bytes(body)).digest()
            n += 1
        rows = 0
        for table in sorted(store.row_checks()):
            for part in c.execute(text(f"SELECT * FROM {table}")
                                  .execution_options(stream_results=True, max_row_buffer=8192)).partitions(8192):
                rows += len(part)
    base = time.perf_counter() - t0
    reset_engine(None)
    engine.dispose()
    print(f"  baseline: every entry's body read and hashed once ({n:,} entries), every row of the {len(store.row_checks())} "
          f"tables they state read once ({rows:,} rows): {base:,.1f} s; ratio {wall / base if base else float('inf'):,.1f}×",
          flush=True)


def close(url: str) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from daipin.db.models.registry import Run
    from daipin.db.session import make_engine, reset_engine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.yearclose import service as yc

    workers = int(os.environ.get("BENCH_PROVINCE_WORKERS", "2"))
    engine = make_engine(url)
    reset_engine(engine)
    with Session(engine) as s:
        counties = [r.code for r in yc.counties(s, SYSTEM_ACTOR)]
        before = sum(store.tree_size(s, county=c) for c in store.counties(s))  # every county's own log
        runs_before = s.scalar(select(func.count()).select_from(Run)) or 0
    at = datetime(2026, 3, 2, 2, tzinfo=UTC)
    from daipin.commands.province import close_year

    load_avg = os.getloadavg()[0]
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    close_year(url, SYSTEM_ACTOR, YEAR, at, counties, workers)
    wall = time.perf_counter() - t0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    print(f"  year close: workers' CPU {cpu:,.1f} s in all (load average {load_avg:.1f} at its start)", flush=True)
    own, kids = _rss_mb()
    with Session(engine) as s:
        entries = sum(store.tree_size(s, county=c) for c in store.counties(s)) - before
        runs = (s.scalar(select(func.count()).select_from(Run)) or 0) - runs_before
    print(f"  year close, {len(counties)} counties, {workers} workers: {wall:,.1f} s wall, {runs:,} runs, "
          f"{entries:,} ledger entries; peak RSS {own:,.0f} MB (this process), {kids:,.0f} MB (largest worker) "
          "(goals ≤ 60 s, ≤ 2048 MB)", flush=True)
    # Baseline: the same number of run rows (their own input and output documents) and ledger rows, written in
    # bulk: COPY on PostgreSQL, multi-row INSERTs on the MySQL-compatible engines (the fastest plain path there).
    if engine.dialect.name == "postgresql":
        base, n_runs, n_entries = _copy_baseline(engine, runs, entries)
        how = "COPY"
    else:
        base, n_runs, n_entries = _insert_baseline(engine, runs, entries)
        how = "multi-row INSERT"
    reset_engine(None)
    engine.dispose()
    print(f"  baseline: {how} of the same {n_runs:,} run rows and {n_entries:,} ledger rows: {base:,.2f} s; "
          f"ratio {wall / base if base else float('inf'):,.1f}×", flush=True)


def _copy_baseline(engine: Any, runs: int, entries: int) -> tuple[float, int, int]:
    from sqlalchemy import text

    with engine.begin() as c:
        raw: Any = c.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE copy_runs (LIKE runs INCLUDING DEFAULTS)")
            cur.execute("CREATE TEMP TABLE copy_entries (LIKE ledger_entry INCLUDING DEFAULTS)")
            run_rows = list(c.execute(text("SELECT id, kind, subject, year, input_json::text, output_json::text, "
                                           "input_digest, output_digest, actor, at, ledger_index, county_code "
                                           "FROM runs ORDER BY id DESC LIMIT :n"), {"n": runs}))
            entry_rows = list(c.execute(text("SELECT * FROM ledger_entry ORDER BY idx DESC LIMIT :n"),
                                        {"n": entries}))
            cols = ", ".join(c.execute(text("SELECT * FROM ledger_entry LIMIT 0")).keys())
            t1 = time.perf_counter()
            with cur.copy("COPY copy_runs (id, kind, subject, year, input_json, output_json, input_digest, "
                          "output_digest, actor, at, ledger_index, county_code) FROM STDIN") as cp:
                for r in run_rows:
                    cp.write_row(tuple(r))
            with cur.copy(f"COPY copy_entries ({cols}) FROM STDIN") as cp:
                for r in entry_rows:
                    cp.write_row(tuple(r))
            return time.perf_counter() - t1, len(run_rows), len(entry_rows)


def _insert_baseline(engine: Any, runs: int, entries: int) -> tuple[float, int, int]:
    """The same rows into empty copies of the tables by the driver's multi-row INSERT (PyMySQL rewrites an
    executemany of one INSERT … VALUES into statements of many rows), in one transaction."""
    from sqlalchemy import text

    with engine.begin() as c:
        c.execute(text("CREATE TEMPORARY TABLE copy_runs LIKE runs"))
        c.execute(text("CREATE TEMPORARY TABLE copy_entries LIKE ledger_entry"))
        run_q = c.execute(text("SELECT * FROM runs ORDER BY id DESC LIMIT :n"), {"n": runs})
        run_cols, run_rows = list(run_q.keys()), [tuple(r) for r in run_q]
        entry_q = c.execute(text("SELECT * FROM ledger_entry ORDER BY idx DESC LIMIT :n"), {"n": entries})
        entry_cols, entry_rows = list(entry_q.keys()), [tuple(r) for r in entry_q]
        raw: Any = c.connection.driver_connection
        t1 = time.perf_counter()
        with raw.cursor() as cur:
            for table, cols, rows in (("copy_runs", run_cols, run_rows), ("copy_entries", entry_cols, entry_rows)):
                sql = (f"INSERT INTO {table} ({', '.join(f'`{k}`' for k in cols)}) "
                       f"VALUES ({', '.join(['%s'] * len(cols))})")
                for k in range(0, len(rows), 1000):
                    cur.executemany(sql, rows[k:k + 1000])
        return time.perf_counter() - t1, len(run_rows), len(entry_rows)


def _run_step(step: str, url: str) -> None:
    from daipin import bootstrap

    bootstrap.configure()
    {"verify": verify, "close": close}[step](url)


def _own_process(step: str, url: str) -> None:
    """Run `verify` or `close` in a new process (spawned, not forked), so its peak RSS, and that of the workers the
    close forks, is the step's own: this process still holds the load's memory, and a forked worker counts the pages
    it shares with its parent."""
    import multiprocessing

    proc = multiprocessing.get_context("spawn").Process(target=_run_step, args=(step, url))
    proc.start()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"the {step} step failed (exit code {proc.exitcode})")


def main() -> None:
    from benchmarks.pgdb import drop_database, engine_label, new_database, url_option

    keep = os.environ.get("BENCH_PROVINCE_KEEP", "") in ("1", "true", "yes")
    reuse = os.environ.get("BENCH_PROVINCE_DATABASE", "")
    sz = size()
    admin = url_option()
    label = engine_label(admin) if admin else "postgresql"
    print(f"province benchmark, {label}: {sz.counties} counties, {sz.villages:,} villages, {sz.households:,} "
          f"households, {sz.people:,} people, {sz.contracts:,} contracts (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs at start)", flush=True)
    # A kept database keeps its keys too (its sealed columns and its ledger's signing key are in them): they go to a
    # folder of their own that outlives the run, where the run's other files go to one removed at its end.
    keys_home = tempfile.mkdtemp(prefix="daipin-bench-province-keys-") if keep else None
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("DAIPIN_KEYS_DIR", os.path.join(keys_home or tmp, "keys"))
        if reuse:
            close(reuse)
            return
        try:
            url = new_database("daipin_bench_province", admin)
        except Exception as exc:  # noqa: BLE001 - no PostgreSQL server here
            print(f"  skipped: {exc}")
            return
        try:
            load(url)
            _own_process("verify", url)
            _own_process("close", url)
        finally:
            if keep:
                print(f"  kept: {url} (keys in {os.environ['DAIPIN_KEYS_DIR']})")
            else:
                drop_database(url)


if __name__ == "__main__":
    main()
