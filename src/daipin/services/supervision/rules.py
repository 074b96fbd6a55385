"""The red-flag rules (SUPERVISION.md) as set-based queries: each rule is one SELECT over the district's rows.

Every query yields the same columns: `subject` (the ledger subject the finding is about, e.g. `project:P-001`),
`region` (its most precise region code), `ev_table` and `ev_id` (one evidence row; a subject with several yields
several rows) and `detail` (a short fact shown in the summary). The scan groups the rows by subject; no rule walks
the registry row by row in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select, Subquery

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.obligations import RetainedDividend
from daipin.db.models.registry import (
    Asset,
    AssetValuation,
    Contract,
    Entity,
    FundingSource,
    Household,
    HouseholdStatus,
    InsurancePolicy,
    Person,
    Project,
    Run,
)
from daipin.db.models.supervision import (
    AccountHolder,
    AssetStatusChange,
    CadreKin,
    Due,
    HouseholdSplit,
    PvIncomeUse,
    VillageCadre,
)
from daipin.db.models.workflow import Matter, MatterEvent, Notice, Objection, PaymentBatch, PaymentLine
from daipin.domain.vocabulary import ELIGIBLE_STATUSES

# Funds that make a project a poverty-fund project (NO_LINK): the public money, not own money or social help.
POVERTY_FUNDS = ("财政扶贫资金", "涉农整合资金", "扶贫贷款")
# Asset statuses that need an approved decision (DISPOSAL).
DECIDED_STATUSES = ("leased", "pledged", "disposed")
# Uses of PV income the policy wants most of it spent on (PV_USE).
PV_LABOUR_USES = ("post_wages", "labour")
PV_PURPOSES = ("post_wages", "labour", "public_works", "rewards", "other")
EXECUTED_STATES = ("executed", "archived")


@dataclass(frozen=True)
class Context:
    """What every rule query is given: the district, the day the scan is about, the thresholds, the dialect."""

    county: str
    today: date
    thresholds: dict[str, str]
    reference_rate: Decimal
    min_notice_days: int
    dialect: str

    def days(self, key: str) -> int:
        return int(self.thresholds[key])

    def share_bp(self, key: str) -> int:
        """A share threshold in basis points (0.30 → 3000), compared with integer counts in SQL."""
        return int(Decimal(self.thresholds[key]) * 10000)


def _s(prefix: str, col: Any) -> ColumnElement[str]:
    return (literal(prefix) + cast(col, String)).label("subject")


def _cols(subject: ColumnElement[str], region: Any, table: str, ev_id: Any, detail: Any) -> list[Any]:
    return [subject, cast(region, String).label("region"), literal(table).label("ev_table"),
            cast(ev_id, Integer).label("ev_id"), cast(detail, String).label("detail")]


def _paid_day(ctx: Context) -> ColumnElement[Any]:
    """A payment line's day of payment in Beijing (the day eligibility is judged on)."""
    if ctx.dialect == "postgresql":
        return cast(func.timezone("Asia/Shanghai", PaymentLine.paid_at), Date)
    if ctx.dialect in ("mysql", "mariadb"):  # MariaDB, OceanBase, TiDB: times stored as UTC DATETIME(6)
        return func.date(func.timestampadd(text("HOUR"), 8, PaymentLine.paid_at))
    return func.date(PaymentLine.paid_at, "+8 hours")


def _day(ctx: Context, col: Any) -> ColumnElement[Any]:
    """A stored UTC time's day (SQLite keeps times as text: CAST would read only the year)."""
    return cast(col, Date) if ctx.dialect == "postgresql" else func.date(col)


def _paid_lines(ctx: Context) -> list[ColumnElement[bool]]:
    return [PaymentLine.county_code == ctx.county, PaymentLine.status == "paid", PaymentLine.household_id.is_not(None)]


# ---------------------------------------------------------------- the rules


def flat(ctx: Context) -> Select[Any]:
    """FLAT: an executed allocation whose result carries the flat-distribution warning (泛福利化)."""
    return select(*_cols(_s("matter:", Matter.id), Matter.region_code, "matters", Matter.id, Matter.title)).where(
        Matter.county_code == ctx.county, Matter.state.in_(EXECUTED_STATES),
        Matter.kind.in_(("village_allocation", "district_allocation")),
        cast(Matter.warnings, String).like('%"flat_distribution"%'))


