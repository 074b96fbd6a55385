"""Registry use cases: regions, households and people (建档立卡), entities, projects, assets, work, dynamic management.

Every write validates first (InputError naming the field, nothing changed), then
writes its rows and one ledger entry in the caller's transaction. Personal data
goes to the ledger only as salted digests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db import sealing
from daipin.db.models.registry import (
    Asset,
    AssetValuation,
    Contract,
    ContractVersion,
    ContributionRecord,
    Entity,
    FundingSource,
    Household,
    HouseholdStatus,
    InsurancePolicy,
    Person,
    ProfitRecord,
    Project,
    Region,
    Setting,
    WorkRecord,
)
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.identity import check_resident_id, validate_uscc
from daipin.domain.localtime import beijing_date
from daipin.domain.privacy import mask_bank, mask_id, mask_name, mask_phone
from daipin.services.shared import freetext
from daipin.services.shared import trace as trace
from daipin.services.shared.inputs import as_date as _date
from daipin.services.shared.inputs import choice as _choice
from daipin.services.shared.inputs import decimal_str as _decimal_str
from daipin.services.shared.inputs import money as _money
from daipin.services.shared.inputs import need as _need
from daipin.services.shared.inputs import optional_text as _optional_text
from daipin.services.shared.inputs import year as _year
from daipin.services.shared.rows import row_fact

# The code sets a registry write accepts: the vocabulary's, so no code is stored that has no name to show.
STATUSES = vocabulary.HOUSEHOLD_STATUS
ELIGIBLE = vocabulary.ELIGIBLE_STATUSES
LABOR = vocabulary.LABOR
LIFE_STATES = vocabulary.LIFE_STATE
RELATIONS = vocabulary.RELATION.codes
ENTITY_KINDS = vocabulary.ENTITY_KIND
CATEGORIES = vocabulary.PROJECT_CATEGORY.codes
FUNDING = vocabulary.FUNDING_SOURCE.codes
ASSET_KINDS = vocabulary.ASSET_KIND
ASSET_STATUSES = vocabulary.ASSET_STATUS.codes
CREDIT = vocabulary.CREDIT_STATUS
POSTS = vocabulary.PUBLIC_WELFARE_POST.codes
PROJECT_STATUSES = vocabulary.PROJECT_STATUS.codes
PROJECT_STATUS_LABELS = vocabulary.PROJECT_STATUS
PHONE_RE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
BANK_RE = re.compile(r"^\d{12,30}$")
# A number as a spreadsheet shows it in scientific notation (2.31002E+15): saved so, the digits are gone.
SCIENTIFIC = r"^[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$"
LEVEL_LENGTH = dict(zip(vocabulary.REGION_LEVEL.codes, (6, 9, 12), strict=True))
# Surnames whose reading differs from the character's most common one (曾 zēng, not céng).
SURNAME_INITIALS = {"曾": "z", "单": "s", "解": "x", "仇": "q", "区": "o", "查": "z", "覃": "q", "翟": "z", "尉": "y",
                    "秘": "b", "召": "s", "繁": "p", "长": "z", "缪": "m", "朴": "p", "种": "c", "盖": "g"}


@lru_cache(maxsize=1)
def _initials_table() -> dict[int, str | None]:
    """Character → first pinyin letter of its first reading in pypinyin's dictionary (what
    `lazy_pinyin(ch, style=Style.FIRST_LETTER)` gives for a lone character); ASCII letters and digits as
    themselves, lower case; other ASCII dropped.

    Read from `daipin/data/initials.txt`, which scripts/initials_table.py makes from pypinyin's dictionary
    (a test checks that the two agree): a few milliseconds, where deriving it in each process took 0.2 s."""
    table: dict[int, str | None] = {}
    text = resources.files("daipin").joinpath("data", "initials.txt").read_text(encoding="ascii")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            start, letters = line.split("\t")
            table.update((cp, ch) for cp, ch in enumerate(letters, int(start, 16)) if ch != "-")
    for cp in range(128):
        table[cp] = chr(cp).lower() if chr(cp).isalnum() else None
    return table


def name_initials(name: str) -> str:
    """Pinyin initials of a name for search from a phone keyboard: 王小明 → wxm, 曾国藩 → zgf.

    A character at a time through a translation table, so a province's roster (about as many distinct
    names as people) costs well under a microsecond a name, where `lazy_pinyin` costs tens. Separators
    (·, spaces) and characters without a reading are dropped.
    """
    name = (name or "").strip()
    if not name:
        return ""
    out = (SURNAME_INITIALS.get(name[0], name[0]) + name[1:]).translate(_initials_table())
    return out if out.isascii() else "".join(c for c in out if c.isascii())

# Settings with their defaults: the market reference rate (1-year LPR) and the ceiling of a plausible return.
DEFAULT_SETTINGS = {"market_reference_rate": "0.0310", "expected_return_ceiling": "0.20"}

# ---------------------------------------------------------------- row digests, scope


def _record(session: Session, actor: Actor, type: str, subject: str, region: str, facts: dict[str, Any],
            at: datetime) -> int:
    return trace.record(session, actor=actor, type=type, subject=subject, region=region, facts=facts, at=at)


# Column sizes of the household texts the registry writes (read off the model: the database refuses more).
def _size(column: Any) -> int:
    size: int = column.type.length
    return size


HOUSEHOLD_NO_MAX = _size(Household.household_no)
NAME_MAX = _size(Person.name)
POVERTY_CAUSE_MAX = _size(Household.poverty_cause)


def scientific_household_no(household_no: str) -> tuple[str, str] | None:
    """Why a household number in scientific notation is refused (zh, en); None for any other."""
    if re.match(SCIENTIFIC, household_no) is None:
        return None
    return (f"户编号 {household_no} 是科学计数法：原编号已被表格软件改写，请把该列设为文本格式后重新导出",
            f"household number {household_no} is in scientific notation: a spreadsheet has rewritten it; format "
            "the column as text and export again")


# ---------------------------------------------------------------- settings, regions


def get_setting(session: Session, key: str) -> str:
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    if key in DEFAULT_SETTINGS:
        return DEFAULT_SETTINGS[key]
    raise NotFound(f"未知设置 {key}", f"unknown setting {key}", field="key")


def set_setting(session: Session, actor: Actor, key: str, value: str, at: datetime) -> Setting:
    """A system-wide setting (the market reference rate, ...): the district administrator's or the operator's."""
    access.require(actor, "setting.write")
    key = _need(key, "key", "设置项", "setting key", limit=64)
    value = freetext.text(value, "value", "设置值", "setting value", limit=400) or ""
    if key in DEFAULT_SETTINGS:
        _decimal_str(value, "value", "设置值")
    row = session.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=value, updated_at=at)
        session.add(row)
    else:
        row.value, row.updated_at = value, at
    session.flush()
    _record(session, actor, "setting.set", f"setting:{key}", actor.region[:6] or "000000",
            {"key": key, "value": value}, at)
    return row


def get_region(session: Session, code: str) -> Region:
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise NotFound(f"行政区划 {code} 不存在", f"unknown region {code}", field="region")
    return region


def create_region(session: Session, actor: Actor, *, code: str, name: str, level: str, at: datetime,
                  poor_village: bool = False, key_village: bool = False) -> Region:
    """Add a district, township or village; the parent is the code's prefix and must exist."""
    level = _choice(level, vocabulary.REGION_LEVEL, "level", "层级")
    if not isinstance(code, str) or not code.isdigit() or len(code) != LEVEL_LENGTH[level]:
        raise InputError(f"{vocabulary.REGION_LEVEL.zh(level)}代码应为{LEVEL_LENGTH[level]}位数字", f"code must be {LEVEL_LENGTH[level]} digits",
                         field="code")
    name = freetext.text(name, "name", "名称", "name", limit=100) or ""
    if session.scalar(select(Region.id).where(Region.code == code)) is not None:
        raise Conflict(f"行政区划 {code} 已存在", f"region {code} already exists", field="code")
    parent = None
    if level != "district":
        parent = code[: 6 if level == "township" else 9]
        if session.scalar(select(Region.id).where(Region.code == parent)) is None:
            raise InputError(f"上级区划 {parent} 不存在", f"parent region {parent} does not exist", field="code")
    for flag, value in (("poor_village", poor_village), ("key_village", key_village)):
        if not isinstance(value, bool):
            raise InputError(f"{flag} 应为 true 或 false", f"{flag} must be true or false", field=flag)
    if (poor_village or key_village) and level != "village":
        raise InputError("只有村可以标记为贫困村或重点村", "only villages are poor or key villages", field="level")
    access.require(actor, "region.write", region=code)
    region = Region(code=code, name=name, level=level, parent_code=parent, poor_village=bool(poor_village),
                    key_village=bool(key_village), county_code=code[:6])
    session.add(region)
    _record(session, actor, "region.create", f"region:{code}", code,
            {"code": code, "name": name, "level": level, "poor_village": bool(poor_village),
             "key_village": bool(key_village), "row": row_fact(session, region)}, at)
    return region


