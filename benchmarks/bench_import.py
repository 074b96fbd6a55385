"""Household import into PostgreSQL with full validation, against a bare `COPY` of the same csv.

Default size: 1,000,000 people in 300,000 households; `--quick` (or DAIPIN_BENCH_QUICK=1) uses a
tenth of that. Three runs (`--runs N`), each timing a bare COPY, the import and PostgreSQL's part
alone one after the other; each run's ratio is taken within the run, and the medians printed. Each run uses a throwaway database. The import validates
every row (resident ID as `stdnum.cn.ric` checks it: length, check digit, birth date, region
code in force; relation, labour, status, village, exit year, phone, bank account; one head
per household; duplicates in the file and in the database; a clean file this large is
checked by `services/import_columns.py`), then writes with COPY, one ledger entry per
`imports.BATCH` households carrying a digest of its rows. In the first run the same file is
then imported again (nothing changes: no row, no ledger entry) and timed too.

"PostgreSQL's part alone" loads the rows the import wrote, as COPY text with their ids, into a
fresh database the way the import loads them (emptied, indexes and constraints dropped, COPY (FREEZE), rebuilt),
with no reading or checking: what the database itself spends on these tables, a ceiling for
any import into this schema.

Each run prints, beside the wall time, the CPU seconds of the import's Python processes (this one
and the child that checks part of a large file) and of its PostgreSQL server process (read from
/proc when the server runs on this machine), and the load average before the run.
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from stdnum.cn import ric

from benchmarks.pgdb import drop_database, new_database
from daipin.db import sealing
from daipin.services.imports.service import HOUSEHOLD_COLUMNS, PERSON_COLUMNS, STATUS_COLUMNS

SEALED_EXTRA = {t: tuple(b for (table, _c), b in sealing.SEALED.items() if table == t and b) for t in ("households",
                                                                                                      "people")}

HEADERS = ["户编号", "户主姓名", "姓名", "证件号码", "与户主关系", "劳动能力", "户类型", "脱贫年度", "所属乡镇", "所属村",
           "联系电话", "银行账号"]
VILLAGES = [f"231002001{v:03d}" for v in range(1, 11)]


def make_csv(path: Path, households: int, people: int) -> int:
    """Deterministic roster: fictitious but checksum-valid ID numbers, sizes spread to hit `people`."""
    base = date(1985, 1, 1)
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        extra = people - households  # people beyond one per household, spread evenly
        for h in range(households):
            size = 1 + extra * (h + 1) // households - extra * h // households
            hno = f"{VILLAGES[h % 10]}{h:07d}"
            status = ("贫困户", "监测户", "脱贫户", "一般户")[h % 4]
            head = f"成员{n}"  # 户主姓名: the head's own name (the household's first row)
            for m in range(size):
                birth = base + timedelta(days=n // 1000)
                body = f"231002{birth:%Y%m%d}{n % 1000:03d}"
                idn = body + ric.calc_check_digit(body + "0")
                rel = "户主" if m == 0 else ("配偶" if m == 1 else "子")
                w.writerow([hno, head, f"成员{n}", idn, rel, ("有劳动能力", "弱劳动力", "无劳动能力")[n % 3], status,
                            "2019" if status == "脱贫户" else "", "兴隆镇", f"村{h % 10}",
                            f"1390000{n % 10000:04d}" if m == 0 else "", ""])
                n += 1
    return n



def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _server_cpu(pid: int) -> float | None:
    """CPU seconds of a PostgreSQL backend on this machine, None if its /proc entry cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# As the import writes them: personal data sealed, with the blind indexes after the canonical columns.
ROSTER = {"households": ("id", *HOUSEHOLD_COLUMNS[1:], *SEALED_EXTRA["households"]),
          "household_status_history": ("id", *STATUS_COLUMNS),
          "people": ("id", *PERSON_COLUMNS, *SEALED_EXTRA["people"])}


def _setup(engine: Any) -> None:
    """The schema, a ledger and the ten villages of `make_csv`."""
    from sqlalchemy.orm import Session

    from daipin.db import migrate
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.registry import service as reg

    migrate.upgrade(engine)
    at = datetime(2025, 6, 1, tzinfo=UTC)
    with Session(engine) as s:
        store.ensure_log(s, county="231002", at=at)
        reg.create_region(s, SYSTEM_ACTOR, code="231002", name="东安区", level="district", at=at)
        reg.create_region(s, SYSTEM_ACTOR, code="231002001", name="兴隆镇", level="township", at=at)
        for i, v in enumerate(VILLAGES):
            reg.create_region(s, SYSTEM_ACTOR, code=v, name=f"村{i}", level="village", at=at)
        s.commit()


def run_floor(tables: dict[str, bytes]) -> float:
    """PostgreSQL's own part of the import: the rows the import wrote (as COPY text, ids included) loaded into
    the same tables of a fresh database the way the import loads them (roster locked, emptied, indexes and
    constraints dropped, COPY (FREEZE), rebuilt), with no reading or checking at all: no import that loads them
    this way can be faster."""
    from sqlalchemy.orm import Session

    from daipin.db.session import make_engine
    from daipin.services.imports import service as imports

    url = new_database()
    engine = make_engine(url)
    try:
        _setup(engine)
        with Session(engine) as s:
            t0 = time.perf_counter()
            # Locked, emptied and its indexes and keys dropped as the import does it (the ids it draws go unused).
            start = imports._bulk_start(s, tables["households"].count(b"\n"), tables["people"].count(b"\n"))
            options = " (FREEZE)" if start.freeze else ""
            raw = s.connection().connection.driver_connection
            assert raw is not None
            with raw.cursor() as cur:
                for table, data in tables.items():
                    with cur.copy(f"COPY {table} ({', '.join(ROSTER[table])}) FROM STDIN{options}") as cp:
                        for i in range(0, len(data), 1 << 20):
                            cp.write(data[i:i + (1 << 20)])
            imports._restore_deferred(s, start.deferred)
            s.commit()
            return time.perf_counter() - t0
    finally:
        engine.dispose()
        drop_database(url)


