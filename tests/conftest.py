"""Shared fixtures: databases for the integration suite, on SQLite and on PostgreSQL.

Every integration test that asks for `session` runs once per backend. The schema is
built by `alembic upgrade head` (the migrations are what is tested, not `create_all`),
and each test runs inside an outer transaction that is rolled back.
PostgreSQL is not optional: if it is unreachable the PostgreSQL runs fail, loudly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from daipin import bootstrap
from daipin.db import migrate
from daipin.db.session import make_engine

bootstrap.configure()  # as every process does before it serves or runs a command

PG_ADMIN_URL = os.environ.get("DAIPIN_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _pg_url(dbname: str) -> str:
    base, _ = PG_ADMIN_URL.rsplit("/", 1)
    return f"{base}/{dbname}"


def create_database(backend: str, tmp_dir: str) -> str:
    """A brand-new, migrated database; returns its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir}/daipin-{uuid.uuid4().hex[:8]}.db"
    else:
        name = f"daipin_t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = _pg_url(name)
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
