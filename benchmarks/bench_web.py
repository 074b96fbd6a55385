"""Web benchmark: a province-sized registry on PostgreSQL, 50 concurrent clients on loopback.

Builds a throwaway PostgreSQL database (the sample district, then 300,000 households added by a
bulk INSERT ... SELECT), starts `daipin serve --workers 2` (uvicorn), and drives it for 60 seconds with
50 asyncio clients, each on its own keep-alive connection, each sending its next request when the last
is answered: login, household search, household page, the public notice page, and the list pages with their
filters (households by township, village, status or surname; matters; contracts by model and year or region;
projects by region or status; entities by kind or name). Prints requests/s and p50/p95/p99 per request kind,
and the CPU seconds the server, PostgreSQL and everything else on the machine used meanwhile (the load generator
shares the machine). Goal p95 ≤ 100 ms and p99 ≤ 200 ms.

Knobs (environment): BENCH_WEB_HOUSEHOLDS (300000), BENCH_WEB_SECONDS (60), BENCH_WEB_CLIENTS (50),
DAIPIN_BENCH_PG_ADMIN (postgresql+psycopg://postgres@127.0.0.1:5432/postgres), BENCH_WEB_WORKERS (2),
BENCH_WEB_KEEP=1 (keep the built database and print its address and key folder), BENCH_WEB_DATABASE=<url> and
BENCH_WEB_KEYS=<folder> (drive a database kept earlier instead of building one; it is left in place; the two bench
accounts are added if it has none: the province benchmark's database, kept with BENCH_PROVINCE_KEEP=1, is driven
this way).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.pgdb import drop_database, new_database

HOUSEHOLDS = int(os.environ.get("BENCH_WEB_HOUSEHOLDS", "300000"))
SECONDS = float(os.environ.get("BENCH_WEB_SECONDS", "60"))
CLIENTS = int(os.environ.get("BENCH_WEB_CLIENTS", "50"))
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
KEEP = os.environ.get("BENCH_WEB_KEEP", "") in ("1", "true", "yes")
REUSE = os.environ.get("BENCH_WEB_DATABASE", "")
PASSWORD = "bench-pass-1"
MIX = [("search", 25), ("household", 20), ("notice", 15), ("login", 3), ("hh_list", 10), ("matters", 7),
       ("contracts", 7), ("projects", 7), ("entities", 6)]
# The list pages as people filter them (a village cadre asking for the township or another village gets its own).
LISTS = {
    "hh_list": ["/households", "/households?village=231002001", "/households?village=231002001001&status=poor",
                "/households?status=monitored", f"/households?q={'王'}", "/households?offset=500"],
    "matters": ["/matters", "/matters?year=2025", "/matters?township=231002001", "/matters?page=2"],
    "contracts": ["/contracts", "/contracts?model=asset_lease&year=2025", "/contracts?region=231002001",
                  "/contracts?status=active&offset=50"],
    "projects": ["/projects", "/projects?region=231002001", "/projects?status=operating", "/projects?q=XM"],
    "entities": ["/entities", "/entities?kind=cooperative", "/entities?region=231002001001", "/entities?q=合作"],
}
NAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅"



def build(url: str, keys: str) -> dict[str, object]:
    """Migrate, load the sample district with its notices and accounts, then bulk-add the households."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from daipin.commands.web import setup_demo
    from daipin.db import migrate
    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.auth import service as auth_service
    from daipin.services.registry.service import name_initials

    os.environ["DAIPIN_KEYS_DIR"] = keys
    engine = make_engine(url)
    migrate.upgrade(engine)
    at = datetime.now(UTC) - timedelta(days=1)
    with Session(engine) as s:
        try:
            setup_demo(s, at)
        except Exception as exc:  # the notices need the whole workflow; the registry figures stand without them
            print(f"  (notices not built: {exc})", flush=True)
            s.rollback()
            from daipin.ledger import store
            from daipin.services.sample import service as sample

            store.ensure_log(s, at=at)
            sample.load_sample(s, SYSTEM_ACTOR, at)
        for role, region in (("district_admin", "231002"), ("village_cadre", "231002001001")):
            auth_service.create_user(s, actor=SYSTEM_ACTOR, username=f"bench-{role.replace('_', '-')}",
                                     password=PASSWORD, role=role, region=region, at=at)
        s.commit()
    t0 = time.perf_counter()
    with engine.begin() as conn:
        villages = [r[0] for r in conn.execute(text("SELECT code FROM regions WHERE level = 'village' ORDER BY code"))]
        start = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM households")).scalar() or 0)
        # Phones, bank accounts and ID numbers are sealed at rest (db/sealing.py) with their blind indexes, as the
        # registry writes them: sealed here in bulk and copied into a temporary table the INSERTs join.
        sealed = _sealed_columns(conn, HOUSEHOLDS)
        conn.execute(text("""
            INSERT INTO households (id, household_no, village_code, county_code, status, labor, life_state,
                                    phone, phone_bidx, bank_account)
            SELECT :start + g, 'B' || lpad(g::text, 9, '0'), (CAST(:villages AS text[]))[1 + g % cardinality(CAST(:villages AS text[]))], '231002',
                   (ARRAY['poor','monitored','exited','non_poor'])[1 + g % 4], 'full', 'alive',
                   b.phone, b.phone_bidx, b.bank_account
            FROM generate_series(1, :n) AS g JOIN bench_sealed AS b ON b.k = g"""),
            {"start": start, "villages": villages, "n": HOUSEHOLDS})
        del sealed
        # Household g lies in village g % 10; its head's surname is taken from g / 10 so that every village
        # holds every surname (taken from g itself, each village had three: a search for a surname absent
        # from the cadre's village then walked all its 30,000 households).
        # The pinyin initials the registry services keep, for every name the generator below can make.
        names = [a + b + c for a in NAMES for b in GIVEN for c in GIVEN]
        conn.execute(text("CREATE TEMPORARY TABLE bench_initials (name text PRIMARY KEY, initials text)"))
        conn.execute(text("INSERT INTO bench_initials VALUES (:name, :initials)"),
                     [{"name": n, "initials": name_initials(n)} for n in names])
        conn.execute(text("""
            INSERT INTO people (household_id, county_code, name, name_initials, id_number, id_number_bidx, relation,
                                labor, life_state)
            SELECT p.household_id, '231002', p.name, i.initials, b.id_number, b.id_number_bidx, '户主', 'full', 'alive'
            FROM (SELECT :start + g AS household_id, g,
                         substr(:surnames, 1 + (g / 10) % length(:surnames), 1)
                         || substr(:given, 1 + (g / 7) % length(:given), 1)
                         || substr(:given, 1 + (g / 13) % length(:given), 1) AS name
                  FROM generate_series(1, :n) AS g) AS p
            JOIN bench_initials AS i ON i.name = p.name
            JOIN bench_sealed AS b ON b.k = p.g
            ORDER BY p.household_id"""),
            {"start": start, "n": HOUSEHOLDS, "surnames": NAMES, "given": GIVEN})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('households', 'id'), (SELECT max(id) FROM households))"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))"))
    # VACUUM as autovacuum would soon after a bulk load, so the database is in the state it serves in: the
    # visibility map set, so a count reads an index alone (ANALYZE alone leaves it unset).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"  bulk registry: {HOUSEHOLDS:,} households in {time.perf_counter() - t0:.1f} s", flush=True)
    engine.dispose()
    return targets(url)


