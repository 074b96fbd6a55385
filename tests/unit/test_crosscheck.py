"""Cross-county checks without clear IDs (docs/scale.md 跨县比对): a county gets the province digest of its own
residents through the blinded exchange without the key, the province never sees an ID, and one person registered
in two counties is found by the digests alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from daipin.domain import crosscheck as cc
from daipin.domain.actors import Actor, Role
from daipin.domain.errors import Conflict, Forbidden
from daipin.domain.identity import make_resident_id
from daipin.ledger import keys
from daipin.services.crosscheck import views

PROVINCE = Actor(id="p", role=Role.PROVINCE, region="23")
A, B = "231002", "231005"


def _county_side(ids: dict[str, str], y: int, keys_dir: str) -> list[tuple[str, str]]:
    """What a county does: blind each ID, send only the blinded elements, unblind the answers."""
    blinded = {ref: cc.blind(id_number) for ref, id_number in ids.items()}
    answers = views.evaluate(PROVINCE, [b.element for b in blinded.values()], keys_dir=keys_dir)
    return [(ref, cc.unblind(b, e, y)) for (ref, b), e in zip(blinded.items(), answers, strict=True)]


def test_one_person_in_two_counties_is_found_by_digests_alone(tmp_path: Path) -> None:
    d = str(tmp_path)
    keys.province_digest_key(d, create=True)
    y = views.public_value(d)
    same = make_resident_id(A, date(1980, 2, 3), 811, "M")
    county_a = {"person:1": same, "person:2": make_resident_id(A, date(1975, 6, 1), 102, "F")}
    county_b = {"person:9": same, "person:8": make_resident_id(B, date(1990, 1, 9), 433, "M")}
    got_a, got_b = _county_side(county_a, y, d), _county_side(county_b, y, d)
    # The exchange gives exactly the digest the province computes where its key is.
    assert dict(got_a)["person:1"] == views.province_digest(same, d) == dict(got_b)["person:9"]
    found = views.find_duplicates(PROVINCE, {A: got_a, B: got_b})
    assert [dup.places for dup in found] == [((A, "person:1"), (B, "person:9"))]
    # No ID number in anything that crossed a boundary: not in the blinded elements, not in the digests.
    sent = " ".join(f"{cc.blind(i).element:x}" for i in (*county_a.values(), *county_b.values()))
    handed_in = " ".join(dg for _, dg in got_a + got_b)
    for id_number in (*county_a.values(), *county_b.values()):
        assert id_number not in sent and id_number not in handed_in
    # The same ID blinded twice looks unrelated; without the province key no digest can be made.
    assert cc.blind(same).element != cc.blind(same).element
    assert cc.digest(same, cc.key_from(b"\x01" * 32)) != views.province_digest(same, d)


def test_another_province_key_gives_other_digests_and_no_key_no_answer(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    keys.province_digest_key(str(one), create=True)
    keys.province_digest_key(str(two), create=True)
    pid = make_resident_id(A, date(1980, 2, 3), 811, "M")
    assert views.province_digest(pid, str(one)) != views.province_digest(pid, str(two))
    with pytest.raises(Conflict) as exc:
        views.province_digest(pid, str(tmp_path / "county"))  # a county server has no province key
    assert exc.value.code == "province_key_missing"


def test_only_the_province_answers_and_compares(tmp_path: Path) -> None:
    keys.province_digest_key(str(tmp_path), create=True)
    district = Actor(id="d", role=Role.DISTRICT_ADMIN, region=A)
    with pytest.raises(Forbidden):
        views.evaluate(district, [cc.blind("231002198002030811").element], keys_dir=str(tmp_path))
    with pytest.raises(Forbidden):
        views.find_duplicates(district, {A: [], B: []})
    with pytest.raises(ValueError):
        views.evaluate(PROVINCE, [1], keys_dir=str(tmp_path))  # not a group element: refused