def _day_begins(ctx: Context, day: Any) -> Any:
    """The instant Beijing day `day` begins, in the form the lines' payment times are compared with: on PostgreSQL a
    time (worked out once per day row, so the lines' times are not converted one by one); on SQLite the day."""
    return func.timezone("Asia/Shanghai", cast(day, DateTime)) if ctx.dialect == "postgresql" else day


def _paid_key(ctx: Context) -> Any:
    """A payment line's time of payment, as `_day_begins` values are compared with."""
    return PaymentLine.paid_at if ctx.dialect == "postgresql" else _paid_day(ctx)


def confirmed_roster_entries(ctx: Context) -> Subquery:
    """Every household number on the district's confirmed beneficiary rosters (收益扶贫对象名单), by village and year:
    the latest executed or archived roster matter of each village and year, its document's households read by the
    database (`json_to_recordset` on PostgreSQL, `JSON_TABLE` on MariaDB, MySQL and OceanBase, `json_each` on
    SQLite). A household number is compared as text whether the document holds it as a string or a number."""
    if ctx.dialect == "postgresql":
        explode, number = "json_to_recordset(m.document -> 'households') AS e(id text)", "e.id"
    elif ctx.dialect in ("mysql", "mariadb"):
        # JSON_TABLE reads the columns of the tables before it in the FROM list (an implicit LATERAL).
        explode = ("JSON_TABLE(m.document, '$.households[*]' COLUMNS (id VARCHAR(64) PATH '$.id')) AS e")
        number = "e.id"
    else:
        explode, number = "json_each(m.document, '$.households') AS e", "json_extract(e.value, '$.id')"
    states = ", ".join(f"'{s}'" for s in EXECUTED_STATES)
    sql = (f"SELECT m.region_code AS village, m.year AS year, {number} AS household_no FROM ("
           "SELECT region_code, year, document, row_number() OVER (PARTITION BY region_code, year ORDER BY id DESC)"
           " AS n FROM matters WHERE county_code = :county AND kind = 'beneficiary_roster'"
           f" AND state IN ({states}) AND year IS NOT NULL) AS m, {explode} WHERE m.n = 1")
    return (text(sql).bindparams(county=ctx.county)
            .columns(village=String, year=Integer, household_no=String).subquery("roster"))


def ineligible(ctx: Context) -> Select[Any]:
    """INELIGIBLE: a line paid to a household whose status on the payment day was not eligible (or that had no
    status yet), whose members had all died by then, or, for a village allocation of a year, that is not on the
    village's confirmed beneficiary roster of that year (违规发放). The status history is read as intervals (each
    status until the next one's day) and the rosters as their households, each joined to the lines once."""
    h = HouseholdStatus
    until = func.lead(h.from_date).over(partition_by=h.household_id, order_by=(h.from_date, h.id))
    intervals = (select(h.household_id, h.status, _day_begins(ctx, h.from_date).label("since"),
                        _day_begins(ctx, until).label("until"))
                 .where(h.county_code == ctx.county).subquery())
    # Households whose members have all died, and the day the last one did (only households with a death are read).
    died = (select(Person.household_id).where(Person.county_code == ctx.county, Person.life_state == "deceased")
            .distinct().subquery())
    dead = (select(Person.household_id, _day_begins(ctx, func.max(Person.life_state_date)).label("since"))
            .join(died, died.c.household_id == Person.household_id)
            .group_by(Person.household_id)
            .having(func.sum(case((and_(Person.life_state == "deceased", Person.life_state_date.is_not(None)), 0),
                                  else_=1)) == 0).subquery())
    # The village allocations of a year among the district's payment batches (a handful of rows, joined once).
    allocations = (select(PaymentBatch.id.label("batch_id"), Matter.region_code.label("village"),
                          Matter.year.label("year"))
                   .join(Matter, Matter.id == PaymentBatch.matter_id)
                   .where(PaymentBatch.county_code == ctx.county, Matter.kind == "village_allocation",
                          Matter.year.is_not(None)).subquery())
    roster = confirmed_roster_entries(ctx)
    paid = _paid_key(ctx)
    not_eligible = or_(intervals.c.status.is_(None), intervals.c.status.not_in(ELIGIBLE_STATUSES))
    died_out = and_(dead.c.since.is_not(None), paid >= dead.c.since)
    on_roster = and_(roster.c.village == allocations.c.village, roster.c.year == allocations.c.year,
                     roster.c.household_no == PaymentLine.payee_ref)
    # On the MySQL dialects the roster is asked as NOT EXISTS: OceanBase returns no row of the roster's JSON_TABLE
    # through the outer join among the others here (alone it does), so every line would look off the roster.
    mysql = ctx.dialect in ("mysql", "mariadb")
    missing = (not_(exists().select_from(roster).where(on_roster)) if mysql else roster.c.household_no.is_(None))
    off_roster = and_(allocations.c.batch_id.is_not(None), missing)
    why = case((not_eligible, func.coalesce(intervals.c.status, "unregistered")), (died_out, "died_out"),
               else_="not_on_roster")
    query = (select(*_cols(_s("payment_line:", PaymentLine.id), Household.village_code, "payment_lines",
                           PaymentLine.id, why))
             .join(Household, Household.id == PaymentLine.household_id)
             .outerjoin(intervals, and_(intervals.c.household_id == PaymentLine.household_id,
                                        paid >= intervals.c.since,
                                        or_(intervals.c.until.is_(None), paid < intervals.c.until)))
             .outerjoin(dead, dead.c.household_id == PaymentLine.household_id)
             .outerjoin(allocations, allocations.c.batch_id == PaymentLine.batch_id))
    if not mysql:
        query = query.outerjoin(roster, on_roster)
    return query.where(*_paid_lines(ctx), or_(not_eligible, died_out, off_roster))


