"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs (standard library only; SM3 or SHA-256).

Tree shape, leaf hash `H(0x00 || body)`, node hash `H(0x01 || left || right)` and
the empty-tree hash `H("")` are those of RFC 9162 §2.1. A *full node* `(level, index)`
is the root of the perfect subtree over leaves `[index * 2**level, (index + 1) * 2**level)`;
only full nodes are ever stored, everything on the right edge is recomputed from them.

Proof generation works from *plans*: lists of full nodes whose hashes, folded from the
right, give each proof element. A store fetches all the nodes of a plan in one query
and hands them to `fold_plan`; `MemoryTree` is an in-memory node source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

NodeRef = tuple[int, int]
"""A full node: (level, index); level 0 are the leaves."""

Plan = list[list[NodeRef]]
"""One list of full nodes per proof element; the element is their right fold."""

HASH_NAMES = ("sm3", "sha256")
DEFAULT_HASH = "sm3"


class HashUnavailable(RuntimeError):
    """The configured hash cannot be computed here; the ledger refuses to start rather than guess."""


class ProofError(ValueError):
    """A proof does not verify, or its inputs are malformed."""


class Hasher:
    """The RFC 9162 hashing rules for one hash function."""

    def __init__(self, name: str = DEFAULT_HASH) -> None:
        if name not in HASH_NAMES:
            raise HashUnavailable(f"账本哈希算法不支持 / unsupported ledger hash {name!r}; choose one of {HASH_NAMES}")
        try:
            proto = hashlib.new(name)
        except (ValueError, TypeError) as exc:  # OpenSSL without SM3 raises ValueError
            raise HashUnavailable(
                f"本机无法计算 {name} 哈希 / hash {name!r} is not available in this Python/OpenSSL build "
                f"(SM3 needs OpenSSL 3); refusing to run the ledger with another hash"
            ) from exc
        self.name = name
        self.size: int = proto.digest_size
        self._proto = proto
        # A copy of a fresh context is the cheapest way to start a hash (no name lookup);
        # one update of a joined bytes object is cheaper than three.
        self.new: Callable[[], hashlib._Hash] = proto.copy
        self.empty_root: bytes = self.digest(b"")

    def digest(self, data: bytes) -> bytes:
        h = self.new()
        h.update(data)
        return h.digest()

    def leaf(self, body: bytes) -> bytes:
        h = self.new()
        h.update(b"\x00" + body)
        return h.digest()

    def node(self, left: bytes, right: bytes) -> bytes:
        h = self.new()
        h.update(b"\x01" + left + right)
        return h.digest()

    def leaves(self, bodies: Iterable[bytes]) -> list[bytes]:
        """Leaf hashes of many bodies (a tight loop for recomputation)."""
        new = self.new
        out: list[bytes] = []
        push = out.append
        for body in bodies:
            h = new()
            h.update(b"\x00" + body)
            push(h.digest())
        return out

    def parents(self, level: Sequence[bytes]) -> list[bytes]:
        """The full nodes one level up: node(level[0], level[1]), node(level[2], level[3]), ..."""
        new = self.new
        out: list[bytes] = []
        push = out.append
        it = iter(level)
        for left, right in zip(it, it, strict=False):  # an odd last node has no parent yet
            h = new()
            h.update(b"\x01" + left + right)
            push(h.digest())
        return out

    def __repr__(self) -> str:
        return f"Hasher({self.name!r})"


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2): RFC 9162's split point."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- roots


