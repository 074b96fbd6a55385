"""Response models of the API's reads and writes whose answers are pages of facts (a household's page, a matter,
the ledger's status...). Each names the fields every answer has; the nested parts the pages render are objects
or lists of objects, and a field a later version adds passes through (`extra="allow"`), so a model never drops
what the service answered. The OpenAPI lists them all (`tests/integration/test_api_openapi.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Obj = dict[str, Any]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# registry
class HouseholdPageOut(Open):
    household: Obj = Field(description="农户（个人信息已遮蔽）/ the household, personal data masked")
    members: list[Obj]
    contracts: list[Obj]
    income: list[Obj]
    income_total_fen: int
    income_pending_fen: int
    history: list[Obj]


class EntityRowOut(Open):
    id: int
    name: str
    kind: str
    kind_code: str
    uscc: str | None
    credit: str
    credit_status: str


class EntityPageOut(Open):
    entity: Obj
    contracts: list[Obj]
    contracts_outside: int
    projects: list[Obj]
    projects_outside: int
    dues: list[Obj]
    wages: Obj
    repayments: Obj
    arrears_total_fen: int
    policies: list[Obj]


class ProjectRowOut(Open):
    id: int
    code: str
    name: str
    category: str | None
    entity: str | None
    village_code: str | None
    status: str
    status_label: str


class ProjectPageOut(Open):
    project: Obj
    funding: list[Obj]
    assets: list[Obj]
    profits: list[Obj]
    contracts: list[Obj]
    wages: Obj
    repayments: Obj


class AssetPageOut(Open):
    asset: Obj
    valuations: list[Obj]


class ContractPageOut(Open):
    contract: Obj
    terms: list[Obj]
    history: list[Obj]
    may_change: bool


class ContractSignedOut(Open):
    id: int
    code: str
    model: str
    status: str
    version: int


class ContractVersionOut(Open):
    id: int
    code: str
    status: str
    version: int


# villages
class RepresentativesOut(Open):
    village: Obj
    on: str = Field(description="在任人数所指的日期 / the day `serving` counts")
    serving: int
    terms: list[Obj]
    may_write: bool


class TermOut(Open):
    id: int
    village: str
    person_id: int
    from_: str = Field(alias="from")
    to: str | None
    end_reason: str | None


# matters
class MatterOut(Open):
    id: int
    kind: str
    kind_label: str
    title: str
    state: str
    state_label: str
    round: int
    region: str
    year: int | None
    next: list[str] = Field(description="可办理的下一步 / the steps open next")
    warnings: list[Any]
    justification: str | None
    meeting: Obj | None
    notice: Obj | None
    document_digest: str | None
    preview_digest: str | None
    beneficiaries: list[Obj]
    preview: Obj | None


class PreviewOut(Open):
    """The engine's result for the document (its fields depend on the matter's kind) and its warnings."""


class PaymentBatchOut(Open):
    batch: int
    matter: int
    total_fen: int
    status: str
    status_label: str
    lines: list[Obj]


# ledger
class LedgerStatusOut(Open):
    hash: str
    size: int
    root: str
    entries: int | None = None
    checkpoint: str | None = None
    checkpoint_at: str | None = None


class LedgerVerifyOut(Open):
    ok: bool
    size: int
    root: str
    hash: str
    checkpoints: int
    rows_checked: int
    first_bad: Obj | None
    problems: int


class ProofOut(Open):
    index: int
    size: int
    leaf_hash: str
    path: list[str]
    root: str


# dashboard, supervision
class DashboardOut(Open):
    households: int
    poor_households: int
    linked_households: int
    entities: int
    projects: int
    by_model: list[list[Any]]
    income_by_year: list[Any]
    arrears_by_entity: list[list[Any]]
    arrears_total_fen: int
    settled_projects: int
    region_name: str


class IndicatorsOut(Open):
    year: int
    projects: list[Obj]
    villages: list[Obj]


class CreditHistoryOut(Open):
    entity: Obj
    events: list[Obj]
    listings: list[Obj]
