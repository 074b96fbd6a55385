"""Models of the ledger area."""

from __future__ import annotations

from daipin.db.base import Base  # noqa: F401
