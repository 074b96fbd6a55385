"""What the registry records for the red-flag rules, each a row and its ledger entry: a village cadre's term and the
kin households the cadre declares (KIN), a household account's holder (ACCOUNT), an asset's status from a day
(DISPOSAL), a household split (DUPLICATE), a village's photovoltaic income by use (PV_USE), an entity's dues with
their due dates and what was paid against them (ARREARS)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, Contract, Household, Person
from daipin.db.models.supervision import (
    AccountHolder,
    AssetStatusChange,
    CadreKin,
    Due,
    HouseholdSplit,
    ProjectDebt,
    PvIncomeUse,
    VillageCadre,
)
from daipin.db.models.workflow import Matter
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.vocabulary import ASSET_STATUS
from daipin.services.registry.service import get_entity, get_household
from daipin.services.shared import freetext
from daipin.services.shared.inputs import as_date, money, not_future
from daipin.services.supervision.rules import PV_PURPOSES
from daipin.services.supervision.service import record

DUE_KINDS = ("dividend", "rent", "interest", "wage", "repayment", "other")
DEBT_KINDS = ("loan", "payable", "guarantee", "other")


def _household(session: Session, ref: Any, field: str = "household") -> Household:
    text = str(ref or "").strip()
    if not text:
        raise InputError("缺少农户", "missing household", field=field)
    hh = session.scalar(select(Household).where(Household.household_no == text))
    if hh is None and text.isdigit():
        hh = session.get(Household, int(text))
    if hh is None:
        raise InputError(f"户 {text} 不存在", f"household {text} not found", field=field)
    return hh


def _person(session: Session, ref: Any) -> Person:
    try:
        p = session.get(Person, int(ref))
    except (TypeError, ValueError) as exc:
        raise InputError("人员编号应为数字", "person must be an id", field="person") from exc
    if p is None:
        raise InputError(f"人员 {ref} 不存在", f"person {ref} not found", field="person")
    return p


def record_cadre(session: Session, actor: Actor, *, person: Any, post: str, from_date: Any, at: datetime,
                 to_date: Any = None) -> VillageCadre:
    """A village cadre's term: a registered person of the village, from a day (to a day)."""
    p = _person(session, person)
    hh = get_household(session, p.household_id)
    title = freetext.text(post, "post", "职务", "post", 40) or ""
    start = as_date(from_date, "from_date", "任职起始日期")
    end = as_date(to_date, "to_date", "任职终止日期") if to_date not in (None, "") else None
    if end is not None and end < start:
        raise InputError("任职终止日期早于起始日期", "the term ends before it starts", field="to_date")
    access.require(actor, "household.write", region=hh.village_code)
    c = VillageCadre(village_code=hh.village_code, county_code=hh.county_code, person_id=p.id, post=title,
                     from_date=start, to_date=end)
    session.add(c)
    session.flush()
    record(session, actor, "cadre.term", f"household:{hh.household_no}", hh.village_code,
           {"post": title, "from": start.isoformat(), "to": end.isoformat() if end else None}, [c], at)
    return c


def declare_kin(session: Session, actor: Actor, *, cadre: Any, household: Any, relation: str, declared_on: Any,
                at: datetime) -> CadreKin:
    """A household a cadre declares as kin (近亲属申报); once per cadre and household."""
    try:
        c = session.get(VillageCadre, int(cadre))
    except (TypeError, ValueError) as exc:
        raise InputError("村干部编号应为数字", "cadre must be an id", field="cadre") from exc
    if c is None:
        raise InputError(f"村干部任职 {cadre} 不存在", f"cadre term {cadre} not found", field="cadre")
    hh = _household(session, household)
    rel = freetext.text(relation, "relation", "亲属关系", "relation", 40) or ""
    day = not_future(as_date(declared_on, "declared_on", "申报日期"), at, "declared_on", "申报日期")
    access.require(actor, "household.write", region=c.village_code)
    if session.scalar(select(CadreKin.id).where(CadreKin.cadre_id == c.id, CadreKin.household_id == hh.id)):
        raise Conflict("该亲属户已申报", "this kin household is already declared", field="household")
    k = CadreKin(cadre_id=c.id, household_id=hh.id, county_code=c.county_code, relation=rel, declared_on=day)
    session.add(k)
    session.flush()
    record(session, actor, "cadre.kin", f"household:{hh.household_no}", c.village_code,
           {"cadre": c.id, "relation": rel, "declared_on": day.isoformat()}, [k], at)
    return k