def full_levels(hasher: Hasher, leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every full node of the tree over `leaf_hashes`, level by level (`levels[lv][i]` is node (lv, i)).

    Built pairwise a level at a time: the fastest way to (re)compute a whole tree.
    """
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        levels.append(hasher.parents(levels[-1]))
    return levels


def root_from_levels(hasher: Hasher, levels: Sequence[Sequence[bytes]], size: int | None = None) -> bytes:
    """MTH of the first `size` leaves (all, by default) given the full nodes from `full_levels`."""
    if size is None:
        size = len(levels[0])
    if size == 0:
        return hasher.empty_root
    return fold(hasher, [levels[lv][i] for lv, i in frontier_refs(size)])


def root_from_leaves(hasher: Hasher, leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of the leaves (given as leaf hashes)."""
    return root_from_levels(hasher, full_levels(hasher, list(leaf_hashes)))


class Frontier:
    """The right edge of a growing tree: one full subtree per set bit of the size.

    Appending a leaf returns the full nodes it completes (level >= 1) so a store can
    write each node exactly once, when it becomes full.
    """

    __slots__ = ("hasher", "size", "hashes")

    def __init__(self, hasher: Hasher, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"frontier of size {size} needs {bin(size).count('1')} hashes, got {len(hashes)}")
        self.hasher = hasher
        self.size = size
        # hashes[0] is the largest (leftmost) subtree, hashes[-1] the smallest.
        self.hashes: list[bytes] = list(hashes)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        completed: list[tuple[int, int, bytes]] = []
        h = leaf_hash
        n = self.size
        level = 0
        node = self.hasher.node
        hashes = self.hashes
        while n & 1:
            h = node(hashes.pop(), h)
            n >>= 1
            level += 1
            completed.append((level, n, h))
        hashes.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.hashes:
            return self.hasher.empty_root
        node = self.hasher.node
        it = reversed(self.hashes)
        r = next(it)
        for h in it:
            r = node(h, r)
        return r

    def copy(self) -> Frontier:
        return Frontier(self.hasher, self.size, self.hashes)


def frontier_refs(size: int) -> list[NodeRef]:
    """The full nodes that make up the right edge of a tree of `size` leaves, largest first."""
    refs: list[NodeRef] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            refs.append((level, start >> level))
            start += 1 << level
    return refs


def range_refs(start: int, end: int) -> list[NodeRef]:
    """Full nodes covering leaves [start, end) where start is a multiple of a power of two >= end - start.

    This is the decomposition of every subtree the RFC's recursion ever names.
    """
    refs: list[NodeRef] = []
    while start < end:
        n = end - start
        level = n.bit_length() - 1
        if (1 << level) == n:
            refs.append((level, start >> level))
            break
        k = 1 << level
        refs.append((level, start >> level))
        start += k
    return refs


def fold(hasher: Hasher, hashes: Sequence[bytes]) -> bytes:
    """Right fold of full-subtree hashes, largest first: node(h0, node(h1, ...))."""
    if not hashes:
        raise ValueError("nothing to fold")
    r = hashes[-1]
    for h in reversed(hashes[:-1]):
        r = hasher.node(h, r)
    return r


def fold_plan(hasher: Hasher, plan: Plan, nodes: Mapping[NodeRef, bytes]) -> list[bytes]:
    """Turn a plan into proof hashes, given every node the plan names."""
    return [fold(hasher, [nodes[ref] for ref in element]) for element in plan]


def plan_nodes(plan: Plan) -> set[NodeRef]:
    return {ref for element in plan for ref in element}


# --------------------------------------------------------------------------- plans


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]) as full-node references, bottom-up."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    plan: Plan = []
    start, end, m = 0, size, index
    # Walk down from the root, then reverse: the RFC lists the path leaf-first.
    while end - start > 1:
        n = end - start
        k = _largest_power_of_two_below(n)
        if m < k:
            plan.append(range_refs(start + k, end))
            end = start + k
        else:
            plan.append(range_refs(start, start + k))
            start += k
            m -= k
    plan.reverse()
    return plan


def consistency_plan(first: int, second: int) -> Plan:
    """RFC 9162 §2.1.4.1 PROOF(first, D[second]) as full-node references (0 < first <= second)."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    plan: Plan = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                plan.append(range_refs(start, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            plan.append(range_refs(start + k, end))
            end = start + k
        else:
            plan.append(range_refs(start, start + k))
            start += k
            m -= k
            whole = False
    plan.reverse()
    return plan


@dataclass(frozen=True)
class InclusionNodes:
    """The full nodes an inclusion proof and its root are made of (RFC 9162 §2.1.3.1, bottom-up).

    With `fork` the largest full subtree holding the leaf whose right neighbour is not
    full (or does not exist): the path is the siblings inside `fork` (`inner`), then the
    hash of the partial subtree right of it (`right`, folded; absent when empty), then
    the full subtrees left of it, smallest first (`left`). The root is
    fold(reversed(left) + [fork] + right). Every node here is stored, so one query fetches them all.
    """

    index: int
    size: int
    fork: NodeRef
    inner: list[NodeRef]
    right: list[NodeRef]
    left: list[NodeRef]

    def refs(self) -> list[NodeRef]:
        head = [self.fork] if self.fork[0] == 0 else [(0, self.index), self.fork]  # a fork at level 0 is the leaf
        return [*head, *self.inner, *self.right, *self.left]

    def path(self, hasher: Hasher, nodes: Mapping[NodeRef, bytes]) -> list[bytes]:
        return self.path_and_root(hasher, nodes)[0]

    def root(self, hasher: Hasher, nodes: Mapping[NodeRef, bytes]) -> bytes:
        return self.path_and_root(hasher, nodes)[1]

    def path_and_root(self, hasher: Hasher, nodes: Mapping[NodeRef, bytes]) -> tuple[list[bytes], bytes]:
        """The proof and the root; the root reuses the fold of the right part the proof already made."""
        out = [nodes[r] for r in self.inner]
        r = nodes[self.fork]
        if self.right:
            ephemeral = fold(hasher, [nodes[ref] for ref in self.right])
            out.append(ephemeral)
            r = hasher.node(r, ephemeral)
        node = hasher.node
        for ref in self.left:
            h = nodes[ref]
            out.append(h)
            r = node(h, r)
        return out, r


def inclusion_nodes(index: int, size: int) -> InclusionNodes:
    """Which full nodes make up the inclusion proof of `index` in a tree of `size` leaves, and its root."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    # The paths from the root to leaf `index` and to the (virtual) leaf `size` part at
    # the highest bit where the two differ: below it everything is full.
    level = (index ^ size).bit_length() - 1
    begin = index >> level << level
    end = begin + (1 << level)
    inner = [(lv, (index >> lv) ^ 1) for lv in range(level)]
    right = range_refs(end, size)
    left = [(lv, (begin >> lv) - 1) for lv in range(level + 1, begin.bit_length()) if begin >> lv & 1]
    return InclusionNodes(index, size, (level, index >> level), inner, right, left)


