"""One ledger per county: each county's entries, nodes, checkpoints, keys and writer lock are its own
(ledger/store.py "Counties"); on PostgreSQL two counties' writers never wait on each other, one county's do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerCheckpoint, LedgerEntry
from daipin.domain.errors import NotFound
from daipin.ledger import keys, merkle, note, store
from daipin.ledger.verify import verify_log

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
HOME, OTHER, NO_LOG = "231002", "231005", "231084"


def _item(region: str, n: int) -> dict[str, object]:
    return {"type": "test.event", "actor": "system:test", "region": region, "subject": f"thing:{region}:{n}",
            "facts": {"n": n}, "at": T0 + timedelta(seconds=n)}


def _two_counties(session: Session) -> None:
    store.ensure_log(session, county=HOME, at=T0)
    store.ensure_log(session, county=OTHER, at=T0)


def test_each_county_numbers_its_own_entries_from_zero_and_signs_its_own_checkpoints(session: Session) -> None:
    _two_counties(session)
    got = store.append_many(session, [_item(f"{HOME}001001", 0), _item(f"{OTHER}001001", 1),
                                      _item(f"{HOME}001002", 2), _item(f"{OTHER}002", 3), _item(OTHER, 4)])
    assert got == [0, 0, 1, 1, 2]  # each in its own county's log, in the order given
    # A region whose county has no log yet goes to the home log, as a one-county deployment always did.
    assert store.append(session, **_item(f"{NO_LOG}001001", 5)) == 2  # type: ignore[arg-type]
    session.flush()
    assert store.tree_size(session, HOME) == 3 and store.tree_size(session, OTHER) == 3
    assert json.loads(store.entry_body(session, 1, OTHER))["subject"] == f"thing:{OTHER}002:3"
    home, other = store.require_log(session, HOME), store.require_log(session, OTHER)
    assert (home.origin, other.origin) == (f"daipin.{HOME}/ledger", f"daipin.{OTHER}/ledger")
    assert home.verifier_key != other.verifier_key  # a key of its own, in counties/<code>/ under the keys directory
    assert keys.published_key(keys.county_dir(OTHER, first=False)) == other.verifier_key
    store.issue_checkpoint(session, county=HOME)
    store.issue_checkpoint(session, county=OTHER)
    cp = store.latest_checkpoint(session, OTHER)
    assert cp is not None and cp.size == 3
    opened = note.open_checkpoint(cp.note, other.verifier, origin=other.origin)
    with pytest.raises(note.NoteError):
        note.open_checkpoint(cp.note, home.verifier)
    # Proofs are per county and a third party checks them against that county's root.
    proof = store.inclusion_proof(session, 1, county=OTHER)
    merkle.verify_inclusion(other.hasher, 1, 3, bytes.fromhex(proof["leaf_hash"]),
                            [bytes.fromhex(h) for h in proof["path"]], opened.root)
    assert store.info(session, OTHER)["county"] == OTHER and store.info(session)["county"] == HOME
    report = verify_log(session)
    assert report.ok, report.problems
    assert set(report.counties) == {HOME, OTHER} and report.counties[OTHER][0] == 3
    assert verify_log(session, county=OTHER).ok


def test_entries_of_a_county_with_no_log_named_explicitly_are_refused(session: Session) -> None:
    _two_counties(session)
    with pytest.raises(NotFound) as exc:
        store.append(session, **_item(f"{NO_LOG}001001", 0), county=NO_LOG)  # type: ignore[arg-type]
    assert exc.value.field == "county"
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_a_changed_entry_of_one_county_is_named_with_its_county(session: Session) -> None:
    _two_counties(session)
    store.append_many(session, [_item(f"{HOME}001001", 0), _item(f"{OTHER}001001", 1), _item(f"{OTHER}001001", 2)])
    store.issue_checkpoint(session, county=HOME)
    store.issue_checkpoint(session, county=OTHER)
    row = session.get(LedgerEntry, (OTHER, 1))
    assert row is not None
    row.body = row.body.replace(b'"n":2', b'"n":7')
    session.flush()
    report = verify_log(session)
    assert not report.ok
    assert any(p.index == 1 and OTHER in p.reason_en for p in report.problems)
    row.body = row.body.replace(b'"n":7', b'"n":2')
    session.flush()
    assert verify_log(session).ok


def test_checkpoints_on_commit_are_issued_for_every_county_appended_to(fresh_db_url: str) -> None:
    engine = create_engine(fresh_db_url)
    with Session(engine) as s, s.begin():
        _two_counties(s)
    with Session(engine) as s, s.begin():
        store.append_many(s, [_item(f"{HOME}001001", 0), _item(f"{OTHER}001001", 1), _item(f"{OTHER}001001", 2)])
    with Session(engine) as s:
        sizes = dict(s.execute(select(LedgerCheckpoint.county_code, func.max(LedgerCheckpoint.size))
                               .group_by(LedgerCheckpoint.county_code)).all())
        assert sizes == {HOME: 1, OTHER: 2}
        assert verify_log(s).ok
    engine.dispose()


_WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session
    from daipin import bootstrap
    from daipin.ledger import store
    bootstrap.configure()
    url, region, wait = sys.argv[1], sys.argv[2], sys.argv[3]
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        s.execute(text(f"SET LOCAL lock_timeout = '{wait}'"))
        idx = store.append(s, type="test.event", actor="system:test", region=region, subject="thing:x",
                           facts={}, at=datetime(2024, 5, 1, tzinfo=UTC))
    print(idx)
""")


