"""The migrations build the schema the models describe, on every backend."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from daipin.db import migrate
from daipin.db.base import Base


def test_migrations_reach_head_and_match_the_models(db_engine: Engine) -> None:
    migrate.check(db_engine)  # raises when the models differ from the migrations
    tables = set(inspect(db_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
