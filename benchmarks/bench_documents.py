"""Printed papers: each PDF of a matter walked to its archive on the sample district (meeting notice, sign-in
sheet, minutes, review form, notice, result announcement, dossier, contract), goal ≤ 300 ms each; and the
district's annual report (figures, PDF with charts, xlsx) on PostgreSQL with 300,000 households paid in 300
villages, goal ≤ 10 s. Medians of five runs for a paper, three for the report (`--quick`: 30,000 households).
Figures, not a timed test."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

HOUSEHOLDS = 300_000
VILLAGES = 300
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _median_ms(fn: Callable[[], Any], runs: int = 5) -> float:
    fn()  # warm: fonts registered, statements compiled
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _archived_matter(session: Any) -> int:
    """The sample's first village allocation from draft to archive, every line paid (dated before AT)."""
    from sqlalchemy import select

    from daipin.commands.web import confirm_rosters
    from daipin.db.models.registry import Region
    from daipin.domain.actors import SYSTEM_ACTOR as SYS
    from daipin.services.matters import service as wfs
    from daipin.services.payments import service as payments
    from daipin.services.runs import service as runs
    from daipin.services.sample import service as sample

    village = session.scalar(select(Region.code).where(Region.level == "village").order_by(Region.code).limit(1))
    confirm_rosters(session, AT, limit=1)
    t = AT - timedelta(days=30)
    doc = runs.build_village_allocation_document(session, village, sample.YEAR)
    m = wfs.draft_matter(session, SYS, kind="village_allocation", region=village, title="2025年度村集体收益分配",
                         document=doc, at=t, year=sample.YEAR, justification="按贡献与困难程度分档分配",
                         funding_source="村集体经营性收益", responsible_person="村委会主任")
    n = wfs.call_meeting(session, SYS, m.id, type="representatives_meeting", scheduled_at=t + timedelta(days=11),
                         place="村委会", at=t).eligible_representatives
    t += timedelta(days=11, hours=1)
    wfs.record_attendance(session, SYS, m.id, at=t, present_representatives=n, first_secretary_present=True)
    wfs.record_votes(session, SYS, m.id, at=t, votes_for=n - 1, against=1, abstain=0)
    wfs.decide(session, SYS, m.id, at=t)
    wfs.submit_for_review(session, SYS, m.id, at=t)
    wfs.review(session, SYS, m.id, decision="approve", comments="同意", at=t)
    wfs.publish_notice(session, SYS, m.id, at=t)
    t += timedelta(days=11)
    wfs.close_notice(session, SYS, m.id, at=t)
    wfs.execute(session, SYS, m.id, at=t)
    batch = payments.batch_for_matter(session, m.id)
    for ln in payments.lines(session, batch):
        payments.mark_paid(session, SYS, ln.id, payment_ref=f"HD-{ln.id}", at=t + timedelta(days=1))
    wfs.announce_result(session, SYS, m.id, at=t + timedelta(days=2))
    wfs.archive(session, SYS, m.id, at=t + timedelta(days=2, hours=1))
    return int(m.id)


def papers() -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from daipin.db import migrate
    from daipin.db.models.registry import Contract
    from daipin.db.models.workflow import Notice
    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR as SYS
    from daipin.ledger import keys, store
    from daipin.reports.notice_pdf import render_notice
    from daipin.services.documents import views as documents
    from daipin.services.portal import views as portal
    from daipin.services.sample import service as sample

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DAIPIN_KEYS_DIR"] = f"{tmp}/keys"
        keys.init_keys(f"{tmp}/keys")
        engine = make_engine(f"sqlite:///{tmp}/papers.db")
        migrate.upgrade(engine)
        with Session(engine) as s:
            store.ensure_log(s, at=AT - timedelta(days=60))
            sample.load_sample(s, SYS, AT - timedelta(days=60))
            mid = _archived_matter(s)
            s.commit()
            print(f"papers of one archived village allocation (sample district, {HOUSEHOLDS_NOTE(s, mid)}), "
                  "median of 5, goal ≤ 300 ms each:")
            for key in documents.PAPERS:
                def paper(key: str = key) -> Any:
                    return documents.render(s, SYS, mid, key, at=AT)
                ms = _median_ms(paper)
                print(f"  {documents.PAPERS[key]:<10} {key:<15} {ms:8.1f} ms", flush=True)
            nid = s.scalar(select(Notice.id).where(Notice.matter_id == mid))
            assert nid is not None

            def notice() -> Any:
                view = portal.get_notice(s, nid)
                return render_notice(view.content, url=f"http://x/public/notices/{nid}",
                                     checkpoint_note=view.notice.checkpoint, status_label="已结束", result=view.result)
            print(f"  {'公示':<10} {'notice':<15} {_median_ms(notice):8.1f} ms")
            cid = s.scalar(select(Contract.id).order_by(Contract.id).limit(1))
            assert cid is not None
            ms = _median_ms(lambda: documents.render_contract(s, SYS, cid, at=AT))
            print(f"  {'利益联结协议':<8} {'contract':<15} {ms:8.1f} ms")
        engine.dispose()


def HOUSEHOLDS_NOTE(session: Any, matter_id: int) -> str:  # noqa: N802
    from sqlalchemy import func, select

    from daipin.db.models.workflow import PaymentBatch, PaymentLine

    n = session.scalar(select(func.count()).select_from(PaymentLine).join(PaymentBatch)
                       .where(PaymentBatch.matter_id == matter_id))
    return f"{n} households paid"


