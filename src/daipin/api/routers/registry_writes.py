"""The registry's writes over the API, each taking as its body the same typed command the page's form is read into
(`services/registry/commands.py`, `services/runs/commands.py`): register a household with its members, correct
it, add or correct a member, change its status, record a death or a move; register an entity, a project with its
funding, a profit, an asset, a valuation; save a village's yearly allocation plan. Money in whole fen.

A record outside the caller's view is not found (404) before anything is read from the body; every rule, the
access policy and the ledger entry are the services'. Answers name the record, never personal data."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from daipin.api.models import Open
from daipin.domain import access
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep
from daipin.services.registry import commands
from daipin.services.registry import views as rv
from daipin.services.runs import commands as plan_commands
from daipin.services.runs import views as run_views

router = APIRouter(tags=["registry writes 登记录入"])

VillageCode = Annotated[str, Path(pattern=r"^\d{12}$")]


class HouseholdOut(BaseModel):
    id: int
    household_no: str
    village_code: str
    status: str
    status_since: date | None
    exit_year: int | None
    life_state: str


class MemberOut(BaseModel):
    id: int
    household_id: int
    relation: str
    labor: str
    life_state: str
    life_state_date: date | None


class EntityOut(BaseModel):
    id: int
    name: str
    kind: str
    county_code: str
    region_code: str | None


class ProjectOut(BaseModel):
    id: int
    code: str
    name: str
    entity_id: int
    township_code: str
    village_code: str | None
    status: str
    funding_fen: int
    warnings: list[dict[str, str]]


class ProfitOut(BaseModel):
    id: int
    project_id: int
    period_start: date
    period_end: date
    profit_fen: int
    cash_available_fen: int | None


class AssetOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    value_fen: int
    status: str
    project_id: int | None


class ValuationOut(BaseModel):
    id: int
    asset_id: int
    valued_on: date
    value_fen: int


class PlanOut(BaseModel):
    village_code: str
    year: int
    pool_fen: int
    cap_per_household_fen: int | None
    eligible_statuses: list[Any]
    buckets: list[Any]
    status: str


def _household(hh: Any) -> HouseholdOut:
    return HouseholdOut(id=hh.id, household_no=hh.household_no, village_code=hh.village_code, status=hh.status,
                        status_since=hh.status_since, exit_year=hh.exit_year, life_state=hh.life_state)


def _member(p: Any) -> MemberOut:
    return MemberOut(id=p.id, household_id=p.household_id, relation=p.relation, labor=p.labor,
                     life_state=p.life_state, life_state_date=p.life_state_date)


def _seen_household(session: Any, actor: Any, household_id: int) -> None:
    rv.household(session, actor, household_id)  # 404 outside the actor's view, before the body is used
    access.require(actor, "household.write")


# ---------------------------------------------------------------- households and members


@router.post("/households", status_code=201, dependencies=[CsrfDep])
def register_household(body: commands.RegisterHousehold, actor: CurrentActor, session: SessionDep,
                       now: NowDep) -> HouseholdOut:
    """建档立卡登记：农户及其成员（恰有一名户主）/ register a household with its members (exactly one head)."""
    return _household(commands.register_household(session, actor, body, at=now))


@router.patch("/households/{household_id}", dependencies=[CsrfDep])
def edit_household(household_id: Id, body: commands.EditHousehold, actor: CurrentActor, session: SessionDep,
                   now: NowDep) -> HouseholdOut:
    """更正农户致贫原因（不填即清除）和联系电话（不填则保留）/ correct a household's poverty cause (left out:
    cleared) and phone (left out: kept)."""
    _seen_household(session, actor, household_id)
    return _household(commands.edit_household(session, actor, household_id, body, at=now))


@router.post("/households/{household_id}/members", status_code=201, dependencies=[CsrfDep])
def add_member(household_id: Id, body: commands.AddMember, actor: CurrentActor, session: SessionDep,
               now: NowDep) -> MemberOut:
    """新增家庭成员（出生、婚入、迁入）/ add a member to a household."""
    _seen_household(session, actor, household_id)
    return _member(commands.add_member(session, actor, household_id, body, at=now))


@router.patch("/households/{household_id}/members/{person_id}", dependencies=[CsrfDep])
def edit_member(household_id: Id, person_id: Id, body: commands.EditMember, actor: CurrentActor,
                session: SessionDep, now: NowDep) -> MemberOut:
    """更正成员劳动能力、健康状况 / correct a member's labor ability and health note."""
    _seen_household(session, actor, household_id)
    return _member(commands.edit_member(session, actor, household_id, person_id, body, at=now))


@router.post("/households/{household_id}/status", dependencies=[CsrfDep])
def change_status(household_id: Id, body: commands.ChangeStatus, actor: CurrentActor, session: SessionDep,
                  now: NowDep) -> HouseholdOut:
    """户类型变更（动态管理）：新类型、起始日期、原因；脱贫户填脱贫年度 / change a household's status from a day."""
    _seen_household(session, actor, household_id)
    return _household(commands.change_status(session, actor, household_id, body, at=now))


@router.post("/households/{household_id}/death", dependencies=[CsrfDep])
def record_death(household_id: Id, body: commands.RecordDeath, actor: CurrentActor, session: SessionDep,
                 now: NowDep) -> MemberOut:
    """成员死亡登记 / record a member's death on a day."""
    _seen_household(session, actor, household_id)
    return _member(commands.record_death(session, actor, household_id, body, at=now))


