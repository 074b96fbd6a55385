"""`daipin config show`: the settings this process runs with (every `DAIPIN_*` variable), secrets hidden."""

from __future__ import annotations

import typer

from daipin.config import PREFIX, Settings, settings

config_app = typer.Typer(help="运行设置 settings (DAIPIN_* 环境变量 / environment variables)", no_args_is_help=True)


@config_app.command("show")
def show() -> None:
    """显示生效的设置及其来源（密钥隐藏）/ show the effective settings and where each comes from (secrets hidden)."""
    current = settings()
    shown = current.shown()
    given = {PREFIX + name.upper() for name in current.model_fields_set}
    width = max(len(k) for k in shown)
    for name, value in shown.items():
        source = "环境变量 / environment" if name in given else "默认 / default"
        typer.echo(f"{name:<{width}}  {value}    [{source}]")
    typer.echo(f"\n共 {len(Settings.model_fields)} 项；说明见 docs/operations.md / "
               f"{len(Settings.model_fields)} settings, described in docs/operations.md ({PREFIX}*)")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
