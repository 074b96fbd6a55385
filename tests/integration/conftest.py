"""Fixtures the integration tests of the command line share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from daipin.db.session import make_engine, reset_engine


@pytest.fixture
def cli_db(fresh_db_url: str) -> Iterator[str]:
    """A fresh database holding the workflow tests' seed (regions, six households, an entity and a project), which
    the command line (`daipin …` through its own engine) works on. A module may define its own `cli_db`."""
    from tests.integration.test_workflow import seed

    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        seed(s)
        s.commit()
    reset_engine(engine)
    yield fresh_db_url
    reset_engine(None)
    engine.dispose()
