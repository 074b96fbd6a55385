"""Models of the registry area: regions, households and people, entities, projects, assets, contracts, runs.

Every table that holds people or money carries `county_code` (the 6-digit GB/T 2260
county) so a deployment can shard by county. Money is integer fen (`*_fen`, BIGINT);
rates, units and days are exact decimal strings. Relationships are `lazy="raise"`:
a query that was not planned fails loudly instead of running silently.
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from daipin.db.base import Base, BigInt
from daipin.db.sealing import Sealed, install

FEN = "金额（分） / amount in fen"


def _money(comment: str, nullable: bool = False) -> Any:
    return mapped_column(BigInt, nullable=nullable, comment=comment)


class Setting(Base):
    """A district-wide setting, e.g. the market reference rate (`market_reference_rate` = LPR 1-year)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Region(Base):
    """District (6 digits) → township (9) → village (12), GB/T 2260 style."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # district | township | village
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    poor_village: Mapped[bool] = mapped_column(Boolean, default=False)
    key_village: Mapped[bool] = mapped_column(Boolean, default=False)
    county_code: Mapped[str] = mapped_column(String(6), index=True)


def _code(length: int) -> Any:
    """An identifier column: compared as bytes on PostgreSQL whatever the database's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Household(Base):
    """A registered household (建档立卡户). Phone and bank account are stored but always shown masked."""

    __tablename__ = "households"
    __table_args__ = (
        # household_no and village_code are identifiers compared as bytes (the "C" collation on PostgreSQL),
        # so the unique constraint's index serves equality, household-number order a page at a time, and
        # LIKE 'prefix%' alike. Below, a village's households in household-number order: a cadre's list and
        # searches walk only their village, a page at a time, instead of the whole registry's number order
        # filtered by village. On PostgreSQL the index also carries the ids, so counting a village's search hits
        # reads the index alone (migration 0027); other engines' secondary indexes hold the primary key anyway.
        Index("ix_households_village_code_household_no", "village_code", "household_no", postgresql_include=["id"]),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    household_no: Mapped[str] = mapped_column(_code(40), unique=True)
    village_code: Mapped[str] = mapped_column(_code(12))  # indexed with household_no, see above
    county_code: Mapped[str] = mapped_column(String(6))  # no index: no query selects households by county alone
    status: Mapped[str] = mapped_column(String(16))  # poor | monitored | exited | non_poor
    status_since: Mapped[date | None] = mapped_column(Date)
    exit_year: Mapped[int | None] = mapped_column(Integer)
    poverty_cause: Mapped[str | None] = mapped_column(String(100))
    labor: Mapped[str] = mapped_column(String(8), default="none")  # derived summary: full | weak | none
    # Sealed at rest (db/sealing.py): opened on load; searched by `phone_bidx`, the phone's blind index.
    phone: Mapped[str | None] = mapped_column(Sealed("households", "phone"))
    bank_account: Mapped[str | None] = mapped_column(Sealed("households", "bank_account"))
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    life_state: Mapped[str] = mapped_column(String(16), default="alive")  # alive | died_out | moved
    life_state_date: Mapped[date | None] = mapped_column(Date)

    people: Mapped[list[Person]] = relationship(back_populates="household", lazy="raise", order_by="Person.id")
    history: Mapped[list[HouseholdStatus]] = relationship(
        back_populates="household", lazy="raise", order_by="HouseholdStatus.from_date"
    )


class HouseholdStatus(Base):
    """One status of a household from a date on; eligibility as of a day is read from here."""

    __tablename__ = "household_status_history"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16))
    from_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")

    household: Mapped[Household] = relationship(back_populates="history", lazy="raise")