@router.post("/households/{household_id}/move", dependencies=[CsrfDep])
def record_move(household_id: Id, body: commands.RecordMove, actor: CurrentActor, session: SessionDep,
                now: NowDep) -> HouseholdOut:
    """整户迁出登记 / record that the whole household moved away on a day."""
    _seen_household(session, actor, household_id)
    return _household(commands.record_move(session, actor, household_id, body, at=now))


# ---------------------------------------------------------------- entities, projects, profits


@router.post("/entities", status_code=201, dependencies=[CsrfDep])
def register_entity(body: commands.RegisterEntity, actor: CurrentActor, session: SessionDep,
                    now: NowDep) -> EntityOut:
    """实施主体登记 / register an entity (in your county; `region_code` its township or village, if any)."""
    e = commands.register_entity(session, actor, body, at=now)
    return EntityOut(id=e.id, name=e.name, kind=e.kind, county_code=e.county_code, region_code=e.region_code)


@router.post("/projects", status_code=201, dependencies=[CsrfDep])
def register_project(body: commands.RegisterProject, actor: CurrentActor, session: SessionDep,
                     now: NowDep) -> ProjectOut:
    """项目登记及资金来源（金额以分计）；`warnings` 为需留意但不阻止登记的事项 / register a project with its
    funding (fen); `warnings` name what to look at that does not stop the registration."""
    p, warnings = commands.register_project(session, actor, body, at=now)
    return ProjectOut(id=p.id, code=p.code, name=p.name, entity_id=p.entity_id, township_code=p.township_code,
                      village_code=p.village_code, status=p.status,
                      funding_fen=sum(f.amount_fen or 0 for f in body.funding), warnings=warnings)


@router.post("/projects/{project_id}/profits", status_code=201, dependencies=[CsrfDep])
def record_profit(project_id: Id, body: commands.RecordProfit, actor: CurrentActor, session: SessionDep,
                  now: NowDep, today: TodayDep) -> ProfitOut:
    """项目收益登记（同一年度内的期间）/ record a project's profit for a period within one year."""
    rv.project_page(session, actor, project_id, today)  # 404 outside the actor's view
    r = commands.record_profit(session, actor, project_id, body, at=now)
    return ProfitOut(id=r.id, project_id=r.project_id, period_start=r.period_start, period_end=r.period_end,
                     profit_fen=r.profit_fen, cash_available_fen=r.cash_available_fen)


# ---------------------------------------------------------------- assets


@router.post("/assets", status_code=201, dependencies=[CsrfDep])
def register_asset(body: commands.RegisterAsset, actor: CurrentActor, session: SessionDep,
                   now: NowDep) -> AssetOut:
    """资产登记（在用或闲置；出租、抵押、处置须经决议事项）/ register an asset (in use or idle)."""
    a = commands.register_asset(session, actor, body, at=now)
    return AssetOut(id=a.id, code=a.code, name=a.name, kind=a.kind, value_fen=a.value_fen, status=a.status,
                    project_id=a.project_id)


@router.post("/assets/{asset_id}/valuations", status_code=201, dependencies=[CsrfDep])
def add_valuation(asset_id: Id, body: commands.AddValuation, actor: CurrentActor, session: SessionDep,
                  now: NowDep) -> ValuationOut:
    """资产评估登记 / record an asset's valuation: who, when, at what value, by which report."""
    rv.asset_page(session, actor, asset_id)  # 404 outside the actor's view
    v = commands.add_valuation(session, actor, asset_id, body, at=now)
    return ValuationOut(id=v.id, asset_id=v.asset_id, valued_on=v.valued_on, value_fen=v.value_fen)


# ---------------------------------------------------------------- a village's yearly allocation plan


class PlanViewOut(Open):
    """A village's plan for a year as the page shows it (the plan, or the defaults when none is saved) and whether
    the reader may change it; further fields pass through."""


@router.get("/villages/{village}/plan", response_model=PlanViewOut)
def allocation_plan(village: VillageCode, actor: CurrentActor, session: SessionDep, today: TodayDep,
                    year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict[str, Any]:
    """村年度收益分配方案（测算参数）及本人可否修改 / a village's allocation plan for a year (default: this year)."""
    return run_views.allocation_plan(session, actor, village, year or today.year)


@router.put("/villages/{village}/plan", dependencies=[CsrfDep])
def save_plan(village: VillageCode, body: plan_commands.SavePlan, actor: CurrentActor, session: SessionDep,
              now: NowDep, today: TodayDep) -> PlanOut:
    """保存村年度收益分配方案：可分配收益、每户上限、享受对象、分配科目（份额合计为 1）/ save a village's yearly
    allocation plan: the pool, the per-household cap, the eligible statuses and the buckets (shares adding to 1)."""
    run_views.allocation_plan(session, actor, village, today.year)  # 404 outside the actor's view
    p = plan_commands.save(session, actor, village, body, at=now)
    return PlanOut(village_code=p.village_code, year=p.year, pool_fen=p.pool_fen,
                   cap_per_household_fen=p.cap_per_household_fen, eligible_statuses=list(p.eligible_statuses or []),
                   buckets=list(p.buckets or []), status=p.status)