def _sealed_columns(conn: Any, n: int) -> int:
    """Household g's phone, bank account and head's ID number, sealed with their blind indexes, into the temporary
    table bench_sealed(k, …) by COPY."""
    from sqlalchemy import text

    from daipin.db import sealing

    keys = sealing.active(conn)
    g = range(1, n + 1)
    phones, phone_idx = sealing.seal_many(keys, "households", "phone",
                                          [f"1390000{i % 10000:04d}" for i in g], "231002")
    banks, _ = sealing.seal_many(keys, "households", "bank_account", [f"62170000{i:011d}" for i in g], "231002")
    ids, id_idx = sealing.seal_many(keys, "people", "id_number", [f"B{i:017d}" for i in g], "231002")
    conn.execute(text("""CREATE TEMPORARY TABLE bench_sealed (k int PRIMARY KEY, phone text, phone_bidx text,
                         bank_account text, id_number text, id_number_bidx text)"""))
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy("COPY bench_sealed FROM STDIN") as cp:
        for i, row in enumerate(zip(phones, phone_idx or [], banks, ids, id_idx or [], strict=True), start=1):
            cp.write_row((i, *row))
    return n


def _ensure_accounts(url: str, keys: str) -> None:
    """The two bench accounts on a database kept earlier or built elsewhere (the province benchmark's, which has no
    accounts): a district administrator of 231002 and a village cadre of its first village."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from daipin.db.models.auth import User
    from daipin.db.session import make_engine
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.services.auth import service as auth_service

    os.environ["DAIPIN_KEYS_DIR"] = keys
    engine = make_engine(url)
    at = datetime.now(UTC) - timedelta(days=1)
    with Session(engine) as s:
        for role, region in (("district_admin", "231002"), ("village_cadre", "231002001001")):
            name = f"bench-{role.replace('_', '-')}"
            if s.scalar(select(User.id).where(User.username == name)) is None:
                auth_service.create_user(s, actor=SYSTEM_ACTOR, username=name, password=PASSWORD, role=role,
                                         region=region, at=at)
        s.commit()
    engine.dispose()


def targets(url: str) -> dict[str, object]:
    """The notices and some households of the first village (which both bench accounts may see)."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from daipin.db.models.workflow import Notice
    from daipin.db.session import make_engine

    engine = make_engine(url)
    with Session(engine) as s:
        notices = list(s.scalars(select(Notice.id)))
        hh_ids = [int(x) for x in s.scalars(text(
            "SELECT id FROM households WHERE village_code = '231002001001' ORDER BY random() LIMIT 500"))]
    engine.dispose()
    return {"notices": notices, "households": hh_ids}