class Person(Base):
    """A member of a household. `id_number` is unique across the registry; `health_note` is never public."""

    __tablename__ = "people"
    __table_args__ = (
        # Search by the start of a name or of its pinyin initials (LIKE 'prefix%').
        Index("ix_people_name_pattern", "name", postgresql_ops={"name": "text_pattern_ops"}),
        # Initials are searched among household heads only (registry_views.search_households).
        Index("ix_people_name_initials", "name_initials", postgresql_ops={"name_initials": "text_pattern_ops"},
              postgresql_where=text("relation = '户主'"), sqlite_where=text("relation = '户主'")),
        # Unique ID numbers, by their blind index (the number itself is sealed). text_pattern_ops compares bytes:
        # the same equality, and a build (bulk imports rebuild it) that does not go through the collation.
        Index("uq_people_id_number_bidx", "id_number_bidx", unique=True,
              postgresql_ops={"id_number_bidx": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))  # no index: people are reached through their household
    name: Mapped[str] = mapped_column(String(60))
    # Pinyin initials of `name` (王小明 → wxm), kept by the registry services for search from a phone keyboard.
    name_initials: Mapped[str] = mapped_column(String(60), default="", server_default="")
    # Sealed at rest (db/sealing.py), opened on load; unique and searched by its blind index.
    id_number: Mapped[str] = mapped_column(Sealed("people", "id_number"))
    id_number_bidx: Mapped[str] = mapped_column(String(32))  # unique: see uq_people_id_number_bidx
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))  # M | F, derived from the ID number
    relation: Mapped[str] = mapped_column(String(16))  # 户主, 配偶, 子, 女, ...
    labor: Mapped[str] = mapped_column(String(8))  # full | weak | none
    life_state: Mapped[str] = mapped_column(String(16), default="alive")  # alive | deceased | moved
    life_state_date: Mapped[date | None] = mapped_column(Date)
    health_note: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household] = relationship(back_populates="people", lazy="raise")


class VillageRepresentative(Base):
    """One term of a village representative (村民代表): a registered person of the village, from a day to a day
    (`to_date` the last day served; none while serving). A 村民代表会议's number comes from this list."""

    __tablename__ = "village_representatives"
    __table_args__ = (Index("ix_village_representatives_village_from", "village_code", "from_date"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12))
    county_code: Mapped[str] = mapped_column(String(6))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(String(200), default="")


class Entity(Base):
    """An implementing entity (实施主体) with its USCC and credit standing."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))  # enterprise | cooperative | family_farm | village_collective
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    legal_representative: Mapped[str] = mapped_column(String(60))
    region_code: Mapped[str | None] = mapped_column(String(12))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    credit_status: Mapped[str] = mapped_column(String(16), default="normal")  # normal | warned | blacklisted
    credit_since: Mapped[date | None] = mapped_column(Date)
    credit_reason: Mapped[str | None] = mapped_column(String(400))
    # The account the district pays the entity's premium subsidies into (migration 0028): sealed at rest as a
    # household's is (db/sealing.py), shown masked, in clear only in the file for the bank.
    bank_account: Mapped[str | None] = mapped_column(Sealed("entities", "bank_account"))

    policies: Mapped[list[InsurancePolicy]] = relationship(back_populates="entity", lazy="raise")


class InsurancePolicy(Base):
    """A commercial insurance policy an entity holds (R3.3): for one asset it names, or (no asset) for all it
    operates, with its kind and insured sum (both empty on policies recorded before they were asked)."""

    __tablename__ = "insurance_policies"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    insurer: Mapped[str] = mapped_column(String(200))
    policy_no: Mapped[str] = mapped_column(String(64))
    coverage: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # vocabulary INSURANCE_KIND
    insured_sum_fen: Mapped[int | None] = mapped_column(BigInt, comment="保险金额（分） / insured sum in fen")

    entity: Mapped[Entity] = relationship(back_populates="policies", lazy="raise")


class Project(Base):
    """A poverty-alleviation industrial project (扶贫产业项目)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))  # 特色种养业, 农副产品加工业, ...
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    township_code: Mapped[str] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    expected_return: Mapped[str | None] = mapped_column(String(24))  # exact decimal string, e.g. "0.06"
    status: Mapped[str] = mapped_column(String(16), default="operating")
    start_year: Mapped[int | None] = mapped_column(Integer)

    funding: Mapped[list[FundingSource]] = relationship(back_populates="project", lazy="raise")


class FundingSource(Base):
    """One source of a project's money."""

    __tablename__ = "funding_sources"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    source: Mapped[str] = mapped_column(String(40))  # 财政扶贫资金, 涉农整合资金, 扶贫贷款, 社会帮扶, 自筹
    amount_fen: Mapped[int] = _money("资金金额（分） / amount in fen")

    project: Mapped[Project] = relationship(back_populates="funding", lazy="raise")