def _village(session: Session, code: Any, field: str = "village_code") -> Region:
    if not isinstance(code, str) or not code:
        raise InputError("缺少所属村", "missing village", field=field)
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None or region.level != "village":
        raise InputError(f"村 {code} 不存在", f"unknown village {code}", field=field)
    return region


# ---------------------------------------------------------------- households and people


@dataclass(frozen=True)
class MemberIn:
    """A checked member, ready to be written."""

    name: str
    id_number: str
    birth_date: date
    sex: str
    relation: str
    labor: str
    health_note: str | None


def check_member(m: dict[str, Any], field: str, today: date | None = None) -> MemberIn:
    """Validate one member's fields (born by `today`, the actual date unless given); InputError names
    `field.<name>`."""
    if not isinstance(m, dict):
        raise InputError("成员应为对象", "member must be an object", field=field)
    name = freetext.text(m.get("name"), f"{field}.name", "姓名", "name", limit=NAME_MAX) or ""
    stated_birth = m.get("birth_date")
    rid = check_resident_id(m.get("id_number"), field=f"{field}.id_number",
                            birth_date=_date(stated_birth, f"{field}.birth_date", "出生日期") if stated_birth else None,
                            sex=m.get("sex"), today=today)
    relation = _need(m.get("relation"), f"{field}.relation", "与户主关系", "relation to head", limit=16)
    if relation not in RELATIONS:
        raise InputError(f"与户主关系 {relation!r} 无法识别", f"unknown relation {relation!r}", field=f"{field}.relation")
    labor = _choice(m.get("labor"), LABOR, f"{field}.labor", "劳动能力")
    return MemberIn(name=name, id_number=rid.number, birth_date=rid.birth_date, sex=rid.sex, relation=relation,
                    labor=labor, health_note=_optional_text(m.get("health_note"), f"{field}.health_note", "健康状况",
                                                            "health note", 2000))


def check_phone(value: Any, field: str = "phone") -> str | None:
    if value is None or value == "":
        return None
    v = str(value).replace(" ", "")
    if not PHONE_RE.match(v):
        raise InputError(f"联系电话 {mask_phone(v)} 格式错误", "phone number has a bad format", field=field)
    return v


