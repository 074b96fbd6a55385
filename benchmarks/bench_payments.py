"""Money out at scale on PostgreSQL: a batch of 100,000 lines sent to the bank (the file written, every line marked
sent, one ledger entry with every line's row fact) and its return read back (every row matched by 序号, account
and amount, every line settled), in lines per second, as csv and as xlsx, beside a same-run baseline that writes
the same 100,000 rows with COPY. The households' accounts are sealed, as the registry keeps them (the bank file
opens all of them). Medians of three runs (`--quick`: 20,000 lines; `--csv`: the csv files only)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

LINES = 100_000
RUNS = 3


def _setup(url: str, n: int) -> int:
    """A committed database: one village, n households with accounts, one matter, run and batch of n lines."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from daipin.db import migrate, sealing
    from daipin.db.models.registry import Region, Run
    from daipin.db.models.workflow import Matter, PaymentBatch
    from daipin.db.session import make_engine
    from daipin.ledger import store

    engine = make_engine(url)
    migrate.upgrade(engine)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with Session(engine) as s:
        store.ensure_log(s, at=at)
        s.add(Region(code="231002001001", name="某某村", level="village", parent_code="231002001",
                     county_code="231002"))
        m = Matter(kind="village_allocation", state="executed", round=1, county_code="231002",
                   region_code="231002001001", title="2025年度村集体收益分配", year=2025, document={}, document_digest="x",
                   warnings=[], created_at=at, created_by="system:0", updated_at=at)
        r = Run(kind="village_allocation", subject="231002001001", year=2025, input_json={},
                output_json={"kind": "village_allocation", "pool_fen": n * 12345, "lines": []}, input_digest="x",
                output_digest="x", actor="system:0", at=at, county_code="231002")
        s.add_all([m, r])
        s.flush()
        b = PaymentBatch(matter_id=m.id, pool_key="bench", run_id=r.id, county_code="231002", total_fen=n * 12345,
                         status="pending", created_at=at, created_by="system:0")
        s.add(b)
        s.flush()
        accounts, _ = sealing.seal_many(s.connection(), "households", "bank_account",
                                        [f"62170000{i:011d}" for i in range(1, n + 1)], "231002")
        raw: Any = s.connection().connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY households (id, household_no, village_code, county_code, status, labor, "
                          "bank_account, life_state) FROM STDIN") as cp:
                for i in range(1, n + 1):
                    cp.write_row((i, f"2310020010019{i:06d}", "231002001001", "231002", "poor", "full",
                                  accounts[i - 1], "alive"))
            with cur.copy("COPY payment_lines (batch_id, county_code, payee_type, payee_ref, household_id, "
                          "payee_name, amount_fen, bank_account_masked, status, payment_ref, failure_reason, seq, "
                          "attempt) FROM STDIN") as cp:
                for i in range(1, n + 1):
                    cp.write_row((b.id, "231002", "household", f"2310020010019{i:06d}", i, "某某", 12345,
                                  f"****{i % 10000:04d}", "pending", "", "", i, 1))
        s.execute(text("SELECT setval(pg_get_serial_sequence('households', 'id'), :n)"), {"n": n})
        s.commit()
        batch_id = int(b.id)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))  # the statistics a live database has (autovacuum), not those of empty tables
    engine.dispose()
    return batch_id


def _reset(url: str, batch_id: int) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE payment_lines SET status = 'pending', sent_at = NULL, sent_file_id = NULL, "
                       "return_file_id = NULL, account_digest = NULL, paid_at = NULL, failed_at = NULL, "
                       "payment_ref = '', failure_reason = '' WHERE batch_id = :b"), {"b": batch_id})
        c.execute(text("UPDATE payment_batches SET status = 'pending' WHERE id = :b"), {"b": batch_id})
        c.execute(text("DELETE FROM payment_receipts"))
    engine.dispose()


