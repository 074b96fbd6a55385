"""Backups: a consistent copy while the database runs, the keys apart and encrypted, a restore kept only when the
restored ledger verifies; a killed backup never leaves a file under the name asked for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from daipin.db import mysql as mysql_dialect
from daipin.db.models.registry import Household
from daipin.db.session import make_engine
from daipin.domain.errors import Conflict, InputError
from daipin.services.backups import service as backups
from tests.conftest import PG_ADMIN_URL, _pg_url, drop_database
from tests.integration.api_support import build_world


def _empty_database(source: str, tmp: Path) -> str:
    """A new, empty database on the source's server."""
    if source.startswith("sqlite"):
        return f"sqlite:///{tmp}/restored-{uuid.uuid4().hex[:6]}.db"
    name = f"daipin_r_{uuid.uuid4().hex[:12]}"
    if source.startswith("mysql"):  # MariaDB or seekdb: the same server (and socket) as the source
        admin = create_engine(source, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(mysql_dialect.create_database_sql(name)))
        admin.dispose()
        return make_url(source).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return _pg_url(name)


@pytest.fixture
def source(fresh_db_url: str, tmp_path: Path) -> Iterator[str]:
    engine = make_engine(fresh_db_url)
    with Session(engine) as s:
        build_world(s, str(tmp_path / "keys"))
        s.commit()
    engine.dispose()
    yield fresh_db_url


@pytest.fixture
def target(fresh_db_url: str, tmp_path: Path) -> Iterator[str]:
    url = _empty_database(fresh_db_url, tmp_path)
    yield url
    drop_database(url)


def _households(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(Household)).scalar_one())
    finally:
        engine.dispose()


def test_a_backup_restores_into_an_empty_database_and_verifies(source: str, target: str, tmp_path: Path) -> None:
    engine = make_engine(source)
    m = backups.backup(engine, tmp_path / "b.tar")
    engine.dispose()
    assert m.ledger_size > 0 and len(m.sha256) == 64 and oct((tmp_path / "b.tar").stat().st_mode)[-3:] == "600"
    with pytest.raises(Conflict):  # never over an existing file
        backups.backup(make_engine(source), tmp_path / "b.tar")
    restored = backups.restore(target, tmp_path / "b.tar", backups.verify_engine)
    assert restored.sha256 == m.sha256
    assert _households(target) == _households(source) > 0
    assert backups.verify_engine(make_engine(target)) == []
    with pytest.raises(Conflict) as err:  # and never over data
        backups.restore(target, tmp_path / "b.tar", backups.verify_engine)
    assert err.value.code == "not_empty"


def test_a_damaged_backup_is_refused(source: str, target: str, tmp_path: Path) -> None:
    backups.backup(make_engine(source), tmp_path / "b.tar")
    data = (tmp_path / "b.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    import tarfile

    with tarfile.open(tmp_path / "b.tar") as tar:
        member = next(m for m in tar.getmembers() if m.name != "manifest.json")
    flipped = bytearray(data)
    flipped[member.offset_data + member.size // 2] ^= 0xFF  # one bit inside the data
    (tmp_path / "flipped.tar").write_bytes(bytes(flipped))
    for name in ("cut.tar", "flipped.tar"):
        with pytest.raises(InputError):
            backups.restore(target, tmp_path / name, backups.verify_engine)


def test_a_backup_whose_ledger_does_not_verify_is_not_kept(source: str, target: str, tmp_path: Path) -> None:
    engine = make_engine(source)
    with engine.begin() as c:  # a row changed behind the ledger before the backup
        c.execute(text("UPDATE households SET poverty_cause = '改动未记账' WHERE id = (SELECT min(id) FROM households)"))
    backups.backup(engine, tmp_path / "b.tar")
    engine.dispose()
    with pytest.raises(Conflict) as err:
        backups.restore(target, tmp_path / "b.tar", backups.verify_engine)
    assert err.value.code == "restore_unverified"
    if target.startswith("sqlite"):
        assert not Path(target.split("///", 1)[1]).exists() or os.path.getsize(target.split("///", 1)[1]) == 0
    else:
        probe = create_engine(target)
        schema = "database()" if target.startswith("mysql") else "'public'"
        with probe.connect() as c:
            assert c.execute(text(f"SELECT count(*) FROM information_schema.tables WHERE table_schema = {schema}"))\
                .scalar() == 0
        probe.dispose()


def test_a_killed_backup_leaves_no_file_and_another_restores(source: str, target: str, tmp_path: Path) -> None:
    env = {**os.environ, "DAIPIN_DATABASE_URL": source}
    good = tmp_path / "good.tar"
    done = subprocess.run([sys.executable, "-m", "daipin", "backup", str(good)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for delay in (0.3, 0.8, 1.5, 2.5):  # killed at different points of its run
        out = tmp_path / f"killed-{delay}.tar"
        proc = subprocess.Popen([sys.executable, "-m", "daipin", "backup", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():  # it finished before the kill: then it is whole
            backups.read_manifest(out)
    backups.restore(target, good, backups.verify_engine)
    assert _households(target) == _households(source)


def test_the_keys_are_kept_apart_encrypted_with_a_passphrase(tmp_path: Path, ledger_keys_dir: str) -> None:
    sealed = tmp_path / "keys.enc"
    with pytest.raises(InputError):
        backups.export_keys(ledger_keys_dir, sealed, "short")
    n = backups.export_keys(ledger_keys_dir, sealed, "correct horse battery staple")
    assert n >= 2 and oct(sealed.stat().st_mode)[-3:] == "600"
    blob = sealed.read_bytes()
    # The folder's own files (a test before may have added the province's keys in a folder of theirs).
    files = [f for f in Path(ledger_keys_dir).iterdir() if f.is_file()]
    for f in files:
        assert f.read_bytes().strip() not in blob  # nothing in clear
    with pytest.raises(InputError):
        backups.import_keys(sealed, tmp_path / "k1", "wrong passphrase here")
    assert backups.import_keys(sealed, tmp_path / "k1", "correct horse battery staple") == n
    for f in files:
        assert (tmp_path / "k1" / f.name).read_bytes() == f.read_bytes()
        assert oct((tmp_path / "k1" / f.name).stat().st_mode)[-3:] == "600"
    other = tmp_path / "k2"
    other.mkdir()
    (other / "ledger.key").write_text("another key\n")
    with pytest.raises(Conflict):
        backups.import_keys(sealed, other, "correct horse battery staple")


