"""Models of the registry area."""

from __future__ import annotations

from daipin.db.base import Base  # noqa: F401
