"""`daipin sample province` (the synthetic province) and `daipin year close` (a year closed for every county)."""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

import typer

from daipin.commands import now, unit_of_work
from daipin.commands.registry import (
    sample_app,  # `daipin sample load` and `daipin sample province`: one group
)
from daipin.commands.workflow import parse_actor

year_app = typer.Typer(help="年度结账 closing a year", no_args_is_help=True)
UNCONFIRMED_SHOWN = 20  # villages named per county in the close's report of those it could not draft


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
    payment_lines: int = typer.Option(None, "--payment-lines", help="历史支付明细数（默认户数的10倍）"),
    rosters: bool = typer.Option(True, "--rosters/--no-rosters",
                                 help="确认最后一年各村的收益扶贫对象名单（默认确认；不确认则结账不起草分配事项）"),
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
        contracts=contracts or households * 10 // 3, events=households // 100 if events is None else events,
        payment_lines=payment_lines)
    t0 = time.perf_counter()
    with unit_of_work() as s:
        at = now(s)
        store.ensure_log(s, at=at)
        loaded = prov.load_province(s, SYSTEM_ACTOR, at, seed=seed, year=year, size=size, confirm_rosters=rosters,
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
    """年度结账：全部项目结算、全部村按计划分配并起草分配事项，可中断后续做 / close a year: settle, allocate, draft each
    village's allocation matter (resumable, parallel by county)."""
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

    close_year(database_url(), actor, year, at, codes, workers, wait=bar)
    bar()
    sys.stderr.write("\n")
    with unit_of_work() as s:
        after = yc.summary(s, actor, year)
    for r in after["counties"]:
        typer.echo(f"  {r.name}（{r.county}）：" + "，".join(
            f"{yc.STEP_LABELS[s]} {r.done[s]:,}/{r.total[s]:,}" for s in yc.STEPS))
        if r.unconfirmed:
            shown = "、".join(f"{name}（{code}）" for code, name in r.unconfirmed[:UNCONFIRMED_SHOWN])
            more = f" 等 {len(r.unconfirmed):,} 个" if len(r.unconfirmed) > UNCONFIRMED_SHOWN else ""
            typer.echo(f"    {len(r.unconfirmed):,} 个村未确认 {year} 年度收益扶贫对象名单，未起草分配事项 / "
                       f"{len(r.unconfirmed):,} villages without a confirmed roster, not drafted: {shown}{more}")
    waiting = f"；{after['unconfirmed']:,} 个村待确认名册，未起草" if after["unconfirmed"] else ""
    typer.echo(f"{year} 年度结账完成 / year closed: {after['done']:,}/{after['total']:,} 项（本次 {after['done'] - start:,}"
               f"{waiting}），{len(codes)} 个县，用时 {time.perf_counter() - t0:.1f} s")


def _worker(url: str, actor: Any, county: str, year: int, at: datetime) -> dict[str, int]:
    """One county in a worker process: its own engine, wired as every process is."""
    from sqlalchemy.orm import sessionmaker

    from daipin import bootstrap
    from daipin.db.session import make_engine
    from daipin.services.yearclose import service as yc

    bootstrap.configure()
    engine = make_engine(url)
    try:
        with sessionmaker(engine, expire_on_commit=False)() as session:
            return yc.close_county(session, actor, county, year, at)
    finally:
        engine.dispose()


def close_year(url: str, actor: Any, year: int, at: datetime, county_codes: list[str], workers: int,
               wait: Callable[[], None] | None = None) -> dict[str, dict[str, int]]:
    """Close `year` for each county, `workers` counties at a time in worker processes (one county in this process's
    own worker when `workers` is 1 too, so a kill of the close leaves the same state). `wait` is called about twice a
    second while they run (the caller's progress bar)."""
    from daipin.db.session import get_engine

    results: dict[str, dict[str, int]] = {}
    # Forked workers start at once; none may share a connection of this process's pool, so it is emptied first
    # (this process opens new ones for its progress reads).
    get_engine().dispose()
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool:
        futures = {c: pool.submit(_worker, url, actor, c, year, at) for c in county_codes}
        pending = set(futures.values())
        while pending:
            from concurrent.futures import FIRST_EXCEPTION
            from concurrent.futures import wait as wait_futures

            finished, pending = wait_futures(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            for f in finished:
                if f.exception() is not None:
                    for p in pending:
                        p.cancel()
                    raise f.exception()  # type: ignore[misc]
            if wait is not None:
                wait()
        for c, f in futures.items():
            results[c] = f.result()
    return results



def register(app: typer.Typer) -> None:
    app.add_typer(year_app, name="year")  # the `province` command joins the registry's `sample` group
