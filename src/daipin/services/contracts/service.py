"""Contract use cases: sign, amend (a new version, history kept), terminate, pass a share to an heir, reassign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Contract, ContractVersion, Entity, Household, Person, Project
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.contracts import (
    INHERITABLE_CONTRIBUTIONS,
    MODELS,
    TERMS,
    check_model,
    check_term,
    needs_decision,
    validate_terms,
)
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.domain.localtime import as_utc, beijing_date
from daipin.services.registry.service import (
    _village,
    eligible_as_of,
    get_household,
    get_project,
)
from daipin.services.shared import freetext
from daipin.services.shared import trace as trace
from daipin.services.shared.inputs import as_date as _date
from daipin.services.shared.inputs import need as _need
from daipin.services.shared.rows import row_fact


def get_contract(session: Session, contract_id: int | str, *, for_update: bool = False) -> Contract:
    """The contract by id or code. `for_update`: take the row lock a change holds until it commits (PostgreSQL
    `SELECT … FOR UPDATE`; SQLite's writer lock is taken by `BEGIN IMMEDIATE`), so two changes made at once
    take turns and the second re-checks the state the first left (its version, its status)."""
    if isinstance(contract_id, str) and not contract_id.isdigit():
        stmt = select(Contract).where(Contract.code == contract_id)
    else:
        stmt = select(Contract).where(Contract.id == int(contract_id))
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    c = session.scalar(stmt)
    if c is None:
        raise NotFound(f"协议 {contract_id} 不存在", f"contract {contract_id} not found", field="contract")
    return c


def new_version(session: Session, actor: Actor, c: Contract, *, reason: str, at: datetime,
                effective_from: date) -> ContractVersion:
    """Snapshot the contract's current state as its next version (the first one at signing), in force from
    `effective_from`."""
    session.flush()
    last = session.scalar(select(ContractVersion.version).where(ContractVersion.contract_id == c.id)
                          .order_by(ContractVersion.version.desc()).limit(1))
    c.version = (last or 0) + 1
    v = ContractVersion(contract_id=c.id, county_code=c.county_code, version=c.version, terms=dict(c.terms),
                        start_date=c.start_date, end_date=c.end_date, status=c.status,
                        payee_household_id=c.payee_household_id, payee_village_code=c.payee_village_code,
                        effective_from=effective_from, reason=reason, actor=f"{actor.role.value}:{actor.id}", at=at)
    session.add(v)
    session.flush()
    return v


def current_version(session: Session, c: Contract) -> ContractVersion:
    """The contract's present version (the one its row mirrors)."""
    v = session.scalar(select(ContractVersion).where(ContractVersion.contract_id == c.id,
                                                     ContractVersion.version == c.version))
    assert v is not None
    return v


def not_before_current(session: Session, c: Contract, day: date, field: str, zh: str) -> None:
    """A change of payee takes effect no earlier than the version it follows (a share freed on a household's
    exit passes on from then), so the versions stay in the order they are in force."""
    since = current_version(session, c).effective_from
    if day < since:
        raise InputError(f"{zh} {day.isoformat()} 早于第{c.version}版的生效日期 {since.isoformat()}",
                         f"{field} {day.isoformat()} is before version {c.version} took effect ({since.isoformat()})",
                         field=field)


def check_version(c: Contract, expected_version: int | None) -> None:
    """Refuse (409) a change made from a version that is no longer the contract's current one: a stale form
    would otherwise undo the change that came in between."""
    if expected_version is not None and expected_version != c.version:
        raise Conflict(f"协议已被变更为第{c.version}版，请刷新后重试",
                       f"the contract has since become version {c.version}; reload and try again",
                       field="version", code="stale_version")


def _payee(session: Session, payee_household_id: int | None, payee_village_code: str | None) -> tuple[str, str]:
    """(region, label) of the payee; exactly one of household or village."""
    if (payee_household_id is None) == (payee_village_code is None):
        raise InputError("受益方须为一户或一个村（二选一）", "the payee is one household or one village",
                         field="payee")
    if payee_household_id is not None:
        hh = session.get(Household, payee_household_id)
        if hh is None:
            raise InputError(f"户 {payee_household_id} 不存在", f"household {payee_household_id} not found",
                             field="payee_household_id")
        if hh.life_state != "alive":
            raise InputError("受益户已不在册", "the payee household is no longer registered", field="payee_household_id")
        return hh.village_code, f"household:{hh.household_no}"
    v = _village(session, payee_village_code, "payee_village_code")
    return v.code, f"village:{v.code}"


@dataclass(frozen=True)
class PreparedContract:
    """A contract checked in full and ready to sign: what `sign_contract` and a contract matter's execution
    write (the matter's draft checks the same, so a matter is not approved for a contract that cannot be)."""

    code: str
    model: str
    project: Project
    start: date
    end: date
    signed: date
    terms: dict[str, Any]
    region: str
    payee_label: str
    payee_household_id: int | None
    payee_village_code: str | None
    person_id: int | None
    # The entity was under a credit warning (警示) when the contract was signed, and the signer acknowledged it.
    credit_warning: bool = False


def credit_warning_text(entity: Entity) -> str:
    """What a signer is shown of an entity under a credit warning (警示): since when and why."""
    since = f"自 {entity.credit_since.isoformat()} 起" if entity.credit_since else ""
    why = f"（{entity.credit_reason}）" if entity.credit_reason else ""
    return f"实施主体 {entity.name} {since}处于信用警示状态{why}"


def prepare_contract(session: Session, actor: Actor, *, code: Any, model: Any, project_id: Any,
                     start_date: Any, end_date: Any, terms: Any, payee_household_id: int | None = None,
                     payee_village_code: str | None = None, person_id: int | None = None,
                     signed_on: date | None = None, acknowledge_warning: bool = False) -> PreparedContract:
    """Check a contract to be signed (terms per model, dates, project, payee, entity's credit, code, reach);
    writes nothing. A missing required term is refused with the term named. An entity under a credit warning
    (警示) signs only when the signer acknowledges the warning (`acknowledge_warning`); a blacklisted one never."""
    code = _need(code, "code", "协议编号", "contract code", limit=40)
    model = check_model(model)
    checked = validate_terms(model, terms)
    _check_terms_text(checked)
    sd = _date(start_date, "start_date", "协议起始日期") if start_date is not None else None
    ed = _date(end_date, "end_date", "协议终止日期") if end_date is not None else None
    check_term(sd, ed)
    assert sd is not None and ed is not None
    signed = _date(signed_on, "signed_on", "签订日期") if signed_on is not None else sd
    project: Project = get_project(session, project_id)
    region, payee_label = _payee(session, payee_household_id, payee_village_code)
    if model == "employment":
        if person_id is None:
            raise InputError("缺少必填条款 务工人员", "missing required term person", field="person_id",
                             code="missing_term")
        p = session.get(Person, person_id)
        if p is None or p.household_id != payee_household_id:
            raise InputError("务工人员不属于受益户", "the person is not a member of the payee household",
                             field="person_id")
    elif person_id is not None:
        raise InputError("只有务工协议关联人员", "only employment contracts name a person", field="person_id")
    if model == "shareholding" and checked["contribution_kind"] == "quantified_fund" and payee_household_id:
        hh = get_household(session, payee_household_id)
        if not eligible_as_of(session, hh, sd):
            raise Conflict("扶贫量化资金股份只能配给在册贫困户或监测户", "a quantified-fund share goes only to an "
                           "eligible (poor or monitored) household", field="payee_household_id")
    entity = session.get(Entity, project.entity_id)
    assert entity is not None
    if entity.credit_status == "blacklisted":
        raise Conflict(f"实施主体 {entity.name} 已列入失信黑名单，不能签订新协议", "the entity is blacklisted and may not "
                       "sign new contracts", field="project_id")
    warned = entity.credit_status == "warned"
    if warned and not acknowledge_warning:
        raise Conflict(f"{credit_warning_text(entity)}，签订新协议须确认已知悉该警示",
                       "the entity is under a credit warning: acknowledge it to sign a new contract",
                       field="acknowledge_warning", code="credit_warning")
    if session.scalar(select(Contract.id).where(Contract.code == code)) is not None:
        raise Conflict(f"协议编号 {code} 已存在", f"contract {code} already exists", field="code")
    if region[:6] != project.county_code:
        raise InputError(f"项目 {project.code} 与受益方不在同一区县", "the project is in another county than the payee",
                         field="project_id")
    require_contract_reach(actor, "contract.sign", project_region(project), region, field="project_id")
    return PreparedContract(code=code, model=model, project=project, start=sd, end=ed, signed=signed,
                            terms=checked, region=region, payee_label=payee_label,
                            payee_household_id=payee_household_id, payee_village_code=payee_village_code,
                            person_id=person_id, credit_warning=warned)


def sign_contract(session: Session, actor: Actor, *, code: str, model: str, project_id: int, start_date: date,
                  end_date: date, terms: dict[str, Any], at: datetime, payee_household_id: int | None = None,
                  payee_village_code: str | None = None, person_id: int | None = None,
                  signed_on: date | None = None, acknowledge_warning: bool = False) -> Contract:
    """Sign a benefit-linkage contract; a missing required term is refused with the term named; an entity under a
    credit warning only with `acknowledge_warning` (the entry says it was acknowledged).

    A contract committing quantified poverty funds or collective assets (`domain.contracts.needs_decision`)
    is not signed here: it takes effect only by executing the approved contract or share-quantification
    matter that decided it (WORKFLOW.md "Decision-gated actions")."""
    prepared = prepare_contract(session, actor, code=code, model=model, project_id=project_id,
                                start_date=start_date, end_date=end_date, terms=terms,
                                payee_household_id=payee_household_id, payee_village_code=payee_village_code,
                                person_id=person_id, signed_on=signed_on,
                                acknowledge_warning=acknowledge_warning)
    if needs_decision(prepared.model, prepared.terms):
        raise Conflict(f"{MODELS[prepared.model]}协议动用扶贫量化资金或集体资产，须经村民（代表）会议决议、乡镇审核并公示后，"
                       "由执行「签订利益联结协议」或「资产折股量化」事项签订，不能直接签订",
                       f"a {prepared.model} contract commits quantified poverty funds or collective assets: it takes "
                       "effect only by executing the approved contract or share-quantification matter",
                       field="model", code="decision_required")
    return create_contract(session, actor, prepared, at=at)


def create_contract(session: Session, actor: Actor, prepared: PreparedContract, *, at: datetime,
                    matter_id: int | None = None) -> Contract:
    """Write a prepared contract, its first version and its ledger entry (naming the matter that decided it)."""
    p = prepared
    c = Contract(code=p.code, model=p.model, project_id=p.project.id, entity_id=p.project.entity_id,
                 payee_household_id=p.payee_household_id, payee_village_code=p.payee_village_code,
                 person_id=p.person_id, start_date=p.start, end_date=p.end, status="active", version=1,
                 terms=p.terms, signed_on=p.signed, county_code=p.project.county_code)
    session.add(c)
    reason = f"依事项 #{matter_id} 决议签订" if matter_id is not None else "签订"
    v = new_version(session, actor, c, reason=reason, at=at, effective_from=p.start)
    facts: dict[str, Any] = {"model": p.model, "project": p.project.code,
                             "payee": _payee_digest(session, p.payee_label), "terms": p.terms,
                             "start": p.start.isoformat(), "end": p.end.isoformat(), "version": v.version}
    if matter_id is not None:
        facts["matter"] = matter_id
    if p.credit_warning:
        facts["credit_warning_acknowledged"] = True
    _record_contract(session, actor, "contract.sign", c, p.region, facts, at)
    return c


# Terms that name a registry record by its code (checked as codes, not free text).
IDENTIFIER_TERMS = frozenset({"asset_code"})


def _check_terms_text(terms: dict[str, Any]) -> None:
    """A contract's terms (buyer, product, purpose, duties, schedules…) enter the ledger and the dossier as written:
    they may hold no ID number, phone or bank number (`shared.freetext`)."""
    freetext.check({k: v for k, v in terms.items() if k not in IDENTIFIER_TERMS}, "terms", "协议条款")


def _payee_digest(session: Session, label: str) -> str:
    # A village is public; a household number is kept out of the ledger body in clear.
    return label if label.startswith("village:") else trace.pii(session, label)


def _record_contract(session: Session, actor: Actor, type: str, c: Contract, region: str, facts: dict[str, Any],
                     at: datetime) -> int:
    facts = dict(facts)
    facts["row"] = row_fact(session, c)
    facts["version_row"] = row_fact(session, current_version(session, c))  # the version in force, row by row
    return trace.record(session, actor=actor, type=type, subject=f"contract:{c.code}", region=region, facts=facts,
                        at=at)


def project_region(p: Project) -> str:
    """A project's most precise region: its village, or its township for a township-level project."""
    return str(p.village_code or p.township_code)


def require_contract_reach(actor: Actor, action: access.Action, project: str, *payees: str,
                           field: str | None = None) -> None:
    """A contract is signed or changed only inside the actor's reach on both sides: the project's region (whose
    entity it binds) and every payee's region (each village whose funds or households it commits). A village
    cadre reaches its township's township-level projects (`village+`) but only for payees of its own village."""
    access.require(actor, action, region=project, field=field)
    for region in payees:
        access.require(actor, action, region=region)


def contract_project(session: Session, c: Contract) -> Project:
    p = session.get(Project, c.project_id)
    assert p is not None
    return p


def payee_region(session: Session, c: Contract) -> str:
    """The region a contract belongs to for scope: its payee household's village, or its payee village."""
    if c.payee_household_id is not None:
        return get_household(session, c.payee_household_id).village_code
    return c.payee_village_code or c.county_code


def check_may_change(session: Session, actor: Actor, c: Contract) -> str:
    """Refuse (Forbidden) an actor who may not amend or terminate this contract (`contract.change` for the
    project's region and the payee's). Returns the contract's (payee's) region."""
    region = payee_region(session, c)
    require_contract_reach(actor, "contract.change", project_region(contract_project(session, c)), region)
    return region


def amend_contract(session: Session, actor: Actor, contract_id: int | str, *, reason: str, at: datetime,
                   terms: dict[str, Any] | None = None, start_date: date | None = None,
                   end_date: date | None = None, effective_from: date | None = None,
                   expected_version: int | None = None) -> ContractVersion:
    """An amendment: the terms given replace the current ones as a whole new version; older versions stay.

    The new version is in force from `effective_from`: by default the day it is recorded (Beijing), or the
    contract's start or its current version's date when that is later; a date given may be neither before the
    contract's start nor before the current version's. A shareholding contract's contribution kind is what the
    share is (a quantified-fund share is a benefit right, a land or money share passes to heirs): it is never
    amended. `expected_version`, when given, is the version the change was made from (409 if no longer current).
    """
    c = get_contract(session, contract_id, for_update=True)
    region = check_may_change(session, actor, c)  # scope first: a refused actor gets 403 whatever the input
    check_version(c, expected_version)
    reason = freetext.text(reason, "reason", "变更原因", "reason") or ""
    if c.status == "terminated":
        raise Conflict("协议已终止，不能变更", "the contract is terminated", field="contract")
    checked = validate_terms(c.model, terms) if terms is not None else dict(c.terms)
    _check_terms_text(checked)
    if c.model == "shareholding" and checked.get("contribution_kind") != c.terms.get("contribution_kind"):
        raise InputError("入股方式不能通过变更修改（扶贫量化资金股份是收益权，不能改为可继承的股份）",
                         "a shareholding contract's contribution kind cannot be amended", field="terms.contribution_kind",
                         code="contribution_kind_fixed")
    sd = _date(start_date, "start_date", "协议起始日期") if start_date is not None else c.start_date
    ed = _date(end_date, "end_date", "协议终止日期") if end_date is not None else c.end_date
    check_term(sd, ed)
    current = current_version(session, c)
    if effective_from is None:
        eff = max(beijing_date(at), sd, current.effective_from)
    else:
        eff = _date(effective_from, "effective_from", "生效日期")
        if eff < sd:
            raise InputError("生效日期早于协议起始日期", "the amendment takes effect before the contract starts",
                             field="effective_from")
        if eff < current.effective_from:
            raise InputError(f"生效日期早于现行第{current.version}版的生效日期 {current.effective_from.isoformat()}",
                             f"the amendment takes effect before version {current.version} "
                             f"({current.effective_from.isoformat()})", field="effective_from")
    if checked == c.terms and sd == c.start_date and ed == c.end_date:
        raise InputError("变更内容与现行版本相同", "the amendment changes nothing", field="terms")
    c.terms, c.start_date, c.end_date = checked, sd, ed
    v = new_version(session, actor, c, reason=reason, at=at, effective_from=eff)
    _record_contract(session, actor, "contract.amend", c, region,
                     {"version": v.version, "reason": reason, "terms": checked, "start": sd.isoformat(),
                      "end": ed.isoformat(), "effective_from": eff.isoformat()}, at)
    return v


def terminate_contract(session: Session, actor: Actor, contract_id: int | str, *, on: date, reason: str,
                       at: datetime, expected_version: int | None = None) -> ContractVersion:
    """End a contract from a date: a last version, terminated, in force from `on`; its end date moves back to
    `on`. A date after the contract's end is refused (the contract has ended by then); `expected_version` as
    for an amendment."""
    c = get_contract(session, contract_id, for_update=True)
    region = check_may_change(session, actor, c)
    check_version(c, expected_version)
    reason = freetext.text(reason, "reason", "终止原因", "reason") or ""
    on = _date(on, "on", "终止日期")
    if c.status == "terminated":
        raise Conflict("协议已终止", "the contract is already terminated", field="contract")
    if on < c.start_date:
        raise InputError("终止日期早于协议起始日期", "termination date is before the start", field="on")
    if on > c.end_date:
        raise InputError(f"终止日期晚于协议到期日 {c.end_date.isoformat()}",
                         f"termination date is after the contract's end ({c.end_date.isoformat()})", field="on")
    c.status, c.end_date = "terminated", on
    v = new_version(session, actor, c, reason=reason, at=at, effective_from=on)
    _record_contract(session, actor, "contract.terminate", c, region,
                     {"version": v.version, "reason": reason, "on": on.isoformat()}, at)
    return v


def transfer_share_to_heir(session: Session, actor: Actor, contract_id: int | str, heir_household_id: int, *,
                           reason: str, at: datetime, on: date | None = None) -> ContractVersion:
    """A land-contract-rights or own-money share passes to an heir; quantified-fund and loan shares never do.

    The heir holds the share from `on` (by default the day it is recorded, Beijing)."""
    c = get_contract(session, contract_id, for_update=True)
    reason = freetext.text(reason, "reason", "继承依据", "reason") or ""
    day = _date(on, "on", "继承日期") if on is not None else beijing_date(at)
    not_before_current(session, c, day, "on", "继承日期")
    if c.model != "shareholding":
        raise InputError("只有股份合作协议可以继承", "only shareholding contracts pass to heirs", field="contract")
    kind = c.terms.get("contribution_kind")
    if kind not in INHERITABLE_CONTRIBUTIONS:
        raise Conflict("扶贫量化资金及扶贫贷款股份是收益权，不能继承，须按决议重新分配",
                       "a quantified-fund or poverty-loan share is a benefit right: it is reassigned, never inherited",
                       field="terms.contribution_kind", code="not_inheritable")
    if c.status == "terminated":
        raise Conflict("协议已终止", "the contract is terminated", field="contract")
    heir = get_household(session, heir_household_id)
    if heir.id == c.payee_household_id:
        raise InputError("继承户与原受益户相同", "the heir is the current payee", field="heir_household_id")
    holder = get_household(session, c.payee_household_id) if c.payee_household_id is not None else None
    if holder is None or holder.life_state != "died_out":
        raise Conflict("原受益户仍有在世成员，股份只在户内成员全部去世后由继承人承继",
                       "the holding household still has living members: a share passes to an heir only once its "
                       "last member has died", field="contract", code="holder_alive")
    # the project, the present holder, then the heir
    require_contract_reach(actor, "contract.change", project_region(contract_project(session, c)),
                           payee_region(session, c), heir.village_code)
    c.payee_household_id, c.status = heir.id, "active"
    v = new_version(session, actor, c, reason=f"继承：{reason}", at=at, effective_from=day)
    _record_contract(session, actor, "contract.inherit", c, heir.village_code,
                     {"version": v.version, "reason": reason, "contribution_kind": kind, "on": day.isoformat(),
                      "heir": trace.pii(session, f"household:{heir.household_no}")}, at)
    return v


def reassign_share(session: Session, actor: Actor, contract_id: int | str, new_household_id: int, *,
                   matter_id: int, on: date, at: datetime) -> ContractVersion:
    """A quantified-fund share pending reassignment goes to another eligible household: only as the effect of
    executing the share-quantification matter `matter_id` that decided it (`services/decisions`)."""
    c = get_contract(session, contract_id, for_update=True)
    on = _date(on, "on", "生效日期")
    not_before_current(session, c, on, "on", "生效日期")
    if c.status != "pending_reassignment":
        raise Conflict("该股份不在待重新分配状态", "the share is not pending reassignment", field="contract")
    hh = get_household(session, new_household_id)
    if not eligible_as_of(session, hh, on):
        raise Conflict("新受益户须为贫困户或监测户", "the new household must be poor or monitored",
                       field="new_household_id")
    # the project, the last holder, then the new one
    require_contract_reach(actor, "contract.change", project_region(contract_project(session, c)),
                           payee_region(session, c), hh.village_code)
    c.payee_household_id, c.status = hh.id, "active"
    v = new_version(session, actor, c, reason=f"依事项 #{matter_id} 决议重新分配", at=at, effective_from=on)
    _record_contract(session, actor, "contract.reassign", c, hh.village_code,
                     {"version": v.version, "matter": matter_id, "on": on.isoformat(),
                      "payee": trace.pii(session, f"household:{hh.household_no}")}, at)
    return v


def may_change(session: Session, actor: Actor, c: Contract) -> bool:
    """Whether the actor may amend or terminate the contract now: the check the two services make, asked
    without acting (the pages show their forms by it)."""
    return c.status != "terminated" and all(
        access.allowed(actor, "contract.change", region=r)
        for r in (project_region(contract_project(session, c)), payee_region(session, c)))


def _payee_ref(v: ContractVersion) -> str:
    return f"household:{v.payee_household_id}" if v.payee_household_id is not None else f"village:{v.payee_village_code}"


def _changes(model: str, before: ContractVersion | None, after: ContractVersion) -> list[dict[str, Any]]:
    """What `after` changed against the version before it: each term (in its model's order), the dates, the
    status and the payee, as {field, before, after}; nothing for the first version."""
    if before is None:
        return []
    out: list[dict[str, Any]] = []
    known = [t.name for t in TERMS.get(model, ())]
    for key in known + sorted((set(before.terms) | set(after.terms)) - set(known)):
        if before.terms.get(key) != after.terms.get(key):
            out.append({"field": f"terms.{key}", "before": before.terms.get(key), "after": after.terms.get(key)})
    for field, old, new in (("start_date", before.start_date.isoformat(), after.start_date.isoformat()),
                            ("end_date", before.end_date.isoformat(), after.end_date.isoformat()),
                            ("status", before.status, after.status),
                            ("payee", _payee_ref(before), _payee_ref(after))):
        if old != new:
            out.append({"field": field, "before": old, "after": new})
    return out


def history(session: Session, contract_id: int | str) -> list[dict[str, Any]]:
    """Every version of a contract, oldest first, as it may be shown.

    `status` is the contract's status when that version was made; `current` marks the version in force (the
    contract's present one) and `superseded_by` names the version that replaced an older one, so an amended
    contract never reads as two active versions. `changes` is what each version changed against the one
    before it (see `_changes`). `effective_from` is the day the version is in force from (a date, as agreed);
    `at` is when it was recorded, UTC, as everything stored.
    """
    c = get_contract(session, contract_id)
    rows = session.scalars(select(ContractVersion).where(ContractVersion.contract_id == c.id)
                           .order_by(ContractVersion.version)).all()
    out = []
    for i, v in enumerate(rows):
        current = v.version == c.version
        out.append({"version": v.version, "terms": v.terms, "start": v.start_date.isoformat(),
                    "end": v.end_date.isoformat(), "status": v.status, "effective_from": v.effective_from.isoformat(),
                    "reason": v.reason, "actor": v.actor,
                    "at": as_utc(v.at).isoformat(), "model_label": MODELS[c.model], "current": current,
                    "superseded_by": None if current or i + 1 == len(rows) else rows[i + 1].version,
                    "changes": _changes(c.model, rows[i - 1] if i else None, v)})
    return out
