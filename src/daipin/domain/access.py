"""The one access policy: who may read and write what, by role and region, as data and one function.

Each action is one kind of read or write the services do; each role reaches it in one scope (the
operator, `system`, reaches everything; spec/POLICY.md R3.1, R3.4, spec/WORKFLOW.md, SUPERVISION.md
"Who sees what"). A service asks `allowed`/`require` with the row's region (and entity, and whether it
is posted); a list read asks `reach` for the filter its SQL applies. Given no row at all, the question
is whether the role may do it anywhere (a page asks this before it shows a form).

Scopes: province 本省, county 本区（县）, township 本乡镇, village 本村, village+ 本村及本乡镇的乡镇级记录
(township-level projects of the cadre's township), entity 本实施主体, public 已公示的, all 全部, - 不可.
Every region scope is a prefix of the actor's own region code, so no role below the province crosses its
county: a district user of one county reaches nothing of another (tests/integration/test_access_matrix). The
province role (省级) reads every county of its province and witnesses each county's checkpoints (LEDGER.md);
it writes nothing else.
The discipline commission (纪检监察, `discipline`) reaches exactly what the auditor column says, action by action:
read-only and verifying in its own county (the column is derived, not written twice).
W marks a write. Matter steps go by the matter's path (WORKFLOW.md): a village matter is drafted,
met on, voted and submitted by its village (decide), reviewed by its township (review), then
posted, answered, executed, announced and archived by either (keep); a township project is
decided by the township and reviewed by the district; a district allocation is the district's.

| action                 | W | district | township | village  | entity | auditor | public | province | system |
|------------------------|---|----------|----------|----------|--------|---------|--------|----------|--------|
| household.read         |   | county   | township | village  | -      | county  | -      | province | all    |
| household.write        | W | county   | township | village  | -      | -       | -      | -        | all    |
| region.write           | W | county   | township | village  | -      | -       | -      | -        | all    |
| representative.write   | W | county   | township | village  | -      | -       | -      | -        | all    |
| work.write             | W | county   | township | village  | -      | -       | -      | -        | all    |
| wage.record            | W | county   | township | village  | -      | -       | -      | -        | all    |
| repayment.record       | W | county   | township | village  | -      | -       | -      | -        | all    |
| entity.read            |   | county   | township | village  | entity | county  | -      | province | all    |
| entity.write           | W | county   | township | village  | -      | -       | -      | -        | all    |
| entity.credit          | W | county   | -        | -        | -      | -       | -      | -        | all    |
| project.read           |   | county   | township | village+ | entity | county  | -      | province | all    |
| project.write          | W | county   | township | village  | -      | -       | -      | -        | all    |
| asset.read             |   | county   | township | village  | -      | county  | -      | province | all    |
| asset.write            | W | county   | township | village  | -      | -       | -      | -        | all    |
| contract.read          |   | county   | township | village  | entity | county  | -      | province | all    |
| contract.sign          | W | county   | township | village+ | -      | -       | -      | -        | all    |
| contract.change        | W | county   | township | village+ | -      | -       | -      | -        | all    |
| plan.write             | W | county   | township | village  | -      | -       | -      | -        | all    |
| run.write              | W | county   | township | village  | -      | -       | -      | -        | all    |
| matter.read            |   | county   | township | village  | public | county  | public | province | all    |
| matter.detail          |   | county   | township | village  | -      | county  | -      | province | all    |
| matter.object          | W | public   | public   | public   | public | public  | public | public   | all    |
| matter.village.decide  | W | -        | -        | village  | -      | -       | -      | -        | all    |
| matter.village.review  | W | -        | township | -        | -      | -       | -      | -        | all    |
| matter.village.keep    | W | -        | township | village  | -      | -       | -      | -        | all    |
| matter.township.decide | W | -        | township | -        | -      | -       | -      | -        | all    |
| matter.township.review | W | county   | -        | -        | -      | -       | -      | -        | all    |
| matter.township.keep   | W | county   | township | -        | -      | -       | -      | -        | all    |
| matter.district.decide | W | county   | -        | -        | -      | -       | -      | -        | all    |
| matter.district.review | W | -        | -        | -        | -      | -       | -      | -        | all    |
| matter.district.keep   | W | county   | -        | -        | -      | -       | -      | -        | all    |
| workflow.rules         | W | county   | -        | -        | -      | -       | -      | -        | all    |
| payment.read           |   | county   | township | village  | -      | county  | -      | province | all    |
| payment.record         | W | county   | township | -        | -      | -       | -      | -        | all    |
| dossier.export         |   | county   | township | village  | -      | county  | -      | province | all    |
| ledger.verify          |   | county   | -        | -        | -      | county  | -      | province | all    |
| setting.write          | W | county   | -        | -        | -      | -       | -      | -        | all    |
| user.manage            | W | county   | -        | -        | -      | -       | -      | -        | all    |
| dashboard.read         |   | county   | township | village  | entity | county  | -      | province | all    |
| supervision.read       |   | county   | township | village  | -      | county  | -      | province | all    |
| supervision.scan       | W | county   | -        | -        | -      | -       | -      | -        | all    |
| year.close             | W | county   | -        | -        | -      | -       | -      | -        | all    |
| finding.manage         | W | county   | township | -        | -      | -       | -      | -        | all    |
| finding.rectify        | W | county   | township | village  | -      | -       | -      | -        | all    |
| credit.read            |   | county   | township | village  | entity | county  | -      | province | all    |
| credit.object          | W | county   | -        | -        | entity | -       | -      | -        | all    |
| ledger.witness         | W | -        | -        | -        | -      | -       | -      | province | all    |
| crosscheck.run         |   | -        | -        | -        | -      | -       | -      | province | all    |

Contracts are signed and changed inside the actor's reach on both sides: the project's region (and so the
entity it binds) and the region of every payee (old and new). A contract committing a village's funds,
assets or households is that village's decision (WORKFLOW.md "Decision-gated actions"): a village cadre
signs on its own village's projects and on its township's township-level projects (`village+`), the latter
only for payees of its own village; another village's payee, or a project of another township, is refused.

Reads that follow another row: an entity, an asset or a contract is also read by whoever reads one of its
projects (`project.read`); an asset by whoever reads its owner's region.
A region scope needs the actor's own region at that level (a village cadre's 12-digit village...): an
account without one reaches nothing, rather than everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from daipin.domain.actors import ROLE_LABELS, Actor, Role
from daipin.domain.errors import Forbidden
from daipin.domain.vocabulary import ACCESS_SCOPE


class Scope(StrEnum):
    NONE = "-"
    VILLAGE = "village"  # rows of the actor's village
    VILLAGE_UP = "village+"  # ... and its township's rows that name no village (township-level projects)
    TOWNSHIP = "township"
    COUNTY = "county"
    ENTITY = "entity"  # rows of the actor's implementing entity
    PUBLIC = "public"  # posted rows only (public notices)
    PROVINCE = "province"  # rows of every county of the actor's province
    ALL = "all"


ACCESS_SCOPE.require(Scope)
SCOPE_LABELS: dict[Scope, str] = {s: ACCESS_SCOPE.zh(s.value) for s in Scope}

# The digits of the actor's own region each region scope reads (GB/T 2260-style prefixes).
LEVEL_DIGITS: dict[Scope, int] = {Scope.VILLAGE: 12, Scope.VILLAGE_UP: 12, Scope.TOWNSHIP: 9, Scope.COUNTY: 6,
                                  Scope.PROVINCE: 2}

# The lengths of region code an account of each role is given (roles not listed have no account).
REGION_LENGTHS: dict[Role, tuple[int, ...]] = {
    Role.DISTRICT_ADMIN: (6,),
    Role.AUDITOR: (6,),
    Role.DISCIPLINE: (6,),
    Role.TOWNSHIP_OFFICIAL: (9,),
    Role.VILLAGE_CADRE: (12,),
    Role.ENTITY_USER: (6, 9, 12),
    Role.PROVINCE: (2,),
}

Action = Literal[
    "household.read", "household.write", "region.write", "representative.write", "work.write",
    "wage.record", "repayment.record",
    "entity.read", "entity.write", "entity.credit",
    "project.read", "project.write", "asset.read", "asset.write",
    "contract.read", "contract.sign", "contract.change",
    "plan.write", "run.write",
    "matter.read", "matter.detail", "matter.object",
    "matter.village.decide", "matter.village.review", "matter.village.keep",
    "matter.township.decide", "matter.township.review", "matter.township.keep",
    "matter.district.decide", "matter.district.review", "matter.district.keep",
    "workflow.rules", "payment.read", "payment.record", "dossier.export",
    "ledger.verify", "setting.write", "user.manage", "dashboard.read",
    "supervision.read", "supervision.scan", "year.close", "finding.manage", "finding.rectify", "credit.read",
    "credit.object", "ledger.witness", "crosscheck.run",
]

# The roles in the order of the table's columns (the operator's column is `all` throughout).
COLUMNS: tuple[Role, ...] = (Role.DISTRICT_ADMIN, Role.TOWNSHIP_OFFICIAL, Role.VILLAGE_CADRE, Role.ENTITY_USER,
                             Role.AUDITOR, Role.PUBLIC, Role.PROVINCE)


@dataclass(frozen=True)
class Rule:
    """One action: what it is called when refused, whether it writes, and each role's scope."""

    zh: str
    en: str
    writes: bool
    scopes: Mapping[Role, Scope]


