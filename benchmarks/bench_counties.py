"""Counties side by side: each county's single-entry append rate when two counties write at once, beside its rate
alone, on PostgreSQL (each county has its own writer lock, ledger/store.py "Counties").

`python -m benchmarks counties [--quick]`. Every figure is the median of several runs, each writer a process of its
own appending one entry per committed transaction for a fixed time. The same-run baseline is two processes writing to
ONE county at once: they share its lock, so each gets about half; two counties should each keep ≥ 80 % of alone.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks import pgdb

A, B = "231002", "231005"
GOAL = 0.8


def _writer(url: str, county: str, seconds: float, go: Any, out: Any) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from daipin import bootstrap
    from daipin.ledger import store

    bootstrap.configure()
    engine = create_engine(url, pool_size=1)
    region = f"{county}001001"
    at = datetime(2024, 5, 1, tzinfo=UTC)
    with Session(engine) as s, s.begin():  # warm the connection and the caches
        store.append(s, type="bench.warm", actor="system:bench", region=region, subject="warm", facts={}, at=at)
    go.wait()
    n, start = 0, time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        with Session(engine) as s, s.begin():
            store.append(s, type="bench.event", actor="system:bench", region=region, subject=f"thing:{n}",
                         facts={"n": n}, at=at)
        n += 1
    out.put((county, n / (time.perf_counter() - start)))
    engine.dispose()


def _round(url: str, counties: list[str], seconds: float) -> list[float]:
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, c, seconds, go, out)) for c in counties]
    for p in procs:
        p.start()
    time.sleep(3.0)  # let every process import and warm up before the clock starts
    go.set()
    rates = [out.get(timeout=seconds + 120)[1] for _ in procs]
    for p in procs:
        p.join()
    return rates


def main() -> None:
    quick = "--quick" in sys.argv
    runs, seconds = (3, 3.0) if quick else (5, 6.0)
    url = pgdb.new_database("daipin_bench_cty")
    keys_dir = tempfile.mkdtemp(prefix="daipin-bench-keys-")
    os.environ["DAIPIN_KEYS_DIR"] = keys_dir
    try:
        from sqlalchemy.orm import Session

        from daipin.db import migrate
        from daipin.db.session import make_engine
        from daipin.ledger import store

        engine = make_engine(url)
        migrate.upgrade(engine)
        with Session(engine) as s, s.begin():
            store.ensure_log(s, county=A)
            store.ensure_log(s, county=B)
        engine.dispose()
        alone_a, alone_b, both_a, both_b, same = [], [], [], [], []
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits every figure alike
            alone_a += _round(url, [A], seconds)
            alone_b += _round(url, [B], seconds)
            a, b = _round(url, [A, B], seconds)
            both_a.append(a)
            both_b.append(b)
            same += [sum(_round(url, [A, A], seconds)) / 2]
        med = statistics.median
        print(f"counties benchmark, PostgreSQL, SM3, one entry per transaction, {runs} runs of {seconds:.0f} s "
              f"(medians):")
        print(f"  county {A} alone:                       {med(alone_a):8.0f} entries/s")
        print(f"  county {B} alone:                       {med(alone_b):8.0f} entries/s")
        print(f"  county {A} while {B} writes:           {med(both_a):8.0f} entries/s  "
              f"ratio {med(both_a) / med(alone_a):.2f}")
        print(f"  county {B} while {A} writes:           {med(both_b):8.0f} entries/s  "
              f"ratio {med(both_b) / med(alone_b):.2f}")
        print(f"  baseline, two writers on one county:      {med(same):8.0f} entries/s each  "
              f"ratio {med(same) / med(alone_a):.2f}")
        worst = min(med(both_a) / med(alone_a), med(both_b) / med(alone_b))
        print(f"  goal: each county within 20 % of alone (ratio ≥ {GOAL}): {'met' if worst >= GOAL else 'NOT met'} "
              f"(worst {worst:.2f})")
    finally:
        pgdb.drop_database(url)


if __name__ == "__main__":
    main()
