"""Shared fixtures: databases for the integration suite, on SQLite, PostgreSQL, MariaDB and OceanBase seekdb.

Every integration test that asks for `session` runs once per backend. The schema is
built by `alembic upgrade head` (the migrations are what is tested, not `create_all`),
and each test runs inside an outer transaction that is rolled back.

The backends are named by DAIPIN_TEST_ENGINES (comma-separated; default `sqlite,postgresql`): `make test` runs
the whole integration suite on SQLite and PostgreSQL, and the engine-compatibility subset (`make test-engines`)
on `mariadb,seekdb`. A backend that is named is not optional: if its server is unreachable its runs fail,
loudly, never skip. MariaDB is the server at DAIPIN_TEST_MARIADB_ADMIN; seekdb is the server at
DAIPIN_TEST_SEEKDB_URL, or, when that is not set, one this test run starts (embedded from PyPI, pylibseekdb)
and stops at its end.

On the MySQL-compatible engines DDL is slow (seekdb: about half a second a table), so each test worker migrates
one template database per engine once and every further database is a copy of it (seekdb: `FORK DATABASE`;
MariaDB: each table's `SHOW CREATE TABLE` replayed, then its rows copied). On seekdb the workers fork and drop
one database at a time (`_seekdb_ddl`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from daipin import bootstrap
from daipin.db import migrate
from daipin.db import mysql as mysql_dialect
from daipin.db.session import make_engine

bootstrap.configure()  # as every process does before it serves or runs a command

PG_ADMIN_URL = os.environ.get("DAIPIN_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("DAIPIN_TEST_MARIADB_ADMIN", "mysql+pymysql://root@127.0.0.1:3306/test")
SEEKDB_URL_ENV = "DAIPIN_TEST_SEEKDB_URL"
KNOWN_BACKENDS = ("sqlite", "postgresql", "mariadb", "seekdb")
MYSQL_BACKENDS = ("mariadb", "seekdb")
BACKENDS = [b.strip() for b in os.environ.get("DAIPIN_TEST_ENGINES", "sqlite,postgresql").split(",") if b.strip()]
if unknown := sorted(set(BACKENDS) - set(KNOWN_BACKENDS)):
    raise RuntimeError(f"DAIPIN_TEST_ENGINES names unknown engines {unknown}; known: {', '.join(KNOWN_BACKENDS)}")
REPO = Path(__file__).resolve().parents[1]


def _pg_url(dbname: str) -> str:
    base, _ = PG_ADMIN_URL.rsplit("/", 1)
    return f"{base}/{dbname}"


def _admin_url(backend: str) -> str:
    if backend == "postgresql":
        return PG_ADMIN_URL
    if backend == "mariadb":
        return MARIADB_ADMIN_URL
    url = os.environ.get(SEEKDB_URL_ENV)
    if not url:
        raise RuntimeError(f"seekdb is not running: {SEEKDB_URL_ENV} is not set (the test run starts it when "
                           "DAIPIN_TEST_ENGINES names seekdb)")
    return url


def _with_database(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


_templates: dict[str, str] = {}  # engine -> this worker's migrated template database (SQLite: its file)


def _mysql_template(backend: str) -> str:
    name = _templates.get(backend)
    if name is None:
        name = f"daipin_tpl_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_admin_url(backend), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(mysql_dialect.create_database_sql(name)))
        admin.dispose()
        engine = make_engine(_with_database(_admin_url(backend), name))
        migrate.upgrade(engine)
        engine.dispose()
        _templates[backend] = name
    return name


def _mysql_copy(backend: str, template: str, name: str) -> None:
    """A new database `name` with the template's tables, keys and rows."""
    admin = create_engine(_admin_url(backend), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if backend == "seekdb":
            with _seekdb_ddl(backend):
                conn.execute(text(f"FORK DATABASE `{template}` TO `{name}`"))
        else:
            conn.execute(text(mysql_dialect.create_database_sql(name)))
            tables = [r[0] for r in conn.execute(text(f"SHOW FULL TABLES FROM `{template}` "
                                                      "WHERE Table_type = 'BASE TABLE'"))]
            conn.execute(text(f"USE `{name}`"))
            conn.execute(text("SET SESSION foreign_key_checks = 0"))
            for table in tables:
                ddl = conn.execute(text(f"SHOW CREATE TABLE `{template}`.`{table}`")).one()[1]
                conn.exec_driver_sql(ddl.replace("%", "%%"))
            for table in tables:
                conn.execute(text(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{template}`.`{table}`"))
    admin.dispose()


@contextlib.contextmanager
def _seekdb_ddl(backend: str) -> Iterator[None]:
    """On seekdb, one `FORK DATABASE` or `DROP DATABASE` at a time across this run's workers (a file lock): a fork
    and a drop from two workers at once have left both waiting on the server for ever."""
    if backend != "seekdb":
        yield
        return
    import fcntl

    with open(Path(tempfile.gettempdir()) / "daipin-seekdb-ddl.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _migrated_sqlite_template() -> str:
    """This worker's migrated SQLite file, every WAL page written back into it (so a copy of the file alone is
    the whole database)."""
    path = _templates.get("sqlite")
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="daipin-tpl-"))
        path = str(folder / "template.db")
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        engine.dispose()
        con = sqlite3.connect(path)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("PRAGMA journal_mode=DELETE")
        finally:
            con.close()
        _templates["sqlite"] = path
    return path


def _pg_template() -> str:
    """This worker's migrated PostgreSQL database; no connection stays open to it, so it can be a TEMPLATE."""
    name = _templates.get("postgresql")
    if name is None:
        name = f"daipin_tpl_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = make_engine(_pg_url(name))
        migrate.upgrade(engine)
        engine.dispose()
        _templates["postgresql"] = name
    return name


def create_database(backend: str, tmp_dir: str) -> str:
    """A brand-new, migrated database; returns its URL.

    The schema is built by `alembic upgrade head` once per test worker and engine (a template); every database
    after is a copy of that template (SQLite: the file; PostgreSQL: `CREATE DATABASE ... TEMPLATE`; MariaDB and
    seekdb: `_mysql_copy`). DAIPIN_TEST_MIGRATE_EACH=1 migrates every database itself instead."""
    name = f"daipin_t_{uuid.uuid4().hex[:12]}"
    each = os.environ.get("DAIPIN_TEST_MIGRATE_EACH") == "1"
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir}/daipin-{uuid.uuid4().hex[:8]}.db"
        if not each:
            target = url.split("///", 1)[1]
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(_migrated_sqlite_template(), target)
            os.chmod(target, 0o600)
            return url
    elif backend in MYSQL_BACKENDS:
        _mysql_copy(backend, _mysql_template(backend), name)
        return _with_database(_admin_url(backend), name)
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            template = "" if each else f' TEMPLATE "{_pg_template()}"'
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        admin.dispose()
        url = _pg_url(name)
        if not each:
            return url
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    elif url.startswith(("mysql", "mariadb")):
        _drop_mysql(url, make_url(url).database or "")


def _drop_mysql(url: str, name: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    seekdb = os.environ.get(SEEKDB_URL_ENV)
    with admin.connect() as conn, _seekdb_ddl("seekdb" if seekdb and make_url(seekdb).query == make_url(url).query
                                              else ""):
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """The controller (or a run without workers) starts seekdb when a run asks for it and none is given; the
    workers inherit its URL."""
    if "seekdb" not in BACKENDS or os.environ.get(SEEKDB_URL_ENV) or hasattr(config, "workerinput"):
        return
    base = Path(os.environ.get("DAIPIN_TEST_SEEKDB_DIR") or f"/tmp/daipin-seekdb-{os.getpid()}")
    url_file = base / "url"
    url_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, str(REPO / "scripts" / "seekdb_server.py"), str(base / "db"),
                             "--url-file", str(url_file)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not url_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("seekdb did not start (scripts/seekdb_server.py); is pylibseekdb installed?")
        time.sleep(0.2)
    os.environ[SEEKDB_URL_ENV] = url_file.read_text().strip()
    config.stash[_SEEKDB] = (proc, base)


_SEEKDB = pytest.StashKey[tuple[subprocess.Popen[bytes], Path]]()


def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(_SEEKDB, None)
    if started is not None:
        proc, base = started
        proc.terminate()
        proc.wait(timeout=120)
        os.environ.pop(SEEKDB_URL_ENV, None)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    yield
    for backend, name in _templates.items():
        if backend in MYSQL_BACKENDS:
            _drop_mysql(_admin_url(backend), name)
        elif backend == "postgresql":
            drop_database(_pg_url(name))
        else:
            shutil.rmtree(Path(name).parent, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After every database test that passed, the ledger still verifies (`daipin ledger verify`): every row a
    service changed is recorded by an entry, so no change is left without one and no honest change reads as
    tampering. A test that edits rows behind the ledger on purpose is marked `edits_rows_behind_the_ledger`."""
    yield  # (a failing test raises here and is reported as it is)
    if item.get_closest_marker("edits_rows_behind_the_ledger"):
        return
    funcargs = getattr(item, "funcargs", {})
    s = funcargs.get("rs", funcargs.get("session"))
    if not isinstance(s, Session):
        return
    from daipin.ledger.verify import verify_log

    s.flush()
    s.expire_all()  # rows as stored, not as this session last saw them
    report = verify_log(s)
    if report.size and not report.ok:
        raise AssertionError(f"the ledger no longer verifies after this test: {report.problems[:3]}")


@pytest.fixture(scope="session", autouse=True)
def ledger_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ledger's signing key and salt for this test run, outside the database as in production.

    Set as DAIPIN_KEYS_DIR so that the first ledger entry of a test creates the log on demand.
    """
    from daipin.ledger import keys

    path = str(tmp_path_factory.mktemp("keys"))
    keys.init_keys(path)
    old = os.environ.get(keys.KEYS_DIR_ENV)
    os.environ[keys.KEYS_DIR_ENV] = path
    yield path
    if old is None:
        os.environ.pop(keys.KEYS_DIR_ENV, None)
    else:
        os.environ[keys.KEYS_DIR_ENV] = old


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated database per backend per test worker."""
    url = create_database(request.param, str(tmp_path_factory.mktemp("db")))
    engine = make_engine(url)
    engine.info_backend = request.param  # type: ignore[attr-defined]
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test; services' own savepoints nest inside."""
    conn = db_engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        conn.close()


@pytest.fixture(params=BACKENDS)
def fresh_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A brand-new migrated database for tests that must really commit (concurrency, crash recovery)."""
    url = create_database(request.param, str(tmp_path_factory.mktemp("fresh")))
    yield url
    drop_database(url)


@pytest.fixture
def cli_url(fresh_db_url: str) -> Iterator[str]:
    """A fresh database that the command line (`daipin ...` through its own engine) works on."""
    from daipin.db.session import reset_engine

    engine = make_engine(fresh_db_url)
    reset_engine(engine)
    yield fresh_db_url
    reset_engine(None)
    engine.dispose()
