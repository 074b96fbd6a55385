"""The fast paths of a bulk load and a year close give what the general code gives: a row's digest
(`store.row_digest`) is the SHA-256 of the canonical JSON of its state for every kind of value a row holds, the canonical
form still refuses floats and keys that are not text (naming where), and the province's numbering of residents is the
identity module's."""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

from daipin.domain.canonical import canonical_json
from daipin.ledger import store


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


STATES = [
    {},
    {"id": 1, "name": "张三", "flag": True, "none": None},
    {"terms": {"share": "0.1", "floor_fen": 300, "nested": {"b": [1, "二", None], "a": (2, 3)}}},
    {"at": datetime(2026, 3, 1, 2, 3, 4, 5, tzinfo=UTC), "naive": datetime(2026, 3, 1, 2), "day": date(2025, 12, 31)},
    {"rate": Decimal("0.060"), "blob": b"\x00\xff", "ratio": 0.5, "colour": Colour.RED, "level": Level.HIGH},
    {"keys": {1: "one", "2": Decimal("2.50")}, "list": [{"z": 1, "a": date(2020, 1, 1)}]},
]


def _reference(state: dict[str, object]) -> str:
    return hashlib.sha256(canonical_json(store._jsonable(state))).hexdigest()


def test_row_digest_is_the_canonical_digest_of_the_state() -> None:
    for state in STATES:
        assert store.row_digest(state) == _reference(state), state
    # Values that differ give different digests (the fast path drops nothing).
    assert store.row_digest({"a": 1}) != store.row_digest({"a": "1"})
    assert store.row_digest({"a": True}) != store.row_digest({"a": 1})
    assert store.row_digest({"a": {"b": None}}) != store.row_digest({"a": {}})


def test_jsonable_forms() -> None:
    out = store._jsonable(STATES[4] | STATES[3])
    assert out["rate"] == "0.060" and out["blob"] == "00ff" and out["ratio"] == "0.5"
    assert out["colour"] == "red" and out["level"] == 2 and out["day"] == "2025-12-31"
    assert out["at"].startswith("2026-03-01T02:03:04.000005")
    assert store._jsonable({1: {2: (3,)}}) == {"1": {"2": [3]}}


def test_canonical_form_refuses_floats_and_other_keys_wherever_they_are() -> None:
    import pytest

    assert canonical_json({"b": [1, {"c": None, "a": True}], "a": "二"}) == '{"a":"二","b":[1,{"a":true,"c":null}]}'.encode()
    for bad, where in (({"a": [1, {"b": 0.5}]}, "$.a[1].b"), ([(1, 2.0)], "$[0][1]"), ({"a": {3: "x"}}, "$.a"),
                       (1.5, "$")):
        with pytest.raises(ValueError) as e:
            canonical_json(bad)
        assert where in str(e.value), (bad, str(e.value))


def test_the_provinces_resident_ids_are_the_identity_modules() -> None:
    """The generator's fast numbering (`province.resident_id`) gives `identity.make_resident_id`'s numbers, check
    digit included (every residue of the weighted sum, so every check character, X too)."""
    import random
    from datetime import timedelta

    from daipin.domain.identity import make_resident_id, parse_resident_id
    from daipin.services.sample.province import SEQUENCES, resident_id

    rng = random.Random(7)
    checks = set()
    for _ in range(3000):
        county = rng.choice(("231002", "231003", "110101", "650102"))
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(30000))
        seq, sex = rng.choice(SEQUENCES), rng.choice("MF")
        number = resident_id(county, birth, seq, sex)
        assert number == make_resident_id(county, birth, seq, sex)
        rid = parse_resident_id(number, today=date(2026, 12, 1))
        assert (rid.birth_date, rid.sex) == (birth, sex)
        checks.add(number[-1])
    assert checks == set("0123456789X")
