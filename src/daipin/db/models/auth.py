"""Models of the auth area."""

from __future__ import annotations

from daipin.db.base import Base  # noqa: F401
