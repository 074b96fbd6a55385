"""Supervision over the API (SUPERVISION.md): the district scan, findings and their steps, inspections, overdue
rectifications, and an entity's credit record with its listing's steps."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from daipin.api import models as m
from daipin.api.schemas import Strict
from daipin.http.deps import CsrfDep, CurrentActor, Id, NowDep, SessionDep, TodayDep
from daipin.services.credit import commands as credit_commands
from daipin.services.credit import views as credit_views
from daipin.services.insurance import commands as insurance_commands
from daipin.services.supervision import commands, indicators, service, views

router = APIRouter(tags=["supervision 监督"])


class ScanIn(Strict):
    county: str = Field(min_length=6, max_length=6, description="区县代码 / the district's code")


class ScanOut(BaseModel):
    county: str
    opened: list[int]
    came_back: list[int]
    gone: list[int]
    causes_by_rule: dict[str, int]


class FindingOut(BaseModel):
    id: int
    rule: str
    rule_label: str
    severity: str
    severity_label: str
    region: str
    region_name: str
    subject: str
    summary: str
    status: str
    status_label: str
    source: str
    responsible_unit: str
    deadline: str
    overdue: bool
    escalated_to: str
    cause_gone: bool
    opened_at: str
    note: str


class FindingDetailOut(FindingOut):
    evidence: dict[str, Any]
    steps: list[dict[str, str]]


class InspectionOut(BaseModel):
    id: int
    findings: list[int]


class ListingStepIn(Strict):
    """One step of a listing: object (text), answer (upheld, answer), effect, repair (rectification)."""

    step: Literal["object", "answer", "effect", "repair"]
    text: str | None = Field(default=None, max_length=4000)
    upheld: bool | None = None
    answer: str | None = Field(default=None, max_length=4000)
    rectification: str | None = Field(default=None, max_length=4000)


class InsuredAssetOut(BaseModel):
    asset: str
    name: str
    value_fen: int
    region: str
    region_name: str
    project: str
    project_name: str
    entity: str
    uscc: str
    insured: bool
    insured_label: str
    policy_no: str
    insurer: str
    kind: str
    for_all_assets: bool
    insured_sum_fen: int | None
    valid_to: str


class PremiumSubsidyOut(BaseModel):
    id: int
    year: int
    entity: str
    uscc: str
    policy_no: str
    insurer: str
    asset: str
    premium_fen: int
    subsidy_fen: int
    status: str
    status_label: str
    reason: str
    paid_on: str


class InsuranceOut(BaseModel):
    summary: dict[str, int]
    assets: list[InsuredAssetOut]
    subsidies: list[PremiumSubsidyOut]


class ListingOut(BaseModel):
    id: int
    entity_id: int
    status: str


@router.post("/supervision/scan", response_model=ScanOut, dependencies=[CsrfDep])
def scan(body: ScanIn, actor: CurrentActor, session: SessionDep, now: NowDep) -> ScanOut:
    """扫描全区风险预警（幂等）/ scan a district for red flags (idempotent)."""
    r = service.scan(session, actor, body.county, now)
    return ScanOut(county=r.county, opened=r.opened, came_back=r.came_back, gone=r.gone, causes_by_rule=r.by_rule)


@router.get("/supervision/findings", response_model=list[FindingOut])
def findings(actor: CurrentActor, session: SessionDep, today: TodayDep, status: str | None = None,
             rule: str | None = None) -> list[FindingOut]:
    """辖区内的问题线索 / the findings in the actor's reach."""
    return [FindingOut.model_validate(r) for r in views.findings(session, actor, status=status, rule=rule,
                                                                 today=today)]


@router.get("/supervision/findings/{finding_id}", response_model=FindingDetailOut)
def finding(finding_id: Id, actor: CurrentActor, session: SessionDep, today: TodayDep) -> FindingDetailOut:
    """问题线索详情：证据与可办理的步骤 / a finding, its evidence and the steps open to the actor."""
    return FindingDetailOut.model_validate(views.finding(session, actor, finding_id, today=today))


@router.post("/supervision/findings/{finding_id}/steps", response_model=FindingOut, dependencies=[CsrfDep])
def finding_step(finding_id: Id, body: commands.FindingStep, actor: CurrentActor, session: SessionDep,
                 now: NowDep, today: TodayDep) -> FindingOut:
    """交办、报告整改、验收、退回或排除 / assign, rectify, verify, reject or dismiss a finding."""
    views.finding(session, actor, finding_id)  # 404 outside the actor's view
    commands.take_step(session, actor, finding_id, body, at=now)
    return FindingOut.model_validate(views.finding(session, actor, finding_id, today=today))


@router.post("/supervision/inspections", status_code=201, response_model=InspectionOut, dependencies=[CsrfDep])
def inspection(body: commands.RecordInspection, actor: CurrentActor, session: SessionDep, now: NowDep) -> InspectionOut:
    """登记检查记录，可同时提出问题线索 / record an inspection and the findings it opens by hand."""
    ins, opened = commands.record_inspection(session, actor, body, at=now)
    return InspectionOut(id=ins.id, findings=[f.id for f in opened])


