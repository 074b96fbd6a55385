"""Backups and restores of a whole deployment: the database copied consistently while it serves, the ledger's keys
kept apart and encrypted with a passphrase, and a restore that is only kept if the restored ledger verifies.

A backup is one tar file written under a temporary name and renamed when complete (a killed backup leaves no file
under the name asked for): `manifest.json` (what, when, from which schema revision, the ledger's size and root,
the data's SHA-256) and the data — SQLite's online backup of the file (gzip), PostgreSQL's `pg_dump` custom
format, or on the MySQL-compatible engines (MariaDB, MySQL, OceanBase seekdb) the SQL `mariadb-dump` (or
`mysqldump`) writes from one consistent snapshot (`--single-transaction`: one REPEATABLE READ transaction begun
WITH CONSISTENT SNAPSHOT, no table locked), gzip. That dump is restored by the `mariadb` (or `mysql`) client.
These are whole-database operations, not steps of a request: they run outside the services' one transaction per
step, from the command line only.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from daipin.domain.errors import Conflict, InputError

FORMAT = "daipin-backup/1"
KEYS_MAGIC = b"DAIPINKEYS1\n"
_SQLITE_MEMBER = "database.sqlite.gz"
_PG_MEMBER = "database.pgdump"
_MYSQL_MEMBER = "database.mysql.sql.gz"


@dataclass(frozen=True)
class Manifest:
    format: str
    backend: str
    created_at: str
    revision: str | None
    ledger_size: int
    ledger_root: str | None
    member: str
    sha256: str
    size_bytes: int

    def as_json(self) -> bytes:
        return json.dumps(self.__dict__, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq reads it (`pg_dump`, `pg_restore`)."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _family(backend: str) -> str:
    """MariaDB, MySQL and seekdb come through SQLAlchemy's mysql dialect (named `mariadb` for a mariadb:// URL)."""
    from daipin.db.mysql import is_mysql

    return "mysql" if is_mysql(backend) else backend


def _mysql_tool(*names: str) -> str:
    for name in names:
        if found := shutil.which(name):
            return found
    raise Conflict(f"找不到 {' 或 '.join(names)}；请安装 MariaDB 或 MySQL 客户端",
                   f"{' or '.join(names)} not found; install the MariaDB or MySQL client programs",
                   "DAIPIN_DATABASE_URL", code="backup_failed")


def _mysql_client(url: str) -> tuple[list[str], dict[str, str]]:
    """The connection options of a SQLAlchemy mysql URL as the MariaDB/MySQL client programs read them, and their
    environment: the password goes in MYSQL_PWD, never on the command line (where `ps` shows it)."""
    u = make_url(url)
    args = [f"--user={u.username or 'root'}", "--default-character-set=utf8mb4"]
    socket = u.query.get("unix_socket")
    if socket:
        args.append(f"--socket={socket if isinstance(socket, str) else socket[0]}")
    else:
        args += ["--protocol=TCP", f"--host={u.host or '127.0.0.1'}", f"--port={u.port or 3306}"]
    env = dict(os.environ)
    env.pop("MYSQL_PWD", None)
    if u.password:
        env["MYSQL_PWD"] = str(u.password)
    return args, env


def _mysql_dump(url: str, data: Path) -> None:
    """The database's tables, keys and rows from one consistent snapshot, as SQL (gzip). A foreign key's dump
    names the database it was made in on OceanBase (`REFERENCES `db`.`t``); the name is dropped, so the backup
    restores into a database of any name. Only lines of a CREATE TABLE are changed: the rows' lines begin with
    `INSERT` or `(`, and a value never begins a line (the dump escapes the newlines inside strings)."""
    database = make_url(url).database or ""
    args, env = _mysql_client(url)
    qualified = f" REFERENCES `{database}`.".encode()
    with tempfile.TemporaryFile() as err, gzip.open(data, "wb", compresslevel=6) as g:
        proc = subprocess.Popen([_mysql_tool("mariadb-dump", "mysqldump"), *args, "--single-transaction",
                                 "--skip-lock-tables", "--skip-add-locks", "--no-tablespaces", "--hex-blob",
                                 "--skip-triggers", database], stdout=subprocess.PIPE, stderr=err, env=env)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"  CONSTRAINT `") and qualified in line:
                line = line.replace(qualified, b" REFERENCES ")
            g.write(line)
        if proc.wait() != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()[:300]
            raise Conflict(f"数据库导出失败：{message}", f"the dump failed: {message}", "DAIPIN_DATABASE_URL",
                           code="backup_failed")


