"""The `daipin` command line: every area registers its commands here."""

from __future__ import annotations

import typer

from daipin.commands import (
    backup,
    calc,
    clock,
    config,
    crosscheck,
    db,
    keys,
    ledger,
    obligations,
    payments,
    province,
    registry,
    supervision,
    villages,
    web,
    workflow,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="带贫益贫 daipin — 扶贫产业项目带贫益贫管理系统",
    pretty_exceptions_enable=False,
)

for module in (calc, db, registry, ledger, workflow, payments, villages, web, clock, obligations, config, backup,
               supervision, keys, province, crosscheck):
    module.register(app)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"daipin {version('daipin')}")
        raise typer.Exit()


@app.callback()
def _wire(
    _show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="显示版本 / show the version and exit"),
) -> None:
    """Wire the process before any command runs (the composition root), as the server does: the settings are
    read first, so that a bad value stops every command naming its variable."""
    from daipin import bootstrap
    from daipin.config import settings

    settings()
    bootstrap.configure()


def main() -> None:
    from sqlalchemy.exc import StatementError

    from daipin.commands import refused
    from daipin.config import SettingError

    try:
        refused(app)
    except SettingError as exc:
        typer.echo(f"设置错误 / setting error: {exc}", err=True)
        raise SystemExit(2) from None
    except StatementError as exc:  # a database error, or a value the driver refused
        # A database that is not there or not migrated is the commonest first-run mistake: say so in one line
        # (the URL without its password), not with a traceback, and exit 2 like every refused command.
        typer.echo(f"错误 / error: {database_problem(exc)}", err=True)
        raise SystemExit(2) from None


def database_problem(exc: Exception) -> str:
    """One line, in both languages, for a database error a command could not handle."""
    from daipin.commands.db import _safe_url
    from daipin.db.session import database_url

    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = _safe_url(database_url())
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if "no such table" in detail or code == "42P01":
        return (f"数据库 {where} 尚未建立表结构，请先运行 `daipin init`（或 `daipin db upgrade`） / "
                f"the database has no tables yet: run `daipin init` (or `daipin db upgrade`) first ({detail})")
    return f"数据库 {where} 出错 / database error: {detail}"
