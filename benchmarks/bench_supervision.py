"""The red-flag scan of a province-sized district on PostgreSQL (issue 17): 300,000 households, 1,000,000 people,
1,000,000 contracts and 3,000,000 payment lines, generated deterministically inside the database; the rules' queries
and the whole scan (findings written with their ledger entries) timed beside a same-run baseline, one sequential
read of the payment lines; peak memory of this process printed. Each village's allocations are paid by their own
batches and checked against its confirmed roster of the year (one household in 499 left off it). Goal: the scan in ≤ 30 s. `--quick`: one twentieth.
`--scale 0.01`: any fraction."""

from __future__ import annotations

import resource
import sys
import time
from datetime import UTC, datetime
from typing import Any

HOUSEHOLDS, PEOPLE, CONTRACTS, LINES = 300_000, 1_000_000, 1_000_000, 3_000_000
COUNTY = "231002"
FIRST_YEAR = 2021


def _generate(conn: Any, scale: float) -> dict[str, int]:
    """Every row by `INSERT … SELECT generate_series`: deterministic, no client round trip per row."""
    from sqlalchemy import text

    h, p, c, n = (max(10, int(x * scale)) for x in (HOUSEHOLDS, PEOPLE, CONTRACTS, LINES))
    villages, entities = max(3, h // 1000), max(3, h // 300)
    projects, rounds = entities * 3, max(1, n // h)
    batches = rounds * villages
    sql = [
        f"""INSERT INTO regions (code, name, level, parent_code, poor_village, key_village, county_code)
            VALUES ('{COUNTY}', '基准区', 'district', NULL, false, false, '{COUNTY}')""",
        f"""INSERT INTO regions (code, name, level, parent_code, poor_village, key_village, county_code)
            SELECT '{COUNTY}' || lpad(t::text, 3, '0'), '镇' || t, 'township', '{COUNTY}', false, false, '{COUNTY}'
            FROM generate_series(1, {max(1, villages // 10)}) t""",
        f"""INSERT INTO regions (code, name, level, parent_code, poor_village, key_village, county_code)
            SELECT '{COUNTY}' || lpad((v % {max(1, villages // 10)} + 1)::text, 3, '0') || lpad(v::text, 3, '0'),
                   '村' || v, 'village', '{COUNTY}' || lpad((v % {max(1, villages // 10)} + 1)::text, 3, '0'),
                   v % 2 = 0, false, '{COUNTY}'
            FROM generate_series(1, {villages}) v""",
        """CREATE TEMP TABLE bench_village AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, code
            FROM regions WHERE level = 'village'""",
        f"""INSERT INTO households (household_no, village_code, county_code, status, status_since, labor, life_state)
            SELECT v.code || lpad(i::text, 7, '0'), v.code, '{COUNTY}', CASE WHEN i % 50 = 0 THEN 'exited'
                   ELSE 'poor' END, DATE '2015-01-01', 'full', 'alive'
            FROM generate_series(1, {h}) i JOIN bench_village v ON v.k = i % {villages}""",
        f"""INSERT INTO household_status_history (household_id, county_code, status, from_date, reason)
            SELECT id, '{COUNTY}', 'poor', DATE '2015-01-01', '' FROM households""",
        f"""INSERT INTO household_status_history (household_id, county_code, status, from_date, reason)
            SELECT id, '{COUNTY}', 'exited', DATE '2025-03-01', '稳定脱贫' FROM households WHERE status = 'exited'""",
        # The ID number's blind index (migration 0023) is unique and required: one per person, as the registry
        # writes it (the sealed number itself is never read by the rules).
        f"""INSERT INTO people (household_id, county_code, name, name_initials, id_number, id_number_bidx, relation,
                                labor, life_state)
            SELECT (i % {h}) + 1, '{COUNTY}', '成员' || i, '', lpad(i::text, 18, '0'), md5(i::text),
                   CASE WHEN i <= {h} THEN '户主' ELSE '子' END, 'full', 'alive'
            FROM generate_series(1, {p}) i""",
        f"""INSERT INTO entities (name, kind, uscc, legal_representative, region_code, county_code, credit_status)
            SELECT '主体' || e, 'cooperative', 'B' || lpad(e::text, 17, '0'), '法人', NULL, '{COUNTY}', 'normal'
            FROM generate_series(1, {entities}) e""",
        f"""INSERT INTO projects (code, name, category, entity_id, township_code, village_code, county_code,
                                  expected_return, status, start_year)
            SELECT 'P' || j, '项目' || j, '特色种养业', (j % {entities}) + 1, substr(v.code, 1, 9), v.code, '{COUNTY}',
                   '0.06', 'operating', 2024
            FROM generate_series(1, {projects}) j JOIN bench_village v ON v.k = j % {villages}""",
        f"""INSERT INTO funding_sources (project_id, county_code, source, amount_fen)
            SELECT id, '{COUNTY}', '财政扶贫资金', 100000000 FROM projects""",
        f"""INSERT INTO contracts (code, model, project_id, entity_id, payee_household_id, start_date, end_date, status,
                                   version, terms, county_code)
            SELECT 'C' || i, 'shareholding', (i % {projects}) + 1, ((i % {projects}) % {entities}) + 1,
                   (i % {h}) + 1, DATE '2024-01-01', DATE '2028-12-31', 'active', 1,
                   '{{"contribution_kind": "land_rights"}}'::json, '{COUNTY}'
            FROM generate_series(1, {c}) i""",
        # One village allocation a village a round (two rounds a year, 2021–2025), each paid by its own batch.
        f"""INSERT INTO matters (kind, state, round, county_code, region_code, title, year, proposer, funding_source,
                                 responsible_person, justification, document, document_digest,
                                 warnings, created_at, created_by, updated_at)
            SELECT 'village_allocation', 'executed', 1, '{COUNTY}', v.code, '分配' || b,
                   {FIRST_YEAR} + ((b - 1) / {villages}) / 2, '', '', '', '', '{{}}'::json, 'x',
                   '[]'::json, TIMESTAMPTZ '2025-05-01', 'system:0', TIMESTAMPTZ '2025-05-01'
            FROM generate_series(1, {batches}) b JOIN bench_village v ON v.k = (b - 1) % {villages}""",
        # Each village's confirmed beneficiary roster of each year: every household but one in 499.
        f"""INSERT INTO matters (kind, state, round, county_code, region_code, title, year, proposer, funding_source,
                                 responsible_person, justification, document, document_digest,
                                 warnings, created_at, created_by, updated_at)
            SELECT 'beneficiary_roster', 'executed', 1, '{COUNTY}', h.village_code, '名单', y, '', '', '', '',
                   json_build_object('version', 1, 'kind', 'beneficiary_roster', 'village', h.village_code,
                                     'year', y, 'households', json_agg(json_build_object('id', h.household_no,
                                                                                       'status', 'poor'))), 'x',
                   '[]'::json, TIMESTAMPTZ '2021-01-01', 'system:0', TIMESTAMPTZ '2021-01-01'
            FROM households h CROSS JOIN generate_series({FIRST_YEAR}, {FIRST_YEAR + (rounds - 1) // 2}) y
            WHERE h.id % 499 <> 7 GROUP BY h.village_code, y""",
        f"""INSERT INTO notices (matter_id, round, county_code, region_code, posted_at, window_days, ends_at, content,
                                 content_digest, checkpoint, status, posted_by)
            SELECT id, 1, '{COUNTY}', region_code, TIMESTAMPTZ '2025-04-01', 10, TIMESTAMPTZ '2025-04-11',
                   '{{}}'::json, 'x', '', 'closed', 'system:0' FROM matters""",
        f"""INSERT INTO runs (kind, subject, year, input_json, output_json, input_digest, output_digest, actor, at,
                              county_code)
            SELECT 'village_allocation', '{COUNTY}', 2025, '{{}}'::json, '{{}}'::json, 'x', 'x', 'system:0',
                   TIMESTAMPTZ '2025-05-01', '{COUNTY}' FROM generate_series(1, {batches}) b""",
        f"""INSERT INTO payment_batches (matter_id, pool_key, run_id, county_code, total_fen, status, created_at,
                                         created_by)
            SELECT m.id, 'bench:' || b, b, '{COUNTY}', 0, 'paid', TIMESTAMPTZ '2025-05-01', 'system:0'
            FROM generate_series(1, {batches}) b JOIN matters m ON m.title = '分配' || b ORDER BY b""",
        # Every household paid once a round, by its village's batch of the round.
        f"""INSERT INTO payment_lines (batch_id, county_code, payee_type, payee_ref, household_id, payee_name,
                                       amount_fen, bank_account_masked, status, paid_at, payment_ref, failure_reason,
                                       seq, attempt)
            SELECT ((i - 1) / {h}) * {villages} + v.k + 1, '{COUNTY}', 'household', hh.household_no, hh.id, '户主',
                   12345, '', 'paid', TIMESTAMPTZ '2025-05-10', '', '', i, 1
            FROM generate_series(1, {rounds * h}) i JOIN households hh ON hh.id = ((i - 1) % {h}) + 1
            JOIN bench_village v ON v.code = hh.village_code""",
        "ANALYZE",
    ]
    for statement in sql:
        conn.execute(text(statement))
    return {"households": h, "people": p, "contracts": c, "payment_lines": rounds * h, "villages": villages,
            "projects": projects}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from benchmarks.pgdb import drop_database, new_database
    from daipin import bootstrap
    from daipin.db import migrate
    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.supervision import service

    args = sys.argv[1:]
    scale = 0.05 if "--quick" in args else 1.0
    if "--scale" in args:
        scale = float(args[args.index("--scale") + 1])
    bootstrap.configure()
    url = new_database("daipin_bench_scan")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            sizes = _generate(conn, scale)
        generated = time.perf_counter() - t0
        at = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
        with Session(engine) as s:
            store.ensure_log(s, county=COUNTY, at=at)
            s.commit()
            t0 = time.perf_counter()
            count, total = s.execute(text("SELECT count(*), sum(amount_fen) FROM payment_lines")).one()
            baseline = time.perf_counter() - t0
            t0 = time.perf_counter()
            causes = service.find_causes(s, COUNTY, at.date())
            queries = time.perf_counter() - t0
            t0 = time.perf_counter()
            first = service.scan(s, SYSTEM_ACTOR, COUNTY, at)
            s.commit()
            scan = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = service.scan(s, SYSTEM_ACTOR, COUNTY, at)
            s.commit()
            rescan = time.perf_counter() - t0
        print(f"supervision scan on PostgreSQL, scale {scale}: {sizes}")
        print(f"  generated in {generated:.1f} s; baseline, one sequential read of {count:,} payment lines "
              f"(sum {total}): {baseline:.2f} s")
        print(f"  the rules' queries: {queries:.2f} s, {len(causes):,} causes "
              f"({', '.join(f'{k} {v}' for k, v in sorted(first.by_rule.items()))})")
        print(f"  the scan (findings and ledger entries written): {scan:.2f} s, {len(first.opened):,} opened; "
              f"again: {rescan:.2f} s, {again.changed} changed  (goal ≤ 30 s at full scale)")
        print(f"  peak memory of this process: {_peak_mb():.0f} MB")
    finally:
        engine.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
