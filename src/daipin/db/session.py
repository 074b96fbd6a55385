"""Engines and sessions. `DAIPIN_DATABASE_URL` selects the database; default an embedded SQLite file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE = "sqlite:///var/daipin.db"


def database_url() -> str:
    from daipin.config import settings

    return settings().database_url or DEFAULT_SQLITE


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs and PyMySQL for plain `mysql://` and `mariadb://` ones
    (MariaDB, MySQL, OceanBase/seekdb, TiDB), always with the utf8mb4 character set."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("mysql", "mariadb"):
        url = f"{scheme}+pymysql://{rest}"
    if sep and scheme.split("+", 1)[0] in ("mysql", "mariadb") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str | None = None, **kw: object) -> Engine:
    url = normalise_url(url or database_url())
    # A failed statement's error (and so a log or a traceback) never carries its parameters: they may be ID
    # numbers, phones or bank accounts.
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # The file holds personal data: made readable by its owner only (SQLite gives its -wal and -shm files
            # the database file's mode).
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        # Transactions are begun explicitly (BEGIN IMMEDIATE for ledger writers),
        # so pysqlite's own implicit BEGIN handling is switched off.
        engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None}, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # A reader that never writes (a readiness check, a metrics scrape) asks for a deferred transaction with
            # the `read_only` execution option, so that it never waits behind a writer.
            deferred = conn.get_execution_options().get("read_only") or not conn.info.get("immediate", True)
            conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    if url.startswith(("mysql", "mariadb")):
        # READ COMMITTED as on PostgreSQL: a ledger writer that waited for the lock reads the entries committed
        # meanwhile (under MySQL's REPEATABLE READ it would read its transaction's first snapshot).
        kw.setdefault("isolation_level", "READ COMMITTED")
    if url.startswith("postgresql"):
        # psycopg prepares a statement on the server after its fifth run on a connection, and PostgreSQL may then
        # plan it once for any parameters: a search's `name LIKE $1` planned without knowing the pattern's prefix
        # can use no index, and read every head of a county (470 ms where the planned-each-time statement takes
        # 1.4 ms, on the web benchmark's database). Each run is planned with its own parameters; the parse is
        # still saved.
        args = dict(kw.pop("connect_args", None) or {})  # type: ignore[call-overload]
        if "plan_cache_mode" not in str(args.get("options", "")):
            args["options"] = f"{args.get('options', '')} -c plan_cache_mode=force_custom_plan".strip()
        kw["connect_args"] = args
    return create_engine(url, pool_pre_ping=True, **kw)


@contextmanager
def generic_plans(conn: Connection) -> Iterator[None]:
    """Within the block, PostgreSQL may keep one plan of a prepared statement for any parameters (its own choice,
    `plan_cache_mode = auto`), then the connection's setting again. For a statement that changes or writes many
    rows at once under foreign keys: each key's check is a prepared statement run once per row, and planned anew
    each time under `force_custom_plan` (100,000 lines marked sent: 1.12 s of checks, 0.37 s with the plan kept).
    Nothing elsewhere."""
    if conn.dialect.name != "postgresql":
        yield
        return
    was = conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
    conn.exec_driver_sql("SELECT set_config('plan_cache_mode', 'auto', true)")
    yield  # on an error the step's transaction (or savepoint) rolls back, and the setting with it
    conn.exec_driver_sql("SELECT set_config('plan_cache_mode', %(v)s, true)", {"v": was})


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _factory
    if _engine is None:
        _engine = make_engine()
        _factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def reset_engine(engine: Engine | None = None) -> None:
    """Point the process at another engine (tests, CLI --database)."""
    global _engine, _factory
    _engine = engine
    _factory = sessionmaker(engine, expire_on_commit=False) if engine is not None else None


@contextmanager
def session_scope(factory: Callable[[], Session] | None = None, *, commit: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success (unless `commit` is false), roll back on any error, close.
    Services never commit. `factory` makes the session (default: the process's own)."""
    if factory is None:
        get_engine()
        assert _factory is not None
        factory = _factory
    session = factory()
    try:
        yield session
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
