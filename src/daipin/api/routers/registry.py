"""Registry over the API: household search and pages, entities, projects, assets, contracts (scoped reads), and
signing, amending and terminating contracts."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from daipin.api import models as m
from daipin.api.schemas import Cursor, Limit, Page, Strict, make_cursor, read_cursor
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep, read_only
from daipin.services.registry import views as rv

router = APIRouter(tags=["registry 登记"])

Status = Literal["poor", "monitored", "exited", "non_poor"]


class HouseholdRow(BaseModel):
    id: int
    household_no: str
    head: str
    village_code: str
    village: str
    status: str
    status_label: str
    labor: str
    labor_code: str
    life_state: str
    life_state_label: str


@router.get("/households", response_model=Page[HouseholdRow])
async def search_households(request: Request, q: str = Query("", max_length=40), status: Status | None = None,
                            village: str | None = Query(None, pattern=r"^\d{9}(\d{3})?$"),
                            limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """农户检索（户编号、户主姓名、拼音首字母；按户编号排序，分页）/ search households in your region, by household
    number; one page of `limit`, the next asked for with `cursor`; `total` is null past the counting cap."""
    at = read_cursor("households", cursor, "offset")
    offset = at["offset"] if at else 0
    got = await read_only(request, lambda session, auth: rv.search_households(
        session, auth.actor, q=q, status=status, village=village, offset=offset, limit=limit, count=True))
    return {"items": got["items"], "limit": limit, "total": None if got["capped"] else got["total"],
            "next_cursor": make_cursor("households", offset=offset + limit) if got["more"] else None}


@router.get("/households/{household_id}", response_model=m.HouseholdPageOut)
async def household(request: Request, household_id: Id) -> dict[str, Any]:
    """农户详情（个人信息已遮蔽）/ a household: members (masked), contracts, income, status history."""
    return await read_only(request, lambda session, auth: rv.household_page(session, auth.actor, household_id))


@router.get("/entities", response_model=list[m.EntityRowOut])
def entities(actor: CurrentActor, session: SessionDep, q: str = Query("", max_length=40)) -> list[dict[str, Any]]:
    """实施主体列表 / entities you may see."""
    return rv.entities(session, actor, q=q)


@router.get("/entities/{entity_id}", response_model=m.EntityPageOut)
def entity(entity_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> dict[str, Any]:
    """实施主体：协议、应付、拖欠（含欠薪）、工资、扶持资金还款、信用 / an entity: contracts, dues, arrears (wages in
    arrears included), wages, fund-support repayments, credit record."""
    return rv.entity_page(session, actor, entity_id, today)


@router.get("/projects", response_model=list[m.ProjectRowOut])
def projects(actor: CurrentActor, session: SessionDep) -> list[dict[str, Any]]:
    """项目列表 / projects."""
    return rv.projects(session, actor)


@router.get("/projects/{project_id}", response_model=m.ProjectPageOut)
def project(project_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> dict[str, Any]:
    """项目详情 / a project: funding, assets, profits, contracts, wages, fund-support repayments."""
    return rv.project_page(session, actor, project_id, today)


@router.get("/assets/{asset_id}", response_model=m.AssetPageOut)
def asset(asset_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """资产详情 / an asset and its valuations."""
    return rv.asset_page(session, actor, asset_id)


class ContractIn(Strict):
    code: str = Field(max_length=40)
    model: str = Field(max_length=24)
    project_id: Id = Field(ge=1, le=2**62)
    start_date: date
    end_date: date
    terms: dict[str, Any]
    payee_household_id: int | None = Field(None, ge=1, le=2**62)
    payee_village_code: str | None = Field(None, max_length=12)
    person_id: int | None = Field(None, ge=1, le=2**62)
    acknowledge_warning: bool = Field(False, description="实施主体处于信用警示状态时，确认已知悉该警示 / the signer "
                                      "acknowledges the entity's credit warning (required to sign with a warned entity)")


@router.post("/contracts", status_code=201, dependencies=[CsrfDep], response_model=m.ContractSignedOut)
def sign_contract(body: ContractIn, actor: CurrentActor, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """签订利益联结协议（条款按模式校验）/ sign a benefit-linkage contract; terms checked per model."""
    from daipin.services.contracts import service as contracts

    if body.payee_household_id is not None:
        rv.household(session, actor, body.payee_household_id)  # 404 outside the actor's region
    c = contracts.sign_contract(session, actor, code=body.code, model=body.model, project_id=body.project_id,
                                start_date=body.start_date, end_date=body.end_date, terms=body.terms, at=now,
                                payee_household_id=body.payee_household_id,
                                payee_village_code=body.payee_village_code, person_id=body.person_id,
                                acknowledge_warning=body.acknowledge_warning)
    return {"id": c.id, "code": c.code, "model": c.model, "status": c.status, "version": c.version}


@router.get("/contracts/{contract_id}", response_model=m.ContractPageOut)
async def contract(request: Request, contract_id: Id) -> dict[str, Any]:
    """协议详情：受益方、现行条款、版本记录（现行或已被取代，各版变更内容）/ a contract: payee, the terms in force,
    every version (in force or superseded by which, what each changed)."""
    return await read_only(request, lambda session, auth: rv.contract_page(session, auth.actor, contract_id))


class AmendIn(Strict):
    reason: str = Field(max_length=200)
    terms: dict[str, Any] | None = None
    start_date: date | None = None
    end_date: date | None = None
    effective_from: date | None = Field(None, description="新版本生效日期（默认登记当日）/ the day the new version is "
                                        "in force from (default: the day it is recorded)")
    version: int | None = Field(None, ge=1, description="据以变更的版本；已非现行版本则 409 / the version the change "
                                "was made from; 409 if it is no longer current")


class TerminateIn(Strict):
    on: date
    reason: str = Field(max_length=200)
    version: int | None = Field(None, ge=1, description="据以终止的版本；已非现行版本则 409 / the version the "
                                "termination was made from; 409 if it is no longer current")


def _version_out(c: Any, v: Any) -> dict[str, Any]:
    return {"id": c.id, "code": c.code, "status": c.status, "version": v.version}


@router.post("/contracts/{contract_id}/amend", dependencies=[CsrfDep], response_model=m.ContractVersionOut)
def amend_contract(contract_id: Id, body: AmendIn, actor: CurrentActor, session: SessionDep,
                   now: NowDep) -> dict[str, Any]:
    """变更协议（生成新版本，旧版本保留）/ amend a contract as a new version, older versions kept: `terms`, when
    given, replace the current terms as a whole; dates left out stay as they are."""
    from daipin.services.contracts import service as contracts

    c = rv.contract(session, actor, contract_id)  # 404 outside the actor's view
    v = contracts.amend_contract(session, actor, c.id, reason=body.reason, at=now, terms=body.terms,
                                 start_date=body.start_date, end_date=body.end_date,
                                 effective_from=body.effective_from, expected_version=body.version)
    return _version_out(c, v)


@router.post("/contracts/{contract_id}/terminate", dependencies=[CsrfDep], response_model=m.ContractVersionOut)
def terminate_contract(contract_id: Id, body: TerminateIn, actor: CurrentActor, session: SessionDep,
                       now: NowDep) -> dict[str, Any]:
    """终止协议 / terminate a contract from a date (a last version, terminated)."""
    from daipin.services.contracts import service as contracts

    c = rv.contract(session, actor, contract_id)  # 404 outside the actor's view
    v = contracts.terminate_contract(session, actor, c.id, on=body.on, reason=body.reason, at=now,
                                     expected_version=body.version)
    return _version_out(c, v)
