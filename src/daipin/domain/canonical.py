"""Canonical JSON (RFC 8785 style: sorted keys, UTF-8, no insignificant whitespace) and its digests."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> bytes:
    """The exact bytes a document is hashed as. Floats are refused: money and rates are exact."""
    if not _plain_json(obj):
        _refuse_floats(obj, "$")  # raises, naming where
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def digest(obj: Any, algorithm: str = "sha256") -> str:
    """Hex digest of the canonical form."""
    return hashlib.new(algorithm, canonical_json(obj)).hexdigest()


def _plain_json(obj: Any) -> bool:
    """No binary float and no key that is not text anywhere in `obj` (`_refuse_floats` without building the path
    of every value it passes: a year close digests a million contract lines)."""
    stack = [obj]
    pop, extend = stack.pop, stack.extend
    while stack:
        o = pop()
        t = type(o)
        if t is str or t is int or t is bool or o is None:
            continue
        if isinstance(o, float):
            return False
        if isinstance(o, dict):
            for k in o:
                if not isinstance(k, str):
                    return False
            extend(o.values())
        elif isinstance(o, (list, tuple)):
            extend(o)
    return True


def _refuse_floats(obj: Any, path: str) -> None:
    if isinstance(obj, float):
        raise ValueError(f"{path}: binary float in a canonical document; write it as a decimal string")
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: non-string key {k!r}")
            _refuse_floats(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _refuse_floats(v, f"{path}[{i}]")
