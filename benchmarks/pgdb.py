"""Throwaway server databases for the benchmarks: created empty, dropped afterwards.

PostgreSQL by default (DAIPIN_BENCH_PG_ADMIN); a benchmark's `--url URL` names another server by a URL of one of
its databases, e.g. MariaDB `mysql://root@127.0.0.1:3306/test` or OceanBase seekdb
`mysql+pymysql://root@/test?unix_socket=…` (scripts/seekdb_server.py prints it).
"""

from __future__ import annotations

import os
import sys
import uuid

from sqlalchemy import create_engine, make_url, text

ADMIN_URL = os.environ.get("DAIPIN_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def url_option(argv: list[str] | None = None) -> str | None:
    """The `--url URL` (or `--url=URL`) a benchmark was given, if any."""
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--url" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--url="):
            return arg.split("=", 1)[1]
    return None


def engine_label(admin_url: str) -> str:
    """`postgresql`, `mariadb` or `seekdb` (OceanBase) for the server at `admin_url`."""
    from daipin.db.session import normalise_url

    url = normalise_url(admin_url)
    if not url.startswith(("mysql", "mariadb")):
        return make_url(url).get_backend_name()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            version = str(conn.execute(text("SELECT version()")).scalar())
    finally:
        engine.dispose()
    return "seekdb" if "OceanBase" in version else "mariadb" if "MariaDB" in version else "mysql"


def new_database(prefix: str = "daipin_bench", admin_url: str | None = None) -> str:
    """Create an empty database on the server of `admin_url` (default PostgreSQL) and return its URL."""
    from daipin.db.mysql import create_database_sql
    from daipin.db.session import normalise_url

    admin_url = normalise_url(admin_url or ADMIN_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    mysql = admin_url.startswith(("mysql", "mariadb"))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(create_database_sql(name) if mysql else f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    name = parsed.database
    if url.startswith(("mysql", "mariadb")):
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        sql = f"DROP DATABASE IF EXISTS `{name}`"
    else:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()