def set_account_holder(session: Session, actor: Actor, *, household: Any, holder_name: str, recorded_on: Any,
                       at: datetime) -> AccountHolder:
    """The holder's name of a household's bank account (the ledger holds its salted digest only)."""
    hh = _household(session, household)
    name = str(holder_name or "").strip()
    if not name or len(name) > 60:
        raise InputError("开户人姓名应为 1 到 60 个字", "holder name must be 1-60 characters", field="holder_name")
    freetext.check(name, "holder_name", "开户人姓名")
    day = not_future(as_date(recorded_on, "recorded_on", "登记日期"), at, "recorded_on", "登记日期")
    access.require(actor, "household.write", region=hh.village_code)
    row = session.scalar(select(AccountHolder).where(AccountHolder.household_id == hh.id).with_for_update())
    if row is None:
        row = AccountHolder(household_id=hh.id, county_code=hh.county_code, holder_name=name, recorded_on=day)
        session.add(row)
    else:
        row.holder_name, row.recorded_on = name, day
    session.flush()
    record(session, actor, "household.account_holder", f"household:{hh.household_no}", hh.village_code,
           {"recorded_on": day.isoformat()}, [row], at)
    return row


def record_asset_status(session: Session, actor: Actor, *, asset: Any, status: str, from_date: Any, at: datetime,
                        matter: Any = None, decision_ref: str = "") -> AssetStatusChange:
    """An asset's status from a day on, as found (the asset's own status is changed by its decision's execution
    only): idle, in use, leased, pledged or disposed of, with the decision that allowed it when there was one."""
    text = str(asset or "").strip()
    a = session.scalar(select(Asset).where(Asset.code == text))
    if a is None:
        raise InputError(f"资产 {text} 不存在", f"asset {text} not found", field="asset")
    if status not in ASSET_STATUS:
        raise InputError("资产状态应为：" + "、".join(ASSET_STATUS.values()), "unknown asset status", field="status")
    day = not_future(as_date(from_date, "from_date", "起始日期"), at, "from_date", "起始日期")
    ref = freetext.text(decision_ref, "decision_ref", "决定文号", "decision reference", 200, required=False) or ""
    matter_id = None
    if matter not in (None, ""):
        m = session.get(Matter, int(matter)) if str(matter).isdigit() else None
        if m is None:
            raise InputError(f"事项 {matter} 不存在", f"matter {matter} not found", field="matter")
        matter_id = m.id
    region = a.owner_region_code or a.county_code
    access.require(actor, "asset.write", region=region)
    row = AssetStatusChange(asset_id=a.id, county_code=a.county_code, status=status, from_date=day,
                            matter_id=matter_id, decision_ref=ref)
    session.add(row)
    session.flush()
    record(session, actor, "asset.status_found", f"asset:{a.code}", region,
           {"status": status, "from": day.isoformat(), "matter": matter_id, "decision_ref": ref}, [row], at)
    return row


