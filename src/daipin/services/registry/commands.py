"""The typed inputs of the registry's writes an official makes — a household with its members, a member, a status
change, a death, a move, an entity, a project with its funding, a profit, an asset and a valuation — shared by
the API (its bodies) and the pages (their forms), and their handling: each hands its values to the one registry
or dynamic-management service that checks them (an `InputError` naming the field), asks the access policy and
writes the ledger entry. The command checks only shapes; every rule is the service's.

A form names its fields as the service's errors do (`members[0].id_number`, `funding[1].amount_fen`), so that
a refusal is shown beside the field it names; money is typed in yuan on a form and carried in whole fen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, AssetValuation, Entity, Household, Person, ProfitRecord, Project
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.domain.money import MAX_FEN
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service
from daipin.services.shared.commands import Command, input_error

RowId = Annotated[int, Field(ge=1, le=2**62)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]
Year = Annotated[int, Field(ge=1900, le=2100)]
Fen = Annotated[int, Field(ge=-MAX_FEN, le=MAX_FEN)]
Text = Annotated[str, Field(max_length=200)]
Code = Annotated[str, Field(max_length=40)]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}(\d{3}){0,2}$")]
VillageCode = Annotated[str, Field(pattern=r"^\d{12}$")]
LongText = Annotated[str, Field(max_length=2000)]

_ITEM = re.compile(r"^(\w+)\[(\d{1,2})\]\.(\w+)$")
_PART = re.compile(r"^(\w+)\.(\w+)$")
_SCALAR_ITEM = re.compile(r"^(\w+)\[(\d{1,2})\]$")
MAX_ITEMS = 20


def yuan_to_fen(raw: str, field: str, *, negative: bool = False) -> int:
    """Yuan as a person types them (at most two decimals, thousands commas allowed) as whole fen, exactly."""
    text = raw.strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or (value < 0 and not negative) or value != value.quantize(Decimal("0.01")):
        raise InputError("金额格式不对（元，最多两位小数）", "amount in yuan, at most two decimals", field)
    if abs(value) > MAX_FEN // 100:
        raise InputError(f"金额过大（最多 {MAX_FEN // 100:,} 元）", f"amount too large (at most {MAX_FEN // 100:,} yuan)",
                         field)
    return int(value * 100)


class FormCommand(Command):
    """A command read from a page's form: blank fields left out, `a.b` and `a[i].b` names gathered into their
    object and list, money fields (`…_fen`) typed in yuan."""

    NEGATIVE_MONEY: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def form_values(cls, form: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        items: dict[str, dict[int, dict[str, Any]]] = {}
        scalars: dict[str, dict[int, Any]] = {}
        for key, raw in form.items():
            if not isinstance(raw, str) or not raw.strip():
                continue
            value: Any = raw.strip()
            leaf = key.rsplit(".", 1)[-1]
            if leaf.endswith("_fen"):
                value = yuan_to_fen(value, key, negative=leaf in cls.NEGATIVE_MONEY)
            if (m := _ITEM.match(key)) and m.group(1) in cls.model_fields and int(m.group(2)) < MAX_ITEMS:
                items.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3)] = value
            elif (m := _SCALAR_ITEM.match(key)) and m.group(1) in cls.model_fields and int(m.group(2)) < MAX_ITEMS:
                scalars.setdefault(m.group(1), {})[int(m.group(2))] = value
            elif (p := _PART.match(key)) and p.group(1) in cls.model_fields:
                out.setdefault(p.group(1), {})[p.group(2)] = value
            elif key in cls.model_fields:
                out[key] = value
        for name, rows in items.items():
            out[name] = [rows[i] for i in sorted(rows)]
        for name, values in scalars.items():
            out[name] = [values[i] for i in sorted(values)]
        return out

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        """As `Command.parse`, a nested field named as the services and the forms name it (`members[0].name`)."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            error = input_error(exc)
            first = exc.errors()[0] if exc.errors() else None
            if first is not None:
                field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.get("loc", ())).lstrip(".")
                if field and field != error.field:
                    error = InputError(error.message_zh.replace(str(error.field), field),
                                       error.message_en.replace(str(error.field), field), field)
            raise error from None

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Self:
        return cls.parse(cls.form_values(form))


# ---------------------------------------------------------------- households and members


class MemberFields(Command):
    """One member: the service checks the ID number (and the birth date and sex it holds), relation and labor."""

    name: Annotated[str, Field(max_length=60)] = ""
    id_number: Annotated[str, Field(max_length=40)] = ""
    relation: Annotated[str, Field(max_length=16)] = ""
    labor: Annotated[str, Field(max_length=16)] = ""
    health_note: LongText | None = None


