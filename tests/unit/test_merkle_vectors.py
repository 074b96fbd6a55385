"""The RFC 6962 SHA-256 inclusion and consistency probes (transparency-dev test vectors) all behave as specified."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from daipin.ledger import merkle

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "merkle" / "testdata"
SHA256 = merkle.Hasher("sha256")


def _cases(kind: str) -> list[Path]:
    return sorted((TESTDATA / kind).rglob("*.json"))


def _b(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _label(path: Path) -> str:
    return str(path.relative_to(TESTDATA))


INCLUSION = _cases("inclusion")
CONSISTENCY = _cases("consistency")


def test_the_vector_directories_hold_every_probe() -> None:
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    assert any(json.loads(p.read_text())["wantErr"] for p in INCLUSION)
    assert any(not json.loads(p.read_text())["wantErr"] for p in CONSISTENCY)


@pytest.mark.parametrize("path", INCLUSION, ids=_label)
def test_inclusion_probe_is_accepted_exactly_when_it_should_be(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b(p) for p in case["proof"] or []]
    args = (SHA256, case["leafIdx"], case["treeSize"], _b(case["leafHash"]), proof, _b(case["root"]))
    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_label)
def test_consistency_probe_is_accepted_exactly_when_it_should_be(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b(p) for p in case["proof"] or []]
    args = (SHA256, case["size1"], case["size2"], proof, _b(case["root1"]), _b(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def _rfc_leaves() -> list[bytes]:
    # The eight leaves of RFC 6962's reference tests (also those of the happy-path vectors).
    hexes = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    return [bytes.fromhex(h) for h in hexes]


def test_happy_path_probes_match_proofs_we_generate_ourselves() -> None:
    tree = merkle.MemoryTree(SHA256)
    for leaf in _rfc_leaves():
        tree.append(leaf)
    checked = 0
    for path in INCLUSION:
        case = json.loads(path.read_text())
        if case["wantErr"] or case["treeSize"] > tree.size or case["treeSize"] == 0:
            continue
        if _b(case["leafHash"]) != tree.levels[0][case["leafIdx"]]:
            continue
        assert tree.root(case["treeSize"]) == _b(case["root"])
        assert tree.inclusion_proof(case["leafIdx"], case["treeSize"]) == [_b(p) for p in case["proof"] or []]
        checked += 1
    for path in CONSISTENCY:
        case = json.loads(path.read_text())
        if case["wantErr"] or not 0 < case["size1"] < case["size2"] <= tree.size:
            continue
        if tree.root(case["size1"]) != _b(case["root1"]):
            continue
        assert tree.consistency_proof(case["size1"], case["size2"]) == [_b(p) for p in case["proof"] or []]
        checked += 1
    assert checked >= 6