def check_bank(value: Any, field: str = "bank_account") -> str | None:
    if value is None or value == "":
        return None
    v = str(value).replace(" ", "")
    if not BANK_RE.match(v):
        raise InputError(f"银行账号 {mask_bank(v)} 格式错误（应为12至30位数字）", "bank account must be 12-30 digits",
                         field=field)
    return v


def set_bank_account(session: Session, actor: Actor, household_id: int, bank_account: str, at: datetime) -> Household:
    """Correct a household's bank account (after the bank returned a payment to it as failed, say): 12-30 digits,
    required. The ledger keeps only its salted digest; pages show it masked."""
    account = check_bank(bank_account)
    if account is None:
        raise InputError("请填写银行账号", "the bank account is required", field="bank_account")
    hh = session.get(Household, household_id, with_for_update=True, populate_existing=True)
    if hh is None or not access.allowed(actor, "household.read", region=hh.village_code):
        raise NotFound(f"农户 {household_id} 不存在", f"household {household_id} not found", field="household_id")
    access.require(actor, "household.write", region=hh.village_code, field="actor")
    if hh.bank_account == account:
        raise Conflict("新账号与登记的账号相同", "the account is the one on record already", field="bank_account",
                       code="unchanged")
    hh.bank_account = account
    session.flush()
    _record(session, actor, "household.bank_account", f"household:{hh.household_no}", hh.village_code,
            {"household_no": hh.household_no, "bank_account": trace.pii(session, account),
             "row": row_fact(session, hh)}, at)
    return hh


def labor_summary(labors: list[str]) -> str:
    """none if no member can work, weak if the best is weak, full otherwise."""
    if "full" in labors:
        return "full"
    if "weak" in labors:
        return "weak"
    return "none"


def register_household(session: Session, actor: Actor, *, household_no: str, village_code: str, status: str,
                       members: list[dict[str, Any]], at: datetime, status_since: date | None = None,
                       exit_year: int | None = None, poverty_cause: str | None = None, phone: str | None = None,
                       bank_account: str | None = None) -> Household:
    """Register a household with its members (exactly one 户主); refuses duplicate ID numbers anywhere."""
    household_no = _need(household_no, "household_no", "户编号", "household number", limit=HOUSEHOLD_NO_MAX)
    if (rewritten := scientific_household_no(household_no)) is not None:
        raise InputError(*rewritten, field="household_no")
    village = _village(session, village_code)
    status = _choice(status, STATUSES, "status", "户类型")
    _year(exit_year, "exit_year", "脱贫年度", latest=at.year)
    if status == "exited" and exit_year is None:
        raise InputError("脱贫户须填写脱贫年度", "an exited household needs its exit year", field="exit_year")
    phone = check_phone(phone)
    bank_account = check_bank(bank_account)
    poverty_cause = freetext.text(poverty_cause, "poverty_cause", "致贫原因", "poverty cause", POVERTY_CAUSE_MAX,
                                  required=False)
    if status_since is not None:
        status_since = _date(status_since, "status_since", "状态起始日期")
    if not isinstance(members, list) or not members:
        raise InputError("至少需要一名家庭成员", "at least one member is required", field="members")
    checked = [check_member(m, f"members[{i}]", beijing_date(at)) for i, m in enumerate(members)]
    heads = [i for i, m in enumerate(checked) if m.relation == "户主"]
    if len(heads) != 1:
        raise InputError("每户须有且只有一名户主", "exactly one member must be the head (户主)", field="members")
    seen: dict[str, int] = {}
    for i, m in enumerate(checked):
        if m.id_number in seen:
            raise InputError(f"身份证号 {mask_id(m.id_number)} 重复", "duplicate resident ID number",
                             field=f"members[{i}].id_number")
        seen[m.id_number] = i
    _refuse_known_ids(session, checked)
    if session.scalar(select(Household.id).where(Household.household_no == household_no)) is not None:
        raise Conflict(f"户编号 {household_no} 已存在", f"household number {household_no} already exists",
                       field="household_no")
    access.require(actor, "household.write", region=village.code)
    since = status_since or beijing_date(at)
    hh = Household(household_no=household_no, village_code=village.code, county_code=village.code[:6],
                   status=status, status_since=since, exit_year=exit_year, poverty_cause=poverty_cause,
                   labor=labor_summary([m.labor for m in checked]), phone=phone, bank_account=bank_account,
                   life_state="alive")
    session.add(hh)
    session.flush()
    first_status = HouseholdStatus(household_id=hh.id, county_code=hh.county_code, status=status, from_date=since,
                                   reason="建档立卡登记")
    session.add(first_status)
    people = [Person(household_id=hh.id, county_code=hh.county_code, name=m.name,
                     name_initials=name_initials(m.name), id_number=m.id_number,
                     birth_date=m.birth_date, sex=m.sex, relation=m.relation, labor=m.labor, life_state="alive",
                     health_note=m.health_note) for m in checked]
    session.add_all(people)
    session.flush()
    _record(session, actor, "household.register", f"household:{household_no}", village.code,
            {"household_no": household_no, "status": status, "members": len(people),
             "head": trace.pii(session, checked[heads[0]].id_number), "row": row_fact(session, hh),
             "people": [row_fact(session, p) for p in people], "status_row": row_fact(session, first_status)}, at)
    return hh


