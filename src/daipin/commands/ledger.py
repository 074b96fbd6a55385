"""CLI commands of the ledger area: `daipin init` and `daipin ledger ...` (LEDGER.md interfaces)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

ledger_app = typer.Typer(help="可验证账本 the verifiable ledger (全程留痕)", no_args_is_help=True)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"错误 / error: {exc}", err=True)
    return typer.Exit(2)


def init(
    hash_name: str = typer.Option(None, "--hash", help="哈希算法 sm3 (默认) 或 sha256; 建立后不可更改"),
    origin: str = typer.Option(None, "--origin", help="账本名称, 默认 daipin.<县级代码>/ledger"),
    county: str = typer.Option(None, "--county", help="县级区划代码 (6位), 默认 DAIPIN_COUNTY 或 231002"),
    keys_dir: str = typer.Option(None, "--keys-dir", help="密钥目录, 默认 DAIPIN_KEYS_DIR 或 ./var/keys"),
    training: bool = typer.Option(False, "--training", help="建立演示/培训数据库（只有它可以调整时钟），建立后不可更改 / "
                                                             "a training database (only it may advance its clock)"),
) -> None:
    """初始化：升级数据库结构，生成签名密钥与盐值，建立账本 / upgrade the database, create the ledger keys and the log (idempotent)."""
    from datetime import UTC, datetime

    from daipin.db import migrate
    from daipin.db.session import get_engine, session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import clock, keys, merkle, store

    if training:
        origin = origin or clock.training_origin(county or keys.default_county())
        if not clock.is_training_origin(origin):
            typer.echo(f"错误 / error: --origin: 培训账本的名称须以 {clock.TRAINING_SUFFIX} 结尾 / a training "
                       f"ledger's origin ends in {clock.TRAINING_SUFFIX}", err=True)
            raise typer.Exit(2)
    elif origin and clock.is_training_origin(origin):
        typer.echo(f"错误 / error: --origin: 以 {clock.TRAINING_SUFFIX} 结尾的名称只用于培训数据库，请加 --training / "
                   f"an origin ending in {clock.TRAINING_SUFFIX} marks a training database: add --training", err=True)
        raise typer.Exit(2)
    try:
        merkle.Hasher(hash_name or merkle.DEFAULT_HASH)  # fail closed before touching anything
        migrate.upgrade(get_engine())  # a new database gets its tables first (idempotent, like the rest of init)
        with session_scope() as session:
            info = store.ensure_log(session, keys_dir=keys_dir, hash_name=hash_name, origin=origin, county=county,
                                    at=datetime.now(UTC))
    except (DaipinError, merkle.HashUnavailable) as exc:
        raise _fail(exc) from exc
    typer.echo(f"账本已就绪 / ledger ready: {info.origin} ({info.hash_name})")
    if training and not clock.is_training_origin(info.origin):
        typer.echo(f"错误 / error: 账本 {info.origin} 已建立为生产账本，不能改为培训账本 / the ledger already exists as a "
                   "production ledger; it cannot become a training one", err=True)
        raise typer.Exit(2)
    if clock.is_training_origin(info.origin):
        typer.echo("演示/培训数据库：可用 `daipin clock advance 10d` 调整时钟 / a training database: "
                   "`daipin clock advance 10d` moves its clock")
    typer.echo(f"密钥目录 / keys: {keys.keys_dir(keys_dir)}")
    typer.echo(f"公钥 / verifier key: {info.verifier_key}")


@ledger_app.command("checkpoint")
def checkpoint() -> None:
    """打印最新检查点（签名注记）/ print the latest checkpoint as a signed note."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import store

    try:
        with session_scope() as session:
            store.require_log(session)
            cp = store.latest_checkpoint(session)
    except DaipinError as exc:
        raise _fail(exc) from exc
    if cp is None:
        raise _fail(RuntimeError("账本没有检查点 / the ledger has no checkpoint"))
    sys.stdout.write(cp.note)


