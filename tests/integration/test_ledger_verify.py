"""`verify` catches every kind of tampering and names the first bad entry; bundles are checked with no database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from daipin.ledger import bundle, merkle, store
from daipin.ledger.verify import verify_log

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


class _ExampleBase(DeclarativeBase):
    """A separate metadata: the example table must not leak into the migrations' schema check."""


class ExampleHousehold(_ExampleBase):
    __tablename__ = "example_household"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    village: Mapped[str] = mapped_column(String(12))


store.register_model(ExampleHousehold)


pytestmark = pytest.mark.edits_rows_behind_the_ledger  # each test tampers with the log or its rows

def _fill(session: Session, n: int, batches: tuple[int, ...] = ()) -> None:
    """n entries, committed at each size in `batches` and at the end (each commit signs a checkpoint)."""
    start = store.tree_size(session)
    for i in range(start, start + n):
        store.append(session, type="test.event", actor="system:test", region="231002001001", subject=f"thing:{i}",
                     facts={"n": i}, at=T0 + timedelta(minutes=i))
        if i + 1 in batches:
            session.commit()
    session.commit()


def _exec(session: Session, sql: str, **params: Any) -> None:
    session.execute(text(sql), params)


def _first_bad(session: Session) -> int:
    report = verify_log(session)
    assert not report.ok
    first = report.first_bad
    assert first is not None
    return first.index


def test_an_untouched_log_verifies(session: Session) -> None:
    _fill(session, 40, batches=(10, 20, 33))
    report = verify_log(session, chunk=16)
    assert report.ok, report.problems
    assert report.size == 40
    assert report.checkpoints == 5  # the empty tree, 10, 20, 33, 40
    assert report.root == store.root_at(session, 40)


def test_a_single_changed_body_byte_names_that_entry(session: Session) -> None:
    _fill(session, 30, batches=(16,))
    body = store.entry_body(session, 21)
    changed = body.replace(b'"n":21', b'"n":27')
    assert len(changed) == len(body) and changed != body
    _exec(session, "UPDATE ledger_entry SET body = :b WHERE idx = 21", b=changed)
    assert _first_bad(session) == 21


def test_a_changed_body_with_a_forged_leaf_hash_is_caught_by_the_stored_nodes(session: Session) -> None:
    _fill(session, 30, batches=(8, 24))
    forged = store.entry_body(session, 12).replace(b'"n":12', b'"n":99')
    _exec(session, "UPDATE ledger_entry SET body = :b, leaf_hash = :h WHERE idx = 12", b=forged,
          h=merkle.Hasher("sm3").leaf(forged))
    assert _first_bad(session) == 12


def test_a_rewrite_of_body_leaf_and_every_node_is_caught_by_the_signed_checkpoints(session: Session) -> None:
    _fill(session, 20, batches=(10,))
    hasher = merkle.Hasher("sm3")
    bodies = [store.entry_body(session, i) for i in range(20)]
    bodies[15] = bodies[15].replace(b'"n":15', b'"n":51')
    tree = merkle.MemoryTree(hasher)
    for b in bodies:
        tree.append(b)
    _exec(session, "UPDATE ledger_entry SET body = :b, leaf_hash = :h WHERE idx = 15", b=bodies[15],
          h=tree.levels[0][15])
    for level in range(1, len(tree.levels)):
        for i, h in enumerate(tree.levels[level]):
            _exec(session, "UPDATE ledger_node SET hash = :h WHERE level = :l AND idx = :i", h=h, l=level, i=i)
    report = verify_log(session)
    assert not report.ok
    assert report.first_bad is not None and report.first_bad.index == 10  # the last checkpoint that still holds
    assert report.first_bad.kind == "checkpoint"


def test_a_dropped_entry_names_the_gap(session: Session) -> None:
    _fill(session, 25)
    _exec(session, "DELETE FROM ledger_entry WHERE idx = 9")
    assert _first_bad(session) == 9


def test_a_dropped_and_renumbered_entry_names_its_place(session: Session) -> None:
    _fill(session, 25)
    _exec(session, "DELETE FROM ledger_entry WHERE idx = 9")
    for i in range(10, 25):
        _exec(session, "UPDATE ledger_entry SET idx = :n WHERE idx = :o", n=i - 1, o=i)
    assert _first_bad(session) == 9


def test_a_dropped_last_entry_is_caught_by_the_checkpoint_that_covered_it(session: Session) -> None:
    _fill(session, 25)
    _exec(session, "DELETE FROM ledger_entry WHERE idx = 24")
    assert _first_bad(session) == 24


def test_reordered_entries_name_the_first_moved_one(session: Session) -> None:
    _fill(session, 25)
    _exec(session, "UPDATE ledger_entry SET idx = -1 WHERE idx = 5")
    _exec(session, "UPDATE ledger_entry SET idx = 5 WHERE idx = 17")
    _exec(session, "UPDATE ledger_entry SET idx = 17 WHERE idx = -1")
    assert _first_bad(session) == 5


def _insert_at(session: Session, pos: int, *, forge_leaf: bool) -> None:
    size = store.tree_size(session)
    for i in range(size - 1, pos - 1, -1):
        _exec(session, "UPDATE ledger_entry SET idx = :n WHERE idx = :o", n=i + 1, o=i)
    body = json.dumps({"index": pos, "type": "test.event", "at": "2024-06-01T09:00:00Z", "actor": "system:test",
                       "region": "231002001001", "subject": "thing:forged", "facts": {"n": -1}},
                      sort_keys=True, separators=(",", ":")).encode()
    leaf = merkle.Hasher("sm3").leaf(body) if forge_leaf else b"\0" * 32
    _exec(session, "INSERT INTO ledger_entry (idx, body, leaf_hash, type, subject, region, county_code, at) "
          "VALUES (:i, :b, :h, 'test.event', 'thing:forged', '231002001001', '231002', :at)",
          i=pos, b=body, h=leaf, at=datetime(2024, 6, 1, 9, 0))


