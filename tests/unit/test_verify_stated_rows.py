"""Verify keeps every stated row's latest (entry index, digest) compactly, and gives back exactly what was stated,
whatever an entry holds as its digest (a tampered entry may hold anything)."""

from __future__ import annotations

import hashlib
import sys

from daipin.ledger.verify import Stated, _index_of, _state, _stated


def test_a_stated_row_gives_back_its_index_and_digest_as_written() -> None:
    good = hashlib.sha256(b"row").hexdigest()
    latest: Stated = {}
    digests = [good, good.upper(), good[:63], good + "0", "not-a-digest", "", "é" * 64, "zz" * 32]
    for n, digest in enumerate(digests):
        _state(latest, {"table": "households", "id": n, "digest": digest}, 2**40 + n)
    assert [_stated(latest[("households", str(n))]) for n in range(len(digests))] == [
        (2**40 + n, d) for n, d in enumerate(digests)]
    assert [_index_of(latest[("households", str(n))]) for n in range(len(digests))] == [
        2**40 + n for n in range(len(digests))]
    # a lowercase hex digest is packed into 40 bytes; anything else is kept as it was written
    assert isinstance(latest[("households", "0")], bytes) and len(latest[("households", "0")]) == 40
    assert all(isinstance(latest[("households", str(n))], tuple) for n in range(1, len(digests)))


def test_a_later_entry_replaces_the_rows_latest_and_table_names_are_shared() -> None:
    latest: Stated = {}
    first, second = hashlib.sha256(b"1").hexdigest(), hashlib.sha256(b"2").hexdigest()
    _state(latest, {"table": "".join(["peo", "ple"]), "id": "7", "digest": first}, 3)
    _state(latest, {"table": "".join(["pe", "ople"]), "id": 7, "digest": second}, 9)
    assert list(latest) == [("people", "7")] and _stated(latest[("people", "7")]) == (9, second)
    assert next(iter(latest))[0] is sys.intern("people")