@ledger_app.command("pubkey")
def pubkey() -> None:
    """打印验证公钥 / print the verifier key: <name>+<hash>+<base64 key>."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import store

    try:
        with session_scope() as session:
            typer.echo(store.require_log(session).verifier_key)
    except DaipinError as exc:
        raise _fail(exc) from exc


@ledger_app.command("entry")
def entry(index: int = typer.Argument(..., help="条目序号 entry index")) -> None:
    """输出条目原文（哈希所用字节）/ write entry I's body bytes, exactly as hashed."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import store

    try:
        with session_scope() as session:
            body = store.entry_body(session, index)
    except DaipinError as exc:
        raise _fail(exc) from exc
    sys.stdout.buffer.write(body)
    sys.stdout.flush()


@ledger_app.command("proof")
def proof(
    index: int = typer.Option(..., "--index", help="条目序号"),
    size: int = typer.Option(None, "--size", help="树大小, 默认最新检查点"),
) -> None:
    """包含证明 (RFC 9162) / inclusion proof as JSON."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import store

    try:
        with session_scope() as session:
            out = store.inclusion_proof(session, index, size)
    except DaipinError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(out))


@ledger_app.command("consistency")
def consistency(
    first: int = typer.Option(..., "--from", help="较早的树大小"),
    second: int = typer.Option(None, "--to", help="较晚的树大小, 默认最新检查点"),
) -> None:
    """一致性证明 (RFC 9162) / consistency proof as JSON."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import store

    try:
        with session_scope() as session:
            out = store.consistency_proof(session, first, second)
    except DaipinError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(out))


