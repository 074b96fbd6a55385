"""Canonical JSON (RFC 8785 style: sorted keys, UTF-8, no insignificant whitespace) and its digests."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> bytes:
    """The exact bytes a document is hashed as. Floats are refused: money and rates are exact."""
    _refuse_floats(obj, "$")
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def digest(obj: Any, algorithm: str = "sha256") -> str:
    """Hex digest of the canonical form."""
    return hashlib.new(algorithm, canonical_json(obj)).hexdigest()


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