def _listening(port: int) -> int:
    """How many sockets listen on `port` (IPv4, from /proc/net/tcp; 0 where there is none)."""
    try:
        with open("/proc/net/tcp") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return WORKERS
    return sum(1 for r in rows if (cols := r.split()) and cols[3] == "0A" and int(cols[1].split(":")[1], 16) == port)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Http:
    """A bare HTTP/1.1 keep-alive connection: the load generator shares the machine with the server, so it
    must cost little CPU itself (an httpx request costs several milliseconds of it, as much as the page)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:  # the server closed an idle connection: open another and ask again
            self.writer.close()
            self.writer = None
            return await self.request(method, path, headers, body)
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            data = b""
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            data = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(base: str, data: dict[str, object]) -> dict[str, list[float]]:
    import json
    from urllib.parse import quote, urlsplit

    timings: dict[str, list[float]] = {k: [] for k, _ in MIX}
    errors: dict[str, int] = {k: 0 for k, _ in MIX}
    kinds = [k for k, w in MIX for _ in range(w)]
    notices = list(data["notices"]) or [None]  # type: ignore[call-overload]
    households = list(data["households"])  # type: ignore[call-overload]
    queries = ["wxm", "王", "l", "B000012", "zh", "李"]
    where = urlsplit(base)
    deadline = time.perf_counter() + SECONDS
    json_type = {"Content-Type": "application/json"}

    async def client(n: int) -> None:
        rng = random.Random(n)
        c = _Http(where.hostname or "127.0.0.1", where.port or 80)
        user = "bench-village-cadre" if n % 2 else "bench-district-admin"
        login = json.dumps({"username": user, "password": PASSWORD}).encode()
        status, body = await c.request("POST", "/api/v1/auth/login", json_type, login)
        auth = {"Authorization": f"Bearer {json.loads(body)['token']}"}
        try:
            while time.perf_counter() < deadline:
                kind = rng.choice(kinds)
                t = time.perf_counter()
                if kind == "login":
                    status, body = await c.request("POST", "/api/v1/auth/login", json_type, login)
                elif kind == "search":
                    status, body = await c.request(
                        "GET", f"/api/v1/households?q={quote(rng.choice(queries))}&limit=20", auth)
                elif kind == "household":
                    status, body = await c.request("GET", f"/households/{rng.choice(households)}", auth)
                elif kind in LISTS:
                    path = rng.choice(LISTS[kind])
                    status, body = await c.request("GET", quote(path, safe="/?=&"), auth)
                else:
                    nid = rng.choice(notices)
                    status, body = await c.request("GET", f"/public/notices/{nid}" if nid else "/public")
                timings[kind].append((time.perf_counter() - t) * 1000)
                if status != 200:
                    errors[kind] += 1
        finally:
            c.close()

    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    for k, v in errors.items():
        if v:
            print(f"  {k}: {v} non-200 answers", flush=True)
    return timings


def _cpu(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (the process and its workers), PostgreSQL, this load generator
    and everything else (other work on a shared machine), read from /proc; empty where there is none."""
    import glob

    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, str, float]] = {}  # pid: (parent pid, name, CPU seconds)
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as f:
                raw = f.read()
        except OSError:
            continue
        name, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        stats[int(path.split("/")[2])] = (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / tick)
    if not stats:
        return {}
    server = {server_pid}
    while True:
        more = {pid for pid, (ppid, _, _) in stats.items() if ppid in server} - server
        if not more:
            break
        server |= more
    out: dict[str, float] = {}
    for pid, (_, name, used) in stats.items():
        kind = ("server" if pid in server else "load" if pid == os.getpid()
                else "postgres" if name.startswith("postgres") else "other")
        out[f"{kind}:{pid}"] = used
    return out


