"""`daipin crosscheck …`: the cross-county digest exchange as files (services/crosscheck/exchange.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from daipin.commands import unit_of_work
from daipin.commands.workflow import parse_actor
from daipin.domain.errors import DaipinError

crosscheck_app = typer.Typer(help="跨县比对 cross-county checks without clear ID numbers", no_args_is_help=True)


@contextmanager
def _refusing() -> Iterator[None]:
    """A missing file, or the error and every problem of a file refused whole (file, row, column): exit 2."""
    from daipin.services.crosscheck.exchange import ExchangeFileRefused
    from daipin.services.crosscheck.files import FilesRefused

    try:
        yield
    except FileNotFoundError as exc:
        typer.echo(f"错误 / error: 文件不存在 / no such file: {exc.filename}", err=True)
        raise typer.Exit(2) from None
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        if isinstance(exc, ExchangeFileRefused):
            for p in exc.problems:
                typer.echo(f"  {p}", err=True)
        if isinstance(exc, FilesRefused):
            for fp in exc.problems:
                typer.echo(f"  {fp.file} 第{fp.row}行“{fp.column}”: {fp.message_zh} / {fp.message_en}", err=True)
        raise typer.Exit(2) from None


@crosscheck_app.command("key")
def key(
    out: Path = typer.Option(None, "--public-value", help="把省级公开值写入此文件（发给各县）"),
    keys_dir: str = typer.Option(None, "--keys-dir", help="省级服务器的密钥目录（默认 DAIPIN_KEYS_DIR）"),
) -> None:
    """省级服务器：生成（如缺）比对密钥并给出公开值 / province server: make the key if missing, give the public value."""
    from daipin.services.crosscheck import exchange

    y = exchange.province_key(keys_dir)
    if out is not None:
        out.write_text(y + "\n", encoding="utf-8")
        typer.echo(f"省级公开值已写入 / public value written: {out}")
    else:
        typer.echo(y)


@crosscheck_app.command("blind")
def blind(
    county: str = typer.Option(..., "--county", help="本县代码（6位）"),
    out: Path = typer.Option(..., "--out", help="输出目录：blinded.csv 报送省级，keep.csv 留在本县"),
    as_: str = typer.Option("system", "--as", help="以谁的身份：system 或 role:id@region"),
) -> None:
    """县级：把本县居民的身份证号盲化后报送（不含身份证号） / county: blind every resident's ID for the province."""
    from daipin.services.crosscheck import exchange

    actor = parse_actor(as_)
    with unit_of_work() as s:
        done = exchange.blind(s, actor, county, out, progress=lambda n: typer.echo(f"  {n:,} …"))
    typer.echo(f"已盲化 {done.rows:,} 人 / {done.rows:,} residents blinded: 报送 / send {done.sent}; "
               f"留存（勿外传） / keep (never send) {done.kept}")


@crosscheck_app.command("evaluate")
def evaluate(
    file: Path = typer.Argument(..., help="县级报送的 blinded.csv"),
    out: Path = typer.Option(..., "--out", help="应答文件（发回该县）"),
    as_: str = typer.Option("system", "--as", help="以谁的身份：province:id@省代码"),
    keys_dir: str = typer.Option(None, "--keys-dir", help="省级服务器的密钥目录（默认 DAIPIN_KEYS_DIR）"),
) -> None:
    """省级服务器：应答各县的盲化值 / province server: answer a county's blinded values."""
    from daipin.services.crosscheck import exchange

    with _refusing():
        n = exchange.evaluate(parse_actor(as_), file, out, keys_dir)
    typer.echo(f"已应答 {n:,} 行 / {n:,} rows answered: {out}")


@crosscheck_app.command("finish")
def finish(
    answers: Path = typer.Argument(..., help="省级发回的应答文件"),
    keep: Path = typer.Option(..., "--keep", help="本县留存的 keep.csv"),
    public_value: Path = typer.Option(..., "--public-value", help="省级公开值文件"),
    out: Path = typer.Option(..., "--out", help="摘要文件（报送省级比对）"),
) -> None:
    """县级：把应答还原为摘要文件 / county: unblind the answers into the digest file the province compares."""
    from daipin.services.crosscheck import exchange

    with _refusing():
        n = exchange.finish(answers, keep, public_value.read_text(encoding="utf-8"), out)
    typer.echo(f"摘要 {n:,} 行 / {n:,} digests: {out}")


@crosscheck_app.command("duplicates")
def duplicates(
    files: list[Path] = typer.Argument(..., help="各县的摘要文件"),
    as_: str = typer.Option("system", "--as", help="以谁的身份：province:id@省代码"),
) -> None:
    """省级：比对各县摘要，列出在两个及以上县登记的人（只列县和县内编号） / province: one person in two counties."""
    from daipin.services.crosscheck import files as cfiles

    with _refusing():
        got = cfiles.read([(f.name, f.read_bytes()) for f in files])
    with unit_of_work() as s:
        found = cfiles.findings(s, parse_actor(as_), got)
    typer.echo(f"{found['files']} 个文件，{found['rows']:,} 行 / files, rows")
    for d in found["duplicates"]:
        typer.echo("  " + "；".join(f"{c} {name} {ref}" for c, name, ref in d["places"]))
    typer.echo(f"跨县重复 {len(found['duplicates'])} 人 / {len(found['duplicates'])} people in two or more counties")


def register(app: typer.Typer) -> None:
    app.add_typer(crosscheck_app, name="crosscheck")