def _refuse_known_ids(session: Session, members: list[MemberIn], household_id: int | None = None) -> None:
    ids = [m.id_number for m in members]
    rows = session.execute(select(Person.id_number, Person.household_id).where(
        Person.id_number_bidx.in_(sealing.indexes_of(session.connection(), ids)))).all()
    for number, hid in rows:
        if hid != household_id:
            i = ids.index(number)
            raise Conflict(f"身份证号 {mask_id(number)} 已登记在其他户", "resident ID already registered in another "
                           "household", field=f"members[{i}].id_number")


def add_member(session: Session, actor: Actor, household_id: int, member: dict[str, Any], at: datetime) -> Person:
    hh = get_household(session, household_id)
    m = check_member(member, "member", beijing_date(at))
    if m.relation == "户主":
        raise InputError("该户已有户主", "the household already has a head", field="member.relation")
    _refuse_known_ids(session, [m])
    access.require(actor, "household.write", region=hh.village_code)
    p = Person(household_id=hh.id, county_code=hh.county_code, name=m.name, name_initials=name_initials(m.name),
               id_number=m.id_number,
               birth_date=m.birth_date, sex=m.sex, relation=m.relation, labor=m.labor, life_state="alive",
               health_note=m.health_note)
    session.add(p)
    session.flush()
    _refresh_labor(session, hh)
    _record(session, actor, "household.member_add", f"household:{hh.household_no}", hh.village_code,
            {"person": trace.pii(session, m.id_number), "row": row_fact(session, p),
             "household": row_fact(session, hh)}, at)
    return p


def _refresh_labor(session: Session, hh: Household) -> None:
    labors = session.scalars(select(Person.labor).where(Person.household_id == hh.id,
                                                        Person.life_state == "alive")).all()
    hh.labor = labor_summary(list(labors))


def _writable_household(session: Session, actor: Actor, household_id: int) -> Household:
    """The household, its row locked; NotFound outside the actor's reach, as if it did not exist."""
    hh = session.get(Household, household_id, with_for_update=True, populate_existing=True)
    if hh is None or not access.allowed(actor, "household.read", region=hh.village_code):
        raise NotFound(f"农户 {household_id} 不存在", f"household {household_id} not found", field="household_id")
    return hh


def edit_household(session: Session, actor: Actor, household_id: int, *, poverty_cause: str | None,
                   phone: str | None, at: datetime) -> Household:
    """Correct a household's poverty cause (blank: cleared) and phone (none given: kept, as pages never show it
    whole). Its status changes by dynamic management, its bank account by `set_bank_account`; the ledger keeps
    the phone only as a salted digest."""
    cause = freetext.text(poverty_cause, "poverty_cause", "致贫原因", "poverty cause", POVERTY_CAUSE_MAX,
                          required=False) or None
    number = check_phone(phone)
    hh = _writable_household(session, actor, household_id)
    access.require(actor, "household.write", region=hh.village_code)
    number = number or hh.phone
    if (hh.poverty_cause or None, hh.phone or None) == (cause, number or None):
        raise Conflict("未作任何修改", "nothing was changed", field="poverty_cause", code="unchanged")
    hh.poverty_cause, hh.phone = cause, number
    session.flush()
    _record(session, actor, "household.edit", f"household:{hh.household_no}", hh.village_code,
            {"household_no": hh.household_no, "poverty_cause": cause,
             "phone": trace.pii(session, number) if number else None, "row": row_fact(session, hh)}, at)
    return hh


def edit_member(session: Session, actor: Actor, household_id: int, person_id: int, *, labor: str,
                health_note: str | None, at: datetime) -> Person:
    """Correct a living member's labor ability and health note (none given: kept, as pages never show it; the
    name, ID number, birth date and sex are the ID card's and are not edited here); the household's labor
    summary follows."""
    hh = _writable_household(session, actor, household_id)
    p = session.get(Person, person_id, with_for_update=True, populate_existing=True)
    if p is None or p.household_id != hh.id:
        raise NotFound(f"成员 {person_id} 不在本户", f"person {person_id} is not a member of this household",
                       field="person_id")
    labor = _choice(labor, LABOR, "labor", "劳动能力")
    note = _optional_text(health_note, "health_note", "健康状况", "health note", 2000)
    access.require(actor, "household.write", region=hh.village_code)
    if p.life_state != "alive":
        raise Conflict("该成员已不在册", "the person is no longer a living member", field="person_id")
    note = note or p.health_note
    if (p.labor, p.health_note or None) == (labor, note or None):
        raise Conflict("未作任何修改", "nothing was changed", field="labor", code="unchanged")
    p.labor, p.health_note = labor, note
    session.flush()
    _refresh_labor(session, hh)
    session.flush()
    _record(session, actor, "household.member_edit", f"household:{hh.household_no}", hh.village_code,
            {"person": trace.pii(session, p.id_number), "labor": labor, "row": row_fact(session, p),
             "household": row_fact(session, hh)}, at)
    return p


def get_household(session: Session, household_id: int) -> Household:
    hh = session.get(Household, household_id)
    if hh is None:
        raise NotFound(f"户 {household_id} 不存在", f"household {household_id} not found", field="household_id")
    return hh


def household_by_no(session: Session, household_no: str) -> Household:
    hh = session.scalar(select(Household).where(Household.household_no == household_no))
    if hh is None:
        raise NotFound(f"户编号 {household_no} 不存在", f"household {household_no} not found", field="household_no")
    return hh


def members(session: Session, household_id: int) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.household_id == household_id).order_by(Person.id)))