class RegisterHousehold(FormCommand):
    """建档立卡登记: the household and its members (exactly one 户主)."""

    household_no: Code = ""
    village_code: Annotated[str, Field(max_length=12)] = ""
    status: Annotated[str, Field(max_length=16)] = ""
    status_since: Day | None = None
    exit_year: Year | None = None
    poverty_cause: Text | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    bank_account: Annotated[str, Field(max_length=40)] | None = None
    members: Annotated[list[MemberFields], Field(max_length=MAX_ITEMS)] = []


class AddMember(FormCommand):
    """新增家庭成员 (出生、婚入、迁入…)."""

    member: MemberFields


class EditHousehold(FormCommand):
    """Correct a household's contact and poverty cause (blank: cleared) — its status changes go by `ChangeStatus`."""

    poverty_cause: Text | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None


class EditMember(FormCommand):
    """Correct a member's labor ability and health note (the name and ID number are the ID card's)."""

    labor: Annotated[str, Field(max_length=16)] = ""
    health_note: LongText | None = None


class ChangeStatus(FormCommand):
    """户类型变更 (动态管理): the new status from a day, why, and the exit year for 脱贫户."""

    status: Annotated[str, Field(max_length=16)] = ""
    from_date: Day | None = None
    reason: Text = ""
    exit_year: Year | None = None


class RecordDeath(FormCommand):
    """成员死亡: the member and the day."""

    person_id: RowId
    on: Day | None = None


class RecordMove(FormCommand):
    """整户迁出: the day and where to."""

    on: Day | None = None
    destination: Text = ""


def register_household(session: Session, actor: Actor, command: RegisterHousehold, *, at: datetime) -> Household:
    return service.register_household(
        session, actor, household_no=command.household_no, village_code=command.village_code,
        status=command.status, members=[m.model_dump(exclude_none=True) for m in command.members], at=at,
        status_since=command.status_since, exit_year=command.exit_year, poverty_cause=command.poverty_cause,
        phone=command.phone, bank_account=command.bank_account)


def add_member(session: Session, actor: Actor, household_id: int, command: AddMember, *, at: datetime) -> Person:
    return service.add_member(session, actor, household_id, command.member.model_dump(exclude_none=True), at)


def edit_household(session: Session, actor: Actor, household_id: int, command: EditHousehold, *,
                   at: datetime) -> Household:
    return service.edit_household(session, actor, household_id, poverty_cause=command.poverty_cause,
                                  phone=command.phone, at=at)


def edit_member(session: Session, actor: Actor, household_id: int, person_id: int, command: EditMember, *,
                at: datetime) -> Person:
    return service.edit_member(session, actor, household_id, person_id, labor=command.labor,
                               health_note=command.health_note, at=at)


def _day(value: date | None, field: str, zh: str) -> date:
    if value is None:
        raise InputError(f"缺少{zh}", f"missing {field}", field=field)
    return value


def change_status(session: Session, actor: Actor, household_id: int, command: ChangeStatus, *,
                  at: datetime) -> Household:
    return dynamic.change_household_status(session, actor, household_id, command.status,
                                           _day(command.from_date, "from_date", "变更日期"), command.reason, at,
                                           exit_year=command.exit_year)


def record_death(session: Session, actor: Actor, household_id: int, command: RecordDeath, *, at: datetime) -> Person:
    person = session.get(Person, command.person_id)
    if person is None or person.household_id != household_id:
        raise InputError("该成员不在本户", "the person is not a member of this household", field="person_id")
    return dynamic.record_death(session, actor, command.person_id, _day(command.on, "on", "死亡日期"), at)


def record_move(session: Session, actor: Actor, household_id: int, command: RecordMove, *, at: datetime) -> Household:
    return dynamic.record_move(session, actor, household_id, _day(command.on, "on", "迁出日期"), at,
                               destination=command.destination)


# ---------------------------------------------------------------- entities, projects, profits


class RegisterEntity(FormCommand):
    """实施主体登记."""

    name: Text = ""
    kind: Annotated[str, Field(max_length=24)] = ""
    uscc: Annotated[str, Field(max_length=24)] = ""
    legal_representative: Annotated[str, Field(max_length=60)] = ""
    region_code: RegionCode | None = None


class FundingFields(Command):
    source: Annotated[str, Field(max_length=24)] = ""
    amount_fen: Fen | None = None


