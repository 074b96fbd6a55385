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

Reading a schema back (`alembic check`, reflection) goes through SQLAlchemy's parser of `SHOW CREATE TABLE`. seekdb
writes a foreign key whose referred table was rebuilt by an `ALTER TABLE … MODIFY` (a migration's downgrade and
upgrade over existing rows) in a form that parser does not read: the referred table qualified by its own database,
no space before the column list, and its actions spelt out in the other order (REFERENCES `db`.`households`(`id`)
ON UPDATE RESTRICT ON DELETE RESTRICT); and it ends every key with its storage options (BLOCK_SIZE 16384 LOCAL).
`normalize_show_create` writes such lines as MySQL does; it is applied to what `SHOW CREATE TABLE` returns on the
MySQL dialect, and leaves MySQL's and MariaDB's own lines as they are. With it, `alembic check` runs on seekdb as on
the other engines.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import DateTime, LargeBinary, Text
from sqlalchemy.dialects.mysql.base import MySQLDialect
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


_FK_REFERENCE = re.compile(r"REFERENCES +(?:`(?P<db>(?:``|[^`])+)`\.)?(?P<table>`(?:``|[^`])+`) *"
                           r"\((?P<columns>[^)]*)\)(?P<tail>.*)$")
_KEY_STORAGE = re.compile(r"(?P<key>^  (?:UNIQUE |FULLTEXT |SPATIAL |PRIMARY )?KEY .*\))"
                          r"(?: +BLOCK_SIZE +\d+)?(?: +(?:LOCAL|GLOBAL))?(?P<rest> *,?)$")
_FK_ACTION = re.compile(r" +ON +(?P<event>DELETE|UPDATE) +(?P<action>RESTRICT|CASCADE|SET NULL|NO ACTION|SET DEFAULT)")


def normalize_show_create(show_create: str, database: str | None) -> str:
    """`SHOW CREATE TABLE`'s text with each key and foreign key written as MySQL writes it: a key without seekdb's
    storage options (`BLOCK_SIZE 16384 LOCAL`, which say how, not what, it indexes); a foreign key's referred table
    unqualified when it lies in `database` (the connection's own), a space before the referred columns,
    `ON DELETE` before `ON UPDATE`, and RESTRICT (what MySQL and seekdb do when no action is given, and print
    nothing for) left out. Every other line, and every line MySQL or MariaDB writes, is kept as it is."""
    lines = show_create.split("\n")
    for i, line in enumerate(lines):
        if (k := _KEY_STORAGE.match(line)) is not None:
            lines[i] = k["key"] + k["rest"].strip()
            continue
        if "FOREIGN KEY" not in line or (m := _FK_REFERENCE.search(line)) is None:
            continue
        actions = {a["event"]: a["action"] for a in _FK_ACTION.finditer(m["tail"])}
        rest = _FK_ACTION.sub("", m["tail"]).strip()  # the "," between definitions, or nothing
        table = m["table"] if m["db"] is None or m["db"] == database else f"`{m['db']}`.{m['table']}"
        said = "".join(f" ON {event} {actions[event]}" for event in ("DELETE", "UPDATE")
                       if actions.get(event, "RESTRICT") != "RESTRICT")
        lines[i] = f"{line[:m.start()]}REFERENCES {table} ({m['columns']}){said}{rest}"
    return "\n".join(lines)


_show_create_table = MySQLDialect._show_create_table


def _show_create_table_normalized(self: MySQLDialect, connection: Any, table: Any, charset: Any = None,
                                  full_name: Any = None) -> str:
    return normalize_show_create(_show_create_table(self, connection, table, charset, full_name),
                                  self.default_schema_name)


MySQLDialect._show_create_table = _show_create_table_normalized  # type: ignore[method-assign]