@ledger_app.command("info")
def info(as_json: bool = typer.Option(False, "--json", help="输出JSON")) -> None:
    """哈希算法、大小与根 / hash name, size and root of the latest checkpoint, and when it was signed."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.domain.localtime import for_people
    from daipin.ledger import store

    try:
        with session_scope() as session:
            out = store.info(session)
            cp = store.latest_checkpoint(session)
    except DaipinError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for key in ("hash", "size", "root", "origin", "key_id", "entries"):
        typer.echo(f"{key}: {out[key]}")
    if cp is not None:
        typer.echo(f"checkpoint_at: {for_people(cp.at)}")


def _trusted(key: str | None) -> str | None:
    """`--key` as given (the key itself, or a file holding it), else the published key beside the signing key."""
    from daipin.ledger import keys

    if key:
        p = Path(key)
        return p.read_text(encoding="utf-8").strip() if p.is_file() else key.strip()
    return keys.published_key()


@ledger_app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="输出JSON报告"),
    key: str = typer.Option(None, "--key", help="信任的公钥（或存放它的文件）；默认 DAIPIN_KEYS_DIR 中公布的 ledger.pub"),
) -> None:
    """全量核验账本 / recompute every entry, node and root, check every checkpoint with the published key (never the
    key the database names), every witnessed checkpoint and every covered row; exit 1 if anything is wrong."""
    from daipin.db.session import session_scope
    from daipin.ledger import verify as verifier

    with session_scope() as session:
        report = verifier.verify_log(session, trusted_key=_trusted(key))
    if as_json:
        typer.echo(verifier.report_json(report))
    elif report.ok:
        typer.echo(f"账本核验通过 / ledger verified: {report.size} entries, {report.checkpoints} checkpoints, "
                   f"{report.witnesses} witnessed, {report.rows_checked} rows, key {report.key_id}, "
                   f"{report.hash_name} root {report.root.hex()}")
    else:
        first = report.first_bad
        assert first is not None
        typer.echo(f"账本核验失败 / ledger verification FAILED: first bad entry {first.index}: "
                   f"{first.reason_zh} / {first.reason_en}", err=True)
        for p in sorted(report.problems, key=lambda p: p.index)[1:10]:
            typer.echo(f"  {p}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("verify-bundle")
def verify_bundle(
    file: Path = typer.Argument(..., help="档案 zip 或证据包文件 (JSON 或 zip)"),
    key: str = typer.Option(None, "--key", help="信任的公钥（或存放它的文件）; 默认本机公布的公钥，没有时用包内公钥"),
) -> None:
    """离线核验档案或证据包（无需数据库），其中每个文件都要核验，无法核验的文件即失败 / verify a dossier or a bundle
    offline, every file in it; a file that cannot be checked fails it."""
    from daipin.ledger import bundle
    from daipin.services.dossiers import service as dossiers

    trusted = _trusted(key)
    if not file.is_file():
        raise _fail(FileNotFoundError(f"没有文件 / no such file: {file}"))
    if dossiers.is_dossier(file):
        d = dossiers.verify(file, trusted_key=trusted)
        ok, problems = d.ok, d.problems or ["证据包没有条目 / the bundle has no entries"]
        line = (f"{dossiers.verify_text(d)}\n证据包核验通过 / bundle verified: {d.entries_checked} entries at size "
                f"{d.size} root {d.root} key {d.key_id}; every file of the dossier checked")
    else:
        b = bundle.verify_file(file, trusted_key=trusted)
        ok, problems = b.ok, b.problems or ["空检查点 / empty checkpoint"]
        line = (f"证据包核验通过 / bundle verified: {b.entries_checked} entries in {b.origin} size {b.size} "
                f"root {b.root} key {b.key_id}")
    if ok:
        typer.echo(line + ("" if trusted else " (key taken from the bundle; compare it with the one you trust)"))
        return
    typer.echo("核验失败 / verification FAILED:", err=True)
    for p in problems:
        typer.echo(f"  {p}", err=True)
    raise typer.Exit(1)


@ledger_app.command("check-note")
def check_note(
    note_file: str = typer.Argument(..., help="从纸质公示抄录或扫描（二维码）得到的检查点注记文件；- 为标准输入"),
    key: str = typer.Option(None, "--key", help="信任的公钥（或存放它的文件）；默认本机公布的公钥"),
) -> None:
    """核验纸质公示上的检查点注记：签名是否有效，账本在该条目数时的根是否仍与之相同 / check a checkpoint note read
    off a printed notice: its signature, and that the ledger still has its root at its size; exit 1 if not."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.services.ledger import views as ledger_views

    try:
        typed = sys.stdin.read() if note_file == "-" else Path(note_file).read_text(encoding="utf-8")
        with session_scope() as session:
            out = ledger_views.check_note(session, typed, trusted_key=_trusted(key))
    except (DaipinError, OSError, UnicodeDecodeError) as exc:
        raise _fail(exc) from exc
    if not out["ok"]:
        typer.echo(f"签名有效，但账本在条目数 {out['size']} 时的根已不是 {out['root']}：记录已被改写 / the signature "
                   f"verifies but the ledger's root at size {out['size']} is no longer {out['root']}", err=True)
        raise typer.Exit(1)
    typer.echo(f"检查点核验通过 / checkpoint verified: {out['origin']} size {out['size']} root {out['root']}; "
               f"签名有效，账本现有 {out['ledger_size']} 条目，与之一致 / signature valid, consistent with the ledger")


