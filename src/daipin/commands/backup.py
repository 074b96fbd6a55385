"""`daipin backup` and `daipin restore`: a consistent copy of the database, the ledger's keys apart and encrypted,
and a restore kept only when the restored ledger verifies."""

from __future__ import annotations

import sys

import typer


def _passphrase(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("密钥备份口令 passphrase", hide_input=True, confirmation_prompt=confirm))


def backup(
    out: str = typer.Argument(..., help="备份文件 / the backup file to write (must not exist)"),
    keys_out: str = typer.Option(None, "--keys-out", help="另存加密的账本密钥 / also write the ledger's keys, "
                                                         "encrypted with a passphrase, to this file"),
    passphrase_stdin: bool = typer.Option(False, "--passphrase-stdin", help="口令从标准输入读取 / read the passphrase "
                                                                            "from standard input"),
) -> None:
    """备份数据库（运行中一致的副本）；密钥另存并加密 / back up the database (a consistent copy while it runs)."""
    from daipin.db.session import get_engine
    from daipin.domain.errors import DaipinError
    from daipin.ledger import keys
    from daipin.services.backups import service as backups

    try:
        if keys_out:
            phrase = _passphrase(passphrase_stdin, confirm=True)
        m = backups.backup(get_engine(), out)
        typer.echo(f"已备份 / backed up: {out} ({m.backend}, {m.size_bytes:,} bytes, 账本 ledger {m.ledger_size} 条 entries, "
                   f"sha256 {m.sha256[:16]}…)")
        if keys_out:
            n = backups.export_keys(keys.keys_dir(), keys_out, phrase)
            typer.echo(f"已加密备份密钥 / keys encrypted: {keys_out} ({n} files)")
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        raise typer.Exit(2) from None


def restore(
    backup_file: str = typer.Argument(..., help="备份文件 / the backup file"),
    keys: str = typer.Option(None, "--keys", help="加密的密钥备份，恢复到 DAIPIN_KEYS_DIR / the encrypted keys "
                                                  "backup, restored into DAIPIN_KEYS_DIR"),
    passphrase_stdin: bool = typer.Option(False, "--passphrase-stdin", help="口令从标准输入读取 / read the passphrase "
                                                                            "from standard input"),
) -> None:
    """恢复到空数据库；恢复后的账本验证不通过则放弃 / restore into an empty database; kept only if the ledger verifies."""
    from daipin.db.session import database_url
    from daipin.domain.errors import DaipinError
    from daipin.ledger import keys as keystore
    from daipin.services.backups import service as backups

    try:
        if keys:
            n = backups.import_keys(keys, keystore.keys_dir(), _passphrase(passphrase_stdin, confirm=False))
            typer.echo(f"已恢复密钥 / keys restored: {n} files into {keystore.keys_dir()}")
        m = backups.restore(database_url(), backup_file, backups.verify_engine)
    except DaipinError as exc:
        typer.echo(f"错误 / error: {exc.text()}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"已恢复并验证 / restored and verified: 账本 ledger {m.ledger_size} 条 entries, 备份于 backed up at "
               f"{m.created_at}")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