class RegisterProject(FormCommand):
    """项目登记 with its funding sources."""

    code: Code = ""
    name: Text = ""
    category: Annotated[str, Field(max_length=24)] = ""
    entity_id: RowId | None = None
    township_code: Annotated[str, Field(max_length=9)] = ""
    village_code: VillageCode | None = None
    funding: Annotated[list[FundingFields], Field(max_length=MAX_ITEMS)] = []
    expected_return: Annotated[str, Field(max_length=20)] | None = None
    status: Annotated[str, Field(max_length=24)] = "operating"
    start_year: Year | None = None


class RecordProfit(FormCommand):
    """项目收益登记 for a period within one year."""

    NEGATIVE_MONEY: ClassVar[frozenset[str]] = frozenset({"profit_fen"})

    period_start: Day | None = None
    period_end: Day | None = None
    profit_fen: Fen | None = None
    cash_available_fen: Fen | None = None
    audit_ref: Annotated[str, Field(max_length=100)] = ""


def register_entity(session: Session, actor: Actor, command: RegisterEntity, *, at: datetime) -> Entity:
    """The entity is registered in the actor's county; `region_code` (its township or village) when it has one."""
    county = (command.region_code or actor.region)[:6]
    if len(county) != 6:
        raise InputError("缺少所属区县", "missing county", field="region_code")
    return service.register_entity(session, actor, name=command.name, kind=command.kind, uscc=command.uscc,
                                   legal_representative=command.legal_representative, county_code=county, at=at,
                                   region_code=command.region_code)


def register_project(session: Session, actor: Actor, command: RegisterProject, *,
                     at: datetime) -> tuple[Project, list[dict[str, str]]]:
    if command.entity_id is None:
        raise InputError("请选择实施主体", "choose the entity", field="entity_id")
    funding = [f.model_dump() for f in command.funding]
    return service.register_project(
        session, actor, code=command.code, name=command.name, category=command.category, entity_id=command.entity_id,
        township_code=command.township_code, at=at, village_code=command.village_code, funding=funding,
        expected_return=command.expected_return, status=command.status, start_year=command.start_year)


def record_profit(session: Session, actor: Actor, project_id: int, command: RecordProfit, *,
                  at: datetime) -> ProfitRecord:
    if command.profit_fen is None:
        raise InputError("缺少利润", "missing profit", field="profit_fen")
    return service.record_profit(session, actor, project_id,
                                 period_start=_day(command.period_start, "period_start", "期间起"),
                                 period_end=_day(command.period_end, "period_end", "期间止"),
                                 profit_fen=command.profit_fen, at=at, cash_available_fen=command.cash_available_fen,
                                 audit_ref=command.audit_ref)


# ---------------------------------------------------------------- assets


class RegisterAsset(FormCommand):
    """资产登记 (in use or idle: a lease, pledge or disposal goes by a decided matter)."""

    code: Code = ""
    name: Text = ""
    kind: Annotated[str, Field(max_length=24)] = ""
    value_fen: Fen | None = None
    project_id: RowId | None = None
    owner_region_code: RegionCode | None = None
    owner_entity_id: RowId | None = None
    operator_entity_id: RowId | None = None
    status: Annotated[str, Field(max_length=24)] = "in_use"


class AddValuation(FormCommand):
    """资产评估: who valued it, when, at what value, by which report."""

    valuer: Text = ""
    valued_on: Day | None = None
    value_fen: Fen | None = None
    report_ref: Annotated[str, Field(max_length=100)] = ""


def register_asset(session: Session, actor: Actor, command: RegisterAsset, *, at: datetime) -> Asset:
    if command.value_fen is None:
        raise InputError("缺少资产价值", "missing value", field="value_fen")
    return service.register_asset(
        session, actor, code=command.code, name=command.name, kind=command.kind, value_fen=command.value_fen, at=at,
        project_id=command.project_id, owner_region_code=command.owner_region_code,
        owner_entity_id=command.owner_entity_id, operator_entity_id=command.operator_entity_id,
        status=command.status, county_code=actor.region[:6] or None)


def add_valuation(session: Session, actor: Actor, asset_id: int, command: AddValuation, *,
                  at: datetime) -> AssetValuation:
    if command.value_fen is None:
        raise InputError("缺少评估价值", "missing value", field="value_fen")
    return service.add_valuation(session, actor, asset_id, valuer=command.valuer,
                                 valued_on=_day(command.valued_on, "valued_on", "评估日期"),
                                 value_fen=command.value_fen, report_ref=command.report_ref, at=at)