def status_as_of(session: Session, household_id: int, day: date) -> str:
    """The household's status on `day` from its history (before its first record: the first status)."""
    rows = session.execute(select(HouseholdStatus.status, HouseholdStatus.from_date)
                           .where(HouseholdStatus.household_id == household_id)
                           .order_by(HouseholdStatus.from_date, HouseholdStatus.id)).all()
    if not rows:
        return get_household(session, household_id).status
    current = rows[0][0]
    for status, since in rows:
        if since <= day:
            current = status
    return str(current)


def eligible_as_of(session: Session, hh: Household, day: date) -> bool:
    """Eligible for poverty benefits on `day`: status poor/monitored and not died out or moved away by then."""
    if hh.life_state != "alive" and hh.life_state_date is not None and hh.life_state_date <= day:
        return False
    return status_as_of(session, hh.id, day) in ELIGIBLE


def masked_household(session: Session, hh: Household, with_members: bool = True) -> dict[str, Any]:
    """A household as it may be shown: phone, bank account and ID numbers masked; no health notes."""
    out: dict[str, Any] = {
        "id": hh.id, "household_no": hh.household_no, "village_code": hh.village_code, "status": hh.status,
        "status_label": STATUSES[hh.status], "status_since": hh.status_since.isoformat() if hh.status_since else None,
        "exit_year": hh.exit_year, "poverty_cause": hh.poverty_cause, "labor": hh.labor,
        "phone": mask_phone(hh.phone), "bank_account": mask_bank(hh.bank_account), "life_state": hh.life_state,
    }
    if with_members:
        out["members"] = [masked_person(p) for p in members(session, hh.id)]
    return out


def masked_person(p: Person, public: bool = False) -> dict[str, Any]:
    return {"id": p.id, "name": mask_name(p.name) if public else p.name, "id_number": mask_id(p.id_number),
            "relation": p.relation, "labor": p.labor, "sex": p.sex, "life_state": p.life_state}


# ---------------------------------------------------------------- entities


def register_entity(session: Session, actor: Actor, *, name: str, kind: str, uscc: str, legal_representative: str,
                    county_code: str, at: datetime, region_code: str | None = None) -> Entity:
    name = freetext.text(name, "name", "主体名称", "name") or ""
    kind = _choice(kind, ENTITY_KINDS, "kind", "主体类型")
    code = validate_uscc(uscc)
    legal = freetext.text(legal_representative, "legal_representative", "法定代表人", "legal representative",
                          limit=60) or ""
    get_region(session, county_code)
    if region_code:
        get_region(session, region_code)
    if session.scalar(select(Entity.id).where(Entity.uscc == code)) is not None:
        raise Conflict(f"统一社会信用代码 {code} 已登记", "unified social credit code already registered", field="uscc")
    access.require(actor, "entity.write", region=region_code or county_code)
    e = Entity(name=name, kind=kind, uscc=code, legal_representative=legal, county_code=county_code[:6],
               region_code=region_code, credit_status="normal")
    session.add(e)
    _record(session, actor, "entity.register", f"entity:{code}", region_code or county_code,
            {"name": name, "kind": kind, "uscc": code, "row": row_fact(session, e)}, at)
    return e


def get_entity(session: Session, entity_id: int) -> Entity:
    e = session.get(Entity, entity_id)
    if e is None:
        raise NotFound(f"实施主体 {entity_id} 不存在", f"entity {entity_id} not found", field="entity_id")
    return e


def add_insurance_policy(session: Session, actor: Actor, entity_id: int, *, insurer: str, policy_no: str,
                         valid_from: date, valid_to: date, at: datetime, coverage: str = "",
                         asset_id: int | None = None, kind: str | None = None,
                         insured_sum_fen: int | None = None) -> InsurancePolicy:
    """An insurance policy of an entity: for the one asset it names (an asset the entity operates), or, naming
    none, for every asset it operates; with its kind (INSURANCE_KIND) and insured sum in fen when given."""
    e = get_entity(session, entity_id)
    insurer = freetext.text(insurer, "insurer", "保险机构", "insurer") or ""
    freetext.check(coverage, "coverage", "保险范围")
    policy_no = _need(policy_no, "policy_no", "保单号", "policy number", limit=64)
    vf, vt = _date(valid_from, "valid_from", "保险起期"), _date(valid_to, "valid_to", "保险止期")
    if vf > vt:
        raise InputError("保险起期晚于止期", "valid_from is after valid_to", field="valid_from")
    code = None if kind is None or kind == "" else _choice(kind, vocabulary.INSURANCE_KIND, "kind", "险种")
    if insured_sum_fen is not None:
        insured_sum_fen = _money(insured_sum_fen, "insured_sum_fen", "保险金额")
        if insured_sum_fen <= 0:
            raise InputError("保险金额应大于零", "insured_sum_fen must be positive", field="insured_sum_fen")
    asset = None
    if asset_id is not None:
        asset = session.get(Asset, asset_id) if isinstance(asset_id, int) and not isinstance(asset_id, bool) \
            else None
        if asset is None:
            raise NotFound(f"资产 {asset_id} 不存在", f"asset {asset_id} not found", field="asset_id")
        if asset.operator_entity_id != e.id:
            raise InputError(f"资产 {asset.code} 不由该主体经营，不能由其投保",
                             f"asset {asset.code} is not operated by this entity", field="asset_id")
    access.require(actor, "entity.write", region=e.region_code or e.county_code)
    p = InsurancePolicy(entity_id=e.id, county_code=e.county_code, insurer=insurer, policy_no=policy_no,
                        coverage=coverage, valid_from=vf, valid_to=vt, asset_id=asset.id if asset else None,
                        kind=code, insured_sum_fen=insured_sum_fen)
    session.add(p)
    fact: dict[str, Any] = {"insurer": insurer, "policy_no": policy_no, "valid_from": vf.isoformat(),
                            "valid_to": vt.isoformat()}
    if asset is not None:
        fact["asset"] = asset.code
    if code is not None:
        fact["kind"] = code
    if insured_sum_fen is not None:
        fact["insured_sum_fen"] = insured_sum_fen
    _record(session, actor, "entity.insurance", f"entity:{e.uscc}", e.region_code or e.county_code,
            {**fact, "row": row_fact(session, p)}, at)
    return p