def _rule(zh: str, en: str, writes: bool, *scopes: Scope, province: Scope | None = None) -> Rule:
    """`scopes` in the order of the columns up to `public`; the province reads what the auditors read, across the
    province, and objects to a public notice as anyone may (unless `province` says otherwise)."""
    by_role = dict(zip(COLUMNS[:-1], scopes, strict=True))
    if province is None:
        auditor = by_role[Role.AUDITOR]
        province = (Scope.PROVINCE if not writes and auditor is Scope.COUNTY
                    else Scope.PUBLIC if by_role[Role.PUBLIC] is Scope.PUBLIC and auditor is Scope.PUBLIC
                    else Scope.NONE)
    return Rule(zh, en, writes, {**by_role, Role.DISCIPLINE: by_role[Role.AUDITOR], Role.PROVINCE: province,
                                 Role.SYSTEM: Scope.ALL})


_N, _VIL, _VUP, _TWN, _CTY, _ENT, _PUB = (Scope.NONE, Scope.VILLAGE, Scope.VILLAGE_UP, Scope.TOWNSHIP, Scope.COUNTY,
                                          Scope.ENTITY, Scope.PUBLIC)
_R, _W = False, True
_OFFICIALS_WRITE = (_CTY, _TWN, _VIL, _N, _N, _N)  # the district, a township, a village, each its own

