"""Honest proofs pass for every tree size up to 2,000; every kind of mutated proof is rejected."""

from __future__ import annotations

import random

import pytest

from daipin.ledger import merkle

SM3 = merkle.Hasher("sm3")
MAX = 2000


@pytest.fixture(scope="module")
def tree() -> merkle.MemoryTree:
    t = merkle.MemoryTree(SM3)
    for i in range(MAX):
        t.append(f"entry {i}".encode())
    return t


def _naive_root(hasher: merkle.Hasher, leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162's recursive definition."""
    if not leaves:
        return hasher.empty_root
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hasher.node(_naive_root(hasher, leaves[:k]), _naive_root(hasher, leaves[k:]))


def test_the_empty_tree_hashes_the_empty_string() -> None:
    import hashlib

    assert SM3.empty_root == hashlib.new("sm3", b"").digest()
    assert merkle.root_from_leaves(SM3, []) == SM3.empty_root


def test_sm3_matches_the_gbt_32905_example() -> None:
    assert SM3.digest(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_an_unknown_hash_fails_closed() -> None:
    with pytest.raises(merkle.HashUnavailable):
        merkle.Hasher("md5")


def test_roots_agree_with_the_rfc_definition_for_the_first_hundred_sizes(tree: merkle.MemoryTree) -> None:
    for n in range(101):
        assert tree.root(n) == _naive_root(SM3, tree.levels[0][:n])


def test_honest_inclusion_proofs_pass_for_every_size_up_to_2000(tree: merkle.MemoryTree) -> None:
    rng = random.Random(1)
    for size in range(1, MAX + 1):
        root = tree.root(size)
        for index in {0, size - 1, size // 2, rng.randrange(size)}:
            proof = tree.inclusion_proof(index, size)
            assert len(proof) <= (size - 1).bit_length()
            merkle.verify_inclusion(SM3, index, size, tree.levels[0][index], proof, root)


def test_honest_consistency_proofs_pass_for_every_size_up_to_2000(tree: merkle.MemoryTree) -> None:
    rng = random.Random(2)
    for size in range(1, MAX + 1):
        root = tree.root(size)
        for first in {1, size, (size + 1) // 2, rng.randint(1, size)}:
            proof = tree.consistency_proof(first, size)
            assert len(proof) <= (size - 1).bit_length() + 1
            merkle.verify_consistency(SM3, first, size, proof, tree.root(first), root)


def _rejected(fn, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
    except merkle.ProofError:
        return True
    return False


def _mutations(proof: list[bytes]) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    for i, p in enumerate(proof):
        for bit in range(len(p) * 8):
            flipped = bytearray(p)
            flipped[bit // 8] ^= 1 << (bit % 8)
            out.append(proof[:i] + [bytes(flipped)] + proof[i + 1 :])
    extra = b"\x5a" * 32
    out.append(proof + [extra])  # element added at the end
    out.append([extra] + proof)  # element added at the front
    if proof:
        out.append(proof[:-1])  # element removed
        out.append(proof[1:])
        out.append(proof[:-1] + [proof[-1] + b"\0"])  # trailing garbage
        out.append(list(reversed(proof)) if len(proof) > 1 and proof[0] != proof[-1] else proof[1:])
    return out


SAMPLE_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 255, 256, 257, 1000, 1023, 1024, 1025, 1999, 2000]


@pytest.mark.parametrize("size", SAMPLE_SIZES)
def test_every_mutated_inclusion_proof_is_rejected(tree: merkle.MemoryTree, size: int) -> None:
    root = tree.root(size)
    for index in sorted({0, size - 1, size // 3}):
        leaf = tree.levels[0][index]
        proof = tree.inclusion_proof(index, size)
        for bad in _mutations(proof):
            assert _rejected(merkle.verify_inclusion, SM3, index, size, leaf, bad, root)
        for bad_index in (index - 1, index + 1):
            if 0 <= bad_index < size and tree.levels[0][bad_index] != leaf:
                assert _rejected(merkle.verify_inclusion, SM3, bad_index, size, leaf, proof, root)
        assert _rejected(merkle.verify_inclusion, SM3, -1, size, leaf, proof, root)
        for bad_size in {size * 2, size // 2}:
            if bad_size != size:
                assert _rejected(merkle.verify_inclusion, SM3, index, bad_size, leaf, proof, root)
        assert _rejected(merkle.verify_inclusion, SM3, index, size, leaf + b"\0", proof, root)
        assert _rejected(merkle.verify_inclusion, SM3, index, size, leaf, proof, root + b"\0")
        assert _rejected(merkle.verify_inclusion, SM3, index, size, SM3.leaf(b"other"), proof, root)


@pytest.mark.parametrize("size", [s for s in SAMPLE_SIZES if s > 1])
def test_every_mutated_consistency_proof_is_rejected(tree: merkle.MemoryTree, size: int) -> None:
    root2 = tree.root(size)
    for first in sorted({1, size // 2, size - 1} - {0}):
        root1 = tree.root(first)
        proof = tree.consistency_proof(first, size)
        for bad in _mutations(proof):
            assert _rejected(merkle.verify_consistency, SM3, first, size, bad, root1, root2)
        for bad_first in {first - 1, first + 1, first * 2, first // 2} - {first}:
            if 0 <= bad_first <= size:
                assert _rejected(merkle.verify_consistency, SM3, bad_first, size, proof, root1, root2)
        for bad_size in {size * 2, size // 2} - {size}:
            assert _rejected(merkle.verify_consistency, SM3, first, bad_size, proof, root1, root2)
        assert _rejected(merkle.verify_consistency, SM3, first, size, proof, root2, root1)
        assert _rejected(merkle.verify_consistency, SM3, first, size, proof, root1 + b"\0", root2)
        assert _rejected(merkle.verify_consistency, SM3, first, size, proof, root1, tree.root(size - 1))


def test_the_single_query_node_set_gives_the_rfc_proof_and_root_for_every_size_up_to_2000(
    tree: merkle.MemoryTree,
) -> None:
    rng = random.Random(3)
    for size in range(1, MAX + 1):
        root = tree.root(size)
        # every index of the small trees, the edges and a random one of the larger ones
        indices = range(size) if size <= 64 else {0, 1, size - 2, size - 1, size // 2, rng.randrange(size)}
        for index in indices:
            need = merkle.inclusion_nodes(index, size)
            refs = need.refs()
            assert len(set(refs)) == len(refs)  # each node fetched once
            assert all((i + 1) << lv <= size for lv, i in refs)  # only full (stored) nodes
            path, got_root = need.path_and_root(SM3, tree.nodes(refs))
            assert path == tree.inclusion_proof(index, size)
            assert got_root == root


def test_the_single_query_node_set_refuses_an_index_outside_the_tree() -> None:
    for index, size in ((0, 0), (5, 5), (-1, 3)):
        with pytest.raises(merkle.ProofError):
            merkle.inclusion_nodes(index, size)


def test_level_by_level_recomputation_gives_every_stored_node_and_the_root(tree: merkle.MemoryTree) -> None:
    bodies = [f"entry {i}".encode() for i in range(1000)]
    leaves = SM3.leaves(bodies)
    assert leaves == [SM3.leaf(b) for b in bodies]
    levels = merkle.full_levels(SM3, leaves)
    for lv, nodes in enumerate(levels):
        assert nodes == tree.levels[lv][: 1000 >> lv]
    for size in (1, 2, 3, 511, 512, 513, 999, 1000):
        assert merkle.root_from_levels(SM3, levels, size) == tree.root(size)
    assert merkle.root_from_leaves(SM3, leaves) == tree.root(1000)
    assert merkle.root_from_levels(SM3, [[]]) == SM3.empty_root
