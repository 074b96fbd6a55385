"""How a ledger root is written for people: the one form used on the notice, the ledger page, the printed papers
and the API — standard base64, exactly the third line of the signed checkpoint (LEDGER.md), so the root read off a
page can be compared character by character with the note printed beside it."""

from __future__ import annotations

import base64


def root_text(root: bytes) -> str:
    """A root (32 bytes) as base64: `base64.b64encode`, the checkpoint's own line."""
    return base64.b64encode(root).decode("ascii")


def root_from_hex(hex_root: str) -> str:
    return root_text(bytes.fromhex(hex_root))