POLICY: dict[Action, Rule] = {
    #                                                                       district township village entity auditor public
    "household.read": _rule("查看农户", "read households", _R, _CTY, _TWN, _VIL, _N, _CTY, _N),
    "household.write": _rule("登记或变更农户", "register or change households", _W, *_OFFICIALS_WRITE),
    "region.write": _rule("登记行政区划", "register regions", _W, *_OFFICIALS_WRITE),
    "representative.write": _rule("维护村民代表名单", "maintain village representatives", _W, *_OFFICIALS_WRITE),
    "work.write": _rule("登记务工和贡献", "record work and contributions", _W, *_OFFICIALS_WRITE),
    "wage.record": _rule("登记实发工资", "record wages paid", _W, *_OFFICIALS_WRITE),
    "repayment.record": _rule("登记扶持资金还款", "record fund-support repayments", _W, *_OFFICIALS_WRITE),
    "entity.read": _rule("查看实施主体", "read entities", _R, _CTY, _TWN, _VIL, _ENT, _CTY, _N),
    "entity.write": _rule("登记实施主体或其保险", "register entities or their insurance", _W, *_OFFICIALS_WRITE),
    "entity.credit": _rule("变更实施主体信用状态", "change an entity's credit status", _W, _CTY, _N, _N, _N, _N, _N),
    "project.read": _rule("查看项目", "read projects", _R, _CTY, _TWN, _VUP, _ENT, _CTY, _N),
    "project.write": _rule("登记项目或其利润", "register projects or their profits", _W, *_OFFICIALS_WRITE),
    "asset.read": _rule("查看资产", "read assets", _R, _CTY, _TWN, _VIL, _N, _CTY, _N),
    "asset.write": _rule("登记资产或其评估", "register assets or their valuations", _W, *_OFFICIALS_WRITE),
    "contract.read": _rule("查看利益联结协议", "read contracts", _R, _CTY, _TWN, _VIL, _ENT, _CTY, _N),
    # Asked for the project's region and each payee's (services/contracts require_contract_reach).
    "contract.sign": _rule("签订利益联结协议", "sign benefit-linkage contracts", _W, _CTY, _TWN, _VUP, _N, _N, _N),
    "contract.change": _rule("变更、终止或转移利益联结协议", "amend, terminate or pass on contracts", _W,
                             _CTY, _TWN, _VUP, _N, _N, _N),
    "plan.write": _rule("制定村级收益分配计划", "save village allocation plans", _W, *_OFFICIALS_WRITE),
    "run.write": _rule("运行结算或分配计算", "run settlements and allocations", _W, *_OFFICIALS_WRITE),
    "matter.read": _rule("查看事项", "read matters", _R, _CTY, _TWN, _VIL, _PUB, _CTY, _PUB),
    "matter.detail": _rule("查看事项办理情况", "follow matters", _R, _CTY, _TWN, _VIL, _N, _CTY, _N),
    "matter.object": _rule("对公示提出异议", "object to a notice", _W, _PUB, _PUB, _PUB, _PUB, _PUB, _PUB),
    "matter.village.decide": _rule("起草村级事项、召开会议、表决并提交审核", "draft, meet on, vote and submit village "
                                   "matters", _W, _N, _N, _VIL, _N, _N, _N),
    "matter.village.review": _rule("审核村级事项", "review village matters", _W, _N, _TWN, _N, _N, _N, _N),
    "matter.village.keep": _rule("公示、答复异议、执行、公告和归档村级事项", "post, answer, execute, announce and "
                                 "archive village matters", _W, _N, _TWN, _VIL, _N, _N, _N),
    "matter.township.decide": _rule("起草乡镇项目事项并提交审核", "draft and submit township projects", _W,
                                    _N, _TWN, _N, _N, _N, _N),
    "matter.township.review": _rule("审核乡镇项目事项", "review township projects", _W, _CTY, _N, _N, _N, _N, _N),
    "matter.township.keep": _rule("公示、答复异议、执行、公告和归档乡镇项目事项", "post, answer, execute, announce "
                                  "and archive township projects", _W, _CTY, _TWN, _N, _N, _N, _N),
    "matter.district.decide": _rule("起草区级分配事项、召开领导小组会议并表决", "draft, meet on and vote district "
                                    "allocations", _W, _CTY, _N, _N, _N, _N, _N),
    "matter.district.review": _rule("审核区级分配事项", "review district allocations", _W, _N, _N, _N, _N, _N, _N),
    "matter.district.keep": _rule("公示、答复异议、执行、公告和归档区级分配事项", "post, answer, execute, announce "
                                  "and archive district allocations", _W, _CTY, _N, _N, _N, _N, _N),
    "workflow.rules": _rule("设置议事规则", "set workflow rules", _W, _CTY, _N, _N, _N, _N, _N),
    "payment.read": _rule("查看支付明细", "read payments", _R, _CTY, _TWN, _VIL, _N, _CTY, _N),
    "payment.record": _rule("登记支付结果", "record payments", _W, _CTY, _TWN, _N, _N, _N, _N),
    "dossier.export": _rule("导出档案", "export dossiers", _R, _CTY, _TWN, _VIL, _N, _CTY, _N),
    "ledger.verify": _rule("核验账本", "verify the ledger", _R, _CTY, _N, _N, _N, _CTY, _N),
    "setting.write": _rule("修改系统设置", "change settings", _W, _CTY, _N, _N, _N, _N, _N),
    "user.manage": _rule("管理账户", "manage accounts", _W, _CTY, _N, _N, _N, _N, _N),
    "dashboard.read": _rule("查看工作台", "read the dashboard", _R, _CTY, _TWN, _VIL, _ENT, _CTY, _N),
    "supervision.read": _rule("查看监督问题线索和检查", "read findings and inspections", _R, _CTY, _TWN, _VIL, _N, _CTY, _N),
    "supervision.scan": _rule("运行风险预警扫描或设置预警阈值", "run the red-flag scan or set its thresholds", _W,
                              _CTY, _N, _N, _N, _N, _N),
    # Its third step drafts each village's allocation matter from the stored plan, for the village meeting to decide
    # (services/yearclose): that draft alone, not the village path's later steps (`matter.village.decide`).
    "year.close": _rule("年度结账（全部项目结算、全部村分配、起草村级分配事项）", "close a year (settle every project, "
                        "allocate every village, draft its allocation matter)", _W, _CTY, _N, _N, _N, _N, _N),
    "finding.manage": _rule("登记检查、交办、验收或排除问题线索", "record inspections, assign, verify or dismiss "
                            "findings", _W, _CTY, _TWN, _N, _N, _N, _N),
    "finding.rectify": _rule("报告问题整改情况", "report a rectification", _W, _CTY, _TWN, _VIL, _N, _N, _N),
    "credit.read": _rule("查看实施主体信用记录", "read credit records", _R, _CTY, _TWN, _VIL, _ENT, _CTY, _N),
    "credit.object": _rule("对失信认定提出异议", "object to a credit listing", _W, _CTY, _N, _N, _ENT, _N, _N),
    # The province records each county's checkpoints as witnessed, after proving them consistent (LEDGER.md).
    "ledger.witness": _rule("见证县级账本检查点", "witness county ledger checkpoints", _W, _N, _N, _N, _N, _N, _N,
                            province=Scope.PROVINCE),
    # The province's digest key answers counties' blinded ID digests and compares them (docs/scale.md 跨县比对).
    "crosscheck.run": _rule("跨县比对", "run cross-county checks", _R, _N, _N, _N, _N, _N, _N, province=Scope.PROVINCE),
}