def _mysql_load(url: str, data: Path) -> str | None:
    """Run the dump's SQL in the database at `url`; the client's error, or None."""
    args, env = _mysql_client(url)
    with tempfile.TemporaryFile() as err, gzip.open(data, "rb") as g:
        proc = subprocess.Popen([_mysql_tool("mariadb", "mysql"), *args, "--batch", make_url(url).database or ""],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=env)
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the client stopped at an error: its message says which
            try:
                shutil.copyfileobj(g, proc.stdin, 1 << 20)
            finally:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
        if proc.wait() == 0:
            return None
        err.seek(0)
        return err.read().decode("utf-8", "replace").strip()[:300] or f"exit status {proc.returncode}"


def _mysql_empty_again(engine: Engine) -> None:
    """Drop every table the failed restore made (the keys between them first unchecked)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        for table in inspect(conn).get_table_names():
            conn.exec_driver_sql(f"DROP TABLE `{table}`")
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise InputError("SQLite 数据库须是文件", "the SQLite database must be a file", "DAIPIN_DATABASE_URL")
    return path


def _ledger_head(engine: Engine) -> tuple[int, str | None]:
    with engine.connect() as conn:
        conn.execution_options(read_only=True)
        if "ledger_checkpoint" not in inspect(conn).get_table_names():
            return 0, None
        row = conn.execute(text("SELECT size, root FROM ledger_checkpoint ORDER BY size DESC LIMIT 1")).first()
    if row is None:
        return 0, None
    return int(row[0]), bytes(row[1]).hex()


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        conn.execution_options(read_only=True)
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def backup(engine: Engine, out: str | os.PathLike[str], *, at: datetime | None = None) -> Manifest:
    """Write a consistent copy of the database to `out` (refused if it exists)."""
    out = Path(out)
    if out.exists():
        raise Conflict(f"备份文件 {out} 已存在", f"the backup file {out} exists already", "out", code="exists")
    url = engine.url.render_as_string(hide_password=False)
    backend = _family(engine.dialect.name)
    size, root = _ledger_head(engine)
    revision = _revision(engine)
    with tempfile.TemporaryDirectory(prefix="daipin-backup-") as tmp:
        data = Path(tmp) / "data"
        if backend == "sqlite":
            member = _SQLITE_MEMBER
            copy = Path(tmp) / "copy.db"
            src = sqlite3.connect(_sqlite_path(url))
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)  # SQLite's online backup: a consistent copy while others read and write
            finally:
                dst.close()
                src.close()
            with open(copy, "rb") as f, gzip.open(data, "wb", compresslevel=6) as g:
                shutil.copyfileobj(f, g, 1 << 20)
        elif backend == "postgresql":
            member = _PG_MEMBER
            # One snapshot for the whole dump (pg_dump runs in a single repeatable-read transaction).
            done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file",
                                   str(data), "--dbname", _libpq(url)], capture_output=True, text=True)
            if done.returncode != 0:
                raise Conflict(f"pg_dump 失败：{done.stderr.strip()[:300]}", f"pg_dump failed: {done.stderr.strip()[:300]}",
                               "DAIPIN_DATABASE_URL", code="backup_failed")
        elif backend == "mysql":
            member = _MYSQL_MEMBER
            _mysql_dump(url, data)
        else:
            raise InputError(f"不支持备份 {backend} 数据库", f"backing up a {backend} database is not supported",
                             "DAIPIN_DATABASE_URL")
        digest = hashlib.sha256()
        with open(data, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        manifest = Manifest(FORMAT, backend, (at or datetime.now(UTC)).isoformat(), revision, size, root, member,
                            digest.hexdigest(), data.stat().st_size)
        partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # personal data: the owner's only
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                info = tarfile.TarInfo("manifest.json")
                body = manifest.as_json()
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
                tar.add(data, arcname=member)
            os.replace(partial, out)  # complete, or not there at all
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return manifest


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The backup's manifest, after checking that the file is whole (its data's digest as written)."""
    try:
        with tarfile.open(path, "r") as tar:
            meta = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
            manifest = Manifest(**meta)
            if manifest.format != FORMAT:
                raise ValueError(f"format {manifest.format}")
            member = tar.extractfile(manifest.member)
            if member is None:
                raise ValueError("no data")
            digest = hashlib.sha256()
            for block in iter(lambda: member.read(1 << 20), b""):
                digest.update(block)
    except (OSError, tarfile.TarError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"备份文件不完整或不是 daipin 备份：{exc}", f"not a whole daipin backup: {exc}", "backup") from None
    if digest.hexdigest() != manifest.sha256:
        raise InputError("备份文件已损坏：数据摘要不符", "the backup is damaged: its data's digest differs", "backup")
    return manifest


