"""`daipin village representatives add|end|list`: a village's recorded list of representatives (村民代表)."""

from __future__ import annotations

from datetime import date

import typer

from daipin.commands import now, unit_of_work
from daipin.commands.workflow import AsOpt, parse_actor

village_app = typer.Typer(help="村 villages: 村民代表名单", no_args_is_help=True)
representatives_app = typer.Typer(help="村民代表名单 a village's representatives (村民代表会议的应到人数由此计算)",
                                  no_args_is_help=True)


@representatives_app.command("add")
def add(
    village: str = typer.Argument(..., help="村代码（12位）"),
    person: int = typer.Option(..., "--person", help="人员编号（农户页所列成员编号）"),
    from_date: str = typer.Option(..., "--from", help="任期开始日期 YYYY-MM-DD"),
    to_date: str = typer.Option(None, "--to", help="任期结束日期 YYYY-MM-DD（已知时）"),
    as_: str = AsOpt,
) -> None:
    """登记村民代表 / record a representative of the village."""
    from daipin.services.villages import commands

    with unit_of_work() as s:
        command = commands.AddRepresentative.parse({"person_id": person, "from_date": from_date, "to_date": to_date})
        rep = commands.add(s, parse_actor(as_), village, command, at=now(s))
        typer.echo(f"村民代表任期 {rep.id}：人员 {rep.person_id}，自 {rep.from_date.isoformat()} 起"
                   + (f"至 {rep.to_date.isoformat()}" if rep.to_date else ""))


@representatives_app.command("end")
def end(
    village: str = typer.Argument(..., help="村代码（12位）"),
    representative: int = typer.Argument(..., help="村民代表任期编号"),
    to_date: str = typer.Option(..., "--to", help="最后任职日期 YYYY-MM-DD"),
    reason: str = typer.Option(..., "--reason", help="卸任原因（换届、辞职、迁出…）"),
    as_: str = AsOpt,
) -> None:
    """村民代表卸任 / end a representative's term."""
    from daipin.services.villages import commands

    with unit_of_work() as s:
        command = commands.EndRepresentative.parse({"to_date": to_date, "reason": reason})
        rep = commands.end(s, parse_actor(as_), village, representative, command, at=now(s))
        typer.echo(f"村民代表任期 {rep.id} 至 {rep.to_date.isoformat() if rep.to_date else ''} 结束：{rep.end_reason}")


@representatives_app.command("list")
def list_(
    village: str = typer.Argument(..., help="村代码（12位）"),
    on: str = typer.Option(None, "--on", help="按哪一天判断在任（YYYY-MM-DD，默认今天，北京时间）"),
    as_: str = AsOpt,
) -> None:
    """村民代表名单 / the village's representatives and how many serve on a day."""
    from daipin.domain.errors import InputError
    from daipin.domain.localtime import beijing_date
    from daipin.services.villages import views

    with unit_of_work() as s:
        try:
            day = date.fromisoformat(on) if on else beijing_date(now(s))
        except ValueError:
            raise InputError("日期格式应为 YYYY-MM-DD", "expected YYYY-MM-DD", "on") from None
        data = views.representatives(s, parse_actor(as_), village, on=day)
        typer.echo(f"{data['village']['name']}（{data['village']['code']}）{data['on']} 在任村民代表 {data['serving']} 人")
        for t in data["terms"]:
            mark = "在任" if t["serving"] else "不在任"
            typer.echo(f"{t['id']}\t{t['name']}\t{t['household_no']}\t{t['from']} 至 {t['to'] or '今'}\t{mark}"
                       + (f"\t{t['end_reason']}" if t["end_reason"] else ""))


def register(app: typer.Typer) -> None:
    village_app.add_typer(representatives_app, name="representatives")
    app.add_typer(village_app, name="village")