@dataclass(frozen=True)
class Reach:
    """What one actor reaches with one action: `scope`, with the region `prefix` (region scopes) or the
    `entity_id` (entity scope) it is bound to. A list read filters its rows to exactly what `covers` admits."""

    scope: Scope
    prefix: str = ""
    entity_id: int | None = None

    @property
    def nothing(self) -> bool:
        return self.scope is Scope.NONE

    def covers(self, *, region: str | None = None, entity_id: int | None = None, posted: bool = False) -> bool:
        """Whether a row with this region (the most precise code it has), entity and posted state is reached."""
        s = self.scope
        if s is Scope.ALL:
            return True
        if s in LEVEL_DIGITS:
            if region is None:
                return False
            return region.startswith(self.prefix) or (s is Scope.VILLAGE_UP and region == self.prefix[:9])
        if s is Scope.ENTITY:
            return entity_id is not None and entity_id == self.entity_id
        if s is Scope.PUBLIC:
            return posted
        return False


def reach(actor: Actor, action: Action) -> Reach:
    """The actor's reach for `action`, bound to its own region or entity; nothing when it has none."""
    scope = POLICY[action].scopes.get(actor.role, Scope.NONE)
    digits = LEVEL_DIGITS.get(scope)
    if digits is not None:
        if len(actor.region) < digits:
            return Reach(Scope.NONE)  # an account without a region at that level reaches nothing
        return Reach(scope, prefix=actor.region[:digits])
    if scope is Scope.ENTITY:
        return Reach(scope, entity_id=actor.entity_id) if actor.entity_id is not None else Reach(Scope.NONE)
    return Reach(scope)


