"""The typed inputs of insurance and premium-subsidy steps, shared by the API (its bodies), the pages (their forms,
money typed in yuan) and the command line (its options): record a policy for an entity (and one of its assets),
set the account an entity is paid into, apply for a subsidy, decide it, and draft the year's premium-subsidy
matter. Each hands its values to the one service that checks them, asks the access policy and writes the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from daipin.db.models.registry import Entity, InsurancePolicy
from daipin.db.models.supervision import PremiumSubsidy
from daipin.db.models.workflow import Matter
from daipin.domain.actors import Actor
from daipin.services.insurance import drafting, service
from daipin.services.registry import service as registry
from daipin.services.registry.commands import Day, Fen, FormCommand, RowId, Text, Year


class RecordPolicy(FormCommand):
    """登记保单: the entity's policy, for one asset it operates or (none named) all of them."""

    entity: RowId
    insurer: Text = ""
    policy_no: Annotated[str, Field(max_length=64)] = ""
    kind: Annotated[str, Field(max_length=16)] | None = None
    asset_id: RowId | None = None
    insured_sum_fen: Fen | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None
    coverage: Text = ""


class SetEntityAccount(FormCommand):
    """主体收款账户: the account the district pays the entity's premium subsidies into."""

    entity: RowId
    bank_account: Annotated[str, Field(max_length=40)] = ""


class ApplySubsidy(FormCommand):
    """申请保费补贴: on a policy, for a year, the premium paid and the subsidy asked for."""

    policy: RowId
    year: Year
    premium_fen: Fen | None = None
    subsidy_fen: Fen | None = None


class DecideSubsidy(FormCommand):
    """审批保费补贴: approve, or refuse with the reasons."""

    approve: bool
    reason: Annotated[str, Field(max_length=2000)] = ""


class DraftSubsidyMatter(FormCommand):
    """起草区级保费补贴事项: the county and year; its document is drawn from the approved subsidies."""

    county: Annotated[str, Field(pattern=r"^\d{6}$")]
    year: Year
    title: Text = ""
    justification: Annotated[str, Field(max_length=2000)] = ""


def record_policy(session: Session, actor: Actor, cmd: RecordPolicy, *, at: datetime) -> InsurancePolicy:
    kw: dict[str, Any] = {"kind": cmd.kind, "asset_id": cmd.asset_id, "insured_sum_fen": cmd.insured_sum_fen}
    return registry.add_insurance_policy(session, actor, cmd.entity, insurer=cmd.insurer, policy_no=cmd.policy_no,
                                         valid_from=cmd.valid_from, valid_to=cmd.valid_to,  # type: ignore[arg-type]
                                         coverage=cmd.coverage, at=at, **kw)


def set_entity_account(session: Session, actor: Actor, cmd: SetEntityAccount, *, at: datetime) -> Entity:
    return service.set_entity_account(session, actor, cmd.entity, bank_account=cmd.bank_account, at=at)


def apply_subsidy(session: Session, actor: Actor, cmd: ApplySubsidy, *, at: datetime) -> PremiumSubsidy:
    return service.apply(session, actor, policy=cmd.policy, year=cmd.year, premium_fen=cmd.premium_fen,
                         subsidy_fen=cmd.subsidy_fen, at=at)


def decide_subsidy(session: Session, actor: Actor, subsidy: int, cmd: DecideSubsidy, *,
                   at: datetime) -> PremiumSubsidy:
    return service.decide(session, actor, subsidy, approve=cmd.approve, reason=cmd.reason, at=at)


def draft_subsidy_matter(session: Session, actor: Actor, cmd: DraftSubsidyMatter, *, at: datetime) -> Matter:
    return drafting.draft_matter(session, actor, county=cmd.county, year=cmd.year, at=at, title=cmd.title or None,
                                justification=cmd.justification)
