"""CLI commands, one module per area; each exposes `register(app)`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer


@contextmanager
def unit_of_work() -> Iterator[Any]:
    """One transaction; a DaipinError is printed on stderr (both languages) and exits 2, changing nothing."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError

    try:
        with session_scope() as session:
            yield session
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        raise typer.Exit(2) from None
