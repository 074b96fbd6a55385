"""Running it: a supervised server replaces a killed worker; every request is logged once, as JSON with its request
id and personal numbers masked; /healthz, /readyz and /metrics answer as an operator's tools expect."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from daipin.http.observe import configure_logging
from tests.integration.api_support import World, app_rolling_back, build_world, client

ID_NUMBER = "231002199305211234"


@pytest.fixture
def world(session: Session, tmp_path: Any) -> World:
    return build_world(session, str(tmp_path / "keys"))


@pytest.fixture
def log() -> Any:
    buf = io.StringIO()
    handler = configure_logging("INFO", "json", stream=buf)
    yield buf
    logging.getLogger().removeHandler(handler)


def _lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_each_request_is_logged_once_as_json_with_its_request_id_and_numbers_masked(session: Session, world: World,
                                                                                     log: io.StringIO) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    r = c.get(f"/public?q={ID_NUMBER}&phone=13912345678")
    rid = r.headers["x-request-id"]
    assert len(rid) == 32
    access = [e for e in _lines(log) if e["logger"] == "daipin.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == rid and line["status"] == r.status_code and line["method"] == "GET"
    assert line["path"].startswith("/public?q=") and isinstance(line["duration_ms"], float)
    text = log.getvalue()
    assert ID_NUMBER not in text and "13912345678" not in text and "1234" in line["path"]
    given = c.get("/healthz", headers={"X-Request-ID": "lb-42.a"})
    assert given.headers["x-request-id"] == "lb-42.a"
    bad = c.get("/healthz", headers={"X-Request-ID": "x" * 65})  # not taken: ours instead
    assert bad.headers["x-request-id"] != "x" * 65 and len(bad.headers["x-request-id"]) == 32


def test_an_error_logged_with_a_typed_number_is_masked_too(log: io.StringIO) -> None:
    try:
        raise ValueError(f"bad value {ID_NUMBER}")
    except ValueError:
        logging.getLogger("daipin.test").exception("refused %s", ID_NUMBER)
    text = log.getvalue()
    assert ID_NUMBER not in text
    entry = _lines(log)[-1]
    assert entry["level"] == "ERROR" and "ValueError" in entry["exception"] and "refused" in entry["message"]


def test_health_and_readiness(session: Session, world: World, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = app_rolling_back(session)
    c = client(app)
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "ledger_key": "ok"}
    with monkeypatch.context() as m:
        m.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "nowhere"))
        missing = c.get("/readyz")
    assert missing.status_code == 503 and missing.json()["checks"]["ledger_key"].startswith("missing")
    assert missing.json()["checks"]["database"] == "ok"


def test_metrics_count_requests_by_route_and_read_the_ledger(fresh_db_url: str, tmp_path: Any) -> None:
    from daipin.db.session import make_engine
    from daipin.http.settings import Settings
    from daipin.server import create_app

    engine = make_engine(fresh_db_url)
    with Session(engine) as s:  # committed: the metrics read the database as another process would
        build_world(s, str(tmp_path / "keys"))
        s.commit()
    c = client(create_app(engine=engine, settings=Settings(secret_key="test-secret")))
    c.get("/public")
    c.get("/public")
    text = c.get("/metrics").text
    [count] = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('daipin_http_requests_total{') and 'route="/public"' in line
               and 'status="200"' in line]
    assert count >= 2
    assert "daipin_http_request_duration_seconds_bucket" in text
    # one ledger per county: the home county's size and checkpoint age, labelled with its code
    [entries] = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line.startswith('daipin_ledger_entries{county="231002"}')]
    assert entries >= 1
    assert 'daipin_ledger_last_checkpoint_age_seconds{county="231002"}' in text
    assert "daipin_db_pool_connections" in text
    engine.dispose()


def _listening(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (each worker has its own, SO_REUSEPORT), from /proc/net/tcp."""
    with open("/proc/net/tcp") as f:
        rows = f.read().splitlines()[1:]
    return sum(1 for r in rows if (cols := r.split()) and cols[3] == "0A" and int(cols[1].split(":")[1], 16) == port)


def _children(pid: int) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{p}/cmdline") as f:
                cmd = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and "spawn_main" in cmd:
            out.append(int(p))
    return sorted(out)


def test_a_killed_worker_is_replaced_and_the_server_keeps_answering(fresh_db_url: str, tmp_path: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DAIPIN_DATABASE_URL": fresh_db_url, "DAIPIN_SECRET_KEY": "test-secret",
           "DAIPIN_KEYS_DIR": str(tmp_path / "keys")}
    errors = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "daipin", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=errors)

    def up(timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the server did not come up"
            time.sleep(0.2)

    try:
        up()
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        before = _children(proc.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _children(proc.pid)
            if len(now) == 2 and before[0] not in now:
                break
            time.sleep(0.2)
        after = _children(proc.pid)
        assert len(after) == 2 and before[0] not in after and before[1] in after
        deadline = time.monotonic() + 60  # the new worker listens (on a loaded machine its start takes seconds)
        while _listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _listening(port) == 2
        for _ in range(10):  # separate connections land on both workers: each answers
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Connection": "close"}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert not _children(proc.pid)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        errors.close()
    logged = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines()
              if line.startswith("{")]
    assert any("replaced by pid" in e["message"] and e["level"] == "WARNING" for e in logged)


def test_the_sqlite_file_and_the_key_files_are_readable_by_their_owner_only(tmp_path: Any) -> None:
    import stat

    env = {**os.environ, "DAIPIN_DATABASE_URL": f"sqlite:///{tmp_path}/var/daipin.db",
           "DAIPIN_KEYS_DIR": str(tmp_path / "var" / "keys")}
    old = os.umask(0o022)  # a usual umask: files would be world-readable unless made otherwise
    try:
        done = subprocess.run([sys.executable, "-m", "daipin", "init"], env=env, capture_output=True, text=True,
                              timeout=300)
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr

    def mode(p: Any) -> int:
        return stat.S_IMODE(os.stat(p).st_mode)

    assert mode(tmp_path / "var" / "daipin.db") == 0o600
    assert mode(tmp_path / "var" / "keys") == 0o700
    assert mode(tmp_path / "var" / "keys" / "ledger.key") == 0o600
    assert mode(tmp_path / "var" / "keys" / "pii.salt") == 0o600
