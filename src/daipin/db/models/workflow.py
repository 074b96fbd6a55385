"""Models of the workflow area."""

from __future__ import annotations

from daipin.db.base import Base  # noqa: F401
