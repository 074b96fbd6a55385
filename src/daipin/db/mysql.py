"""The MySQL-compatible engines (MariaDB, MySQL, OceanBase and its single-node seekdb, TiDB): how the portable
column types are written there.

The models and the migrations use SQLAlchemy's portable types. On the MySQL dialect three of them would lose
data as SQLAlchemy writes them by default, so their DDL is changed here, for that dialect only:

- `DateTime` becomes DATETIME(6): MySQL's plain DATETIME drops the microseconds, which the ledger's entry
  times (and so their digests) keep.
- `LargeBinary` becomes LONGBLOB and `Text` LONGTEXT: BLOB and TEXT stop at 64 KiB, while a ledger entry that
  records a batch, a run's input or a notice may be larger.

Importing this module registers the rules (`daipin.db.base` does, so every model and migration sees them).
The database itself is created with `CHARACTER SET utf8mb4 COLLATE utf8mb4_bin` (`create_database_sql`), so
identifiers and names compare byte for byte as on PostgreSQL (collation "C") and SQLite.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, LargeBinary, Text
from sqlalchemy.ext.compiler import compiles

MYSQL_DIALECTS = ("mysql", "mariadb")
CHARSET = "utf8mb4"
COLLATION = "utf8mb4_bin"


def is_mysql(dialect_name: str) -> bool:
    """MariaDB, MySQL, OceanBase/seekdb and TiDB all come through SQLAlchemy's mysql dialect."""
    return dialect_name in MYSQL_DIALECTS


def create_database_sql(name: str) -> str:
    return f"CREATE DATABASE `{name}` CHARACTER SET {CHARSET} COLLATE {COLLATION}"


@compiles(DateTime, "mysql")
@compiles(DateTime, "mariadb")
def _datetime(element: DateTime, compiler: Any, **kw: Any) -> str:
    return "DATETIME(6)"


@compiles(LargeBinary, "mysql")
@compiles(LargeBinary, "mariadb")
def _blob(element: LargeBinary, compiler: Any, **kw: Any) -> str:
    return "LONGBLOB"


@compiles(Text, "mysql")
@compiles(Text, "mariadb")
def _text(element: Text, compiler: Any, **kw: Any) -> str:
    collation = getattr(element, "collation", None)
    return "LONGTEXT" + (f" COLLATE {collation}" if collation else "")
