"""`daipin sample province` (the synthetic province) and `daipin year close` (a year closed for every county)."""

from __future__ import annotations

import sys
import time

import typer

from daipin.commands import now, unit_of_work
from daipin.commands.workflow import parse_actor

sample_app = typer.Typer(help="示例数据 sample data: 合成省份", no_args_is_help=True)
year_app = typer.Typer(help="年度结账 closing a year", no_args_is_help=True)


@sample_app.command("province")
def province(
    seed: int = typer.Option(2026, "--seed", help="随机种子：同一种子同一规模，数据完全相同"),
    year: int = typer.Option(None, "--year", help="历史的最后一年（默认去年）"),
    counties: int = typer.Option(10, "--counties", help="县数"),
    townships: int = typer.Option(None, "--townships", help="乡镇数（默认每县15个）"),
    villages: int = typer.Option(None, "--villages", help="村数（默认每乡镇20个）"),
    households: int = typer.Option(300_000, "--households", help="户数"),
    people: int = typer.Option(None, "--people", help="人数（默认户数的10/3倍）"),
    entities: int = typer.Option(None, "--entities", help="实施主体数，每个一个项目（默认户数的1/30）"),
    contracts: int = typer.Option(None, "--contracts", help="利益联结协议数（默认户数的10/3倍）"),
    events: int = typer.Option(None, "--events", help="动态管理变动事件数（默认户数的1%）"),
) -> None:
    """生成并载入合成省份 / generate and load the synthetic province into an empty database."""
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.ledger import store
    from daipin.services.sample import province as prov

    townships = townships or 15 * counties
    villages = villages or 20 * townships
    size = prov.ProvinceSize(
        counties=counties, townships=townships, villages=villages, households=households,
        people=people or households * 10 // 3, entities=entities or max(counties, households // 30),
        contracts=contracts or households * 10 // 3, events=households // 100 if events is None else events)
    t0 = time.perf_counter()
    with unit_of_work() as s:
        at = now(s)
        store.ensure_log(s, at=at)
        loaded = prov.load_province(s, SYSTEM_ACTOR, at, seed=seed, year=year, size=size,
                                    progress=lambda msg: typer.echo(f"  {msg}  ({time.perf_counter() - t0:.0f} s)"))
    typer.echo("已载入合成省份 / province loaded: " + ", ".join(f"{k} {v:,}" for k, v in loaded.counts.items())
               + f" in {time.perf_counter() - t0:.1f} s")


@year_app.command("close")
def close(
    year: int = typer.Option(..., "--year", help="结账年度"),
    county: str = typer.Option(None, "--county", help="只结此县（6位代码）；默认全部可结的县"),
    workers: int = typer.Option(2, "--workers", help="并行的进程数（按县分配）"),
    as_: str = typer.Option("system", "--as", help="以谁的身份：system 或 role:id@region"),
) -> None:
    """年度结账：全部项目结算、全部村按计划分配，可中断后续做 / close a year (resumable, parallel by county)."""
    from daipin.db.session import database_url, session_scope
    from daipin.services.yearclose import service as yc

    actor = parse_actor(as_)
    with unit_of_work() as s:
        at = now(s)
        yc.check_year(year)
        codes = [r.code for r in yc.counties(s, actor, county)]
        before = yc.summary(s, actor, year)
    total, start = before["total"], before["done"]
    t0 = time.perf_counter()

    def bar() -> None:
        with session_scope() as s2:
            d = sum(r.done_all for r in yc.status(s2, actor, year, county))
        width = 30
        filled = width * d // total if total else width
        sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {d:,}/{total:,}  {time.perf_counter() - t0:.0f} s")
        sys.stderr.flush()

    yc.close_year(database_url(), actor, year, at, codes, workers, wait=bar)
    bar()
    sys.stderr.write("\n")
    with unit_of_work() as s:
        after = yc.summary(s, actor, year)
    typer.echo(f"{year} 年度结账完成 / year closed: {after['done']:,}/{after['total']:,} 项（本次 {after['done'] - start:,}），"
               f"{len(codes)} 个县，用时 {time.perf_counter() - t0:.1f} s")


def register(app: typer.Typer) -> None:
    app.add_typer(sample_app, name="sample")
    app.add_typer(year_app, name="year")