def _answer(out: bytes, run: int, fmt: str = "csv") -> bytes:
    """The bank's return of file `out`: every line succeeded, with a serial of its own."""
    if fmt == "xlsx":
        import io

        from openpyxl import Workbook, load_workbook

        wb = load_workbook(io.BytesIO(out), read_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        back = Workbook(write_only=True)
        ws = back.create_sheet("回盘")
        ws.append([*rows[0], "状态", "失败原因", "流水号"])
        for r in rows[1:]:
            if r[0] != "笔数":
                ws.append([*r, "成功", "", f"R{run}-{r[0]}"])
        buf = io.BytesIO()
        back.save(buf)
        return buf.getvalue()
    lines = out.decode("utf-8-sig").split("\r\n")
    body = [f"{lines[0]},状态,失败原因,流水号"]
    for ln in lines[1:]:
        if not ln or ln.startswith("笔数"):
            continue
        body.append(f"{ln},成功,,R{run}-{ln.split(',', 1)[0]}")
    return ("\r\n".join(body) + "\r\n").encode("utf-8")


def _copy_baseline(url: str, n: int) -> float:
    """The same n rows written with COPY into a table shaped like payment_lines (no checks, no ledger)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as c:
        raw: Any = c.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE copy_lines (LIKE payment_lines INCLUDING DEFAULTS)")
            t = time.perf_counter()
            with cur.copy("COPY copy_lines (id, batch_id, county_code, payee_type, payee_ref, household_id, "
                          "payee_name, amount_fen, bank_account_masked, status, payment_ref, failure_reason, seq, "
                          "attempt, paid_at) FROM STDIN") as cp:
                at = datetime(2026, 3, 2, tzinfo=UTC)
                for i in range(1, n + 1):
                    cp.write_row((i, 1, "231002", "household", f"2310020010019{i:06d}", i, "某某", 12345,
                                  f"****{i % 10000:04d}", "paid", f"R-{i}", "", i, 1, at))
            elapsed = time.perf_counter() - t
    engine.dispose()
    return n / elapsed


def main() -> None:
    from benchmarks.pgdb import drop_database, new_database
    from daipin.db.session import make_engine, reset_engine, session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.payments import bankfiles

    n = 20_000 if ("--quick" in sys.argv or os.environ.get("DAIPIN_BENCH_QUICK") == "1") else LINES
    formats = ("csv",) if "--csv" in sys.argv else ("csv", "xlsx")
    print(f"payments benchmark, PostgreSQL, {n:,} lines: medians of {RUNS} runs "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at start)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAIPIN_KEYS_DIR"] = os.path.join(tmp, "keys")
        try:
            url = new_database()
        except Exception as exc:  # noqa: BLE001 - no PostgreSQL server here
            print(f"  skipped: {exc}")
            return
        try:
            batch_id = _setup(url, n)
            engine = make_engine(url)
            reset_engine(engine)
            outs: dict[str, list[float]] = {f: [] for f in formats}
            ins: dict[str, list[float]] = {f: [] for f in formats}
            copies: list[float] = []
            at = datetime(2026, 3, 2, tzinfo=UTC)
            hour = 0
            for _run in range(RUNS):
                for fmt in formats:
                    hour += 1
                    _reset(url, batch_id)
                    t = time.perf_counter()
                    with session_scope() as s:
                        f = bankfiles.bank_file(s, SYSTEM_ACTOR, batch_id, fmt, at=at + timedelta(hours=hour))
                    outs[fmt].append(n / (time.perf_counter() - t))
                    back = _answer(f.data, hour, fmt)
                    t = time.perf_counter()
                    with session_scope() as s:
                        r = bankfiles.apply_return(s, SYSTEM_ACTOR, batch_id, f"back.{fmt}", back,
                                                   at=at + timedelta(hours=hour, minutes=30))
                    ins[fmt].append(n / (time.perf_counter() - t))
                    assert r.paid == n
                copies.append(_copy_baseline(url, n))
            reset_engine(None)
            engine.dispose()
            base = statistics.median(copies)
            for fmt in formats:
                out, in_ = statistics.median(outs[fmt]), statistics.median(ins[fmt])
                print(f"  bank file out, {fmt:<4} (file, {n:,} lines sent, ledger): {out:>10,.0f} lines/s"
                      f"  ({out / base:.2f} of COPY)")
                print(f"  bank return in, {fmt:<4} ({n:,} lines paid, ledger):     {in_:>10,.0f} lines/s"
                      f"  ({in_ / base:.2f} of COPY)")
            print(f"  baseline: the same rows with COPY:                      {base:>10,.0f} lines/s")
            print(f"  (load average {os.getloadavg()[0]:.1f} at the end)")
        finally:
            drop_database(url)


if __name__ == "__main__":
    main()
