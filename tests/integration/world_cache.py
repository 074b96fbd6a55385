"""The sample world of the API and page tests, built once per engine per test process and replayed after.

`build_world` (api_support.py) walks the whole sample district through the services: thousands of ledger
entries, signatures, sealed personal data, five argon2 hashes. That took 2.5-3.5 s a test on SQLite and about
7 s on PostgreSQL, and some thirty test modules ask for it in every test. So the first call in a process (per
database engine) builds the world for real and records what it wrote; every later call replays that record:

- the rows, byte for byte: on PostgreSQL each table's `COPY ... TO STDOUT` text written back with
  `COPY ... FROM STDIN`, on SQLite each table's stored values inserted again as they were read (no type
  conversion either way), on MariaDB and seekdb the driver's values of each row inserted again; tables in
  foreign-key order, inside the caller's transaction (so a test that rolls
  back, rolls the world back too), then each PostgreSQL sequence moved past the replayed ids;
- the key folder the build wrote (ledger signing key, salt, personal-data keys), copied to the caller's
  `keys_dir`, which becomes DAIPIN_KEYS_DIR as it did for the real build; the signatures and sealed values in
  the rows are the ones these keys made, so the ledger verifies and sealed data opens exactly as after a build;
- the session's pending ledger checkpoint (`daipin.ledger.dirty`), so a caller that commits gets the same
  signed checkpoint a build's commit makes;
- the process caches that remember a database's keys (sealing pins, the ledger's pinned salt) are cleared, so
  the first write after a replay checks the keys against the database as the first write after a build does.

A replay only happens when it is exactly equivalent: the database holds no rows at all (outside
`alembic_version`), the session has nothing pending and `keys_dir` holds no files; otherwise the world is
built for real; so is a world asked for under other DAIPIN_* settings than the recorded one. DAIPIN_TEST_WORLD_CACHE=0
turns replays off (every call builds). tests/integration/test_world_replay.py compares a replay with a build.
"""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

W = TypeVar("W")
ENV = "DAIPIN_TEST_WORLD_CACHE"
REPLAYING_ENGINES = ("sqlite", "postgresql", "mysql")  # (MariaDB and seekdb are "mysql")


@dataclass
class Snapshot:
    tables: list[tuple[str, list[str], Any]]  # (table, columns, rows: SQLite tuples / PostgreSQL COPY text)
    keys: Path  # a copy of the key folder the build wrote
    world: Any
    dirty: set[str] | None  # counties whose ledger awaited a checkpoint when the build returned
    sequences: list[str] = field(default_factory=list)  # PostgreSQL: statements that move sequences past the ids


_snapshots: dict[str, Snapshot] = {}  # engine name and settings (`_key`) -> what this process's build wrote
_tables: dict[str, list[str]] = {}  # engine name -> every table, parents before children


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


def _conn(session: Session) -> Any:
    return session.connection()


def _table_order(session: Session) -> list[str]:
    engine = session.get_bind().dialect.name
    found = _tables.get(engine)
    if found is None:
        from daipin.db.base import Base

        present = set(inspect(_conn(session)).get_table_names()) - {"alembic_version"}
        ordered = [t.name for t in Base.metadata.sorted_tables if t.name in present]
        found = _tables[engine] = ordered + sorted(present - set(ordered))
    return found


def _quoter(session: Session) -> Callable[[str], str]:
    prep = session.get_bind().dialect.identifier_preparer
    return lambda name: str(prep.quote_identifier(name))


def _database_is_empty(session: Session) -> bool:
    tables = _table_order(session)
    _q = _quoter(session)
    sql = "SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {_q(t)})" for t in tables)
    return not _conn(session).exec_driver_sql(sql).scalar()


def _has_files(keys_dir: str) -> bool:
    p = Path(keys_dir)
    return p.exists() and any(p.iterdir())


