"""`daipin clock ...`: the system's clock; on a training database only, moved forward to walk a matter's windows."""

from __future__ import annotations

import typer

from daipin.commands import now, unit_of_work
from daipin.domain.localtime import for_people

clock_app = typer.Typer(help="系统时钟 the clock (演示/培训数据库可调整 / a training database's may be advanced)",
                        no_args_is_help=True)


@clock_app.command("show")
def show() -> None:
    """显示系统时间（培训数据库另显示已调整的时长）/ show the time steps are recorded at."""
    from daipin.services.shared import clock

    with unit_of_work() as s:
        training, offset, at = clock.training(s), clock.offset(s), now(s)
    typer.echo(f"办理时间 / recorded at: {for_people(at)}")
    if training:
        typer.echo(f"演示/培训数据库，时钟已调快 / training database, clock advanced by {offset}")
    else:
        typer.echo("生产数据库：时钟即系统真实时间，不能调整 / production database: the real time, never changed")


@clock_app.command("advance")
def advance(by: str = typer.Argument(..., help="时长，如 10d、12h、30m / by how much, e.g. 10d")) -> None:
    """调快演示/培训数据库的时钟（记入账本），生产数据库拒绝 / advance a training database's clock (a ledger entry)."""
    from daipin import commands
    from daipin.commands.workflow import parse_actor
    from daipin.services.shared import clock

    with unit_of_work() as s:
        at = clock.advance(s, parse_actor(None), clock.parse_duration(by), commands.CLOCK)
    typer.echo(f"时钟已调快 {by}，现在办理时间为 {for_people(at)} / the clock now reads {for_people(at, lang='en')}")


def register(app: typer.Typer) -> None:
    app.add_typer(clock_app, name="clock")