def _is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        conn.execution_options(read_only=True)
        return not inspect(conn).get_table_names()


def restore(url: str, backup_file: str | os.PathLike[str], verify: Any) -> Manifest:
    """Restore `backup_file` into the empty database at `url`, then call `verify(engine)`, which returns the
    problems of the restored ledger (empty when it verifies). Restored data that does not verify is removed again
    and the restore refused: the database is left as empty as it was."""
    manifest = read_manifest(backup_file)
    backend = _family(make_url(url).get_backend_name())
    if backend != manifest.backend:
        raise InputError(f"备份来自 {manifest.backend} 数据库，不能恢复到 {backend}",
                         f"the backup is of a {manifest.backend} database; it cannot be restored into {backend}",
                         "DAIPIN_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="daipin-restore-") as tmp:
        with tarfile.open(backup_file, "r") as tar:
            src = tar.extractfile(manifest.member)
            assert src is not None
            data = Path(tmp) / "data"
            with open(data, "wb") as f:
                shutil.copyfileobj(src, f, 1 << 20)
        if backend == "sqlite":
            target = Path(_sqlite_path(url))
            if target.exists() and target.stat().st_size > 0:
                probe = create_engine(url)
                try:
                    if not _is_empty(probe):
                        raise Conflict(f"数据库 {target} 不是空的；请恢复到新的数据库",
                                       f"the database {target} is not empty; restore into a new one",
                                       "DAIPIN_DATABASE_URL", code="not_empty")
                finally:
                    probe.dispose()
            staged = target.with_name(f".{target.name}.restoring-{os.getpid()}")
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f, gzip.open(data, "rb") as g:
                shutil.copyfileobj(g, f, 1 << 20)
            engine = create_engine(f"sqlite:///{staged}")
            try:
                problems = verify(engine)
            finally:
                engine.dispose()
            if problems:
                staged.unlink(missing_ok=True)
                raise Conflict(f"恢复的账本未通过验证，已放弃恢复：{problems[0]}",
                               f"the restored ledger does not verify; the restore is abandoned: {problems[0]}",
                               "backup", code="restore_unverified")
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            os.replace(staged, target)
            return manifest
        engine = create_engine(url)
        try:
            if not _is_empty(engine):
                raise Conflict("数据库不是空的；请恢复到新建的数据库", "the database is not empty; restore into a new one",
                               "DAIPIN_DATABASE_URL", code="not_empty")
            if backend == "mysql":
                failed = _mysql_load(url, data)
                problems = [f"mariadb: {failed}"] if failed else verify(engine)
            else:
                done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname",
                                       _libpq(url), str(data)], capture_output=True, text=True)
                problems = [f"pg_restore: {done.stderr.strip()[:300]}"] if done.returncode != 0 else verify(engine)
            if problems:  # leave it as empty as it was
                if backend == "mysql":
                    _mysql_empty_again(engine)
                else:
                    with engine.begin() as conn:
                        conn.execute(text("DROP SCHEMA public CASCADE"))
                        conn.execute(text("CREATE SCHEMA public"))
                raise Conflict(f"恢复的账本未通过验证，已放弃恢复：{problems[0]}",
                               f"the restored ledger does not verify; the restore is abandoned: {problems[0]}",
                               "backup", code="restore_unverified")
        finally:
            engine.dispose()
    return manifest