def record_split(session: Session, actor: Actor, *, household: Any, from_household: Any, split_on: Any,
                 at: datetime) -> HouseholdSplit:
    """A household split off another on a day (分户)."""
    new = _household(session, household)
    old = _household(session, from_household, "from_household")
    if new.id == old.id:
        raise InputError("分出户与原户不能相同", "a household cannot split from itself", field="from_household")
    day = not_future(as_date(split_on, "split_on", "分户日期"), at, "split_on", "分户日期")
    access.require(actor, "household.write", region=new.village_code)
    access.require(actor, "household.write", region=old.village_code, field="from_household")
    if session.scalar(select(HouseholdSplit.id).where(HouseholdSplit.household_id == new.id)):
        raise Conflict("该户的分户已登记", "this household's split is already recorded", field="household")
    row = HouseholdSplit(household_id=new.id, from_household_id=old.id, county_code=new.county_code, split_on=day)
    session.add(row)
    session.flush()
    record(session, actor, "household.split", f"household:{new.household_no}", new.village_code,
           {"from": old.household_no, "split_on": day.isoformat()}, [row], at)
    return row


def record_pv_use(session: Session, actor: Actor, *, village: str, year: Any, purpose: str, amount_fen: Any,
                  at: datetime) -> PvIncomeUse:
    """A village's photovoltaic income of a year spent on one use (replacing what was recorded for that use)."""
    from daipin.services.registry.service import get_region

    try:
        v = get_region(session, str(village or "").strip())
    except NotFound as exc:
        raise InputError(f"村 {village} 不存在", f"village {village} not found", field="village") from exc
    if v.level != "village":
        raise InputError(f"{v.code} 不是村", f"{v.code} is not a village", field="village")
    try:
        y = int(year)
    except (TypeError, ValueError) as exc:
        raise InputError("年度应为数字", "year must be a number", field="year") from exc
    if not 2000 <= y <= 2100:
        raise InputError("年度应在 2000 到 2100 之间", "year must be 2000-2100", field="year")
    if purpose not in PV_PURPOSES:
        raise InputError("用途应为：" + "、".join(PV_PURPOSES), "unknown purpose", field="purpose")
    amount = money(amount_fen, "amount_fen", "金额")
    if amount < 0:
        raise InputError("金额不能为负", "amount must not be negative", field="amount_fen")
    access.require(actor, "plan.write", region=v.code)
    row = session.scalar(select(PvIncomeUse).where(PvIncomeUse.village_code == v.code, PvIncomeUse.year == y,
                                                   PvIncomeUse.purpose == purpose).with_for_update())
    if row is None:
        row = PvIncomeUse(village_code=v.code, county_code=v.county_code, year=y, purpose=purpose, amount_fen=amount)
        session.add(row)
    else:
        row.amount_fen = amount
    session.flush()
    record(session, actor, "village.pv_use", f"village:{v.code}", v.code,
           {"year": y, "purpose": purpose, "amount_fen": amount}, [row], at)
    return row


def record_due(session: Session, actor: Actor, *, entity: Any, kind: str, due_on: Any, amount_fen: Any,
               region: str, at: datetime, contract: Any = None, description: str = "") -> Due:
    """A due an entity owes with its due date."""
    from daipin.services.registry.service import get_region

    try:
        e = get_entity(session, int(entity))
    except (TypeError, ValueError) as exc:
        raise InputError("实施主体编号应为数字", "entity must be an id", field="entity") from exc
    except NotFound as exc:
        raise InputError(f"实施主体 {entity} 不存在", f"entity {entity} not found", field="entity") from exc
    if kind not in DUE_KINDS:
        raise InputError("应付类别应为：" + "、".join(DUE_KINDS), "unknown kind of due", field="kind")
    day = as_date(due_on, "due_on", "应付日期")
    amount = money(amount_fen, "amount_fen", "应付金额")
    if amount <= 0:
        raise InputError("应付金额应大于零", "amount must be positive", field="amount_fen")
    try:
        r = get_region(session, str(region or "").strip())
    except NotFound as exc:
        raise InputError(f"行政区划 {region} 不存在", f"region {region} not found", field="region") from exc
    contract_id = None
    if contract not in (None, ""):
        c = session.scalar(select(Contract).where(Contract.code == str(contract)))
        if c is None or c.entity_id != e.id:
            raise InputError(f"协议 {contract} 不是该主体的协议", f"contract {contract} is not the entity's",
                             field="contract")
        contract_id = c.id
    text = freetext.text(description, "description", "说明", "description", 200, required=False) or ""
    access.require(actor, "entity.write", region=r.code)
    d = Due(entity_id=e.id, contract_id=contract_id, county_code=e.county_code, region_code=r.code, kind=kind,
            due_on=day, amount_fen=amount, paid_fen=0, paid_on=None, description=text)
    session.add(d)
    session.flush()
    record(session, actor, "entity.due", f"entity:{e.uscc}", r.code,
           {"kind": kind, "due_on": day.isoformat(), "amount_fen": amount}, [d], at)
    return d