def _other_process(url: str, region: str, wait: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WRITER, url, region, wait], capture_output=True, text=True,
                          timeout=120, env={**os.environ}, cwd=Path(__file__).resolve().parents[2])


def test_two_counties_do_not_block_each_other_and_one_county_serializes(fresh_db_url: str) -> None:
    if not fresh_db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer for the whole file (BEGIN IMMEDIATE): counties share it there")
    engine = create_engine(fresh_db_url)
    with Session(engine) as s, s.begin():
        _two_counties(s)
    holder = Session(engine)
    holder.begin()
    store.append(holder, **_item(f"{HOME}001001", 0))  # type: ignore[arg-type]  # holds HOME's lock, open
    try:
        other = _other_process(fresh_db_url, f"{OTHER}001001", "20s")
        assert other.returncode == 0, other.stderr[-2000:]
        assert other.stdout.strip() == "0"  # committed while HOME's writer still held its transaction open
        same = _other_process(fresh_db_url, f"{HOME}001002", "1s")
        assert same.returncode != 0 and "lock timeout" in same.stderr  # HOME's second writer waits on the first
        holder.commit()
    finally:
        holder.close()
    same = _other_process(fresh_db_url, f"{HOME}001002", "20s")
    assert same.returncode == 0 and same.stdout.strip() == "1", same.stderr[-2000:]
    with Session(engine) as s:
        assert store.tree_size(s, HOME) == 2 and store.tree_size(s, OTHER) == 1
        assert verify_log(s).ok
    engine.dispose()


def test_the_keys_backup_carries_every_county_s_key_and_the_province_s(tmp_path: Path) -> None:
    from daipin.services.backups import service as backups

    src = tmp_path / "keys"
    keys.init_keys(str(src))
    keys.init_keys(str(keys.county_dir(OTHER, str(src), first=False)), f"daipin.{OTHER}/ledger", salt=False)
    keys.province_digest_key(str(src), create=True)
    keys.province_witness(str(src))
    sealed = tmp_path / "keys.enc"
    assert backups.export_keys(src, sealed, "a long passphrase") == 9
    dest = tmp_path / "restored"
    assert backups.import_keys(sealed, dest, "a long passphrase") == 9
    for f in ("counties/231005/ledger.key", "counties/231005/ledger.pub", "province/witness.key",
              "province/id-digest.key", "ledger.key", "pii.salt"):
        assert (dest / f).read_bytes() == (src / f).read_bytes(), f


def test_the_single_log_of_before_becomes_its_county_s_log_with_its_indices_and_signatures(fresh_db_url: str) -> None:
    from sqlalchemy import inspect, text

    from daipin.db import migrate

    engine = create_engine(fresh_db_url)
    with Session(engine) as s, s.begin():
        store.ensure_log(s, county=HOME, at=T0)
    with Session(engine) as s, s.begin():
        store.append_many(s, [_item(f"{HOME}001001", n) for n in range(5)])
    with Session(engine) as s:
        before = [(r.idx, bytes(r.body), bytes(r.leaf_hash)) for r in s.execute(
            select(LedgerEntry.idx, LedgerEntry.body, LedgerEntry.leaf_hash).order_by(LedgerEntry.idx))]
        notes = list(s.scalars(select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.size)))
    migrate.downgrade(engine, "0021_salt_pin")  # the one-log layout, as deployments have it today
    with engine.connect() as conn:
        assert "id" in {c["name"] for c in inspect(conn).get_columns("ledger_log")}
        assert "county_code" not in {c["name"] for c in inspect(conn).get_columns("ledger_node")}
        conn.execute(text("UPDATE ledger_entry SET county_code = '231084'"))  # regions of another county, too
        conn.commit()
    migrate.upgrade(engine)
    with Session(engine) as s:
        after = [(r.idx, bytes(r.body), bytes(r.leaf_hash)) for r in s.execute(
            select(LedgerEntry.idx, LedgerEntry.body, LedgerEntry.leaf_hash).where(LedgerEntry.county_code == HOME)
            .order_by(LedgerEntry.idx))]
        assert after == before
        assert list(s.scalars(select(LedgerCheckpoint.note).where(LedgerCheckpoint.county_code == HOME)
                              .order_by(LedgerCheckpoint.size))) == notes
        assert verify_log(s).ok
    with Session(engine) as s, s.begin():
        assert store.append(s, **_item(f"{HOME}001001", 9)) == 5  # type: ignore[arg-type]  # goes on from there
    engine.dispose()