@ledger_app.command("witness")
def witness(
    note_file: Path = typer.Argument(None, help="检查点注记文件（公告、档案或他处见到的签名检查点）"),
    source: str = typer.Option(None, "--source", help="在何处见到, 默认 file:<文件名>"),
    county: list[str] = typer.Option(None, "--county", help="省级见证：证明该县最新检查点与上次见证的一致后加签登记（可重复）"),
    all_counties: bool = typer.Option(False, "--all", help="省级见证本库中每个县的账本"),
) -> None:
    """登记一个在外部见到的检查点；或以省级身份见证各县检查点（--county C / --all）/ record a checkpoint seen outside,
    or, as the province, prove each county's latest checkpoint consistent with the last one witnessed and cosign it."""
    from datetime import UTC, datetime

    from daipin.db.session import session_scope
    from daipin.domain.actors import SYSTEM_ACTOR
    from daipin.domain.errors import DaipinError
    from daipin.ledger import store
    from daipin.services.ledger import service as ledger_service

    if note_file is None and not county and not all_counties:
        raise _fail(ValueError("请给出检查点文件，或 --county / --all / give a checkpoint file, or --county or --all"))
    try:
        if note_file is not None:
            text = note_file.read_text(encoding="utf-8")
            with session_scope() as session:
                w = store.record_witness(session, text, source or f"file:{note_file.name}", datetime.now(UTC),
                                         county=county[0] if county else None)
            typer.echo(f"已登记见证 / witness recorded: size {w.size} from {w.source}")
            return
        with session_scope() as session:
            targets = store.counties(session) if all_counties else list(county)
        failed = 0
        for c in targets:
            try:
                with session_scope() as session:
                    done = ledger_service.witness_county(session, SYSTEM_ACTOR, c, at=datetime.now(UTC))
            except DaipinError as exc:
                failed += 1
                typer.echo(f"拒绝见证 / refused: {exc}", err=True)
                continue
            typer.echo(f"已见证 / witnessed: county {c} size {done.size} root {done.root.hex()} "
                       f"(consistent with size {done.since})")
    except (DaipinError, OSError, UnicodeDecodeError) as exc:
        raise _fail(exc) from exc
    if failed:
        raise typer.Exit(1)


@ledger_app.command("rotate-key")
def rotate_key() -> None:
    """更换签名密钥：由旧密钥签署的换钥条目，之后的检查点由新密钥签署 / hand the log to a new key, signed by the old one."""
    from datetime import UTC, datetime

    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import keys, note, store

    try:
        with session_scope() as session:
            info = store.require_log(session)
            new = note.Signer.generate(info.verifier.name)
            idx = store.rotate_key(session, new, actor="operator:cli", at=datetime.now(UTC))
        keys.install_rotated(new)
    except DaipinError as exc:
        raise _fail(exc) from exc
    typer.echo(f"已换钥 / key rotated at entry {idx}; 新公钥 / new verifier key: {new.verifier()}")


@ledger_app.command("adopt")
def adopt(reason: str = typer.Option(..., "--reason", help="为何这些行此前没有账本记录（如：升级前已有的账户）")) -> None:
    """把尚无账本记录的行按现状记入账本（升级后执行一次）/ state the rows no entry states yet, as they are now."""
    from datetime import UTC, datetime

    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import verify as verifier

    if not reason.strip():
        raise _fail(ValueError("--reason 不能为空 / --reason must not be empty"))
    try:
        with session_scope() as session:
            added = verifier.adopt_unstated(session, actor="operator:cli", at=datetime.now(UTC), reason=reason.strip())
    except DaipinError as exc:
        raise _fail(exc) from exc
    typer.echo(f"已记入 / stated in {len(added)} entries")


@ledger_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", "-o", help="输出文件 (.json 或 .zip)"),
    index: list[int] = typer.Option(None, "--index", help="条目序号, 可重复; 默认全部"),
    size: int = typer.Option(None, "--size", help="检查点大小, 默认最新"),
) -> None:
    """导出离线证据包 / export entries with proofs, checkpoint and key as an offline bundle."""
    from daipin.db.session import session_scope
    from daipin.domain.errors import DaipinError
    from daipin.ledger import bundle

    try:
        with session_scope() as session:
            data = bundle.export_bundle(session, index or None, size=size)
    except DaipinError as exc:
        raise _fail(exc) from exc
    bundle.write_bundle(data, out)
    typer.echo(f"已导出 / exported {len(data['entries'])} entries at size {data['size']} to {out}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("init")(init)
    app.add_typer(ledger_app, name="ledger")
