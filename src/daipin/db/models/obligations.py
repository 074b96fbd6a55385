"""Models of what an entity owes beyond a settlement run: wages paid, fund-support repayments, and the dividends of
quantified shares that waited for reassignment (a village's retained pool, 留存待分配)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from daipin.db.base import Base, BigInt


class WagePayment(Base):
    """Wages an entity actually paid one worker under an employment contract (R1.3), on a day, for work up to a day."""

    __tablename__ = "wage_payments"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInt, comment="实发工资（分） / wages paid in fen")
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))


class FundRepayment(Base):
    """One repayment of a revolving fund-support contract (周转使用扶持资金, R1.1), against its repayment schedule."""

    __tablename__ = "fund_repayments"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInt, comment="还款金额（分） / amount repaid in fen")
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))


class RetainedDividend(Base):
    """A quantified share's dividend for the days it waited for reassignment (R1.4), paid into its village's retained
    pool by a settlement (`run_id`, the latest of the project and year); the village's first allocation of a later
    year (`allocation_year`, set when that allocation is run) adds it to the pool it distributes."""

    __tablename__ = "retained_dividends"
    __table_args__ = (UniqueConstraint("contract_id", "year"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    days: Mapped[int] = mapped_column(Integer)
    due_fen: Mapped[int] = mapped_column(BigInt, comment="待重新分配期间应得分红（分） / dividend of the pending days")
    amount_fen: Mapped[int] = mapped_column(BigInt, comment="实付计入留存（分） / paid into the retained pool")
    allocation_year: Mapped[int | None] = mapped_column(Integer)
