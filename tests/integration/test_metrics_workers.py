"""/metrics with several worker processes (`daipin serve --workers N` sets PROMETHEUS_MULTIPROC_DIR): the request
counters of every worker add up, a worker that ended still counts, and what is stored (the ledger's size, the
import and payment steps) is read from the database, so every worker answers the same figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from tests.integration.api_support import build_world

WORKER = """
import sys
from fastapi.testclient import TestClient
from daipin.db.session import make_engine
from daipin.http.settings import Settings
from daipin.server import create_app
engine = make_engine(sys.argv[1])
c = TestClient(create_app(engine=engine, settings=Settings(secret_key="test-secret")), base_url="http://127.0.0.1")
for _ in range(int(sys.argv[2])):
    assert c.get("/public").status_code == 200
if sys.argv[3] == "metrics":
    sys.stdout.write(c.get("/metrics").text)
engine.dispose()
"""


def _worker(url: str, metrics_dir: Path, keys: str, n: int, then: str = "") -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "DAIPIN_KEYS_DIR": keys}
    r = subprocess.run([sys.executable, "-c", WORKER, url, str(n), then], env=env, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _value(text: str, prefix: str, *labels: str) -> float:
    found = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line.startswith(prefix) and all(lab in line for lab in labels)]
    assert len(found) == 1, (prefix, labels, found)
    return found[0]


def test_request_counters_add_up_across_workers_and_stored_counts_come_from_the_database(
        fresh_db_url: str, tmp_path: Any) -> None:
    from daipin.db.session import make_engine

    keys = str(tmp_path / "keys")
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        build_world(s, keys)
        s.commit()
    with engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    engine.dispose()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    _worker(fresh_db_url, metrics_dir, keys, 3)
    _worker(fresh_db_url, metrics_dir, keys, 4)
    text = _worker(fresh_db_url, metrics_dir, keys, 0, "metrics")
    assert _value(text, "daipin_http_requests_total{", 'route="/public"', 'status="200"') == 7
    assert _value(text, "daipin_http_request_duration_seconds_count{", 'route="/public"') == 7
    assert _value(text, "daipin_ledger_entries{", 'county="231002"') == entries
