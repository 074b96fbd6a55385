"""CLI commands, one module per area; each exposes `register(app)`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
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
        _say_refused(exc)
        raise typer.Exit(2) from None


def _say_refused(exc: Any) -> None:
    typer.echo(f"错误 / error: {exc.text()}", err=True)
    for problem in getattr(exc, "problems", None) or []:  # a file refused whole: every problem, row and column
        typer.echo(f"  {problem.text()}", err=True)


def refused(run: Callable[[], None]) -> None:
    """Run the command line; a refusal no command worded itself (a DaipinError met outside `unit_of_work`: a
    missing key, say) is printed like theirs, in one line, and exits 2 rather than with a traceback."""
    from daipin.domain.errors import DaipinError

    try:
        run()
    except DaipinError as exc:
        _say_refused(exc)
        raise SystemExit(2) from None


def _system_time() -> datetime:
    return datetime.now(UTC)


# The command line's clock: the machine's real UTC time (tests replace it). Nobody types a step's time.
CLOCK: Callable[[], datetime] = _system_time


def now(session: Any) -> datetime:
    """The time a step taken by this command is recorded at: the clock, plus a training database's offset."""
    from daipin.services.shared import clock

    return clock.now(session, CLOCK)
