"""Who is acting: role, region and entity; what each may do is `domain.access`, asked by the services."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from daipin.domain.vocabulary import ROLE


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"  # 区级管理员
    TOWNSHIP_OFFICIAL = "township_official"  # 乡镇干部
    VILLAGE_CADRE = "village_cadre"  # 村干部 / 第一书记
    ENTITY_USER = "entity_user"  # 实施主体
    AUDITOR = "auditor"  # 审计局 (read-only, verifying)
    DISCIPLINE = "discipline"  # 纪委监委 (read-only, verifying: the auditor's reach)
    PUBLIC = "public"  # 群众, no login
    PROVINCE = "province"  # 省级: reads every county, witnesses their checkpoints
    SYSTEM = "system"  # CLI and batch jobs run by the operator


ROLE.require(Role)
ROLE_LABELS: dict[Role, str] = {r: ROLE.zh(r) for r in Role}


@dataclass(frozen=True)
class Actor:
    """An authenticated (or public) actor.

    `region` is a GB/T 2260-style code prefix: the county (6 digits) for district
    roles, township (9) or village (12) for local roles. `entity_id` is set for
    implementing-entity users.
    """

    id: str
    role: Role
    region: str
    entity_id: int | None = None
    name: str = ""


SYSTEM_ACTOR = Actor(id="system", role=Role.SYSTEM, region="")