def duplicate(ctx: Context) -> Select[Any]:
    """DUPLICATE: a household split off less than the set days before a beneficiary roster of its village was
    executed (分户拆户); one household paid twice in one batch, and a contract's period paid twice by two batches
    (重复享受, `period_paid_twice`)."""
    ev = aliased(MatterEvent)
    roster = (select(Matter.region_code.label("village"), _day(ctx, ev.at).label("on"), Matter.id.label("mid"))
              .join(ev, and_(ev.matter_id == Matter.id, ev.to_state == "executed"))
              .where(Matter.county_code == ctx.county, Matter.kind == "beneficiary_roster").subquery())
    split_day = HouseholdSplit.split_on
    days = ctx.days("duplicate_split_days")
    if ctx.dialect == "postgresql":
        window = roster.c.on - split_day
    elif ctx.dialect in ("mysql", "mariadb"):
        window = func.datediff(roster.c.on, split_day)
    else:
        window = cast(func.julianday(roster.c.on) - func.julianday(split_day), Integer)
    splits = (select(*_cols(_s("household:", Household.household_no), Household.village_code, "household_splits",
                            HouseholdSplit.id, literal("split")))
              .join(Household, Household.id == HouseholdSplit.household_id)
              .join(roster, roster.c.village == Household.village_code)
              .where(HouseholdSplit.county_code == ctx.county, split_day <= roster.c.on, window <= days))
    # A household paid twice in one batch: the batch's unique key lets a payee in twice only as a retry (a later
    # attempt) or on lines older than attempts (NULL); only those lines are looked at, each against the others.
    other = aliased(PaymentLine)
    twice = (select(PaymentLine.batch_id.label("batch_id"), PaymentLine.household_id.label("household_id"))
             .join(other, and_(other.batch_id == PaymentLine.batch_id, other.payee_type == PaymentLine.payee_type,
                               other.payee_ref == PaymentLine.payee_ref, other.id != PaymentLine.id,
                               other.status == "paid"))
             .where(*_paid_lines(ctx), PaymentLine.payee_type == "household",
                    or_(PaymentLine.attempt > 1, PaymentLine.attempt.is_(None)))
             .distinct().subquery())
    paid_twice = (select(*_cols(_s("household:", Household.household_no), Household.village_code, "payment_batches",
                                twice.c.batch_id, literal("paid_twice")))
                  .join(Household, Household.id == twice.c.household_id))
    return union_all(splits, paid_twice, period_paid_twice(ctx))  # type: ignore[return-value]