def run_import(path: Path, keys: str, again: bool) -> tuple[float, float | None, int, float, float | None,
                                                         dict[str, bytes]]:
    """Seconds for the import (validate, write, ledger, commit), for re-importing the same file (if `again`),
    people written,
    the CPU seconds of the import's Python processes and of its server process, and the rows it wrote as COPY
    text (for `run_floor`)."""
    from sqlalchemy.orm import Session

    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.imports import service as imports

    os.environ["DAIPIN_KEYS_DIR"] = keys
    url = new_database()
    engine = make_engine(url)
    try:
        _setup(engine)
        at = datetime(2025, 6, 1, tzinfo=UTC)
        progress = "--progress" in sys.argv
        with Session(engine) as s:
            backend = int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())
            s.commit()
            server0, cpu0, t0 = _server_cpu(backend), _cpu(), time.perf_counter()
            result = imports.import_households(s, SYSTEM_ACTOR, path, at, progress=progress)
            s.commit()
            elapsed, cpu, server1 = time.perf_counter() - t0, _cpu() - cpu0, _server_cpu(backend)
        server = None if server0 is None or server1 is None else server1 - server0
        assert not result.errors, result.errors[:3]
        re_elapsed = None
        if again:
            t0 = time.perf_counter()
            with Session(engine) as s:
                second = imports.import_households(s, SYSTEM_ACTOR, path, at, progress=progress)
                s.commit()
            re_elapsed = time.perf_counter() - t0
            assert second.households_unchanged == result.households_new and second.households_changed == 0
        tables = {}
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                for table, columns in ROSTER.items():
                    with cur.copy(f"COPY (SELECT {', '.join(columns)} FROM {table} ORDER BY id) TO STDOUT") as cp:
                        tables[table] = b"".join(bytes(chunk) for chunk in cp)
        finally:
            raw.close()
        return elapsed, re_elapsed, result.people_new, cpu, server, tables
    finally:
        engine.dispose()
        drop_database(url)


def run_copy(path: Path) -> float:
    """Plain `COPY` of the same csv into a bare all-text table: the ceiling."""
    url = new_database()
    engine = create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cols = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
            cur.execute(f"CREATE TABLE bare ({cols})")
            raw.commit()
            t0 = time.perf_counter()
            with cur.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER true)") as cp, path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
            raw.commit()
            return time.perf_counter() - t0
        finally:
            raw.close()
    finally:
        engine.dispose()
        drop_database(url)


def main() -> None:
    quick = "--quick" in sys.argv or os.environ.get("DAIPIN_BENCH_QUICK") == "1"
    households, people = (30_000, 100_000) if quick else (300_000, 1_000_000)
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        t0 = time.perf_counter()
        rows = make_csv(path, households, people)
        print(f"csv: {rows:,} people in {households:,} households, {path.stat().st_size / 1e6:.1f} MB "
              f"(generated in {time.perf_counter() - t0:.1f} s)", flush=True)
        copy_times, import_times, floor_times, ratios, floor_ratios = [], [], [], [], []
        re_elapsed = None
        for i in range(runs):  # interleaved, so a busy machine weighs on both sides alike
            load = os.getloadavg()[0]
            copy_times.append(run_copy(path))
            elapsed, again, imported, cpu, server, tables = run_import(path, str(Path(tmp) / f"keys{i}"), i == 0)
            re_elapsed = again if again is not None else re_elapsed
            assert imported == rows
            import_times.append(elapsed)
            floor_times.append(run_floor(tables))
            del tables
            ratios.append(copy_times[-1] / elapsed)
            floor_ratios.append(copy_times[-1] / floor_times[-1])
            server_cpu = "" if server is None else f", server {server:.1f} s"
            print(f"  run {i + 1} (load average {load:.1f} on {os.cpu_count()} CPUs): COPY {rows / copy_times[-1]:,.0f} "
                  f"rows/s; daipin {rows / elapsed:,.0f} rows/s = {ratios[-1]:.1%} of COPY ({elapsed:.1f} s wall; "
                  f"CPU: Python {cpu:.1f} s{server_cpu}); PostgreSQL's part alone {rows / floor_times[-1]:,.0f} "
                  f"rows/s = {floor_ratios[-1]:.1%}", flush=True)
        of = f"median of {runs}" if runs > 1 else "one run"
        print(f"rows/s COPY (bare table): {rows / statistics.median(copy_times):,.0f} ({of})")
        print(f"rows/s daipin (validate + insert + ledger): {rows / statistics.median(import_times):,.0f} ({of}, "
              f"{statistics.median(import_times):.1f} s)")
        if re_elapsed is not None:
            print(f"rows/s daipin re-import, nothing changed: {rows / re_elapsed:,.0f} (run 1)")
        print(f"rows/s PostgreSQL's part alone (the import's rows into the same tables, indexes rebuilt, no checks): "
              f"{rows / statistics.median(floor_times):,.0f} ({of}, {statistics.median(floor_times):.1f} s)")
        print(f"PostgreSQL's part alone: {statistics.median(floor_ratios):.1%} of COPY (median of the runs' ratios)")
        print(f"ratio: {statistics.median(ratios):.1%} of COPY (median of the runs' ratios; goal ≥ 25%)")


if __name__ == "__main__":
    main()
