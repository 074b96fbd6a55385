"""Models of supervision (SUPERVISION.md): red-flag findings, inspections, credit records and listings, the county's
thresholds, and what the registry records for the rules to read (cadres and their kin, account holders, an asset's
status with its dates, household splits, the use of photovoltaic income).

Every row carries `county_code`; money is integer fen (`*_fen`, BIGINT); times are stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from daipin.db.base import Base, BigInt


class SupervisionSettings(Base):
    """A county's supervision thresholds over the defaults of `domain.supervision.DEFAULT_THRESHOLDS`."""

    __tablename__ = "supervision_settings"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(120))


class Finding(Base):
    """A red flag (风险预警): a rule's finding about one subject, with its evidence and its path
    open → assigned → rectified → verified, or dismissed with reasons.

    `finding_key` names the cause (rule and subject), unique: a scan that finds the same cause again adds nothing.
    `cause_gone_at` is set when a later scan no longer finds the cause (the finding is kept, never deleted)."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_county_status", "county_code", "status"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    finding_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))  # high | medium | low
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    subject: Mapped[str] = mapped_column(String(80))  # e.g. household:2310..., entity:<USCC>, project:P-001
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"rows": [{"table", "id"}], "ledger": [idx, ...]}
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # scan | inspection
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    responsible_unit: Mapped[str | None] = mapped_column(String(12))  # region code of the unit that rectifies
    deadline: Mapped[date | None] = mapped_column(Date)
    escalated_to: Mapped[str | None] = mapped_column(String(16))  # township | district, when overdue
    status_note: Mapped[str] = mapped_column(Text, default="")  # the reasons of the latest step
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause_gone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Inspection(Base):
    """An inspection (检查): who, when, where, what was checked, what was found; it may open findings by hand."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    inspected_on: Mapped[date] = mapped_column(Date)
    inspectors: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    checked: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))


class CreditRecord(Base):
    """One event of an entity's credit record: a default, a fraud finding, a late payment, a rectification, and each
    step of a listing."""

    __tablename__ = "credit_records"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(24))  # default | fraud | late_payment | rectification | listing_*
    occurred_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("credit_listings.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))


class CreditListing(Base):
    """Listing an entity as seriously untrustworthy (严重失信主体认定), step by step: the notice (reasons, basis,
    rights), the objection window, the answer, the listing in effect, and its repair.

    States: notified → (objected → answered) → listed → repaired; withdrawn when an objection is upheld."""

    __tablename__ = "credit_listings"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16))
    # One live listing per entity: set while notified/objected/answered/listed, cleared when it ends.
    live_key: Mapped[int | None] = mapped_column(BigInt, unique=True)
    reasons: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    rights: Mapped[str] = mapped_column(Text)
    notified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    objection_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    objection: Mapped[str | None] = mapped_column(Text)
    objected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    objection_upheld: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    listed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    repair_after_days: Mapped[int] = mapped_column(Integer)
    rectification: Mapped[str | None] = mapped_column(Text)
    repaired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(120))


# ---------------------------------------------------------------- what the registry records for the rules


class VillageCadre(Base):
    """A village cadre's term (村两委成员, 第一书记): a registered person of the village from a day to a day (KIN)."""

    __tablename__ = "village_cadres"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    post: Mapped[str] = mapped_column(String(40))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)


class CadreKin(Base):
    """A household a cadre declared as kin (近亲属申报, KIN)."""

    __tablename__ = "cadre_kin"
    __table_args__ = (UniqueConstraint("cadre_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("village_cadres.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    relation: Mapped[str] = mapped_column(String(40))
    declared_on: Mapped[date] = mapped_column(Date)


class AccountHolder(Base):
    """The holder's name of a household's bank account (ACCOUNT). Personal data: kept out of the ledger in clear."""

    __tablename__ = "account_holders"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), unique=True)
    county_code: Mapped[str] = mapped_column(String(6))
    holder_name: Mapped[str] = mapped_column(String(60))
    recorded_on: Mapped[date] = mapped_column(Date)


