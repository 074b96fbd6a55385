"""List benchmark: the household list's page and its capped count on the 300,000-household PostgreSQL database that
`bench_web` builds, each filter shape read by the views the pages call (no HTTP: the statements alone), and the
contract, project and entity lists. Prints the median and p95 of each, in milliseconds, over BENCH_LISTS_REPEAT runs (30).

Knobs (environment): BENCH_WEB_HOUSEHOLDS (300000), BENCH_WEB_DATABASE=<url> (a database kept by `bench_web` with
BENCH_WEB_KEEP=1, read instead of building one), BENCH_LISTS_REPEAT (30).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

REPEAT = int(os.environ.get("BENCH_LISTS_REPEAT", "30"))


def _time(work: Any) -> tuple[float, float]:
    runs = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        work()
        runs.append((time.perf_counter() - t0) * 1000)
    runs.sort()
    return statistics.median(runs), runs[max(0, int(len(runs) * 0.95) - 1)]


def main() -> None:
    from sqlalchemy.orm import Session

    from benchmarks.bench_web import REUSE, build
    from benchmarks.pgdb import drop_database, new_database
    from daipin.db.session import make_engine
    from daipin.domain.actors import Actor, Role
    from daipin.services.registry import views as rv

    url = REUSE or new_database()
    try:
        if not REUSE:
            build(url, tempfile.mkdtemp(prefix="daipin-bench-keys-"))
        engine = make_engine(url)
        district = Actor(id="bench", role=Role.DISTRICT_ADMIN, region="231002")
        cadre = Actor(id="bench", role=Role.VILLAGE_CADRE, region="231002001001")
        shapes = [
            ("district, all", district, {}),
            ("district, township", district, {"village": "231002001"}),
            ("district, village + status", district, {"village": "231002001001", "status": "poor"}),
            ("district, status", district, {"status": "monitored"}),
            ("district, initials 'w'", district, {"q": "w"}),
            ("district, surname 王", district, {"q": "王"}),
            ("district, page 150", district, {"offset": 149 * rv.PAGE}),
            ("cadre, all", cadre, {}),
            ("cadre, page 100", cadre, {"offset": 99 * rv.PAGE}),
        ]
        with Session(engine) as s:
            for label, actor, kw in shapes:
                out = rv.search_households(s, actor, count=True, **kw)
                med, p95 = _time(lambda a=actor, k=kw: rv.search_households(s, a, count=True, **k))
                total = f"{out['total']:,}{'+' if out['capped'] else ''}"
                print(f"  households {label:<28} total {total:>8}  median {med:6.1f} ms  p95 {p95:6.1f} ms",
                      flush=True)
            for label, kw in (("all", {}), ("model + year", {"model": "asset_lease", "year": 2025})):
                med, p95 = _time(lambda k=kw: rv.search_contracts(s, district, **k))
                print(f"  contracts  district, {label:<18} median {med:6.1f} ms  p95 {p95:6.1f} ms", flush=True)
            for label, kw in (("all", {}), ("township", {"region": "231002001"}), ("status", {"status": "operating"}),
                              ("code or name", {"q": "XM"})):
                med, p95 = _time(lambda k=kw: rv.search_projects(s, district, **k))
                print(f"  projects   district, {label:<18} median {med:6.1f} ms  p95 {p95:6.1f} ms", flush=True)
            for label, kw in (("all", {}), ("village", {"region": "231002001001"}), ("kind", {"kind": "cooperative"}),
                              ("name", {"q": "合作"})):
                med, p95 = _time(lambda k=kw: rv.search_entities(s, district, **k))
                print(f"  entities   district, {label:<18} median {med:6.1f} ms  p95 {p95:6.1f} ms", flush=True)
        engine.dispose()
    finally:
        if not REUSE:
            drop_database(url)


if __name__ == "__main__":
    from daipin import bootstrap

    bootstrap.configure()
    main()