@router.get("/supervision/overdue", response_model=list[FindingOut])
def overdue(actor: CurrentActor, session: SessionDep, today: TodayDep) -> list[FindingOut]:
    """逾期未整改（待我处理）/ overdue rectifications the actor follows up."""
    return [FindingOut.model_validate(r) for r in views.overdue(session, actor, today)]


@router.get("/supervision/indicators", response_model=m.IndicatorsOut)
def performance(actor: CurrentActor, session: SessionDep, today: TodayDep, year: int | None = None) -> dict[str, Any]:
    """项目和村的绩效指标：受益户数、户均收益、按期兑付、未销号问题 / indicators per project and village."""
    y = year if year and 2000 <= year <= 2100 else today.year
    return {"year": y, "projects": indicators.projects(session, actor, year=y, today=today),
            "villages": indicators.villages(session, actor, year=y, today=today)}


class PerformanceOut(BaseModel):
    county: str
    settings: dict[str, str]


@router.get("/supervision/performance", response_model=PerformanceOut)
def performance_setting(county: str, actor: CurrentActor, session: SessionDep) -> PerformanceOut:
    """区级资金分配绩效系数的来源和公式参数 / how the district allocation's performance coefficients are derived."""

    return PerformanceOut(county=county, settings=service.read_performance(session, actor, county))


@router.put("/supervision/performance", response_model=PerformanceOut, dependencies=[CsrfDep])
def set_performance_setting(body: commands.PerformanceSetting, actor: CurrentActor, session: SessionDep,
                            now: NowDep) -> PerformanceOut:
    """设置绩效系数来源（manual 人工填写 / indicators 按绩效指标计算）和公式参数（区级管理员）/ set it."""
    return PerformanceOut(county=body.county, settings=commands.set_performance(session, actor, body, at=now))


class ThresholdOut(BaseModel):
    key: str
    label: str = Field(description="中文名称 / Chinese label")
    value: str = Field(description="当前值（精确小数字符串）/ the county's value, an exact decimal string")
    default: str = Field(description="默认值（SUPERVISION.md）/ the default")


class ThresholdsOut(BaseModel):
    county: str
    thresholds: list[ThresholdOut]


@router.get("/supervision/thresholds", response_model=ThresholdsOut)
def thresholds(county: str, actor: CurrentActor, session: SessionDep) -> ThresholdsOut:
    """风险预警阈值：当前值和默认值 / the county's red-flag thresholds, current and default."""
    return ThresholdsOut(county=county, thresholds=[ThresholdOut.model_validate(t) for t in
                                                    service.read_thresholds(session, actor, county)])


@router.put("/supervision/thresholds", response_model=ThresholdsOut, dependencies=[CsrfDep])
def set_thresholds(body: commands.ThresholdSetting, actor: CurrentActor, session: SessionDep,
                   now: NowDep) -> ThresholdsOut:
    """修改风险预警阈值（该区县的区级管理员；每次修改记入台账）/ set some of the county's thresholds."""
    commands.set_thresholds(session, actor, body, at=now)
    return ThresholdsOut(county=body.county, thresholds=[ThresholdOut.model_validate(t) for t in
                                                         service.read_thresholds(session, actor, body.county)])


_XLSX_DOWNLOAD: dict[int | str, dict[str, object]] = {200: {"description": "表格文件 / the spreadsheet", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string",
                                                                                    "format": "binary"}}}}}


def _xlsx(d: Any) -> Response:
    from urllib.parse import quote

    return Response(d.data, media_type=d.media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(d.name)}"})


@router.get("/exports/findings", response_class=Response, responses=_XLSX_DOWNLOAD)
def findings_xlsx(actor: CurrentActor, session: SessionDep) -> Response:
    """问题线索清单（xlsx，与命令行导出同列；手填文字中的证件号、电话、账号已脱敏）/ the findings in reach as xlsx."""
    from daipin.services.supervision import exports

    return _xlsx(exports.download("findings", session, actor))


@router.get("/exports/inspections", response_class=Response, responses=_XLSX_DOWNLOAD)
def inspections_xlsx(actor: CurrentActor, session: SessionDep) -> Response:
    """检查记录清单（xlsx）/ the inspections in reach as xlsx."""
    from daipin.services.supervision import exports

    return _xlsx(exports.download("inspections", session, actor))


@router.get("/exports/entities/{entity_id}/credit", response_class=Response, responses=_XLSX_DOWNLOAD)
def credit_xlsx(entity_id: Id, actor: CurrentActor, session: SessionDep) -> Response:
    """实施主体信用记录全部历史（xlsx）/ an entity's whole credit history as xlsx."""
    from daipin.services.supervision import exports

    return _xlsx(exports.download("credit", session, actor, entity_id))


@router.get("/supervision/insurance", response_model=InsuranceOut)
def insurance(actor: CurrentActor, session: SessionDep, today: TodayDep) -> dict[str, Any]:
    """资产保险台账：每项经营性资产的有效保单（或无），及保费补贴 / each operating asset's policy in force, and the
    premium subsidies, in reach."""
    from daipin.services.insurance import views as insurance_views

    rows = insurance_views.assets(session, actor, today=today)
    return {"summary": insurance_views.summary(rows), "assets": rows,
            "subsidies": insurance_views.subsidies(session, actor)}