# --------------------------------------------------------------------------- node sources


NodeFetcher = Callable[[Sequence[NodeRef]], Mapping[NodeRef, bytes]]


def inclusion_proof(hasher: Hasher, index: int, size: int, fetch: NodeFetcher) -> list[bytes]:
    plan = inclusion_plan(index, size)
    return fold_plan(hasher, plan, fetch(sorted(plan_nodes(plan))))


def consistency_proof(hasher: Hasher, first: int, second: int, fetch: NodeFetcher) -> list[bytes]:
    plan = consistency_plan(first, second)
    return fold_plan(hasher, plan, fetch(sorted(plan_nodes(plan))))


def root_at(hasher: Hasher, size: int, fetch: NodeFetcher) -> bytes:
    if size == 0:
        return hasher.empty_root
    refs = frontier_refs(size)
    nodes = fetch(refs)
    return fold(hasher, [nodes[r] for r in refs])


class MemoryTree:
    """Every full node of a tree, in memory: for tests, benchmarks and offline recomputation."""

    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher
        self.levels: list[list[bytes]] = [[]]
        self._frontier = Frontier(hasher)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append_leaf(self, leaf_hash: bytes) -> None:
        self.levels[0].append(leaf_hash)
        for level, _index, h in self._frontier.append(leaf_hash):
            if len(self.levels) <= level:
                self.levels.append([])
            self.levels[level].append(h)

    def append(self, body: bytes) -> None:
        self.append_leaf(self.hasher.leaf(body))

    def nodes(self, refs: Sequence[NodeRef]) -> dict[NodeRef, bytes]:
        return {(lv, i): self.levels[lv][i] for lv, i in refs}

    def root(self, size: int | None = None) -> bytes:
        return root_at(self.hasher, self.size if size is None else size, self.nodes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self.hasher, index, self.size if size is None else size, self.nodes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(self.hasher, first, self.size if second is None else second, self.nodes)


# --------------------------------------------------------------------------- verification


def _check_hash(hasher: Hasher, value: bytes, what: str) -> None:
    if len(value) != hasher.size:
        raise ProofError(f"{what} has {len(value)} bytes, a {hasher.name} hash has {hasher.size}")


def root_from_inclusion_proof(hasher: Hasher, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that `proof` implies for `leaf_hash` at `index` in a tree of `size`.

    The RFC's loop, with its bookkeeping done up front: below the level where the paths
    to `index` and to the last leaf part, the bits of `index` say left or right; above
    it every element is a left sibling. The proof length must be exactly that.
    """
    if index < 0 or size < 0:
        raise ProofError("negative index or size")
    if index >= size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    hs = hasher.size
    if len(leaf_hash) != hs:
        raise ProofError(f"leaf hash has {len(leaf_hash)} bytes, a {hasher.name} hash has {hs}")
    inner = (index ^ (size - 1)).bit_length()
    want = inner + (index >> inner).bit_count()
    if len(proof) != want:
        raise ProofError(f"proof has {len(proof)} elements, a tree of size {size} needs {want} for index {index} "
                         f"(proof is {'longer' if len(proof) > want else 'shorter'} than the tree is high)")
    new = hasher.new
    r = leaf_hash
    bits = index
    for n, p in enumerate(proof):
        if len(p) != hs:
            raise ProofError(f"proof[{n}] has {len(p)} bytes, a {hasher.name} hash has {hs}")
        h = new()
        if n >= inner or bits & 1:
            h.update(b"\x01" + p + r)
        else:
            h.update(b"\x01" + r + p)
        r = h.digest()
        bits >>= 1
    return r


def verify_inclusion(
    hasher: Hasher, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows `leaf_hash` at `index` in the tree of `size` with `root`."""
    _check_hash(hasher, root, "root")
    if root_from_inclusion_proof(hasher, index, size, leaf_hash, proof) != root:
        raise ProofError("inclusion proof leads to another root")


def verify_consistency(
    hasher: Hasher, first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """Raise ProofError unless `proof` shows the tree of `first` with `first_root` is a prefix of `second`'s.

    RFC 9162 §2.1.4.2, plus the edge cases it leaves open: sizes must satisfy
    0 < first <= second (a proof from the empty tree says nothing), and equal sizes
    need an empty proof and equal roots.
    """
    if first < 0 or second < 0:
        raise ProofError("negative tree size")
    if second < first:
        raise ProofError(f"size {second} is smaller than size {first}")
    if first == 0:
        raise ProofError("consistency with the empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if first_root != second_root:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hash(hasher, first_root, "first root")
    _check_hash(hasher, second_root, "second root")
    for i, p in enumerate(proof):
        _check_hash(hasher, p, f"proof[{i}]")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr = hasher.node(c, fr)
            sr = hasher.node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hasher.node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is high")
    if fr != first_root:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("consistency proof does not lead to the second root")