# A payment line that has paid or still may pay (a failed line's retry is a line of its own; a written-off or
# requeued one pays nothing).
LIVE_LINE_STATUSES = ("pending", "sent", "paid")


def settled_contract_lines(ctx: Context) -> Any:
    """Every contract line a payment batch of the district pays: the batch, its settlement run's period (ISO dates as
    text, which compare as the dates do) and each line of the run's output with the contract, its payee and what it
    pays, read by the database (`json_to_recordset` on PostgreSQL, `JSON_TABLE` on MariaDB, MySQL and OceanBase,
    `json_each` on SQLite)."""
    if ctx.dialect == "postgresql":
        start, end = "s.input_json -> 'period' ->> 'start'", "s.input_json -> 'period' ->> 'end'"
        explode = "json_to_recordset(s.output_json -> 'lines') AS e(contract text, payee text, paid_fen bigint)"
        contract, payee, paid = "e.contract", "e.payee", "e.paid_fen"
    elif ctx.dialect in ("mysql", "mariadb"):
        start, end = "JSON_VALUE(s.input_json, '$.period.start')", "JSON_VALUE(s.input_json, '$.period.end')"
        explode = ("JSON_TABLE(s.output_json, '$.lines[*]' COLUMNS (contract VARCHAR(64) PATH '$.contract',"
                   " payee VARCHAR(64) PATH '$.payee', paid_fen BIGINT PATH '$.paid_fen')) AS e")
        contract, payee, paid = "e.contract", "e.payee", "e.paid_fen"
    else:
        start, end = "json_extract(s.input_json, '$.period.start')", "json_extract(s.input_json, '$.period.end')"
        explode = "json_each(s.output_json, '$.lines') AS e"
        contract, payee, paid = ("json_extract(e.value, '$.contract')", "json_extract(e.value, '$.payee')",
                                 "json_extract(e.value, '$.paid_fen')")
    sql = (f"SELECT s.batch_id AS batch_id, {start} AS period_start, {end} AS period_end, {contract} AS contract,"
           f" {payee} AS payee FROM (SELECT b.id AS batch_id, r.input_json, r.output_json FROM payment_batches b"
           " JOIN runs r ON r.id = b.run_id WHERE b.county_code = :county AND r.kind = 'settlement') AS s,"
           f" {explode} WHERE {paid} > 0")
    return (text(sql).bindparams(county=ctx.county)
            .columns(batch_id=Integer, period_start=String, period_end=String, contract=String, payee=String))


def period_paid_twice(ctx: Context) -> Select[Any]:
    """DUPLICATE, a contract period paid twice (重复享受): a payee's line of a contract in one batch, paid or still
    to be paid, while another batch pays the same payee on the same contract for a period that overlaps (two
    settlements of one project's year, each executed and paid). Every such line is evidence, on both sides."""
    settled = settled_contract_lines(ctx).cte("settled")
    mine, theirs = settled.alias("mine"), settled.alias("theirs")
    other = aliased(PaymentLine)
    overlapping = exists().select_from(theirs).where(
        theirs.c.contract == mine.c.contract, theirs.c.payee == mine.c.payee, theirs.c.batch_id != mine.c.batch_id,
        theirs.c.period_start <= mine.c.period_end, mine.c.period_start <= theirs.c.period_end,
        exists().where(other.batch_id == theirs.c.batch_id, other.payee_ref == theirs.c.payee,
                       other.status.in_(LIVE_LINE_STATUSES)))
    return (select(*_cols(_s("contract:", mine.c.contract), func.coalesce(Household.village_code, PaymentLine.payee_ref),
                          "payment_lines", PaymentLine.id,
                          literal("period_paid_twice:") + mine.c.period_start + literal("~") + mine.c.period_end))
            .join(mine, and_(mine.c.batch_id == PaymentLine.batch_id, mine.c.payee == PaymentLine.payee_ref))
            .outerjoin(Household, Household.id == PaymentLine.household_id)
            .where(PaymentLine.county_code == ctx.county, PaymentLine.status.in_(LIVE_LINE_STATUSES), overlapping))