def insured_on(session: Session, entity_id: int, day: date) -> bool:
    n = session.scalar(select(func.count()).select_from(InsurancePolicy).where(
        InsurancePolicy.entity_id == entity_id, InsurancePolicy.valid_from <= day, InsurancePolicy.valid_to >= day))
    return bool(n)


def set_credit_status(session: Session, actor: Actor, entity_id: int, status: str, since: date, reason: str,
                      at: datetime) -> Entity:
    e = get_entity(session, entity_id)
    status = _choice(status, CREDIT, "status", "信用状态")
    since = _date(since, "since", "起始日期")
    reason = freetext.text(reason, "reason", "原因", "reason") or ""
    access.require(actor, "entity.credit", region=e.region_code or e.county_code)
    # Listing and repair follow due process (国办发〔2020〕49号): services/credit, never this direct path.
    if status == "blacklisted":
        raise Conflict("列入失信名单须先告知理由、依据和权利，异议期满或异议答复后生效（信用认定）",
                       "blacklisting goes through the credit listing (notice, objection, answer)", field="status",
                       code="listing_required")
    if e.credit_status == "blacklisted":
        raise Conflict("失信名单只能在规定期限届满并完成整改后经信用修复移出",
                       "a blacklisting is lifted only by credit repair", field="status", code="repair_required")
    e.credit_status, e.credit_since, e.credit_reason = status, since, reason
    _record(session, actor, "entity.credit", f"entity:{e.uscc}", e.region_code or e.county_code,
            {"credit_status": status, "since": since.isoformat(), "reason": reason, "row": row_fact(session, e)}, at)
    return e


# ---------------------------------------------------------------- projects, profit


def return_warnings(session: Session, expected_return: str | None) -> list[dict[str, str]]:
    """Compare an expected annual return with the market reference rate (R2.2) and a plausibility ceiling."""
    if expected_return is None:
        return []
    er = Decimal(expected_return)
    ref = Decimal(get_setting(session, "market_reference_rate"))
    ceiling = Decimal(get_setting(session, "expected_return_ceiling"))
    out = []
    if er < ref:
        out.append({"code": "below_market_rate", "message": f"预期年收益率 {expected_return} 低于市场参考利率 {ref}",
                    "reference": str(ref)})
    if er > ceiling:
        out.append({"code": "above_plausible_return",
                    "message": f"预期年收益率 {expected_return} 高于 {ceiling}，请核实", "ceiling": str(ceiling)})
    return out


def register_project(session: Session, actor: Actor, *, code: str, name: str, category: str, entity_id: int,
                     township_code: str, at: datetime, village_code: str | None = None,
                     funding: list[dict[str, Any]] | None = None, expected_return: str | None = None,
                     status: str = "operating", start_year: int | None = None) -> tuple[Project, list[dict[str, str]]]:
    """Register a project with its funding sources; returns the project and return-rate warnings."""
    code = _need(code, "code", "项目编号", "project code", limit=40)
    name = freetext.text(name, "name", "项目名称", "project name") or ""
    category = _choice(category, vocabulary.PROJECT_CATEGORY, "category", "产业类别")
    e = get_entity(session, entity_id)
    town = get_region(session, township_code)
    if town.level != "township":
        raise InputError(f"{township_code} 不是乡镇", f"{township_code} is not a township", field="township_code")
    if village_code:
        v = _village(session, village_code)
        if v.parent_code != town.code:
            raise InputError(f"村 {village_code} 不属于乡镇 {township_code}", "village is not in the township",
                             field="village_code")
    if e.county_code != town.code[:6]:
        raise InputError(f"实施主体 {e.name} 不在本区县登记", "the entity is registered in another county",
                         field="entity_id")
    status = _choice(status, vocabulary.PROJECT_STATUS, "status", "项目状态")
    if expected_return is not None:
        expected_return = _decimal_str(expected_return, "expected_return", "预期年收益率")
    _year(start_year, "start_year", "开工年度", earliest=1980)
    if funding is not None and not isinstance(funding, list):
        raise InputError("资金来源应为列表", "funding must be a list", field="funding")
    sources = []
    for i, f in enumerate(funding or []):
        if not isinstance(f, dict):
            raise InputError("每项资金来源应为对象（来源、金额）", "each funding source must be an object (source, "
                             "amount_fen)", field=f"funding[{i}]")
        src = _choice(f.get("source"), vocabulary.FUNDING_SOURCE, f"funding[{i}].source", "资金来源")
        sources.append((src, _money(f.get("amount_fen"), f"funding[{i}].amount_fen", "资金金额")))
    if session.scalar(select(Project.id).where(Project.code == code)) is not None:
        raise Conflict(f"项目编号 {code} 已存在", f"project {code} already exists", field="code")
    access.require(actor, "project.write", region=village_code or township_code)
    p = Project(code=code, name=name, category=category, entity_id=e.id, township_code=town.code,
                village_code=village_code or None, county_code=town.code[:6], expected_return=expected_return,
                status=status, start_year=start_year)
    session.add(p)
    session.flush()
    rows = [FundingSource(project_id=p.id, county_code=p.county_code, source=s, amount_fen=a) for s, a in sources]
    session.add_all(rows)
    warnings = return_warnings(session, expected_return)
    _record(session, actor, "project.register", f"project:{code}", village_code or township_code,
            {"code": code, "name": name, "category": category, "entity": e.uscc,
             "funding": [{"source": s, "amount_fen": a} for s, a in sources], "expected_return": expected_return,
             "warnings": [w["code"] for w in warnings], "row": row_fact(session, p),
             "funding_rows": [row_fact(session, r) for r in rows]}, at)
    return p, warnings


