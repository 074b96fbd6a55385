"""The database-backed ledger: appends, checkpoints on commit, proofs a third party accepts, personal data kept out."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from daipin.domain.errors import InputError, NotFound
from daipin.ledger import keys, merkle, note, store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _append(session: Session, n: int, *, start: int = 0) -> list[int]:
    return store.append_many(
        session,
        [
            {"type": "test.event", "actor": "system:test", "region": "231002001001", "subject": f"thing:{start + i}",
             "facts": {"n": start + i, "note": "带贫益贫"}, "at": T0 + timedelta(seconds=start + i)}
            for i in range(n)
        ],
    )


def test_entries_are_numbered_densely_from_zero_and_bodies_are_canonical_json(session: Session) -> None:
    first = store.append(session, type="household.registered", actor="village_cadre:7", region="231002001001",
                         subject="household:1", facts={"members": 3}, at=T0)
    assert first == 0
    assert _append(session, 3) == [1, 2, 3]
    body = store.entry_body(session, 0)
    assert json.loads(body) == {
        "index": 0, "type": "household.registered", "at": "2024-05-01T08:00:00Z", "actor": "village_cadre:7",
        "region": "231002001001", "subject": "household:1", "facts": {"members": 3},
    }
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_log_uses_sm3_by_default(session: Session) -> None:
    _append(session, 1)
    info = store.info(session)
    assert info["hash"] == "sm3"
    leaf = merkle.Hasher("sm3").leaf(store.entry_body(session, 0))
    assert store.inclusion_proof(session, 0, 1)["leaf_hash"] == leaf.hex()


def test_a_commit_issues_a_signed_checkpoint_for_the_new_size(session: Session) -> None:
    _append(session, 5)
    session.commit()
    cp = store.latest_checkpoint(session)
    assert cp is not None and cp.size == 5
    log = store.require_log(session)
    opened = note.open_checkpoint(cp.note, note.Verifier.parse(log.verifier_key), origin=log.origin)
    assert opened.root == cp.root == store.root_at(session, 5)
    assert cp.at == datetime(2024, 5, 1, 8, 0, 4)


def test_a_commit_without_new_entries_issues_no_checkpoint(session: Session) -> None:
    _append(session, 2)
    session.commit()
    session.commit()
    assert store.latest_checkpoint(session).size == 2  # type: ignore[union-attr]


def test_inclusion_and_consistency_proofs_verify_with_the_rfc_algorithms(session: Session) -> None:
    _append(session, 13)
    session.commit()
    _append(session, 8, start=13)
    session.commit()
    hasher = merkle.Hasher("sm3")
    for i in range(21):
        p = store.inclusion_proof(session, i)
        assert p["size"] == 21
        merkle.verify_inclusion(hasher, i, 21, bytes.fromhex(p["leaf_hash"]), [bytes.fromhex(h) for h in p["path"]],
                                bytes.fromhex(p["root"]))
    c = store.consistency_proof(session, 13)
    assert (c["from"], c["to"]) == (13, 21)
    assert c["root_from"] == store.checkpoint_at(session, 13).root.hex()  # type: ignore[union-attr]
    merkle.verify_consistency(hasher, 13, 21, [bytes.fromhex(h) for h in c["path"]], bytes.fromhex(c["root_from"]),
                              bytes.fromhex(c["root_to"]))


def test_proofs_match_an_in_memory_tree_of_the_same_bodies(session: Session) -> None:
    _append(session, 37)
    tree = merkle.MemoryTree(merkle.Hasher("sm3"))
    for i in range(37):
        tree.append(store.entry_body(session, i))
    for i in (0, 1, 17, 31, 32, 36):
        assert store.inclusion_proof(session, i, 37)["path"] == [h.hex() for h in tree.inclusion_proof(i, 37)]
    assert store.consistency_proof(session, 9, 37)["path"] == [h.hex() for h in tree.consistency_proof(9, 37)]
    assert store.root_at(session, 37) == tree.root()


def test_a_rolled_back_savepoint_takes_its_entries_and_the_next_append_reuses_the_index(session: Session) -> None:
    _append(session, 3)
    sp = session.begin_nested()
    _append(session, 2, start=3)
    sp.rollback()
    assert _append(session, 1, start=10) == [3]
    session.commit()
    assert store.latest_checkpoint(session).size == 4  # type: ignore[union-attr]
    assert store.latest_checkpoint(session).root == store.root_at(session, 4)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"type": ""}, "type"),
        ({"region": "23100"}, "region"),
        ({"facts": {"amount": 1.5}}, "facts"),
        ({"facts": ["x"]}, "facts"),
        ({"at": "2024-05-01"}, "at"),
    ],
)
def test_a_bad_entry_is_refused_with_its_field_and_nothing_is_written(session: Session, item: dict, field: str) -> None:
    _append(session, 2)
    good = {"type": "t", "actor": "system:test", "region": "231002", "subject": "s", "facts": {}, "at": T0}
    with pytest.raises(InputError) as err:
        store.append_many(session, [good, {**good, **item}])
    assert err.value.field == field
    assert store.tree_size(session) == 2
    assert _append(session, 1) == [2]


def test_personal_data_enters_bodies_only_as_a_salted_digest(session: Session) -> None:
    id_number = "231002199001011234"
    d = store.pii_digest(session, id_number)
    assert d == store.pii_digest(session, id_number.lower() + " ")
    assert id_number not in d and len(d) == 64
    store.append(session, type="household.registered", actor="system:test", region="231002001001",
                 subject="household:9", facts={"id_digest": d}, at=T0)
    assert id_number.encode() not in store.entry_body(session, 0)


def test_the_salt_is_not_kept_in_the_database(session: Session, ledger_keys_dir: str) -> None:
    _append(session, 1)
    session.commit()
    salt = keys.load_salt(ledger_keys_dir)
    for table in ("ledger_log", "ledger_entry", "ledger_checkpoint"):
        from sqlalchemy import text

        for row in session.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                raw = value.encode() if isinstance(value, str) else bytes(value) if isinstance(value, bytes | memoryview) else b""
                assert salt not in raw and salt.hex().encode() not in raw


def test_the_checkpoint_note_is_in_go_signed_note_form(session: Session) -> None:
    _append(session, 3)
    session.commit()
    cp = store.latest_checkpoint(session)
    assert cp is not None
    text, sigs = cp.note.split("\n\n")
    log = store.require_log(session)
    assert text == f"{log.origin}\n3\n{base64.b64encode(cp.root).decode()}"
    name, blob = sigs.rstrip("\n").removeprefix("— ").split(" ")
    assert name == log.origin
    assert base64.b64decode(blob)[:4].hex() == log.verifier_key.split("+")[1]


def test_nodes_beyond_one_statement_are_fetched_each_once_with_the_hashes_an_in_memory_tree_gives(
    session: Session,
) -> None:
    _append(session, 1000)
    refs = [(0, i) for i in range(900)] + [(1, i) for i in range(450)] + [(3, i) for i in range(100)]
    got = store.fetch_nodes(session.connection(), refs)
    tree = merkle.MemoryTree(merkle.Hasher("sm3"))
    for i in range(1000):
        tree.append(store.entry_body(session, i))
    assert got == tree.nodes(refs)


def test_a_proof_for_a_tree_larger_than_the_log_names_the_missing_nodes(session: Session) -> None:
    _append(session, 10)
    with pytest.raises(NotFound):
        store.inclusion_proof(session, 3, 16)