def kin(ctx: Context) -> Select[Any]:
    """KIN: a line paid to a serving cadre's own household or to a household the cadre declared as kin."""
    day = _paid_day(ctx)
    cadre_person = aliased(Person)
    serving = and_(VillageCadre.from_date <= day, or_(VillageCadre.to_date.is_(None), VillageCadre.to_date >= day))
    own = (select(*_cols(_s("payment_line:", PaymentLine.id), Household.village_code, "village_cadres",
                         VillageCadre.id, literal("own")))
           .join(Household, Household.id == PaymentLine.household_id)
           .join(cadre_person, cadre_person.household_id == PaymentLine.household_id)
           .join(VillageCadre, VillageCadre.person_id == cadre_person.id)
           .where(*_paid_lines(ctx), serving))
    declared = (select(*_cols(_s("payment_line:", PaymentLine.id), Household.village_code, "cadre_kin", CadreKin.id,
                              CadreKin.relation))
                .join(Household, Household.id == PaymentLine.household_id)
                .join(CadreKin, CadreKin.household_id == PaymentLine.household_id)
                .join(VillageCadre, VillageCadre.id == CadreKin.cadre_id)
                .where(*_paid_lines(ctx), serving))
    return union_all(own, declared)  # type: ignore[return-value]


def idle(ctx: Context) -> Select[Any]:
    """IDLE: a retained dividend received but not allocated, or a line allocated but not paid, for longer than the
    set days (资金闲置、滞留)."""
    since = ctx.today - timedelta(days=ctx.days("idle_days"))
    retained = (select(*_cols(_s("village:", RetainedDividend.village_code), RetainedDividend.village_code,
                              "retained_dividends", RetainedDividend.id, RetainedDividend.amount_fen))
                .join(Run, Run.id == RetainedDividend.run_id)
                .where(RetainedDividend.county_code == ctx.county, RetainedDividend.allocation_year.is_(None),
                       _day(ctx, Run.at) < since))
    unpaid = (select(*_cols(_s("payment_batch:", PaymentBatch.id), Matter.region_code, "payment_lines",
                            PaymentLine.id, PaymentLine.amount_fen))
              .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
              .join(Matter, Matter.id == PaymentBatch.matter_id)
              .where(PaymentLine.county_code == ctx.county, PaymentLine.status.in_(("pending", "sent", "failed")),
                     _day(ctx, PaymentBatch.created_at) < since))
    return union_all(retained, unpaid)  # type: ignore[return-value]


def arrears(ctx: Context) -> Select[Any]:
    """ARREARS: an entity's due not paid in full more than the set days after its due date (拖欠)."""
    late = ctx.today - timedelta(days=ctx.days("arrears_days"))
    return (select(*_cols(_s("entity:", Entity.uscc), Due.region_code, "entity_dues", Due.id,
                          cast(Due.amount_fen - Due.paid_fen, String)))
            .join(Entity, Entity.id == Due.entity_id)
            .where(Due.county_code == ctx.county, Due.due_on < late, Due.paid_fen < Due.amount_fen))


def no_link(ctx: Context) -> Select[Any]:
    """NO_LINK: a project holding poverty funds or assets with no benefit-linkage contract in force today."""
    funded = exists().where(FundingSource.project_id == Project.id, FundingSource.source.in_(POVERTY_FUNDS))
    has_asset = exists().where(Asset.project_id == Project.id, Asset.status != "disposed")
    linked = exists().where(Contract.project_id == Project.id, Contract.status == "active",
                            Contract.start_date <= ctx.today, Contract.end_date >= ctx.today)
    return select(*_cols(_s("project:", Project.code), func.coalesce(Project.village_code, Project.township_code),
                         "projects", Project.id, Project.name)).where(
        Project.county_code == ctx.county, Project.status != "closed", or_(funded, has_asset), not_(linked))


