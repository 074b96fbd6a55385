"""The `daipin` command line: every area registers its commands here."""

from __future__ import annotations

import typer

from daipin.commands import calc, db, ledger, registry, web, workflow

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="带贫益贫 daipin — 扶贫产业项目带贫益贫管理系统",
    pretty_exceptions_enable=False,
)

for module in (calc, db, registry, ledger, workflow, web):
    module.register(app)


def main() -> None:
    app()