def test_an_inserted_entry_is_named(session: Session) -> None:
    _fill(session, 25)
    _insert_at(session, 11, forge_leaf=False)
    assert _first_bad(session) == 11


def test_an_inserted_entry_with_a_well_formed_leaf_hash_is_named(session: Session) -> None:
    _fill(session, 25)
    _insert_at(session, 14, forge_leaf=True)
    assert _first_bad(session) == 14


@pytest.fixture
def example_table(db_engine: Engine) -> Iterator[None]:
    """The example table for one test. DDL commits the transaction it runs in on the MySQL-compatible engines, so
    there the table is made on a connection of its own before the test's session begins, and dropped once the
    session has rolled back: left in the worker's database, the migrations' schema check would find a table no
    model describes. Elsewhere the test makes it inside its own transaction, which rolls it back."""
    mysql = db_engine.dialect.name in ("mysql", "mariadb")
    if mysql:
        _ExampleBase.metadata.create_all(db_engine)
    yield
    if mysql:
        _ExampleBase.metadata.drop_all(db_engine)


def test_an_edited_business_row_names_the_latest_entry_about_it(example_table: None, session: Session) -> None:
    conn = session.connection()
    if conn.dialect.name not in ("mysql", "mariadb"):
        _ExampleBase.metadata.create_all(conn)
    hh = ExampleHousehold(id=1, status="poor", village="231002001001")
    other = ExampleHousehold(id=2, status="poor", village="231002001002")
    session.add_all([hh, other])
    session.flush()
    _fill(session, 3)
    store.append(session, type="household.registered", actor="system:test", region=hh.village, subject="household:1",
                 facts={"row": store.model_fact(hh)}, at=T0)
    store.append(session, type="household.registered", actor="system:test", region=other.village,
                 subject="household:2", facts={"row": store.model_fact(other)}, at=T0)
    hh.status = "monitored"
    session.flush()
    idx = store.append(session, type="household.status_changed", actor="system:test", region=hh.village,
                       subject="household:1", facts={"row": store.model_fact(hh), "status": "monitored"}, at=T0)
    _fill(session, 3)
    report = verify_log(session)
    assert report.ok, report.problems
    assert report.rows_checked == 2
    session.execute(update(ExampleHousehold).where(ExampleHousehold.id == 1).values(status="exited"))
    session.expire_all()
    assert _first_bad(session) == idx


def test_a_changed_lookup_column_is_caught(session: Session) -> None:
    _fill(session, 8)
    _exec(session, "UPDATE ledger_entry SET subject = 'thing:other' WHERE idx = 6")
    assert _first_bad(session) == 6


def test_an_exported_bundle_verifies_offline_and_a_changed_body_does_not(session: Session, tmp_path: Path) -> None:
    _fill(session, 50, batches=(20,))
    data = bundle.export_bundle(session, [0, 7, 49])
    path = tmp_path / "bundle.json"
    bundle.write_bundle(data, path)
    loaded = bundle.load_bundle(path)
    report = bundle.verify_bundle(loaded, trusted_key=store.require_log(session).verifier_key)
    assert report.ok, report.problems
    assert (report.size, report.entries_checked) == (50, 3)
    loaded["entries"][1]["body"] = loaded["entries"][1]["body"].replace('"n":7', '"n":8')
    bad = bundle.verify_bundle(loaded)
    assert not bad.ok and "entry 7" in bad.problems[0]


def test_a_bundle_against_an_earlier_checkpoint_and_inside_a_zip_verifies(session: Session, tmp_path: Path) -> None:
    _fill(session, 30, batches=(20,))
    data = bundle.export_bundle(session, None, size=20)
    assert len(data["entries"]) == 20
    bundle.write_bundle(data, tmp_path / "b.zip")
    assert bundle.verify_bundle(bundle.load_bundle(tmp_path / "b.zip")).ok


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(size=d["size"] + 1),
        lambda d: d.update(checkpoint=d["checkpoint"].replace("\n30\n", "\n31\n")),
        lambda d: d["entries"][0]["path"].pop(),
        lambda d: d["entries"][0].update(index=1),
        lambda d: d.update(hash="sha256"),
    ],
    ids=["declared-size", "signed-size", "short-path", "index", "hash"],
)
def test_a_tampered_bundle_is_rejected(session: Session, mutate: Any) -> None:
    _fill(session, 30)
    data = bundle.export_bundle(session, [0, 5])
    mutate(data)
    assert not bundle.verify_bundle(data).ok


def test_a_bundle_signed_by_another_key_is_rejected_when_a_key_is_pinned(session: Session) -> None:
    from daipin.ledger import note

    _fill(session, 5)
    data = bundle.export_bundle(session, [1])
    other = note.Signer.generate(data["origin"])
    cp = note.Checkpoint.parse(note.parse(data["checkpoint"]).text)
    data["checkpoint"] = note.sign_checkpoint(cp, other)
    data["verifier_key"] = str(other.verifier())
    assert bundle.verify_bundle(data).ok  # self-consistent ...
    assert not bundle.verify_bundle(data, trusted_key=store.require_log(session).verifier_key).ok  # ... but not ours