def concentration(ctx: Context) -> Select[Any]:
    """CONCENTRATION: one entity carrying more than the set share of a township's households linked by contracts in
    force today. The contracts in force are read once, as distinct (entity, household) pairs with the household's
    township; both counts are taken from those pairs (no COUNT DISTINCT, which sorts)."""
    township = func.substr(Household.village_code, 1, 9)
    pairs = (select(Contract.entity_id.label("entity_id"), Contract.payee_household_id.label("household_id"))
             .where(Contract.county_code == ctx.county, Contract.status == "active", Contract.start_date <= ctx.today,
                    Contract.end_date >= ctx.today, Contract.payee_household_id.is_not(None))
             .group_by(Contract.entity_id, Contract.payee_household_id).subquery())
    linked = (select(pairs.c.entity_id, pairs.c.household_id, township.label("township"))
              .join(Household, Household.id == pairs.c.household_id).cte("linked"))
    per_entity = (select(linked.c.entity_id, linked.c.township, func.count().label("n"))
                  .group_by(linked.c.entity_id, linked.c.township).subquery())
    households = select(linked.c.household_id, linked.c.township).group_by(linked.c.household_id,
                                                                          linked.c.township).subquery()
    per_township = (select(households.c.township, func.count().label("n"))
                    .group_by(households.c.township).subquery())
    subject = (literal("entity:") + Entity.uscc + literal("@") + per_entity.c.township).label("subject")
    return (select(*_cols(subject, per_entity.c.township, "entities", Entity.id,
                          cast(per_entity.c.n, String) + literal("/") + cast(per_township.c.n, String)))
            .join(per_township, per_township.c.township == per_entity.c.township)
            .join(Entity, Entity.id == per_entity.c.entity_id)
            .where(per_entity.c.n * 10000 > per_township.c.n * ctx.share_bp("concentration_share")))


def no_insurance(ctx: Context) -> Select[Any]:
    """NO_INSURANCE, per asset: an operating asset of a poverty project, operated by an entity, with no policy in
    force today that covers it: one naming the asset, or one of its operator's naming no asset (a policy for all
    it operates). A policy naming another asset does not cover this one."""
    insured = exists().where(InsurancePolicy.entity_id == Asset.operator_entity_id,
                             or_(InsurancePolicy.asset_id == Asset.id, InsurancePolicy.asset_id.is_(None)),
                             InsurancePolicy.valid_from <= ctx.today, InsurancePolicy.valid_to >= ctx.today)
    return (select(*_cols(_s("asset:", Asset.code), func.coalesce(Asset.owner_region_code, Entity.region_code,
                                                                   Asset.county_code),
                          "assets", Asset.id, Entity.uscc))
            .join(Entity, Asset.operator_entity_id == Entity.id)
            .where(Asset.county_code == ctx.county, Asset.kind == "operating", Asset.status != "disposed",
                   not_(insured)))


def no_valuation(ctx: Context) -> Select[Any]:
    """NO_VALUATION: an asset-income contract (equity, lease, interest) or a quantified-fund share in force on a
    project whose operating asset has no third-party valuation made by the contract's start (资产折股量化)."""
    valued = exists().where(AssetValuation.asset_id == Asset.id, AssetValuation.valued_on <= Contract.start_date)
    share_kind = Contract.terms["contribution_kind"].as_string()
    gated = or_(Contract.model.in_(("equity_dividend", "asset_lease", "fixed_interest")),
                and_(Contract.model == "shareholding", share_kind == "quantified_fund"))
    return (select(*_cols(_s("contract:", Contract.code), func.coalesce(Contract.payee_village_code,
                                                                         Household.village_code),
                          "assets", Asset.id, Asset.code))
            .join(Asset, and_(Asset.project_id == Contract.project_id, Asset.kind == "operating"))
            .outerjoin(Household, Household.id == Contract.payee_household_id)
            .where(Contract.county_code == ctx.county, Contract.status == "active", gated, not_(valued)))


def disposal(ctx: Context) -> Select[Any]:
    """DISPOSAL: an asset leased, pledged or disposed of without an approved decision: a recorded status change
    naming no executed matter and no decision, or a status no executed matter's entry gave it (非法处置)."""
    executed = exists().where(Matter.id == AssetStatusChange.matter_id, Matter.state.in_(EXECUTED_STATES))
    recorded = (select(*_cols(_s("asset:", Asset.code), func.coalesce(Asset.owner_region_code, Asset.county_code),
                              "asset_status_changes", AssetStatusChange.id, AssetStatusChange.status))
                .join(Asset, Asset.id == AssetStatusChange.asset_id)
                .where(AssetStatusChange.county_code == ctx.county,
                       AssetStatusChange.status.in_(DECIDED_STATUSES),
                       not_(executed), AssetStatusChange.decision_ref == ""))
    decided = exists().where(LedgerEntry.subject == literal("asset:") + Asset.code, LedgerEntry.type == "asset.status")
    current = (select(*_cols(_s("asset:", Asset.code), func.coalesce(Asset.owner_region_code, Asset.county_code),
                             "assets", Asset.id, Asset.status))
               .where(Asset.county_code == ctx.county, Asset.status.in_(DECIDED_STATUSES), not_(decided)))
    return union_all(recorded, current)  # type: ignore[return-value]