class AssetStatusChange(Base):
    """An asset's status from a day on (idle, operating, leased, pledged, disposed), with the decision that allowed a
    lease, pledge or disposal (the executed matter, or a document reference) — DISPOSAL, NO_VALUATION."""

    __tablename__ = "asset_status_changes"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16))
    from_date: Mapped[date] = mapped_column(Date)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id"))
    decision_ref: Mapped[str] = mapped_column(String(200), default="")


class HouseholdSplit(Base):
    """A household split off another on a day (分户, DUPLICATE)."""

    __tablename__ = "household_splits"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), unique=True)  # the new household
    from_household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    split_on: Mapped[date] = mapped_column(Date)


class PvIncomeUse(Base):
    """A village's photovoltaic income of a year by use (PV_USE): public-welfare post wages, labour, public works,
    rewards, other."""

    __tablename__ = "pv_income_uses"
    __table_args__ = (UniqueConstraint("village_code", "year", "purpose"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12))
    county_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(24))  # post_wages | labour | public_works | rewards | other
    amount_fen: Mapped[int] = mapped_column(BigInt, comment="光伏收益用于该用途的金额（分） / amount in fen")


class Due(Base):
    """A due of an entity with its due date (应付日): a dividend, rent, interest, wage or repayment it owes, what it
    has paid against it and when (ARREARS)."""

    __tablename__ = "entity_dues"
    __table_args__ = (Index("ix_entity_dues_county_due_on", "county_code", "due_on"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    county_code: Mapped[str] = mapped_column(String(6))
    region_code: Mapped[str] = mapped_column(String(12))  # the payee's village (or the township)
    kind: Mapped[str] = mapped_column(String(24))  # dividend | rent | interest | wage | repayment | other
    due_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInt, comment="应付金额（分） / amount due in fen")
    paid_fen: Mapped[int] = mapped_column(BigInt, default=0, comment="已付金额（分） / amount paid in fen")
    paid_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200), default="")


class PremiumSubsidy(Base):
    """A premium subsidy (保费补贴) an entity applies for on an insurance policy: applied → approved → paid, or refused
    with reasons. An entity on the credit blacklist, or being listed, receives none (国办发〔2020〕49号)."""

    __tablename__ = "premium_subsidies"
    __table_args__ = (UniqueConstraint("policy_id", "year"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("insurance_policies.id"))
    county_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    premium_fen: Mapped[int] = mapped_column(BigInt, comment="保费（分） / premium in fen")
    subsidy_fen: Mapped[int] = mapped_column(BigInt, comment="申请补贴（分） / subsidy applied for in fen")
    status: Mapped[str] = mapped_column(String(16))  # applied | approved | refused | paid
    reason: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_ref: Mapped[str] = mapped_column(String(100), default="")


class PremiumSubsidyPayout(Base):
    """An approved premium subsidy put into the payment batch of the district's premium-subsidy matter that paid it
    (migration 0028): `subsidy_id` is unique, so the database itself keeps a subsidy in one batch at most. The
    batch's line to the entity (`payee_ref`, its credit code) pays all its subsidies in the batch; `line_id` is the
    line whose bank receipt settled it."""

    __tablename__ = "premium_subsidy_payouts"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    subsidy_id: Mapped[int] = mapped_column(ForeignKey("premium_subsidies.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    county_code: Mapped[str] = mapped_column(String(6))
    payee_ref: Mapped[str] = mapped_column(String(40))
    line_id: Mapped[int | None] = mapped_column(BigInt, ForeignKey("payment_lines.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProjectDebt(Base):
    """A project's debt in the risk register (R3.3): a loan, a payable or a guarantee, its creditor, the principal,
    what is still owed and when it falls due."""

    __tablename__ = "project_debts"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(16))  # loan | payable | guarantee | other
    creditor: Mapped[str] = mapped_column(String(200))
    principal_fen: Mapped[int] = mapped_column(BigInt, comment="本金（分） / principal in fen")
    outstanding_fen: Mapped[int] = mapped_column(BigInt, comment="未偿余额（分） / still owed in fen")
    due_on: Mapped[date | None] = mapped_column(Date)
    recorded_on: Mapped[date] = mapped_column(Date)
