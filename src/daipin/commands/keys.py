"""`daipin keys rotate` and `daipin keys status`: the personal-data keys (see docs/operations.md)."""

from __future__ import annotations

import typer

keys_app = typer.Typer(help="个人信息加密密钥 personal-data keys", no_args_is_help=True)


@keys_app.command("rotate")
def rotate(
    batch: int = typer.Option(1000, "--batch", min=1, max=100_000, help="每批重新加密的行数 / rows re-sealed per batch"),
    cipher: str = typer.Option(None, "--cipher", help="新密钥的算法 aes-256-gcm 或 sm4-gcm（默认 DAIPIN_CIPHER） / the "
                                                      "new key's cipher (default DAIPIN_CIPHER)"),
) -> None:
    """更换个人信息数据密钥并分批重新加密；中断后再次运行即从中断处继续 / rotate the personal-data key and re-seal in
    batches; run it again after a stop and it continues where it stopped."""
    from daipin.commands import CLOCK
    from daipin.db.session import get_engine
    from daipin.domain.errors import DaipinError
    from daipin.services.keys import service as keys

    if cipher is not None and cipher not in ("aes-256-gcm", "sm4-gcm"):
        typer.echo("错误 / error: --cipher: 应为 aes-256-gcm 或 sm4-gcm / must be aes-256-gcm or sm4-gcm", err=True)
        raise typer.Exit(2)

    def shown(table: str, last_id: int, n: int) -> None:
        typer.echo(f"  {table}: 已到 id {last_id}，本批重新加密 {n} 个值 / up to id {last_id}, {n} values re-sealed",
                   err=False)

    try:
        r = keys.rotate(get_engine(), CLOCK, batch=batch, cipher=cipher, progress=shown)
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{'已续完' if r.resumed else '已完成'}密钥更换 / rotation {'resumed and ' if r.resumed else ''}done: "
               f"{r.from_kid} → {r.to_kid} ({r.cipher})，重新加密 {r.resealed} 个值 / {r.resealed} values re-sealed")


@keys_app.command("status")
def status() -> None:
    """显示数据库固定的密钥（编号、算法、状态，不含密钥）和最近一次更换 / the pinned keys and the last rotation."""
    from daipin.db.session import get_engine
    from daipin.services.keys import service as keys

    s = keys.status(get_engine())
    for k in s["keys"]:  # type: ignore[attr-defined]
        typer.echo(f"{k['purpose']:<6} {k['kid']:<14} {k['cipher']:<12} {k['state']}")
    rot = s["rotation"]
    if rot:
        typer.echo(f"最近更换 / last rotation: {rot['from_kid']} → {rot['to_kid']} {rot['state']} "  # type: ignore[index]
                   f"({rot['resealed']} values)")  # type: ignore[index]


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
