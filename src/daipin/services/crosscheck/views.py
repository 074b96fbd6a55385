"""Cross-county checks at province level (docs/scale.md 跨县比对): the province's half of the digest exchange and
the DUPLICATE check over the digests the counties hand in. Nothing here reads or writes a county's rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from daipin.domain import access
from daipin.domain import crosscheck as cc
from daipin.domain.actors import Actor
from daipin.ledger import keys as keystore


def _key(keys_dir: str | None = None) -> int:
    return cc.key_from(keystore.province_digest_key(keys_dir))


def province_digest(id_number: str, keys_dir: str | None = None) -> str:
    """The province-level keyed digest of one resident ID, where the province key is (the province server).
    A county gets the same value through `cc.blind` → `evaluate` → `cc.unblind`, never holding the key."""
    return cc.digest(id_number, _key(keys_dir))


def public_value(keys_dir: str | None = None) -> int:
    """Y = g^k, which counties need to unblind the province's answers."""
    return cc.public_value(_key(keys_dir))


def evaluate(actor: Actor, elements: Iterable[int], keys_dir: str | None = None) -> list[int]:
    """Answer a county's blinded elements (they say nothing about the IDs behind them)."""
    access.require(actor, "crosscheck.run")
    k = _key(keys_dir)
    return [cc.evaluate(e, k) for e in elements]


def find_duplicates(actor: Actor, by_county: Mapping[str, Iterable[tuple[str, str]]]) -> list[cc.Duplicate]:
    """DUPLICATE at province level: one digest in two or more counties (each county's reference, never an ID)."""
    for county in by_county:
        access.require(actor, "crosscheck.run", region=county, field="county")
    return cc.duplicates(by_county)
