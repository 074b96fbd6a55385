"""The typed inputs of supervision's steps, shared by the API (its bodies), the pages (their forms) and the command
line (its options): a step on a finding, an inspection with the findings it opens."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.supervision import Finding, Inspection
from daipin.domain.actors import Actor
from daipin.services.shared.commands import Command
from daipin.services.supervision import service

Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]
Text = Annotated[str, Field(max_length=4000)]


class FindingStep(Command):
    """问题线索处理: assign (单位、期限), rectify (整改情况), verify, reject or dismiss (理由)."""

    step: Literal["assign", "rectify", "verify", "reject", "dismiss"]
    note: Text = ""
    unit: str | None = Field(default=None, max_length=12)
    deadline: Day | None = None


class HandFinding(Command):
    """A finding an inspection opens by hand."""

    summary: str = Field(min_length=1, max_length=1000)
    severity: Literal["high", "medium", "low"] = "medium"
    region: str | None = Field(default=None, max_length=12)
    subject: str | None = Field(default=None, max_length=80)


class RecordInspection(Command):
    """检查记录: where (the region), when, who, the place, what was checked, what was found."""

    region: str = Field(min_length=6, max_length=12)
    inspected_on: Day
    inspectors: str = Field(min_length=1, max_length=200)
    place: str = Field(min_length=1, max_length=200)
    checked: str = Field(min_length=1, max_length=2000)
    result: Text = ""
    findings: list[HandFinding] = Field(default_factory=list, max_length=50)


Setting = Annotated[str, Field(max_length=20)]


class PerformanceSetting(Command):
    """区级资金分配的绩效系数：来源（manual 人工填写 / indicators 按绩效指标计算）和公式参数（精确小数）."""

    county: str = Field(min_length=6, max_length=6)
    performance_mode: Setting | None = None
    performance_on_time_weight: Setting | None = None
    performance_income_weight: Setting | None = None
    performance_finding_penalty: Setting | None = None
    performance_min: Setting | None = None
    performance_max: Setting | None = None


class ThresholdSetting(Command):
    """风险预警阈值（SUPERVISION.md）：天数为 0–3650 的整数，比例为 0 到 1 之间的精确小数；未给出的保持原值."""

    county: str = Field(min_length=6, max_length=6)
    duplicate_split_days: Setting | None = None
    idle_days: Setting | None = None
    arrears_days: Setting | None = None
    concentration_share: Setting | None = None
    return_ceiling: Setting | None = None
    pv_use_share: Setting | None = None
    escalate_after_days: Setting | None = None
    credit_objection_days: Setting | None = None
    credit_repair_after_days: Setting | None = None


def set_thresholds(session: Session, actor: Actor, command: ThresholdSetting, *, at: datetime) -> dict[str, str]:
    return service.set_thresholds(session, actor, command.county,
                                  command.model_dump(exclude={"county"}, exclude_none=True), at)


def set_performance(session: Session, actor: Actor, command: PerformanceSetting, *, at: datetime) -> dict[str, str]:
    return service.set_performance(session, actor, command.county,
                                   command.model_dump(exclude={"county"}, exclude_none=True), at)


def take_step(session: Session, actor: Actor, finding_id: int, command: FindingStep, *, at: datetime) -> Finding:
    return service.take_step(session, actor, finding_id, command.step, at=at, note=command.note, unit=command.unit,
                             deadline=command.deadline)


def record_inspection(session: Session, actor: Actor, command: RecordInspection, *,
                      at: datetime) -> tuple[Inspection, list[Finding]]:
    return service.record_inspection(session, actor, region=command.region, inspected_on=command.inspected_on,
                                     inspectors=command.inspectors, place=command.place, checked=command.checked,
                                     result=command.result, findings=[f.model_dump() for f in command.findings],
                                     at=at)
