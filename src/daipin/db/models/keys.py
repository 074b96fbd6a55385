"""The personal-data keys a database is pinned to, and the progress of a key rotation (`daipin keys rotate`).

Never key material: a key id (a digest of the key) and a check value (an HMAC of a constant under the key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from daipin.db.base import Base


class PiiKey(Base):
    """A data key (`purpose` data: active seals, old still opens while a rotation runs, retired opens nothing the
    database holds) or the index key (`kid` "index")."""

    __tablename__ = "pii_keys"

    kid: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(8))  # data | index
    cipher: Mapped[str] = mapped_column(String(16))  # aes-256-gcm | sm4-gcm | hmac-sha256
    check_value: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8))  # active | old | retired


class PiiRotation(Base):
    """A rotation from one data key to another: how far each sealed table has been re-sealed (the last row id
    done), so that a rotation stopped midway continues where it stopped."""

    __tablename__ = "pii_rotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_kid: Mapped[str] = mapped_column(String(16))
    to_kid: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8))  # running | done
    people_done: Mapped[int] = mapped_column(BigInteger, default=0)  # last people.id re-sealed
    households_done: Mapped[int] = mapped_column(BigInteger, default=0)  # last households.id re-sealed
    resealed: Mapped[int] = mapped_column(BigInteger, default=0)  # values re-sealed so far
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