def pay_due(session: Session, actor: Actor, *, due: Any, amount_fen: Any, paid_on: Any, at: datetime) -> Due:
    """What an entity paid against a due, on a day; the total may not exceed the amount due."""
    try:
        d = session.get(Due, int(due), with_for_update=True)
    except (TypeError, ValueError) as exc:
        raise InputError("应付编号应为数字", "due must be an id", field="due") from exc
    if d is None:
        raise InputError(f"应付 {due} 不存在", f"due {due} not found", field="due")
    amount = money(amount_fen, "amount_fen", "支付金额")
    if amount <= 0:
        raise InputError("支付金额应大于零", "amount must be positive", field="amount_fen")
    day: date = not_future(as_date(paid_on, "paid_on", "支付日期"), at, "paid_on", "支付日期")
    access.require(actor, "entity.write", region=d.region_code)
    if d.paid_fen + amount > d.amount_fen:
        raise InputError("累计支付超过应付金额", "the payments would exceed the amount due", field="amount_fen")
    d.paid_fen += amount
    d.paid_on = day
    e = get_entity(session, d.entity_id)
    record(session, actor, "entity.due_paid", f"entity:{e.uscc}", d.region_code,
           {"due": d.id, "amount_fen": amount, "paid_on": day.isoformat()}, [d], at)
    return d


def record_debt(session: Session, actor: Actor, *, project: Any, kind: str, creditor: str, principal_fen: Any,
                outstanding_fen: Any, recorded_on: Any, at: datetime, due_on: Any = None) -> ProjectDebt:
    """A project's debt in the risk register: what is still owed may not exceed the principal."""
    from daipin.db.models.registry import Project

    p = session.scalar(select(Project).where(Project.code == str(project or "").strip()))
    if p is None:
        raise InputError(f"项目 {project} 不存在", f"project {project} not found", field="project")
    if kind not in DEBT_KINDS:
        raise InputError("债务类别应为：" + "、".join(DEBT_KINDS), "unknown kind of debt", field="kind")
    who = freetext.text(creditor, "creditor", "债权人", "creditor", 200) or ""
    principal = money(principal_fen, "principal_fen", "本金")
    owed = money(outstanding_fen, "outstanding_fen", "未偿余额")
    if principal <= 0:
        raise InputError("本金应大于零", "principal must be positive", field="principal_fen")
    if not 0 <= owed <= principal:
        raise InputError("未偿余额应在零与本金之间", "what is owed must be between 0 and the principal",
                         field="outstanding_fen")
    day = not_future(as_date(recorded_on, "recorded_on", "登记日期"), at, "recorded_on", "登记日期")
    due = as_date(due_on, "due_on", "到期日") if due_on not in (None, "") else None
    region = p.village_code or p.township_code
    access.require(actor, "project.write", region=region)
    d = ProjectDebt(project_id=p.id, county_code=p.county_code, kind=kind, creditor=who, principal_fen=principal,
                    outstanding_fen=owed, due_on=due, recorded_on=day)
    session.add(d)
    session.flush()
    record(session, actor, "project.debt", f"project:{p.code}", region,
           {"kind": kind, "principal_fen": principal, "outstanding_fen": owed,
            "due_on": due.isoformat() if due else None}, [d], at)
    return d