class ProfitRecord(Base):
    """A project's audited profit and the cash it has to pay with, for one period."""

    __tablename__ = "profit_records"
    __table_args__ = (UniqueConstraint("project_id", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    profit_fen: Mapped[int] = _money("经审计利润（分），可为负 / audited profit in fen, may be negative")
    cash_available_fen: Mapped[int | None] = _money("可用于兑付的现金（分） / cash available in fen", nullable=True)
    audit_ref: Mapped[str] = mapped_column(String(200), default="")


class Asset(Base):
    """A project asset (扶贫项目资产): operating, public or household kind."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # operating | public | household
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    value_fen: Mapped[int] = _money("资产原值（分） / book value in fen")
    owner_region_code: Mapped[str | None] = mapped_column(String(12))
    owner_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    operator_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    status: Mapped[str] = mapped_column(String(16), default="in_use")  # a code of vocabulary.ASSET_STATUS (in_use, idle, …)
    county_code: Mapped[str] = mapped_column(String(6), index=True)

    valuations: Mapped[list[AssetValuation]] = relationship(
        back_populates="asset", lazy="raise", order_by="AssetValuation.valued_on"
    )


class AssetValuation(Base):
    """A third-party valuation of an asset (required before shares are issued, R3.3)."""

    __tablename__ = "asset_valuations"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    valuer: Mapped[str] = mapped_column(String(200))
    valued_on: Mapped[date] = mapped_column(Date)
    value_fen: Mapped[int] = _money("评估价值（分） / appraised value in fen")
    report_ref: Mapped[str] = mapped_column(String(200))

    asset: Mapped[Asset] = relationship(back_populates="valuations", lazy="raise")


class Contract(Base):
    """A benefit-linkage contract (利益联结协议); `terms` are checked per `model` by `domain.contracts`.

    The payee is a household or a village. `share_status` applies to shareholding:
    active, pending_reassignment (a quantified-fund share whose household left), transferred.
    """

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    model: Mapped[str] = mapped_column(String(24))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    payee_household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    # Indexed (migration 0027): a township's or village's contracts are found by their payees.
    payee_village_code: Mapped[str | None] = mapped_column(String(12), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), default="active")  # active | terminated | pending_reassignment
    version: Mapped[int] = mapped_column(Integer, default=1)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    signed_on: Mapped[date | None] = mapped_column(Date)
    county_code: Mapped[str] = mapped_column(String(6), index=True)

    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", lazy="raise", order_by="ContractVersion.version"
    )


class ContractVersion(Base):
    """Every version of a contract, the first included; an amendment adds one.

    `effective_from` is the day the version is in force from: the first version's from the contract's start, a
    later one's from the day its change takes effect (an amendment's chosen date, a reassignment's, an heir
    transfer's or a termination's `on`, the event that freed a quantified share). A period reads each contract
    as its latest version in force on the period's last day.
    """

    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24))
    payee_household_id: Mapped[int | None] = mapped_column(BigInt)
    payee_village_code: Mapped[str | None] = mapped_column(String(12))
    effective_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(400), default="")
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    contract: Mapped[Contract] = relationship(back_populates="versions", lazy="raise")


class WorkRecord(Base):
    """Days worked: for an employment contract (wages the entity owes) or on a public-welfare post (village pays)."""

    __tablename__ = "work_records"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # employment | public_welfare_post
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    post: Mapped[str | None] = mapped_column(String(40))  # 保洁 治安 护路 管水 扶残助残 养老护理
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    days: Mapped[str] = mapped_column(String(16))  # exact decimal string
    daily_wage_fen: Mapped[int | None] = _money("日工资（分） / daily wage in fen", nullable=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)


class ContributionRecord(Base):
    """Contribution points a household earned in a village in a year (R2.3 tiered allocation)."""

    __tablename__ = "contribution_records"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    year: Mapped[int] = mapped_column(Integer)
    points: Mapped[str] = mapped_column(String(16))  # exact decimal string
    reason: Mapped[str] = mapped_column(String(200), default="")
    county_code: Mapped[str] = mapped_column(String(6))


class AllocationPlan(Base):
    """A village's income allocation plan for a year (buckets per ENGINE.md village_allocation)."""

    __tablename__ = "allocation_plans"
    __table_args__ = (UniqueConstraint("village_code", "year"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(Integer)
    pool_fen: Mapped[int] = _money("可分配收益（分） / income pool in fen")
    buckets: Mapped[list[Any]] = mapped_column(JSON)
    cap_per_household_fen: Mapped[int | None] = _money("每户上限（分） / per-household cap in fen", nullable=True)
    eligible_statuses: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    county_code: Mapped[str] = mapped_column(String(6), index=True)


class Run(Base):
    """A stored calculation: the exact input document, the output, their sha256 digests, who and when."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # settlement | village_allocation | district_allocation | liquidation
    subject: Mapped[str] = mapped_column(String(40), index=True)  # project code or village code
    year: Mapped[int] = mapped_column(Integer)
    input_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    output_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_digest: Mapped[str] = mapped_column(String(64))
    output_digest: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ledger_index: Mapped[int | None] = mapped_column(BigInt)
    county_code: Mapped[str] = mapped_column(String(6), index=True)


install(Household, Person, Entity)  # seal ID numbers, phones and bank accounts on flush