def return_band(ctx: Context) -> Select[Any]:
    """RETURN: a project's expected annual return below the reference rate or above the plausible ceiling."""
    rate = cast(Project.expected_return, Numeric(12, 6))
    return select(*_cols(_s("project:", Project.code), func.coalesce(Project.village_code, Project.township_code),
                         "projects", Project.id, Project.expected_return)).where(
        Project.county_code == ctx.county, Project.expected_return.is_not(None),
        or_(rate < ctx.reference_rate, rate > Decimal(ctx.thresholds["return_ceiling"])))


def account(ctx: Context) -> Select[Any]:
    """ACCOUNT: a line paid to a household whose account's recorded holder is no member of the household."""
    member = exists().where(Person.household_id == PaymentLine.household_id, Person.name == AccountHolder.holder_name)
    return (select(*_cols(_s("payment_line:", PaymentLine.id), Household.village_code, "account_holders",
                          AccountHolder.id, literal("holder")))
            .join(Household, Household.id == PaymentLine.household_id)
            .join(AccountHolder, AccountHolder.household_id == PaymentLine.household_id)
            .where(*_paid_lines(ctx), not_(member)))


def notice(ctx: Context) -> Select[Any]:
    """NOTICE: a payment batch whose matter had no notice, a notice shorter than the minimum, or an objection still
    open."""
    any_notice = exists().where(Notice.matter_id == Matter.id, Notice.status != "withdrawn")
    short = exists().where(Notice.matter_id == Matter.id, Notice.status != "withdrawn",
                           Notice.window_days < ctx.min_notice_days)
    open_objection = exists().where(Objection.matter_id == Matter.id, Objection.status == "open")
    why = case((not_(any_notice), "no_notice"), (short, "short_notice"), else_="open_objection")
    return (select(*_cols(_s("payment_batch:", PaymentBatch.id), Matter.region_code, "matters", Matter.id, why))
            .join(Matter, Matter.id == PaymentBatch.matter_id)
            .where(PaymentBatch.county_code == ctx.county, or_(not_(any_notice), short, open_objection)))


def pv_use(ctx: Context) -> Select[Any]:
    """PV_USE: a village's photovoltaic income of a year of which less than the set share went to public-welfare
    post wages and labour."""
    labour = func.sum(case((PvIncomeUse.purpose.in_(PV_LABOUR_USES), PvIncomeUse.amount_fen), else_=0))
    total = func.sum(PvIncomeUse.amount_fen)
    subject = (literal("village:") + PvIncomeUse.village_code + literal("@") + cast(PvIncomeUse.year, String))
    columns: list[Any] = [subject.label("subject"), PvIncomeUse.village_code.label("region"),
                          literal("pv_income_uses").label("ev_table"), func.min(PvIncomeUse.id).label("ev_id"),
                          (cast(labour, String) + literal("/") + cast(total, String)).label("detail")]
    return (select(*columns)
            .where(PvIncomeUse.county_code == ctx.county)
            .group_by(PvIncomeUse.village_code, PvIncomeUse.year)
            .having(total > 0, labour * 10000 < total * ctx.share_bp("pv_use_share")))


QUERIES: dict[str, Callable[[Context], Select[Any]]] = {
    "FLAT": flat, "INELIGIBLE": ineligible, "DUPLICATE": duplicate, "KIN": kin, "IDLE": idle, "ARREARS": arrears, "NO_LINK": no_link,
    "CONCENTRATION": concentration, "NO_INSURANCE": no_insurance, "NO_VALUATION": no_valuation,
    "DISPOSAL": disposal, "RETURN": return_band, "ACCOUNT": account, "NOTICE": notice, "PV_USE": pv_use,
}