def build(session: Session, keys_dir: str, build_world: Callable[[Session, str], W], world_type: type, *,
          name: str = "world") -> W:
    """`build_world(session, keys_dir)`, or the replay of this process's first build of it (see the module).

    `name` tells worlds apart: a builder that starts from the sample world and adds to it (`build_world` then an
    executed allocation) records its own snapshot under its own name."""
    engine = session.get_bind().dialect.name
    if (not enabled() or engine not in REPLAYING_ENGINES or session.new or session.dirty or session.deleted
            or _has_files(keys_dir) or not _database_is_empty(session)):
        return build_world(session, keys_dir)
    key = _key(engine, name)
    snap = _snapshots.get(key)
    if snap is None:
        world = build_world(session, keys_dir)
        _snapshots[key] = _capture(session, keys_dir, world)
        return world
    return _replay(session, keys_dir, snap)


def _key(engine: str, name: str = "world") -> str:
    """The world's name, the engine and every DAIPIN_* setting but the key folder's: a test that sets one (a
    cipher, a data key) before it asks for the world gets a world built under it, not one recorded under other
    settings."""
    settings = sorted((k, v) for k, v in os.environ.items()
                      if k.startswith("DAIPIN_") and k not in ("DAIPIN_KEYS_DIR", ENV) and not k.startswith("DAIPIN_TEST"))
    return repr((engine, settings)) if name == "world" else repr((name, engine, settings))


def _capture(session: Session, keys_dir: str, world: Any) -> Snapshot:
    from daipin.ledger import store

    session.flush()
    conn = _conn(session)
    _q = _quoter(session)
    engine = session.get_bind().dialect.name
    tables: list[tuple[str, list[str], Any]] = []
    sequences: list[str] = []
    if engine == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for t in _table_order(session):
                with cur.copy(f"COPY {_q(t)} TO STDOUT") as out:
                    data = b"".join(bytes(chunk) for chunk in out)
                if data:
                    tables.append((t, [], data))
            filled = {t for t, _, _ in tables}
            cur.execute("SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
                        "FROM information_schema.columns WHERE table_schema = current_schema() "
                        "AND (column_default LIKE 'nextval(%%' OR is_identity = 'YES')")
            for t, c, seq in cur.fetchall():
                if t in filled and seq:
                    sequences.append(f"SELECT setval('{seq}', GREATEST((SELECT last_value FROM {seq}), "
                                     f"(SELECT max({_q(c)}) FROM {_q(t)})))")
    else:
        for t in _table_order(session):
            result = conn.exec_driver_sql(f"SELECT * FROM {_q(t)}")
            columns = list(result.keys())
            rows = [tuple(r) for r in result]
            if rows:
                tables.append((t, columns, rows))
    keys = Path(tempfile.mkdtemp(prefix="daipin-world-keys-"))
    atexit.register(shutil.rmtree, keys, True)
    shutil.copytree(keys_dir, keys, dirs_exist_ok=True)
    dirty = session.info.get(store._DIRTY)
    return Snapshot(tables, keys, copy.deepcopy(world), set(dirty) if dirty is not None else None, sequences)


def _replay(session: Session, keys_dir: str, snap: Snapshot) -> Any:
    from daipin.db import sealing
    from daipin.ledger import store

    conn = _conn(session)
    _q = _quoter(session)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for t, _, data in snap.tables:
                with cur.copy(f"COPY {_q(t)} FROM STDIN") as into:
                    into.write(data)
            for sql in snap.sequences:
                cur.execute(sql)
    else:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        for t, columns, rows in snap.tables:
            sql = (f"INSERT INTO {_q(t)} ({', '.join(_q(c) for c in columns)}) "
                   f"VALUES ({', '.join(mark for _ in columns)})")
            conn.exec_driver_sql(sql, rows)
    Path(keys_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copytree(snap.keys, keys_dir, dirs_exist_ok=True)
    os.environ["DAIPIN_KEYS_DIR"] = keys_dir
    # As after a build: the session's ledger state is read again from the rows, a commit signs a checkpoint for
    # the counties the build left waiting, and the process checks the keys against the database anew.
    for key in (store._STATE, store._READER, store._LOG, store._EDGE, store._DIRTY):
        session.info.pop(key, None)
    if snap.dirty is not None:
        session.info[store._DIRTY] = set(snap.dirty)
    session.expire_all()
    sealing.forget_pins()
    store._pinned.clear()
    return copy.deepcopy(snap.world)