def may(actor: Actor, action: Action) -> bool:
    """Whether the actor may do this anywhere at all (what a page asks before it shows a link or a form)."""
    return not reach(actor, action).nothing


def allowed(actor: Actor, action: Action, *, region: str | None = None, entity_id: int | None = None,
            posted: bool = False) -> bool:
    """Whether the actor may do `action` on a row of `region` (its most precise code), of `entity_id`, posted
    or not. Given no row (no region, no entity, not posted) this is `may`."""
    r = reach(actor, action)
    if region is None and entity_id is None and not posted:
        return not r.nothing
    return r.covers(region=region, entity_id=entity_id, posted=posted)


def holders(action: Action) -> list[Role]:
    """The roles that may do `action` somewhere, the operator aside, in the table's order."""
    return [r for r in COLUMNS if POLICY[action].scopes[r] is not Scope.NONE]


def refusal(actor: Actor, action: Action, *, region: str | None = None, what: tuple[str, str] | None = None,
            field: str | None = None) -> Forbidden:
    """The error that names what was refused, to whom, and why (the role, or the region outside its scope)."""
    rule = POLICY[action]
    zh, en = what or (rule.zh, rule.en)
    role = ROLE_LABELS[actor.role]
    if rule.scopes.get(actor.role, Scope.NONE) is Scope.NONE:
        who = "、".join(ROLE_LABELS[r] for r in holders(action)) or "系统"
        who_en = ", ".join(r.value for r in holders(action)) or "the operator"
        only = f"须由{who}办理" if rule.writes else f"仅限{who}"
        return Forbidden(f"{role}无权{zh}（{only}）", f"{actor.role.value} may not {en} ({action}: {who_en})", field)
    r = reach(actor, action)
    if r.nothing:
        return Forbidden(f"{role}账户没有有效的辖区或实施主体，不能{zh}",
                         f"{actor.role.value} account has no valid region or entity to {en}", field)
    scope = rule.scopes[actor.role]
    if region is not None and scope in LEVEL_DIGITS:
        return Forbidden(f"无权{zh}：辖区 {region} 不在{SCOPE_LABELS[scope]}范围内",
                         f"may not {en}: region {region} is outside the actor's {scope.value}", field)
    return Forbidden(f"无权{zh}：不在{SCOPE_LABELS[scope]}范围内", f"may not {en}: outside the actor's {scope.value}",
                     field)


def require(actor: Actor, action: Action, *, region: str | None = None, entity_id: int | None = None,
            posted: bool = False, what: tuple[str, str] | None = None, field: str | None = None) -> None:
    """`allowed`, or Forbidden naming what was refused (`what` names a narrower step than the action)."""
    if not allowed(actor, action, region=region, entity_id=entity_id, posted=posted):
        raise refusal(actor, action, region=region, what=what, field=field)


# Objections are a party's answer, not a write of its own: to a public notice (anyone) or to its own credit listing.
OBJECTIONS = frozenset({"matter.object", "credit.object"})


def may_write(actor: Actor) -> bool:
    """Whether the actor holds any write of its own (objecting to a public notice, which anyone may, or an entity to
    its own credit listing, aside)."""
    return any(rule.writes and action not in OBJECTIONS and reach(actor, action).scope not in (Scope.NONE, Scope.PUBLIC)
               for action, rule in POLICY.items())