def _district(url: str, households: int) -> None:
    """A district of 10 townships and VILLAGES villages; in each village one executed allocation of the year whose
    lines are all paid, one line per household (COPY: the report reads, it does not write)."""
    from sqlalchemy.orm import Session

    from daipin.db import migrate
    from daipin.db.session import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    per = households // VILLAGES
    with Session(engine) as s:
        raw: Any = s.connection().connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY regions (id, code, name, level, parent_code, poor_village, key_village, county_code) "
                          "FROM STDIN") as cp:
                cp.write_row((1, "231002", "东安区", "district", None, False, False, "231002"))
                for t in range(1, 11):
                    cp.write_row((1 + t, f"231002{t:03d}", f"第{t}镇", "township", "231002", False, False, "231002"))
                for v in range(VILLAGES):
                    t = v % 10 + 1
                    cp.write_row((100 + v, f"231002{t:03d}{v:03d}", f"第{v}村", "village", f"231002{t:03d}", False,
                                  False, "231002"))
            at = AT.isoformat()
            with cur.copy("COPY runs (id, kind, subject, year, input_json, output_json, input_digest, output_digest, "
                          "actor, at, county_code) FROM STDIN") as cp:
                for v in range(VILLAGES):
                    code = f"231002{v % 10 + 1:03d}{v:03d}"
                    cp.write_row((v + 1, "village_allocation", code, 2025, "{}",
                                  f'{{"pool_fen": {per * 130000}, "retained_fen": {per * 30000}, "lines": []}}', "x",
                                  "x", "system:0", at, "231002"))
            with cur.copy("COPY matters (id, kind, state, round, county_code, region_code, title, year, document, "
                          "document_digest, warnings, run_id, created_at, created_by, updated_at, proposer, "
                          "funding_source, responsible_person, justification) FROM STDIN") as cp:
                for v in range(VILLAGES):
                    code = f"231002{v % 10 + 1:03d}{v:03d}"
                    cp.write_row((v + 1, "village_allocation", "archived", 1, "231002", code, f"第{v}村2025年度分配",
                                  2025, "{}", "x", "[]", v + 1, at, "system:0", at, "", "", "", ""))
            with cur.copy("COPY payment_batches (id, matter_id, pool_key, run_id, county_code, total_fen, status, "
                          "created_at, created_by) FROM STDIN") as cp:
                for v in range(VILLAGES):
                    cp.write_row((v + 1, v + 1, f"bench:{v}", v + 1, "231002", per * 100000, "paid", at, "system:0"))
            with cur.copy("COPY households (id, household_no, village_code, county_code, status, labor, life_state) "
                          "FROM STDIN") as cp:
                for i in range(households):
                    v = i // per % VILLAGES
                    cp.write_row((i + 1, f"231002{v % 10 + 1:03d}{v:03d}{i:07d}", f"231002{v % 10 + 1:03d}{v:03d}",
                                  "231002", "poor", "full", "alive"))
            with cur.copy("COPY payment_lines (batch_id, county_code, payee_type, payee_ref, household_id, payee_name, "
                          "amount_fen, bank_account_masked, status, payment_ref, failure_reason, seq, attempt) "
                          "FROM STDIN") as cp:
                for i in range(households):
                    v = i // per % VILLAGES
                    cp.write_row((v + 1, "231002", "household", str(i), i + 1, "户主", 100000, "", "paid", f"HD{i}", "",
                                  i % per + 1, 1))
        s.commit()
        s.execute(__import__("sqlalchemy").text("ANALYZE"))
        s.commit()
    engine.dispose()


def annual_report() -> None:
    from sqlalchemy.orm import Session

    from benchmarks.pgdb import drop_database, new_database
    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR as SYS
    from daipin.reports import annual_pdf
    from daipin.services.documents import annual

    n = 30_000 if ("--quick" in sys.argv or os.environ.get("DAIPIN_BENCH_QUICK") == "1") else HOUSEHOLDS
    url = new_database()
    try:
        _district(url, n)
        engine = make_engine(url)
        with Session(engine) as s:
            parts: dict[str, list[float]] = {"figures": [], "pdf": [], "xlsx": [], "total": []}
            for _ in range(4):  # the first warms the caches and is not counted
                t0 = time.perf_counter()
                report = annual.annual(s, SYS, "231002", 2025)
                t1 = time.perf_counter()
                annual_pdf.render(report, printed_at=AT)
                t2 = time.perf_counter()
                annual.annual_xlsx(report)
                t3 = time.perf_counter()
                for k, v in (("figures", t1 - t0), ("pdf", t2 - t1), ("xlsx", t3 - t2), ("total", t3 - t0)):
                    parts[k].append(v)
            assert report["totals"]["households"] == n, report["totals"]
        engine.dispose()
        med = {k: statistics.median(v[1:]) for k, v in parts.items()}
        print(f"district annual report, PostgreSQL, {n:,} households paid in {VILLAGES} villages, median of 3 "
              f"(goal ≤ 10 s): figures {med['figures']:.2f} s, PDF {med['pdf']:.2f} s, xlsx {med['xlsx']:.2f} s, "
              f"total {med['total']:.2f} s", flush=True)
    finally:
        drop_database(url)


def main() -> None:
    papers()
    annual_report()


if __name__ == "__main__":
    main()