def get_project(session: Session, project_id: int | str) -> Project:
    if isinstance(project_id, str) and not project_id.isdigit():
        p = session.scalar(select(Project).where(Project.code == project_id))
    else:
        p = session.get(Project, int(project_id))
        if p is None and isinstance(project_id, str):
            p = session.scalar(select(Project).where(Project.code == project_id))
    if p is None:
        raise NotFound(f"项目 {project_id} 不存在", f"project {project_id} not found", field="project")
    return p


def record_profit(session: Session, actor: Actor, project_id: int, *, period_start: date, period_end: date,
                  profit_fen: int, at: datetime, cash_available_fen: int | None = None,
                  audit_ref: str = "") -> ProfitRecord:
    p = get_project(session, project_id)
    ps, pe = _date(period_start, "period_start", "期间起"), _date(period_end, "period_end", "期间止")
    if ps > pe or ps.year != pe.year:
        raise InputError("期间须在同一年内且起日不晚于止日", "the period must lie within one year, start ≤ end",
                         field="period_start")
    _money(profit_fen, "profit_fen", "利润", allow_negative=True)
    if cash_available_fen is not None:
        _money(cash_available_fen, "cash_available_fen", "可用现金")
    if session.scalar(select(ProfitRecord.id).where(ProfitRecord.project_id == p.id, ProfitRecord.period_start == ps,
                                                    ProfitRecord.period_end == pe)) is not None:
        raise Conflict("该期间利润已登记", "profit for this period is already recorded", field="period_start")
    freetext.check(audit_ref, "audit_ref", "审计报告编号")
    access.require(actor, "project.write", region=p.village_code or p.township_code)
    r = ProfitRecord(project_id=p.id, county_code=p.county_code, period_start=ps, period_end=pe, profit_fen=profit_fen,
                     cash_available_fen=cash_available_fen, audit_ref=audit_ref)
    session.add(r)
    _record(session, actor, "project.profit", f"project:{p.code}", p.village_code or p.township_code,
            {"period": {"start": ps.isoformat(), "end": pe.isoformat()}, "profit_fen": profit_fen,
             "cash_available_fen": cash_available_fen, "row": row_fact(session, r)}, at)
    return r


# ---------------------------------------------------------------- assets


# The statuses an asset may be registered with; the others follow from a decided asset-disposal matter.
REGISTERED_ASSET_STATUSES = frozenset({"in_use", "idle"})


def register_asset(session: Session, actor: Actor, *, code: str, name: str, kind: str, value_fen: int,
                   at: datetime, project_id: int | None = None, owner_region_code: str | None = None,
                   owner_entity_id: int | None = None, operator_entity_id: int | None = None,
                   status: str = "in_use", county_code: str | None = None) -> Asset:
    code = _need(code, "code", "资产编号", "asset code", limit=40)
    name = freetext.text(name, "name", "资产名称", "asset name") or ""
    kind = _choice(kind, ASSET_KINDS, "kind", "资产类别")
    _money(value_fen, "value_fen", "资产价值")
    status = _choice(status, vocabulary.ASSET_STATUS, "status", "资产状态")
    if status not in REGISTERED_ASSET_STATUSES:
        # A lease, pledge or disposal takes effect only by executing the village's asset-disposal matter.
        raise Conflict(f"资产的“{vocabulary.ASSET_STATUS.zh(status)}”状态须经资产处置事项决议并执行后生效，登记时只能为使用中或闲置",
                       f"an asset is registered in use or idle: {status} takes effect only by executing an "
                       "asset-disposal matter", field="status", code="decision_required")
    project = get_project(session, project_id) if project_id is not None else None
    if owner_region_code is None and owner_entity_id is None:
        raise InputError("缺少资产所有者", "missing owner (region or entity)", field="owner_region_code")
    if owner_region_code:
        get_region(session, owner_region_code)
    county = (owner_region_code or (project.county_code if project else None) or county_code or "")[:6]
    if len(county) != 6:
        raise InputError("缺少所属区县", "missing county", field="county_code")
    if project is not None and project.county_code != county:
        raise InputError(f"项目 {project.code} 不在资产所属区县", "the project is in another county", field="project_id")
    for fid, field in ((owner_entity_id, "owner_entity_id"), (operator_entity_id, "operator_entity_id")):
        e = session.get(Entity, fid) if fid is not None else None
        if fid is not None and e is None:
            raise InputError(f"实施主体 {fid} 不存在", f"entity {fid} not found", field=field)
        if e is not None and e.county_code != county:
            raise InputError("实施主体不在资产所属区县", "the entity is registered in another county", field=field)
    if session.scalar(select(Asset.id).where(Asset.code == code)) is not None:
        raise Conflict(f"资产编号 {code} 已存在", f"asset {code} already exists", field="code")
    region = owner_region_code or county
    access.require(actor, "asset.write", region=region)
    a = Asset(code=code, name=name, kind=kind, project_id=project.id if project else None, value_fen=value_fen,
              owner_region_code=owner_region_code, owner_entity_id=owner_entity_id,
              operator_entity_id=operator_entity_id, status=status, county_code=county)
    session.add(a)
    _record(session, actor, "asset.register", f"asset:{code}", region,
            {"code": code, "kind": kind, "value_fen": value_fen, "row": row_fact(session, a)}, at)
    return a