@router.get("/entities/{entity_id}/credit", response_model=m.CreditHistoryOut)
def entity_credit(entity_id: Id, actor: CurrentActor, session: SessionDep) -> dict[str, Any]:
    """主体信用记录与失信认定的全部历史 / an entity's whole credit history."""
    return credit_views.history(session, actor, entity_id)


@router.post("/credit/listings", status_code=201, response_model=ListingOut, dependencies=[CsrfDep])
def propose_listing(body: credit_commands.ProposeListing, actor: CurrentActor, session: SessionDep,
                    now: NowDep) -> ListingOut:
    """告知拟列入失信名单（理由、依据、权利）/ notify an entity of a proposed listing."""
    row = credit_commands.listing_step(session, actor, None, body, at=now)
    return ListingOut(id=row.id, entity_id=row.entity_id, status=row.status)


@router.post("/credit/listings/{listing_id}/steps", response_model=ListingOut, dependencies=[CsrfDep])
def listing_step(listing_id: Id, body: ListingStepIn, actor: CurrentActor, session: SessionDep,
                 now: NowDep) -> ListingOut:
    """异议、答复、生效、修复 / object, answer, take effect, repair."""
    from daipin.services.credit import service as credit

    row = credit.get_listing(session, listing_id)
    credit_views.history(session, actor, row.entity_id)  # 404/403 outside the actor's view
    cmd: Any
    if body.step == "object":
        cmd = credit_commands.ObjectToListing.parse({"text": body.text or ""})
    elif body.step == "answer":
        cmd = credit_commands.AnswerObjection.parse({"upheld": body.upheld, "answer": body.answer or ""})
    elif body.step == "repair":
        cmd = credit_commands.RepairListing.parse({"rectification": body.rectification or ""})
    else:
        cmd = credit_commands.TakeEffect.parse({})
    row = credit_commands.listing_step(session, actor, listing_id, cmd, at=now)
    return ListingOut(id=row.id, entity_id=row.entity_id, status=row.status)


# ---------------------------------------------------------------- insurance and premium subsidies


class InsuranceStepOut(BaseModel):
    id: int
    status: str = ""


@router.post("/insurance/policies", status_code=201, response_model=InsuranceStepOut, dependencies=[CsrfDep])
def record_policy(body: insurance_commands.RecordPolicy, actor: CurrentActor, session: SessionDep,
                  now: NowDep) -> InsuranceStepOut:
    """登记保单（主体及其资产、保险机构、险种、保险金额〔分〕、保险期间）/ record an entity's policy."""
    p = insurance_commands.record_policy(session, actor, body, at=now)
    return InsuranceStepOut(id=p.id)


@router.post("/insurance/entity-accounts", response_model=InsuranceStepOut, dependencies=[CsrfDep])
def set_entity_account(body: insurance_commands.SetEntityAccount, actor: CurrentActor, session: SessionDep,
                       now: NowDep) -> InsuranceStepOut:
    """主体收款账户（保费补贴支付到此账户；加密保存，只显示掩码）/ the account an entity is paid into."""
    e = insurance_commands.set_entity_account(session, actor, body, at=now)
    return InsuranceStepOut(id=e.id)


@router.post("/insurance/subsidies", status_code=201, response_model=InsuranceStepOut, dependencies=[CsrfDep])
def apply_subsidy(body: insurance_commands.ApplySubsidy, actor: CurrentActor, session: SessionDep,
                  now: NowDep) -> InsuranceStepOut:
    """申请保费补贴（保费、补贴以分计）/ apply for a premium subsidy (fen)."""
    s = insurance_commands.apply_subsidy(session, actor, body, at=now)
    return InsuranceStepOut(id=s.id, status=s.status)


@router.post("/insurance/subsidies/{subsidy_id}/decision", response_model=InsuranceStepOut,
             dependencies=[CsrfDep])
def decide_subsidy(subsidy_id: Id, body: insurance_commands.DecideSubsidy, actor: CurrentActor,
                   session: SessionDep, now: NowDep) -> InsuranceStepOut:
    """区级审批保费补贴（不予补贴须说明理由）/ the district approves or refuses a subsidy."""
    s = insurance_commands.decide_subsidy(session, actor, subsidy_id, body, at=now)
    return InsuranceStepOut(id=s.id, status=s.status)


@router.post("/insurance/subsidy-matters", status_code=201, response_model=InsuranceStepOut,
             dependencies=[CsrfDep])
def draft_subsidy_matter(body: insurance_commands.DraftSubsidyMatter, actor: CurrentActor, session: SessionDep,
                         now: NowDep) -> InsuranceStepOut:
    """起草本年度区级保费补贴事项（列出已批准待支付的补贴；执行后经支付批次付款）/ draft the year's premium-subsidy
    matter, paid through a payment batch once executed."""
    m = insurance_commands.draft_subsidy_matter(session, actor, body, at=now)
    return InsuranceStepOut(id=m.id, status=m.state)
