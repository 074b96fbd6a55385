"""Alembic environment: the URL comes from the caller's config or DAIPIN_DATABASE_URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import pool

from daipin.db import models  # noqa: F401  (registers every table)
from daipin.db.base import Base
from daipin.db.session import database_url, make_engine

config = context.config
target_metadata = Base.metadata

# Foreign keys of the models that PostgreSQL holds as statement triggers instead (migration 0027): `alembic check`
# does not look for them there.
STATEMENT_CHECKED_KEYS = frozenset({"fk_payment_lines_sent_file_id_payment_files",
                                    "fk_payment_lines_return_file_id_payment_files"})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "foreign_key_constraint" and name in STATEMENT_CHECKED_KEYS
                and context.get_context().dialect.name == "postgresql")


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url") or database_url(), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          compare_type=True, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True, compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