def add_valuation(session: Session, actor: Actor, asset_id: int, *, valuer: str, valued_on: date, value_fen: int,
                  report_ref: str, at: datetime) -> AssetValuation:
    a = session.get(Asset, asset_id)
    if a is None:
        raise NotFound(f"资产 {asset_id} 不存在", f"asset {asset_id} not found", field="asset_id")
    valuer = freetext.text(valuer, "valuer", "评估机构", "valuer") or ""
    report_ref = freetext.text(report_ref, "report_ref", "评估报告编号", "report reference") or ""
    d = _date(valued_on, "valued_on", "评估日期")
    _money(value_fen, "value_fen", "评估价值")
    access.require(actor, "asset.write", region=a.owner_region_code or a.county_code)
    v = AssetValuation(asset_id=a.id, county_code=a.county_code, valuer=valuer, valued_on=d, value_fen=value_fen,
                       report_ref=report_ref)
    session.add(v)
    _record(session, actor, "asset.valuation", f"asset:{a.code}", a.owner_region_code or a.county_code,
            {"valuer": valuer, "valued_on": d.isoformat(), "value_fen": value_fen, "report_ref": report_ref,
             "row": row_fact(session, v)}, at)
    return v


# ---------------------------------------------------------------- work and contribution


def record_work(session: Session, actor: Actor, *, kind: str, household_id: int, period_start: date,
                period_end: date, days: str, at: datetime, daily_wage_fen: int | None = None,
                contract_id: int | None = None, person_id: int | None = None, post: str | None = None,
                village_code: str | None = None) -> WorkRecord:
    """Days worked for an employment contract, or on a public-welfare post."""
    kind = _choice(kind, vocabulary.WORK_KIND, "kind", "务工类别")
    hh = get_household(session, household_id)
    ps, pe = _date(period_start, "period_start", "起始日期"), _date(period_end, "period_end", "终止日期")
    if ps > pe:
        raise InputError("起始日期晚于终止日期", "period_start is after period_end", field="period_start")
    days = _decimal_str(days, "days", "天数")
    if daily_wage_fen is not None:
        _money(daily_wage_fen, "daily_wage_fen", "日工资")
    if kind == "employment":
        if contract_id is None:
            raise InputError("务工记录须关联务工协议", "an employment record needs its contract", field="contract_id")
        c = session.get(Contract, contract_id)
        if c is None or c.model != "employment":
            raise InputError(f"务工协议 {contract_id} 不存在", f"employment contract {contract_id} not found",
                             field="contract_id")
        if c.payee_household_id != hh.id:
            raise InputError("务工记录的户与协议不符", "household does not match the contract", field="household_id")
    else:
        post = _choice(post, vocabulary.PUBLIC_WELFARE_POST, "post", "公益岗位")
        if daily_wage_fen is None:
            raise InputError("缺少日工资", "missing daily wage", field="daily_wage_fen")
    if person_id is not None:
        p = session.get(Person, person_id)
        if p is None or p.household_id != hh.id:
            raise InputError("人员不属于该户", "the person is not in this household", field="person_id")
    village = _work_village(session, actor, hh, village_code)
    w = WorkRecord(kind=kind, contract_id=contract_id, household_id=hh.id, person_id=person_id, village_code=village,
                   post=post, period_start=ps, period_end=pe, days=days, daily_wage_fen=daily_wage_fen,
                   county_code=hh.county_code)
    session.add(w)
    _record(session, actor, "work.record", f"household:{hh.household_no}", village,
            {"kind": kind, "post": post, "days": days, "daily_wage_fen": daily_wage_fen,
             "period": {"start": ps.isoformat(), "end": pe.isoformat()}, "row": row_fact(session, w)}, at)
    return w


def _work_village(session: Session, actor: Actor, hh: Household, village_code: str | None) -> str:
    """The village a work or contribution record counts in (the household's unless another is given): the actor
    must act for the household's village, and for the other village too."""
    access.require(actor, "work.write", region=hh.village_code)
    if village_code is None or village_code == hh.village_code:
        return hh.village_code
    village = _village(session, village_code).code
    access.require(actor, "work.write", region=village)
    return village


def record_contribution(session: Session, actor: Actor, *, household_id: int, year: int, points: str, at: datetime,
                        reason: str = "", village_code: str | None = None) -> ContributionRecord:
    hh = get_household(session, household_id)
    points = _decimal_str(points, "points", "贡献积分")
    reason = freetext.text(reason, "reason", "积分事由", "reason", 200, required=False) or ""
    if year is None:
        raise InputError("缺少年度", "missing year", field="year")
    _year(year, "year", "年度")
    village = _work_village(session, actor, hh, village_code)
    r = ContributionRecord(household_id=hh.id, village_code=village, year=year, points=points, reason=reason,
                           county_code=hh.county_code)
    session.add(r)
    _record(session, actor, "contribution.record", f"household:{hh.household_no}", village,
            {"year": year, "points": points, "reason": reason, "row": row_fact(session, r)}, at)
    return r


def contract_versions(session: Session, contract_id: int) -> list[ContractVersion]:
    return list(session.scalars(select(ContractVersion).where(ContractVersion.contract_id == contract_id)
                                .order_by(ContractVersion.version)))
