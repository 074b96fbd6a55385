"""Run Alembic programmatically: `daipin db upgrade` / `daipin db check`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

HERE = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.connect() as conn, foreign_keys_deferred(conn), conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.connect() as conn, foreign_keys_deferred(conn), conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


@contextmanager
def foreign_keys_deferred(conn: Connection) -> Iterator[None]:
    """SQLite changes a column by copying its table and dropping the old one; with foreign keys on, dropping a
    table that other rows point to (matters, by meetings and notices) fails. So on SQLite the keys are switched
    off while the migration runs (outside its transaction, where SQLite honours the switch) and checked after:
    a migration that left a dangling reference is reported, not kept."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection  # below SQLAlchemy's explicit BEGIN IMMEDIATE: outside a transaction
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left references to missing rows: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def check(engine: Engine) -> None:
    """Raise if the models differ from the migrations (alembic check)."""
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