def _cpu_used(before: dict[str, float], after: dict[str, float]) -> tuple[dict[str, float], list[float]]:
    """CPU seconds per kind between two `_cpu` readings (processes that ended meanwhile are not counted),
    and per server process."""
    used = {"server": 0.0, "postgres": 0.0, "load": 0.0, "other": 0.0}
    per_server = []
    for key, value in after.items():
        used[key.split(":")[0]] += value - before.get(key, 0.0)
        if key.startswith("server:") and value - before.get(key, 0.0) > 0.05:
            per_server.append(value - before.get(key, 0.0))
    return used, per_server


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def main() -> None:
    url = REUSE or new_database()
    # The database's keys: a kept database is driven again with the same folder (BENCH_WEB_KEYS), or its sealed
    # phones, accounts and ID numbers would not open.
    keys = os.environ.get("BENCH_WEB_KEYS") or tempfile.mkdtemp(prefix="daipin-bench-keys-")
    proc = None
    try:
        if REUSE:
            _ensure_accounts(url, keys)
        data = targets(url) if REUSE else build(url, keys)
        port = _port()
        env = {**os.environ, "DAIPIN_DATABASE_URL": url, "DAIPIN_KEYS_DIR": keys,
               "DAIPIN_SECRET_KEY": "bench-secret", "DAIPIN_BASE_URL": f"http://127.0.0.1:{port}"}
        proc = subprocess.Popen([sys.executable, "-m", "daipin", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(WORKERS)], env=env, stderr=subprocess.DEVNULL)
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        # Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections over the
        # sockets listening at that moment: the clients connect once, so they wait until every worker listens
        # (a worker still importing at that moment would get no connection for the whole run).
        for _ in range(300):
            if _listening(port) >= WORKERS:
                break
            time.sleep(0.1)
        cpu_before = _cpu(proc.pid)
        timings = asyncio.run(drive(f"http://127.0.0.1:{port}", data))
        cpu_after = _cpu(proc.pid)
        total = sum(len(v) for v in timings.values())
        print(f"  {CLIENTS} clients, {SECONDS:.0f} s, {HOUSEHOLDS:,} households: {total / SECONDS:,.0f} requests/s")
        print(f"  {'kind':<10} {'n':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        everything: list[float] = []
        for kind, values in timings.items():
            everything += values
            print(f"  {kind:<10} {len(values):>7} {len(values) / SECONDS:>8.1f} {_pct(values, 50):>8.1f} "
                  f"{_pct(values, 95):>8.1f} {_pct(values, 99):>8.1f}")
        print(f"  {'all':<10} {len(everything):>7} {len(everything) / SECONDS:>8.1f} {_pct(everything, 50):>8.1f} "
              f"{_pct(everything, 95):>8.1f} {_pct(everything, 99):>8.1f}   (goal: p95 <= 100 ms, p99 <= 200 ms)")
        if cpu_before and cpu_after:
            used, per_server = _cpu_used(cpu_before, cpu_after)
            print(f"  CPU seconds in {SECONDS:.0f} s on {os.cpu_count()} cores: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in used.items())
                  + f" (server processes: {' + '.join(f'{v:.1f}' for v in sorted(per_server))})"
                  + f"; server {1000 * used['server'] / max(total, 1):.1f} ms a request")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if KEEP or REUSE:
            print(f"  database kept: BENCH_WEB_DATABASE={url} BENCH_WEB_KEYS={keys}")
        else:
            drop_database(url)
            shutil.rmtree(keys, ignore_errors=True)


if __name__ == "__main__":
    main()
