"""Cross-county checks without clear ID numbers: a keyed digest of a resident ID that only the province can key.

`digest(id, k)` is a pseudorandom function of the ID under the province's secret `k` (2HashDH, the classic
oblivious PRF): SHA-256 of H(id)^k in the 2048-bit MODP group of RFC 3526 (group 14, a safe prime; H maps into its
subgroup of quadratic residues). A county obtains the digest of its own residents without learning `k` and without
the province learning the ID, in one round trip (multiplicative blinding):

    county:   r random,  B = H(id) · g^r                  (B says nothing about the ID)
    province: E = B^k                                      (`evaluate`; k never leaves the province)
    county:   H(id)^k = E · (Y^r)^-1  where Y = g^k is the province's public value; digest = SHA-256(H(id)^k)

So the same person has the same digest in every county, a county cannot compute the digest of an ID it does not ask
the province about (no dictionary of ID numbers can be built from a leaked digest list), and no ID number crosses a
county's boundary. Exponents are 256 bits (128-bit security in this group; RFC 3526 §8). Pure: no I/O here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A4"
    "31B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B"
    "1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED52907709"
    "6966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695"
    "5817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
G = 4  # 2², a generator of the quadratic residues (order (P - 1) / 2, a prime)
_BYTES = 256
_EXP_BITS = 256
_TAG = b"daipin province resident digest v1\x00"


def key_from(secret: bytes) -> int:
    """The province's exponent from its key file's secret bytes."""
    if len(secret) < 32:
        raise ValueError("the province key needs at least 32 bytes")
    k = int.from_bytes(hmac.new(secret, b"daipin province oprf key", hashlib.sha256).digest(), "big")
    return k | 1  # never zero


def public_value(k: int) -> int:
    """Y = g^k, published by the province so counties can unblind."""
    return pow(G, k, P)


def _normal(id_number: str) -> bytes:
    return id_number.strip().upper().encode("ascii")


def hash_to_group(id_number: str) -> int:
    """H(id): a quadratic residue mod P, by expanding SHA-256 to the group's width and squaring."""
    seed = _TAG + _normal(id_number)
    wide = b"".join(hashlib.sha256(seed + i.to_bytes(2, "big")).digest() for i in range(_BYTES // 32 + 1))
    x = int.from_bytes(wide, "big") % P
    return pow(x if x > 1 else 2, 2, P)


def _finish(z: int) -> str:
    return hashlib.sha256(_TAG + z.to_bytes(_BYTES, "big")).hexdigest()


def digest(id_number: str, k: int) -> str:
    """The province digest computed where the key is (what the blinded exchange gives a county)."""
    return _finish(pow(hash_to_group(id_number), k, P))


@dataclass(frozen=True)
class Blinded:
    element: int  # sent to the province
    r: int  # kept by the county


def blind(id_number: str) -> Blinded:
    r = secrets.randbits(_EXP_BITS) | 1
    return Blinded(hash_to_group(id_number) * pow(G, r, P) % P, r)


def evaluate(element: int, k: int) -> int:
    """The province's step: refuses values outside the group (0, 1, P-1 and beyond)."""
    if not 1 < element < P - 1:
        raise ValueError("not an element of the group")
    return pow(element, k, P)


def unblind(blinded: Blinded, evaluated: int, y: int) -> str:
    """The county's last step: H(id)^k = E / Y^r, then the digest."""
    return _finish(evaluated * pow(pow(y, blinded.r, P), -1, P) % P)


@dataclass(frozen=True)
class Duplicate:
    """One person (one digest) registered in more than one county: where, never who."""

    digest: str
    places: tuple[tuple[str, str], ...]  # (county, the county's own reference to the person)


def duplicates(by_county: Mapping[str, Iterable[tuple[str, str]]]) -> list[Duplicate]:
    """Digests found in two or more counties, from each county's (reference, digest) pairs."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for county, pairs in by_county.items():
        for ref, d in pairs:
            seen.setdefault(d, []).append((county, ref))
    return [Duplicate(d, tuple(sorted(places))) for d, places in sorted(seen.items())
            if len({c for c, _ in places}) > 1]
