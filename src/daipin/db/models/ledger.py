"""Models of the ledger area: one log per county, its entries, its full-subtree nodes and its signed checkpoints.

Every table leads its key with `county_code`: each county's log is numbered, hashed, signed and locked on its
own (migration 0022), and a distributed engine can keep a county's rows together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from daipin.db.base import Base, BigInt


class LedgerLog(Base):
    """One county's log; its hash and key are fixed when it is created (`daipin init`, `daipin ledger init`)."""

    __tablename__ = "ledger_log"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))
    hash_name: Mapped[str] = mapped_column(String(16))
    verifier_key: Mapped[str] = mapped_column(String(300), doc="note verifier key <name>+<hash>+<base64 key>")
    created_at: Mapped[datetime] = mapped_column(DateTime, doc="UTC")
    # A keyed check value of the personal-data salt (never the salt): writes refuse another salt (migration 0021).
    salt_id: Mapped[str | None] = mapped_column(String(64))


class LedgerEntry(Base):
    """One entry: the body bytes exactly as hashed, and a few columns copied out of it for lookup."""

    __tablename__ = "ledger_entry"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True, doc="the log this entry belongs to")
    idx: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False, doc="dense from 0 per county")
    body: Mapped[bytes] = mapped_column(LargeBinary, doc="canonical JSON, exactly the bytes hashed")
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary, doc="H(0x00 || body)")
    type: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    region: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(DateTime, doc="UTC")


class LedgerNode(Base):
    """A full subtree's hash, written once when the subtree becomes full; leaves (level 0) live in entries."""

    __tablename__ = "ledger_node"
    # SQLite: the (level, idx) key is the table itself, so a proof's node lookups probe one B-tree, not two.
    __table_args__ = {"sqlite_with_rowid": False}

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    """A signed tree head in signed-note form; one per committed batch, kept forever."""

    __tablename__ = "ledger_checkpoint"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    size: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text, doc="the signed note, as `daipin ledger checkpoint` prints it")
    at: Mapped[datetime] = mapped_column(DateTime, doc="UTC; the time of the batch's last entry")


class LedgerWitness(Base):
    """A checkpoint seen outside the database (printed on a notice, put into a dossier, handed in by an auditor):
    `daipin ledger verify` proves the log consistent with each, so a rewritten and re-signed history contradicts
    its witnesses."""

    __tablename__ = "ledger_witness"
    __table_args__ = (Index("ix_ledger_witness_county_size", "county_code", "size"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    county_code: Mapped[str] = mapped_column(String(6))
    size: Mapped[int] = mapped_column(BigInt)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text, doc="the signed note as it was seen")
    source: Mapped[str] = mapped_column(String(200), doc="where it was seen: notice:12, dossier:matter:3, file:…")
    at: Mapped[datetime] = mapped_column(DateTime, doc="UTC; when it was recorded")