def verify_engine(engine: Engine) -> list[str]:
    """`daipin ledger verify` on a database: its problems, none when the ledger and every recorded row check out."""
    from daipin.ledger.verify import verify_log

    with Session(engine) as session:
        report = verify_log(session)
    if report.size == 0:
        return ["账本为空 / the ledger is empty"]
    return [f"#{p.index} {p.reason_zh} / {p.reason_en}" for p in report.problems]


# ---------------------------------------------------------------- the keys, apart and encrypted

def _key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


def export_keys(keys_dir: str | os.PathLike[str], out: str | os.PathLike[str], passphrase: str) -> int:
    """The keys folder (signing key, salt, published key and anchor) as one file encrypted with a key derived from
    the passphrase (scrypt, AES-256-GCM). Returns the number of files."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(passphrase) < 12:
        raise InputError("口令至少 12 个字符", "the passphrase needs at least 12 characters", "passphrase")
    src = Path(keys_dir)
    files = sorted(p for p in src.iterdir() if p.is_file()) if src.is_dir() else []
    if not files:
        raise InputError(f"{src} 中没有密钥文件", f"no key files in {src}", "DAIPIN_KEYS_DIR")
    # Each later county's own key (counties/<code>/) and the province server's keys (province/) go along.
    nested = sorted(p for p in [*src.glob("counties/*/*"), *src.glob("province/*")]
                    if p.is_file() and _KEY_MEMBER.fullmatch(p.relative_to(src).as_posix()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in files + nested:
            tar.add(p, arcname=p.relative_to(src).as_posix())
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(passphrase, salt)).encrypt(nonce, buf.getvalue(), KEYS_MAGIC)
    out = Path(out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(KEYS_MAGIC + salt + nonce + sealed)
    return len(files) + len(nested)


_KEY_MEMBER = re.compile(r"(?:counties/\d{6}/|province/)?[A-Za-z0-9_-][A-Za-z0-9._-]*")


def import_keys(sealed_file: str | os.PathLike[str], keys_dir: str | os.PathLike[str], passphrase: str) -> int:
    """Decrypt a keys file into `keys_dir` (made 0700, files 0600). A folder already holding other keys is refused."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = Path(sealed_file).read_bytes()
    if not blob.startswith(KEYS_MAGIC):
        raise InputError("不是 daipin 密钥备份", "not a daipin keys backup", "keys")
    head = len(KEYS_MAGIC)
    salt, nonce, sealed = blob[head:head + 16], blob[head + 16:head + 28], blob[head + 28:]
    try:
        plain = AESGCM(_key(passphrase, salt)).decrypt(nonce, sealed, KEYS_MAGIC)
    except InvalidTag:
        raise InputError("口令不对，或密钥备份已损坏", "wrong passphrase, or the keys backup is damaged",
                         "passphrase") from None
    dest = Path(keys_dir)
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(dest, 0o700)
    count = 0
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and _KEY_MEMBER.fullmatch(m.name)
                   and ".." not in m.name]
        for m in members:
            data = tar.extractfile(m).read()  # type: ignore[union-attr]
            target = dest / m.name
            if target.parent != dest:
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if target.exists():
                if target.read_bytes() != data:
                    raise Conflict(f"{target} 已存在且不同；请恢复到空的密钥目录",
                                   f"{target} exists and differs; restore into an empty keys folder",
                                   "DAIPIN_KEYS_DIR", code="keys_differ")
                continue
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            count += 1
    return count
