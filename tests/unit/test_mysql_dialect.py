"""The MySQL-compatible engines (MariaDB, OceanBase/seekdb, TiDB) get the column types that keep the data, and
`mysql://` URLs reach them through PyMySQL in utf8mb4; the other dialects' DDL is unchanged."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateTable

from daipin.db import mysql as mysql_types  # noqa: F401  (registers the rules, as db/base.py does)
from daipin.db.base import Base
from daipin.db.session import normalise_url


def _ddl(dialect: object) -> str:
    t = Table("t", MetaData(), Column("at", DateTime(timezone=True)), Column("body", LargeBinary()),
              Column("note", Text()), Column("code", String(12)))
    return str(CreateTable(t).compile(dialect=dialect))  # type: ignore[arg-type]


def test_times_keep_microseconds_and_blobs_and_text_pass_64_kib_on_mysql_and_mariadb() -> None:
    for dialect in (mysql.dialect(), mysql.dialect(is_mariadb=True)):
        ddl = _ddl(dialect)
        assert "at DATETIME(6)" in ddl
        assert "body LONGBLOB" in ddl.replace("`", "")  # (MariaDB quotes BODY, one of its reserved words)
        assert "note LONGTEXT" in ddl
        assert "code VARCHAR(12)" in ddl


def test_other_dialects_are_unchanged() -> None:
    pg = _ddl(postgresql.dialect())
    assert "at TIMESTAMP WITH TIME ZONE" in pg and "body BYTEA" in pg and "note TEXT" in pg
    lite = _ddl(sqlite.dialect())
    assert "at DATETIME" in lite and "body BLOB" in lite and "note TEXT" in lite


def test_every_model_table_compiles_for_mysql_without_a_plain_datetime_or_blob() -> None:
    for table in Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=mysql.dialect()))
        assert " DATETIME," not in ddl and " DATETIME\n" not in ddl and " DATETIME NOT" not in ddl, table.name
        assert " BLOB" not in ddl.replace("LONGBLOB", ""), table.name


def test_mysql_urls_use_pymysql_in_utf8mb4() -> None:
    assert normalise_url("mysql://root@127.0.0.1:3306/daipin") == \
        "mysql+pymysql://root@127.0.0.1:3306/daipin?charset=utf8mb4"
    assert normalise_url("mariadb://root@db/daipin") == "mariadb+pymysql://root@db/daipin?charset=utf8mb4"
    sock = "mysql+pymysql://root@/test?unix_socket=/tmp/s/sql.sock"
    assert normalise_url(sock) == sock + "&charset=utf8mb4"
    assert normalise_url("mysql+pymysql://u@h/d?charset=utf8mb4") == "mysql+pymysql://u@h/d?charset=utf8mb4"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///var/daipin.db") == "sqlite:///var/daipin.db"


# As seekdb (1.4) writes a table after a migration's round trip rebuilt the table its key refers to.
SEEKDB_REBUILT = """CREATE TABLE `account_holders` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `household_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_account_holders_household_id` (`household_id`) BLOCK_SIZE 16384 LOCAL,
  CONSTRAINT `fk_account_holders_household_id_households` FOREIGN KEY (`household_id`) REFERENCES `daipin_t_1`.`households`(`id`) ON UPDATE RESTRICT ON DELETE RESTRICT ,
  CONSTRAINT `fk_x` FOREIGN KEY (`id`) REFERENCES `other_db`.`t`(`a`, `b`) ON UPDATE CASCADE ON DELETE SET NULL
) DEFAULT CHARSET = utf8mb4"""


def test_keys_and_foreign_keys_as_seekdb_writes_them_read_as_mysql_writes_them() -> None:
    from daipin.db.mysql import normalize_show_create

    out = normalize_show_create(SEEKDB_REBUILT, "daipin_t_1").splitlines()
    assert out[4] == "  UNIQUE KEY `uq_account_holders_household_id` (`household_id`),"
    assert out[5] == ("  CONSTRAINT `fk_account_holders_household_id_households` FOREIGN KEY (`household_id`) "
                      "REFERENCES `households` (`id`),")
    assert out[6] == ("  CONSTRAINT `fk_x` FOREIGN KEY (`id`) REFERENCES `other_db`.`t` (`a`, `b`) "
                      "ON DELETE SET NULL ON UPDATE CASCADE")
    assert [a for a, b in zip(out, SEEKDB_REBUILT.splitlines(), strict=True) if a != b] == out[4:7]
    # MySQL's and MariaDB's own lines are left exactly as they are
    mysql_line = "  CONSTRAINT `fk_a` FOREIGN KEY (`b`) REFERENCES `c` (`d`) ON DELETE CASCADE,"
    assert normalize_show_create(mysql_line, "db") == mysql_line


def test_sqlalchemys_reflection_reads_the_normalized_foreign_keys() -> None:
    from daipin.db.mysql import normalize_show_create

    parser = mysql.dialect()._tabledef_parser
    state = parser.parse(normalize_show_create(SEEKDB_REBUILT, "daipin_t_1"), "utf8mb4")
    fks = {fk["name"]: fk for fk in state.fk_constraints}
    assert [k["name"] for k in state.keys] == [None, "uq_account_holders_household_id"]  # (the primary key, then it)
    assert fks["fk_account_holders_household_id_households"]["table"] == ["households"]
    assert fks["fk_account_holders_household_id_households"]["foreign"] == ["id"]
    assert (fks["fk_x"]["table"], fks["fk_x"]["ondelete"], fks["fk_x"]["onupdate"]) == (
        ["other_db", "t"], "SET NULL", "CASCADE")
    import warnings

    with warnings.catch_warnings(record=True) as said:  # the text as seekdb writes it is what the parser cannot read
        warnings.simplefilter("always")
        unread = parser.parse(SEEKDB_REBUILT, "utf8mb4")
    assert any("Unknown schema content" in str(w.message) for w in said)
    assert "fk_account_holders_household_id_households" not in {fk["name"] for fk in unread.fk_constraints}
    assert [k["name"] for k in unread.keys] == [None]
