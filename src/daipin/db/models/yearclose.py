"""What a year's close has done: one row per county, year, step and subject, written in the transaction of the run it
records, so a close killed midway and started again continues where it stopped and never runs a subject twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daipin.db.base import Base, BigInt


class YearCloseProgress(Base):
    """One subject of a year's close done: a project settled (`settle`) or a village's allocation run (`allocate`)."""

    __tablename__ = "year_close_progress"
    __table_args__ = (UniqueConstraint("county_code", "year", "step", "subject", name="uq_year_close_progress"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(16))  # settle | allocate
    subject: Mapped[str] = mapped_column(String(40))  # project code or village code
    run_id: Mapped[int | None] = mapped_column(BigInt)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
