"""Scoped reads of the registry for the pages and the API: region scope is enforced here, not in the routes.

A village cadre asking for another village's household gets NotFound (404), exactly as if it did
not exist; an implementing-entity user sees only its own entity, its contracts, dues and payments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from daipin.db.models.registry import (
    Asset,
    AssetValuation,
    Contract,
    Entity,
    FundingSource,
    Household,
    HouseholdStatus,
    InsurancePolicy,
    Person,
    ProfitRecord,
    Project,
    Region,
)
from daipin.db.models.workflow import PaymentBatch, PaymentLine
from daipin.domain import access, vocabulary
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.domain.localtime import beijing_date
from daipin.domain.privacy import mask_bank, mask_id, mask_name, mask_phone
from daipin.services.shared import counts, scope

# The names these reads give codes: the vocabulary's (kept under the names other modules import).
STATUS_LABELS = vocabulary.HOUSEHOLD_STATUS
LABOR_LABELS = vocabulary.LABOR
ENTITY_KINDS = vocabulary.ENTITY_KIND
CREDIT_LABELS = vocabulary.CREDIT_STATUS
MODEL_LABELS = vocabulary.BENEFIT_MODEL
PAGE = 50


def scope_prefix(actor: Actor) -> str:
    """The region prefix of the households the actor reads ("" for all); refuses (403) roles that read none."""
    access.require(actor, "household.read")
    return access.reach(actor, "household.read").prefix


def initials(name: str) -> str:
    """Pinyin initials of a Chinese name (王小明 → wxm), as stored in `people.name_initials`."""
    from daipin.services.registry.service import name_initials

    return name_initials(name)


def in_region(column: Any, prefix: str) -> Any:
    """`column` lies in the region `prefix`, written so the database can use its index on the code.

    A LIKE 'prefix%' cannot use a b-tree index under most collations; equality (a village) or a
    half-open range of digit strings (a township or county) can.
    """
    if len(prefix) == 12:
        return column == prefix
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return (column >= prefix) & (column < upper)


def _row(hid: int, household_no: str, village_code: str, status: str, labor: str, life_state: str, head: str | None,
         village: str | None) -> dict[str, Any]:
    return {"id": hid, "household_no": household_no, "head": head or "", "village_code": village_code,
            "village": village or village_code, "status": status, "status_label": STATUS_LABELS.zh(status),
            "labor": LABOR_LABELS.zh(labor), "labor_code": labor, "life_state": life_state,
            "life_state_label": vocabulary.LIFE_STATE.zh(life_state)}


# A list's total is counted up to this many rows (a bounded index walk, cheap on a province's registry); past it
# the page says "more than" and asks for a narrower filter.
COUNT_CAP = 10_000
# A name or initials search is counted to fewer (each match is a look-up among the members): 20 pages.
SEARCH_COUNT_CAP = 1_000


def search_households(session: Session, actor: Actor, *, q: str = "", status: str | None = None,
                      village: str | None = None, offset: int = 0, limit: int = PAGE,
                      count: bool = False) -> dict[str, Any]:
    """Households in scope, ordered by household number, matching what `q` looks like:

    - letters only (`wxm`, `WXM`): the head's name starts with these pinyin initials (王小明);
    - any Chinese character (`王`, `王小`): some member's name starts with `q` — names are written surname
      first, so this is how a cadre types them; a given name alone (`小明`) does not match;
    - anything else (`231002001001`, `B0001`): the household number starts with `q`.

    Each form is a prefix search the database answers from an index (`text_pattern_ops`, or the "C"
    collation of household numbers, on PostgreSQL, so it holds under any locale) instead of scanning a
    province's registry. `village` narrows to a village (12 digits) or a township (9). With `count`, the
    matches are counted too, up to `COUNT_CAP` (`SEARCH_COUNT_CAP` for a name or initials search): `total`, and
    `capped` when there are more.
    """
    prefix = scope_prefix(actor)
    q = _search_text(q)
    if status and status not in STATUS_LABELS:
        raise InputError("户类型无效", "unknown household status", "status")
    if village and not (village.isdigit() and len(village) in (9, 12)):
        raise InputError("区划代码应为 9 或 12 位数字", "region must be 9 or 12 digits", "village")
    limit = max(1, min(int(limit), 200))
    offset = max(0, int(offset))
    kind = _query_kind(q)
    params: dict[str, Any] = {"lim": limit + 1, "off": offset}
    scope_shape = _region_params(params, "scope", prefix)
    village_shape = _region_params(params, "village", village or "")
    if status:
        params["status"] = status
    if kind:
        text = q.lower() if kind == "initials" else q
        params["pattern"] = text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    stmt = _search_statement(scope_shape, village_shape, bool(status), kind)
    found = session.execute(stmt, params).all()
    items = [_row(*r) for r in found[:limit]]
    out = {"items": items, "offset": offset, "limit": limit, "more": len(found) > limit, "q": q}
    if count:
        total = len(items)  # all on the first page: nothing more to count
        cap = SEARCH_COUNT_CAP if kind in ("initials", "name") else COUNT_CAP
        if offset or len(found) > limit:
            params["cap"] = cap + 1
            counted = _count_statement(scope_shape, village_shape, bool(status), kind)
            # Kept by the filter alone (not the page): turning pages counts once.
            total = counts.count(session, ("households", scope_shape, village_shape, bool(status), kind,
                                           tuple(sorted((k, v) for k, v in params.items() if k not in ("lim", "off")))),
                                 counts.county_of(prefix), lambda: int(session.scalar(counted, params) or 0))
        out["total"], out["capped"] = min(total, cap), total > cap
    return out


def _search_text(q: str | None) -> str:
    """A search text, trimmed to 40 characters; a NUL character (no stored text holds one) is refused."""
    q = (q or "").strip()[:40]
    if "\x00" in q:
        raise InputError("检索内容含有不允许的控制字符", "the search text contains a NUL character", "q")
    return q


def _query_kind(q: str) -> str:
    """Which column a search text is matched against (see `search_households`)."""
    if not q:
        return ""
    if q.isascii() and q.isalpha():
        return "initials"
    return "name" if not q.isascii() else "number"


def _region_params(params: dict[str, Any], name: str, prefix: str) -> str:
    """Bind a region prefix as `in_region` tests it and say which form the statement needs."""
    if not prefix:
        return ""
    if len(prefix) == 12:
        params[name] = prefix
        return "eq"
    params[name + "_lo"], params[name + "_hi"] = prefix, str(int(prefix) + 1).zfill(len(prefix))
    return "range"


def _region_condition(column: Any, name: str, shape: str) -> Any:
    if shape == "eq":
        return column == bindparam(name)
    return (column >= bindparam(name + "_lo")) & (column < bindparam(name + "_hi"))


def _search_conditions(scope: str, village: str, status: bool, kind: str) -> list[Any]:
    """The search's conditions of one shape, its values bound by name."""
    h = Household.__table__
    cond: list[Any] = []
    if scope:
        cond.append(_region_condition(h.c.village_code, "scope", scope))
    if village:
        cond.append(_region_condition(h.c.village_code, "village", village))
    if status:
        cond.append(h.c.status == bindparam("status"))
    if kind == "initials":
        cond.append(h.c.id.in_(select(Person.household_id).where(
            # The head as a literal, so that the planner can use the heads-only initials index in any plan.
            Person.relation == literal_column("'户主'"), Person.name_initials.like(bindparam("pattern"), escape="/"))))
    elif kind == "name":
        cond.append(h.c.id.in_(select(Person.household_id).where(Person.name.like(bindparam("pattern"), escape="/"))))
    elif kind == "number":
        cond.append(h.c.household_no.like(bindparam("pattern"), escape="/"))
    return cond


@cache
def _count_statement(scope: str, village: str, status: bool, kind: str) -> Any:
    """How many households match, counted up to `cap` rows: a bounded walk of the same index the page uses."""
    h = Household.__table__
    matches = select(h.c.id).where(*_search_conditions(scope, village, status, kind)).limit(bindparam("cap"))
    return select(func.count()).select_from(matches.subquery())


@cache
def _search_statement(scope: str, village: str, status: bool, kind: str) -> Any:
    """The search statement of one shape (which filters apply), built once: only the values are bound per
    request, so SQLAlchemy neither rebuilds it nor recomputes its cache key. Plain columns, no ORM objects.

    The page is chosen first (an index walk in household-number order); only its rows then look up their
    head and village, all in one statement.
    """
    h = Household.__table__
    cond = _search_conditions(scope, village, status, kind)
    page = (select(h.c.id, h.c.household_no, h.c.village_code, h.c.status, h.c.labor, h.c.life_state)
            .where(*cond).order_by(h.c.household_no).offset(bindparam("off")).limit(bindparam("lim")).subquery())
    head = (select(Person.name).where(Person.household_id == page.c.id, Person.relation == "户主")
            .order_by(Person.id).limit(1).scalar_subquery())
    return (select(page.c.id, page.c.household_no, page.c.village_code, page.c.status, page.c.labor,
                   page.c.life_state, head, Region.name)
            .outerjoin(Region, Region.code == page.c.village_code).order_by(page.c.household_no))


def _refuse_unseen(actor: Actor, hh: Any, household_id: int) -> Any:
    """`hh` (a household or a row of its columns) if the actor reads its village, else NotFound."""
    if hh is None or not access.allowed(actor, "household.read", region=hh.village_code):
        raise NotFound(f"户 {household_id} 不存在", f"household {household_id} not found", "household_id")
    return hh


def household(session: Session, actor: Actor, household_id: int) -> Household:
    """The household if the actor's region covers it; otherwise NotFound, as if it did not exist."""
    access.require(actor, "household.read")
    hh: Household = _refuse_unseen(actor, session.get(Household, household_id), household_id)
    return hh


@cache
def _household_statements() -> dict[str, Any]:
    """The household page's statements, built once: SQLAlchemy then reuses their construction and cache key
    on every request (only `:hid` changes). Plain columns, named as the mapped attributes, so the rows read
    like the objects without the cost of loading mapped objects."""
    hid: Any = bindparam("hid")
    return {
        "household": select(Household.id, Household.household_no, Household.village_code, Household.status,
                            Household.status_since, Household.exit_year, Household.poverty_cause, Household.labor,
                            Household.phone, Household.bank_account, Household.life_state, Region.name)
        .outerjoin(Region, Region.code == Household.village_code).where(Household.id == hid),
        "people": select(Person.id, Person.name, Person.id_number, Person.relation, Person.sex, Person.labor,
                         Person.life_state).where(Person.household_id == hid).order_by(Person.id),
        "contracts": select(Contract.id, Contract.code, Contract.model, Contract.entity_id, Contract.start_date,
                            Contract.end_date, Contract.status, Contract.payee_household_id,
                            Contract.payee_village_code, Contract.version, Entity.name.label("entity_name"))
        .outerjoin(Entity, Entity.id == Contract.entity_id)
        .where(Contract.payee_household_id == hid).order_by(Contract.start_date),
        "history": select(HouseholdStatus.status, HouseholdStatus.from_date, HouseholdStatus.reason)
        .where(HouseholdStatus.household_id == hid).order_by(HouseholdStatus.from_date, HouseholdStatus.id),
        "income": select(PaymentLine.amount_fen, PaymentLine.status, PaymentBatch.created_at, PaymentBatch.matter_id)
        .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
        .where(PaymentLine.household_id == hid).order_by(PaymentBatch.created_at),
    }


def household_page(session: Session, actor: Actor, household_id: int, *, income: bool = True) -> dict[str, Any]:
    """Members (ID numbers masked, no health notes), contracts, income history and status history.

    Five statements whatever the household holds: the household with its village's name, members,
    contracts with their entities' names, status history, income. `income=False` leaves the income out
    (and its statement) for a caller that reads it its own way.
    """
    access.require(actor, "household.read")
    stmts = _household_statements()
    hh = _refuse_unseen(actor, session.execute(stmts["household"], {"hid": household_id}).first(), household_id)
    hid = {"hid": hh.id}
    people = session.execute(stmts["people"], hid).all()
    contracts = session.execute(stmts["contracts"], hid).all()
    entities = {c.entity_id: c.entity_name for c in contracts if c.entity_name is not None}
    history = session.execute(stmts["history"], hid).all()
    paid = session.execute(stmts["income"], hid).all() if income else []
    return {
        "household": {"id": hh.id, "household_no": hh.household_no, "village": hh.name or "",
                      "village_code": hh.village_code, "status": hh.status,
                      "status_label": STATUS_LABELS.zh(hh.status),
                      "status_since": hh.status_since.isoformat() if hh.status_since else None,
                      "exit_year": hh.exit_year, "poverty_cause": hh.poverty_cause or "",
                      "labor": LABOR_LABELS.zh(hh.labor), "labor_code": hh.labor, "phone": mask_phone(hh.phone),
                      "bank_account": mask_bank(hh.bank_account), "life_state": hh.life_state,
                      "life_state_label": vocabulary.LIFE_STATE.zh(hh.life_state)},
        "members": [{"id": p.id, "name": p.name, "id_number": mask_id(p.id_number), "relation": p.relation,
                     "sex": p.sex or "", "labor": LABOR_LABELS.zh(p.labor), "labor_code": p.labor,
                     "life_state": p.life_state, "life_state_label": vocabulary.LIFE_STATE.zh(p.life_state)}
                    for p in people],
        "contracts": [_contract_row(c, entities) for c in contracts],
        "income": [{"matter": ln.matter_id, "at": beijing_date(ln.created_at).isoformat() if ln.created_at else "",
                    "amount_fen": ln.amount_fen, "status": ln.status,
                    "status_label": vocabulary.PAYMENT_LINE_STATUS.zh(ln.status)} for ln in paid],
        # Paid money only; what is still to come (pending, sent, failed awaiting retry) apart.
        "income_total_fen": sum(ln.amount_fen for ln in paid if ln.status == "paid"),
        "income_pending_fen": sum(ln.amount_fen for ln in paid if ln.status in ("pending", "sent", "failed")),
        "history": [{"status": h.status, "status_label": STATUS_LABELS.zh(h.status),
                     "from": h.from_date.isoformat(), "reason": h.reason} for h in history],
    }


def _entity_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): n for i, n in session.execute(select(Entity.id, Entity.name).where(Entity.id.in_(ids)))}


def _contract_row(c: Any, entities: dict[int, str]) -> dict[str, Any]:
    return {"id": c.id, "code": c.code, "model": c.model, "model_label": MODEL_LABELS.zh(c.model),
            "entity": entities.get(c.entity_id, ""), "entity_id": c.entity_id, "start": c.start_date.isoformat(),
            "end": c.end_date.isoformat(), "status": c.status, "status_label": vocabulary.CONTRACT_STATUS.zh(c.status),
            "payee_household_id": c.payee_household_id,
            "payee_village_code": c.payee_village_code, "version": c.version}


def _project_region(p: Any) -> str:
    """A project's most precise region: its village, or its township for a township-level project."""
    return str(p.village_code or p.township_code)


_PROJECT_REGION = func.coalesce(Project.village_code, Project.township_code)


def _entity_visible(actor: Actor, e: Entity, session: Session) -> bool:
    """`entity.read` where the entity is registered, or a project of it the actor reads (`project.read`)."""
    if access.allowed(actor, "entity.read", region=e.region_code or e.county_code, entity_id=e.id):
        return True
    projects = access.reach(actor, "project.read")
    if projects.scope not in access.LEVEL_DIGITS:
        return False
    return session.scalar(select(Project.id).where(
        Project.entity_id == e.id, scope.where(projects, region=_PROJECT_REGION)).limit(1)) is not None


def entities(session: Session, actor: Actor, *, q: str = "") -> list[dict[str, Any]]:
    q = _search_text(q)
    access.require(actor, "entity.read")
    reach = access.reach(actor, "entity.read")
    in_reach = scope.where(reach, region=func.coalesce(Entity.region_code, Entity.county_code), entity=Entity.id)
    if reach.scope in access.LEVEL_DIGITS:
        projects = access.reach(actor, "project.read")
        in_reach = or_(in_reach, Entity.id.in_(select(Project.entity_id).where(
            scope.where(projects, region=_PROJECT_REGION))))
    stmt = select(Entity).where(in_reach).order_by(Entity.id)
    if q:
        stmt = stmt.where(or_(Entity.name.like(f"%{q.strip()[:40]}%"), Entity.uscc.startswith(q.strip()[:18])))
    return [{"id": e.id, "name": e.name, "kind": ENTITY_KINDS.zh(e.kind), "kind_code": e.kind, "uscc": e.uscc,
             "credit": CREDIT_LABELS.zh(e.credit_status), "credit_status": e.credit_status}
            for e in session.scalars(stmt.limit(500))]


def _page_of(session: Session, base: Any, id_column: Any, order: Any, offset: int,
             limit: int, county: str | None) -> tuple[list[Any], dict[str, Any]]:
    """One page of a list's rows (those of `base`, a select of the columns the list shows) and its paging: offset,
    limit, whether more follow, and the total counted up to `COUNT_CAP` (`capped` past it)."""
    limit = max(1, min(int(limit), 200))
    offset = max(0, int(offset))
    rows = list(session.execute(base.order_by(order).offset(offset).limit(limit + 1)))
    if not offset and len(rows) <= limit:
        total = len(rows)
    else:
        total = _bounded_count(session, base.with_only_columns(id_column), county)
    return rows[:limit], {"offset": offset, "limit": limit, "more": len(rows) > limit,
                          "total": min(total, COUNT_CAP), "capped": total > COUNT_CAP}


def _bounded_count(session: Session, matches: Any, county: str | None) -> int:
    """How many rows `matches` (a select of ids) gives, counted up to `COUNT_CAP` + 1 (kept while `county`'s
    ledger stands still, `counts.count`)."""
    counted = select(func.count()).select_from(matches.limit(COUNT_CAP + 1).subquery())
    return counts.count(session, counts.statement_key(counted), county,
                        lambda: int(session.scalar(counted) or 0))


def _region_filter(region: str | None) -> str | None:
    if region and not (region.isdigit() and len(region) in (9, 12)):
        raise InputError("区划代码应为 9 或 12 位数字", "region must be 9 or 12 digits", "region")
    return region or None


def _region_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {str(c): str(n) for c, n in session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))}


def search_entities(session: Session, actor: Actor, *, q: str = "", kind: str | None = None,
                    credit: str | None = None, region: str | None = None, offset: int = 0,
                    limit: int = PAGE) -> dict[str, Any]:
    """Entities in the actor's view (as `entities`), by id: `q` part of the name or a credit-code prefix, `kind`,
    `credit` (its credit status), `region` (a township or village: registered there, or running a project there).
    Counted up to `COUNT_CAP`."""
    access.require(actor, "entity.read")
    q = _search_text(q)
    if kind and kind not in ENTITY_KINDS:
        raise InputError("主体类型无效", "unknown entity kind", "kind")
    if credit and credit not in CREDIT_LABELS:
        raise InputError("信用状态无效", "unknown credit status", "credit")
    region = _region_filter(region)
    reach = access.reach(actor, "entity.read")
    in_reach = scope.where(reach, region=func.coalesce(Entity.region_code, Entity.county_code), entity=Entity.id)
    if reach.scope in access.LEVEL_DIGITS:
        projects = access.reach(actor, "project.read")
        in_reach = or_(in_reach, Entity.id.in_(select(Project.entity_id).where(
            scope.where(projects, region=_PROJECT_REGION))))
    cond: list[Any] = [in_reach]
    if q:
        cond.append(or_(Entity.name.like(f"%{_like(q[:40])}%", escape="/"), Entity.uscc.startswith(q[:18])))
    if kind:
        cond.append(Entity.kind == kind)
    if credit:
        cond.append(Entity.credit_status == credit)
    if region:
        cond.append(or_(in_region(Entity.region_code, region), Entity.id.in_(
            select(Project.entity_id).where(in_region(_PROJECT_REGION, region)))))
    # The columns the list shows: not the entity's sealed account, opened for nothing.
    listed = select(Entity.id, Entity.name, Entity.kind, Entity.uscc, Entity.region_code, Entity.county_code,
                    Entity.credit_status).where(*cond)
    rows, paging = _page_of(session, listed, Entity.id, Entity.id, offset, limit,
                            counts.county_of(access.reach(actor, "entity.read").prefix))
    names = _region_names(session, {e.region_code or e.county_code for e in rows})
    items = [{"id": e.id, "name": e.name, "kind": ENTITY_KINDS.zh(e.kind), "kind_code": e.kind, "uscc": e.uscc,
              "region": names.get(e.region_code or e.county_code, e.region_code or e.county_code),
              "credit": CREDIT_LABELS.zh(e.credit_status), "credit_status": e.credit_status} for e in rows]
    return {"items": items, "q": q, **paging}


def _like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def entity(session: Session, actor: Actor, entity_id: int) -> Entity:
    e = session.get(Entity, entity_id)
    if e is None or not _entity_visible(actor, e, session):
        raise NotFound(f"实施主体 {entity_id} 不存在", f"entity {entity_id} not found", "entity_id")
    return e


def entity_page(session: Session, actor: Actor, entity_id: int, today: date | None = None) -> dict[str, Any]:
    """An entity's contracts, dues per latest settlement run of each project and year, what is unpaid (arrears) and its credit record.

    With `today`, also its wages (due by the employment contracts' rates, paid, in arrears) and its revolving
    fund-support repayments (due, repaid, overdue); wage arrears count in the entity's arrears."""
    e = entity(session, actor, entity_id)
    every = list(session.scalars(select(Contract).where(Contract.entity_id == e.id).order_by(Contract.code)))
    contracts = [c for c in every if contract_in_reach(session, actor, c)]
    all_projects = list(session.scalars(select(Project).where(Project.entity_id == e.id).order_by(Project.code)))
    projects = [p for p in all_projects if _project_visible(actor, p)]
    from daipin.services.runs.views import latest_settlements

    # A re-run of a project's settlement replaces the earlier run; it never adds to it. Only the projects the
    # actor reads: another township's settlement is not its business.
    runs = latest_settlements(session, [p.code for p in projects])
    dues: list[dict[str, Any]] = []
    for r in runs:
        out = r.output_json or {}
        due = sum(int(line.get("due_fen", 0)) for line in out.get("lines", []) if isinstance(line, dict))
        paid = sum(int(line.get("paid_fen", 0)) for line in out.get("lines", []) if isinstance(line, dict))
        dues.append({"run": r.id, "project": r.subject, "year": r.year, "due_fen": due, "paid_fen": paid,
                     "arrears_fen": max(due - paid, 0)})
    owed = _obligations(session, actor, today, entity_id=e.id)
    policies = session.execute(select(InsurancePolicy, Asset.code).outerjoin(Asset, Asset.id == InsurancePolicy.asset_id)
                               .where(InsurancePolicy.entity_id == e.id)
                               .order_by(InsurancePolicy.valid_from, InsurancePolicy.id)).all()
    return {
        "entity": {"id": e.id, "name": e.name, "kind": ENTITY_KINDS.zh(e.kind), "kind_code": e.kind, "uscc": e.uscc,
                   "legal_representative": e.legal_representative, "region_code": e.region_code or "",
                   "credit_status": e.credit_status, "credit": CREDIT_LABELS.zh(e.credit_status),
                   "credit_since": e.credit_since.isoformat() if e.credit_since else "",
                   "credit_reason": e.credit_reason or ""},
        "contracts": [_contract_row(c, {e.id: e.name}) for c in contracts],
        # Contracts and projects outside the actor's reach are counted, never named.
        "contracts_outside": len(every) - len(contracts),
        "projects": [{"id": p.id, "code": p.code, "name": p.name, "status": p.status,
                      "status_label": vocabulary.PROJECT_STATUS.zh(p.status)} for p in projects],
        "projects_outside": len(all_projects) - len(projects),
        "dues": dues,
        **owed,
        # Unpaid settlement dues and wages in arrears (R1.3: unpaid wages are the entity's arrears too).
        "arrears_total_fen": sum(int(d["arrears_fen"]) for d in dues) + (
            int(owed["wages"]["totals"]["arrears_fen"]) if owed else 0),
        "policies": [{"insurer": p.insurer, "policy_no": p.policy_no, "from": p.valid_from.isoformat(),
                      "to": p.valid_to.isoformat(), "asset": asset or "",
                      "kind": vocabulary.INSURANCE_KIND.zh(p.kind) if p.kind else "",
                      "insured_sum_fen": p.insured_sum_fen} for p, asset in policies],
    }


def _obligations(session: Session, actor: Actor, today: date | None, *, entity_id: int | None = None,
                 project_id: int | None = None) -> dict[str, Any]:
    """Wages and repayments as of `today` (nothing without a day: a view reads no clock)."""
    if today is None:
        return {}
    from daipin.services.obligations import views as obligations

    return {"wages": obligations.wages(session, actor, today=today, entity_id=entity_id, project_id=project_id),
            "repayments": obligations.repayments(session, actor, today=today, entity_id=entity_id,
                                                 project_id=project_id)}


def _project_visible(actor: Actor, p: Project) -> bool:
    return access.allowed(actor, "project.read", region=_project_region(p), entity_id=p.entity_id)


def projects(session: Session, actor: Actor) -> list[dict[str, Any]]:
    access.require(actor, "project.read")
    in_reach = scope.where(access.reach(actor, "project.read"), region=_PROJECT_REGION, entity=Project.entity_id)
    rows = list(session.scalars(select(Project).where(in_reach).order_by(Project.code)))
    ents = _entity_names(session, {p.entity_id for p in rows})
    return [{"id": p.id, "code": p.code, "name": p.name, "category": p.category, "entity": ents.get(p.entity_id, ""),
             "village_code": p.village_code or p.township_code, "status": p.status,
             "status_label": vocabulary.PROJECT_STATUS.zh(p.status)} for p in rows]


def search_projects(session: Session, actor: Actor, *, q: str = "", status: str | None = None,
                    category: str | None = None, region: str | None = None, year: int | None = None,
                    offset: int = 0, limit: int = PAGE) -> dict[str, Any]:
    """Projects in the actor's view, by code: `q` a code prefix or part of the name, `status`, `category`,
    `region` (its township or village), `year` (the year it started). Counted up to `COUNT_CAP`."""
    access.require(actor, "project.read")
    q = _search_text(q)
    if status and status not in vocabulary.PROJECT_STATUS:
        raise InputError("项目状态无效", "unknown project status", "status")
    if category and category not in vocabulary.PROJECT_CATEGORY:
        raise InputError("产业类别无效", "unknown project category", "category")
    region = _region_filter(region)
    if year is not None and not 2000 <= year <= 2100:
        raise InputError("年度无效", "year out of range", "year")
    cond: list[Any] = [scope.where(access.reach(actor, "project.read"), region=_PROJECT_REGION,
                                   entity=Project.entity_id)]
    if q:
        pattern = _like(q[:40])
        cond.append(or_(Project.code.like(f"{pattern}%", escape="/"), Project.name.like(f"%{pattern}%", escape="/")))
    if status:
        cond.append(Project.status == status)
    if category:
        cond.append(Project.category == category)
    if region:
        cond.append(in_region(_PROJECT_REGION, region))
    if year is not None:
        cond.append(Project.start_year == year)
    listed = select(Project.id, Project.code, Project.name, Project.category, Project.entity_id, Project.township_code,
                    Project.village_code, Project.start_year, Project.status).where(*cond)
    rows, paging = _page_of(session, listed, Project.id, Project.code, offset, limit,
                            counts.county_of(access.reach(actor, "project.read").prefix))
    ents = _entity_names(session, {p.entity_id for p in rows})
    names = _region_names(session, {p.township_code for p in rows} | {p.village_code for p in rows if p.village_code})
    items = [{"id": p.id, "code": p.code, "name": p.name, "category": p.category, "entity": ents.get(p.entity_id, ""),
              "entity_id": p.entity_id, "township": names.get(p.township_code, p.township_code),
              "village": names.get(p.village_code, p.village_code) if p.village_code else "",
              "start_year": p.start_year, "status": p.status, "status_label": vocabulary.PROJECT_STATUS.zh(p.status)}
             for p in rows]
    return {"items": items, "q": q, **paging}


def project_page(session: Session, actor: Actor, project_id: int, today: date | None = None) -> dict[str, Any]:
    p = session.get(Project, project_id)
    if p is None or not _project_visible(actor, p):
        raise NotFound(f"项目 {project_id} 不存在", f"project {project_id} not found", "project_id")
    funding = list(session.scalars(select(FundingSource).where(FundingSource.project_id == p.id)))
    assets = list(session.scalars(select(Asset).where(Asset.project_id == p.id).order_by(Asset.code)))
    profits = list(session.scalars(select(ProfitRecord).where(ProfitRecord.project_id == p.id)
                                   .order_by(ProfitRecord.period_start)))
    contracts = list(session.scalars(select(Contract).where(Contract.project_id == p.id).order_by(Contract.code)))
    ents = _entity_names(session, {p.entity_id})
    return {
        "project": {"id": p.id, "code": p.code, "name": p.name, "category": p.category, "status": p.status,
                    "status_label": vocabulary.PROJECT_STATUS.zh(p.status),
                    "entity": ents.get(p.entity_id, ""), "entity_id": p.entity_id,
                    "region": p.village_code or p.township_code, "expected_return": p.expected_return or "",
                    "start_year": p.start_year},
        "funding": [{"source": f.source, "amount_fen": f.amount_fen} for f in funding],
        "assets": [{"id": a.id, "code": a.code, "name": a.name, "kind": a.kind,
                    "kind_label": vocabulary.ASSET_KIND.zh(a.kind), "value_fen": a.value_fen, "status": a.status,
                    "status_label": vocabulary.ASSET_STATUS.zh(a.status)} for a in assets],
        "profits": [{"start": r.period_start.isoformat(), "end": r.period_end.isoformat(), "profit_fen": r.profit_fen,
                     "audit_ref": r.audit_ref} for r in profits],
        "contracts": [_contract_row(c, ents) for c in contracts],
        **_obligations(session, actor, today, project_id=p.id),
    }


def asset_page(session: Session, actor: Actor, asset_id: int) -> dict[str, Any]:
    a = session.get(Asset, asset_id)
    if a is None:
        raise NotFound(f"资产 {asset_id} 不存在", f"asset {asset_id} not found", "asset_id")
    p = session.get(Project, a.project_id) if a.project_id else None
    # An asset is read with its project, or by those who read its owner's region (a village's own asset).
    visible = (p is not None and _project_visible(actor, p)) or access.allowed(
        actor, "asset.read", region=a.owner_region_code or a.county_code)
    if not visible:
        raise NotFound(f"资产 {asset_id} 不存在", f"asset {asset_id} not found", "asset_id")
    vals = list(session.scalars(select(AssetValuation).where(AssetValuation.asset_id == a.id)
                                .order_by(AssetValuation.valued_on)))
    return {"asset": {"id": a.id, "code": a.code, "name": a.name, "kind": a.kind,
                      "kind_label": vocabulary.ASSET_KIND.zh(a.kind), "value_fen": a.value_fen, "status": a.status,
                      "status_label": vocabulary.ASSET_STATUS.zh(a.status), "project_id": a.project_id,
                      "project": p.name if p else "",
                      "owner_region_code": a.owner_region_code or "", "county_code": a.county_code},
            "valuations": [{"valuer": v.valuer, "on": v.valued_on.isoformat(), "value_fen": v.value_fen,
                            "report_ref": v.report_ref} for v in vals]}


def _contract_visible(session: Session, actor: Actor, c: Contract) -> bool:
    """Who reads a contract (`contract.read`): its entity's users, and the officials of its payee's region; and
    whoever reads its project (both pages list it)."""
    from daipin.services.contracts.service import payee_region

    if access.allowed(actor, "contract.read", region=payee_region(session, c), entity_id=c.entity_id):
        return True
    p = session.get(Project, c.project_id)
    return p is not None and _project_visible(actor, p)


def contract_in_reach(session: Session, actor: Actor, c: Contract) -> bool:
    """Whether a contract is inside the actor's own reach (`contract.read` for its payee's region, or its
    entity's users): what an entity's page lists by name. Narrower than `_contract_visible`, which also
    admits a contract read through its project (its payee then shown only as `payee_shown` allows)."""
    from daipin.services.contracts.service import payee_region

    return access.allowed(actor, "contract.read", region=payee_region(session, c), entity_id=c.entity_id)


def payee_shown(actor: Actor, village_code: str, entity_id: int | None) -> str:
    """How a payee household of `village_code` on a contract of `entity_id` is named to this actor: "full" (name
    and number) to those who read that village's households, "masked" (partly masked name and number) to the
    paying entity's users, and "hidden" (a masked name, no number) to anyone else, who reads the contract
    only through its project."""
    if access.allowed(actor, "household.read", region=village_code):
        return "full"
    if entity_id is not None and access.allowed(actor, "contract.read", entity_id=entity_id) and \
            access.reach(actor, "contract.read").scope is access.Scope.ENTITY:
        return "masked"
    return "hidden"


def contract(session: Session, actor: Actor, contract_id: int) -> Contract:
    """The contract if the actor may read it; otherwise NotFound, as if it did not exist."""
    c = session.get(Contract, contract_id)
    if c is None or not _contract_visible(session, actor, c):
        raise NotFound(f"协议 {contract_id} 不存在", f"contract {contract_id} not found", "contract_id")
    return c


def _opens_households(actor: Actor, village_code: str) -> bool:
    """Whether the actor may open the page of a household of this village."""
    return access.allowed(actor, "household.read", region=village_code)


def _payees(session: Session, actor: Actor, refs: set[str], entity_id: int | None = None) -> dict[str, dict[str, Any]]:
    """Payees (`household:<id>`, `village:<code>`) as people read them: a household by its head's name and its
    number (the name masked for an entity's users; masked, without its number, for an official outside the
    household's village, see `payee_shown`), a village by its name; no ID number, phone or account."""
    return _payees_of(session, actor, [(r, entity_id) for r in refs]).get(entity_id, {})


def _payees_of(session: Session, actor: Actor,
               wanted: Iterable[tuple[str, int | None]]) -> dict[int | None, dict[str, dict[str, Any]]]:
    """`_payees` of many contracts at once: for each (payee ref, contract's entity) pair, the payee as `_payees`
    names it for that entity, grouped by entity. Two queries for a whole page (the households with their heads,
    the villages' names), however many entities it lists."""
    pairs = set(wanted)
    refs = {r for r, _ in pairs}
    hh_ids = {int(r.split(":", 1)[1]) for r in refs if r.startswith("household:")}
    codes = {r.split(":", 1)[1] for r in refs if r.startswith("village:")}
    rows = session.execute(
        select(Household.id, Household.household_no, Household.village_code, Person.name)
        .join(Person, (Person.household_id == Household.id) & (Person.relation == "户主"), isouter=True)
        .where(Household.id.in_(hh_ids)).order_by(Household.id, Person.id)).all() if hh_ids else []
    names: dict[str, str] = dict(session.execute(
        select(Region.code, Region.name).where(Region.code.in_(codes))).all()) if codes else {}
    households: dict[str, tuple[int, str, str, str | None]] = {}
    for hid_, number_, village_, head_ in rows:
        # a second head: the first one names the household
        households.setdefault(f"household:{hid_}", (int(hid_), str(number_), str(village_), head_))
    shown_as: dict[tuple[str, int | None], str] = {}  # `payee_shown` depends on the village and entity alone
    opens: dict[str, bool] = {}
    out: dict[int | None, dict[str, dict[str, Any]]] = {eid: {} for _, eid in pairs}
    for ref, eid in pairs:
        if ref in households:
            hid, number, village, head = households[ref]
            how: str | None = shown_as.get((village, eid))
            if how is None:
                how = shown_as[(village, eid)] = payee_shown(actor, village, eid)
            if how == "hidden":
                out[eid][ref] = {"kind": "household", "name": mask_name(head) or "辖区外农户", "household_id": None,
                                 "household_no": "", "village_code": village, "viewable": False}
                continue
            shown = (head or "") if how == "full" else mask_name(head)
            viewable = opens.get(village)
            if viewable is None:
                viewable = opens[village] = _opens_households(actor, village)
            out[eid][ref] = {"kind": "household", "name": f"{shown}（{number}）" if shown else number,
                             "household_id": hid, "household_no": number, "village_code": village,
                             "viewable": viewable}
        elif ref.startswith("village:"):
            code = ref.split(":", 1)[1]
            out[eid][ref] = {"kind": "village", "name": names.get(code, code), "village_code": code,
                             "viewable": False}
    return out


def _worker_name(session: Session, actor: Actor, worker: Person, entity_id: int) -> str:
    hh = session.get(Household, worker.household_id)
    how = payee_shown(actor, hh.village_code if hh else "", entity_id)
    return worker.name if how == "full" else mask_name(worker.name)


CHANGE_LABELS = {"start_date": ("起始日期", "start date", "date"), "end_date": ("终止日期", "end date", "date"),
                 "status": ("状态", "status", "status"), "payee": ("受益方", "payee", "payee")}


def contract_page(session: Session, actor: Actor, contract_id: int) -> dict[str, Any]:
    """One contract: who it links (payee by name, project, entity), its terms in force with their names, every
    version marked in force or superseded with what it changed, and whether the actor may amend or end it.

    Scoped as `contract`; the payee's personal data (ID numbers, phone, bank account) is never read.
    """
    from daipin.domain.contracts import TERMS
    from daipin.services.contracts import service as svc
    from daipin.services.matters.views import actor_names

    c = contract(session, actor, contract_id)
    p = session.get(Project, c.project_id)
    e = session.get(Entity, c.entity_id)
    assert p is not None and e is not None
    versions = svc.history(session, c.id)
    payee_ref = f"household:{c.payee_household_id}" if c.payee_household_id is not None else \
        f"village:{c.payee_village_code}"
    refs = {payee_ref} | {str(ch[k]) for v in versions for ch in v["changes"] if ch["field"] == "payee"
                          for k in ("before", "after")}
    payees = _payees(session, actor, refs, c.entity_id)
    payee = payees.get(payee_ref, {"kind": "", "name": "", "viewable": False})
    worker = session.get(Person, c.person_id) if c.person_id is not None else None
    specs = {t.name: t for t in TERMS.get(c.model, ())}
    who = actor_names(session, {v["actor"] for v in versions})

    def labelled(field: str) -> dict[str, str]:
        if field.startswith("terms."):
            t = specs.get(field[6:])
            return {"label": t.zh, "label_en": t.en, "type": _shown_type(t)} if t else {
                "label": field[6:], "label_en": field[6:], "type": "text"}
        zh, en, kind = CHANGE_LABELS[field]
        return {"label": zh, "label_en": en, "type": kind}

    for v in versions:
        v["actor_name"] = who.get(v["actor"], v["actor"])
        for ch in v["changes"]:
            ch.update(labelled(ch["field"]))
            if ch["field"] == "payee":
                ch["before"], ch["after"] = (payees.get(ch[k], {}).get("name", "") for k in ("before", "after"))
    return {
        "contract": {"id": c.id, "code": c.code, "model": c.model, "model_label": MODEL_LABELS.zh(c.model),
                     "status": c.status, "status_label": vocabulary.CONTRACT_STATUS.zh(c.status), "version": c.version, "start": c.start_date.isoformat(),
                     "end": c.end_date.isoformat(), "signed_on": c.signed_on.isoformat() if c.signed_on else "",
                     "project_id": p.id, "project": p.name, "project_code": p.code,
                     "project_viewable": _project_visible(actor, p), "entity_id": e.id, "entity": e.name,
                     "entity_viewable": _entity_visible(actor, e, session), "payee_kind": payee["kind"],
                     "payee": payee["name"], "payee_household_id": payee.get("household_id"),
                     "payee_village_code": c.payee_village_code, "payee_viewable": payee["viewable"],
                     "person": _worker_name(session, actor, worker, c.entity_id) if worker else ""},
        "terms": [{"name": t.name, "label": t.zh, "label_en": t.en, "type": _shown_type(t), "value": c.terms[t.name]}
                  for t in TERMS.get(c.model, ()) if t.name in c.terms],
        "history": versions,
        "may_change": svc.may_change(session, actor, c),
    }


RATE_TERMS = frozenset({"profit_share", "annual_rate"})  # decimal terms that are fractions, shown also in %


def _shown_type(t: Any) -> str:
    """How a term is shown: a rate as its decimal and its percentage ("rate"), any other by its type."""
    return "rate" if t.name in RATE_TERMS else str(t.type)


def households_xlsx(session: Session, actor: Actor, *, q: str = "", status: str | None = None,
                    village: str | None = None, fmt: str = "xlsx", today: date | None = None) -> bytes:
    """The search result as a spreadsheet (.xlsx or .csv; personal data masked; at most 50,000 rows); codes as
    their labels, under a title row naming the region, the day and 已脱敏 (`sheets.write_export`)."""
    from datetime import UTC, datetime

    from daipin.services.shared import sheets
    from daipin.services.shared.sheets import Column, Table

    prefix = scope_prefix(actor)  # refuse before building anything
    rows: list[list[Any]] = []
    offset = 0
    while offset < 50_000:
        page = search_households(session, actor, q=q, status=status, village=village, offset=offset, limit=200)
        for r in page["items"]:
            rows.append([r["household_no"], r["head"], r["village"], r["status_label"], r["labor"],
                         r["life_state_label"]])
        if not page["more"]:
            break
        offset += 200
    code = village or prefix
    region = (session.scalar(select(Region.name).where(Region.code == code)) or code) if code else \
        "、".join(session.scalars(select(Region.name).where(Region.level == "district")).all())
    columns = [Column("户编号", "id"), Column("户主"), Column("村"), Column("户类型"), Column("劳动能力"), Column("状态")]
    title = sheets.title_line("农户查询结果", region, today or beijing_date(datetime.now(UTC)), masked=True)
    return sheets.export_bytes(fmt, title, [Table("农户", columns, rows)])


def household_count(session: Session, actor: Actor) -> int:
    access.require(actor, "household.read")
    in_reach = scope.where(access.reach(actor, "household.read"), region=Household.village_code)
    return int(session.scalar(select(func.count()).select_from(Household).where(in_reach)) or 0)


def regions_in_reach(session: Session, actor: Actor, action: access.Action, level: str) -> list[dict[str, str]]:
    """The regions of one level (village, township) where the actor may do `action`: the choices a form offers
    (the service checks the one chosen again)."""
    r = access.reach(actor, action)
    if r.nothing or r.scope not in (*access.LEVEL_DIGITS, access.Scope.ALL):
        return []
    stmt = select(Region.code, Region.name, Region.parent_code).where(Region.level == level)
    if r.prefix:
        stmt = stmt.where(in_region(Region.code, r.prefix) if len(r.prefix) < 12 or level == "village"
                          else Region.code == r.prefix[:9])
    rows = session.execute(stmt.order_by(Region.code)).all()
    return [{"code": c, "name": n, "parent": p or ""} for c, n, p in rows
            if access.allowed(actor, action, region=c) or (level == "township" and r.prefix.startswith(c))]


def _payee_within(prefix: str, *, or_village: str = "") -> Any:
    """A contract's payee lies in the township or village `prefix` (or is the village or township `or_village`):
    the ids of the contracts of its households (the households' village index, then the contracts' payee index)
    and of its villages (the contracts' payee-village index), as one list the database reads by index."""
    c, h = aliased(Contract), aliased(Household)
    parts = [select(c.id).join(h, h.id == c.payee_household_id).where(in_region(h.village_code, prefix)),
             select(c.id).where(in_region(c.payee_village_code, prefix))]
    if or_village:
        parts.append(select(c.id).where(c.payee_village_code == or_village))
    return Contract.id.in_(union_all(*parts))


def search_contracts(session: Session, actor: Actor, *, q: str = "", model: str | None = None,
                     status: str | None = None, region: str | None = None, year: int | None = None,
                     offset: int = 0, limit: int = PAGE) -> dict[str, Any]:
    """Contracts in the actor's own reach (`contract.read`: its payee's region, or its entity's users), by code:
    `q` a code prefix, `model`, `status`, `region` (the payee's township or village), `year` (in force for some
    day of it). Counted up to `COUNT_CAP`; payees named as `payee_shown` allows."""
    access.require(actor, "contract.read")
    q = _search_text(q)
    if model and model not in MODEL_LABELS:
        raise InputError("联结模式无效", "unknown benefit model", "model")
    if status and status not in vocabulary.CONTRACT_STATUS:
        raise InputError("协议状态无效", "unknown contract status", "status")
    if region and not (region.isdigit() and len(region) in (9, 12)):
        raise InputError("区划代码应为 9 或 12 位数字", "region must be 9 or 12 digits", "region")
    if year is not None and not 2000 <= year <= 2100:
        raise InputError("年度无效", "year out of range", "year")
    limit = max(1, min(int(limit), 200))
    offset = max(0, int(offset))
    payee = func.coalesce(Household.village_code, Contract.payee_village_code, Contract.county_code)
    reach = access.reach(actor, "contract.read")
    # The payee's region is an expression no index serves, so a reach bound to a region is written on indexed
    # columns, to the same effect: a county's contracts are those of its county (a contract's county is its
    # payee's: contracts.service refuses a payee in another county); a township's or village's are those paid to
    # its households (the households' village index) or its villages (the contracts' payee-village index), and a
    # village cadre's also those paid to its township itself (`VILLAGE_UP`, as scope.where admits).
    digits = access.LEVEL_DIGITS.get(reach.scope, 0)
    cond: list[Any]
    if reach.scope is access.Scope.COUNTY:
        cond = [Contract.county_code == reach.prefix]
    elif digits >= 9 and len(reach.prefix) == digits:
        cond = [Contract.county_code == reach.prefix[:6],
                _payee_within(reach.prefix, or_village=reach.prefix[:9]
                              if reach.scope is access.Scope.VILLAGE_UP else "")]
    else:
        cond = [scope.where(reach, region=payee, entity=Contract.entity_id)]
    if region:
        cond.append(_payee_within(region))
    if q:
        cond.append(Contract.code.like(q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%", escape="/"))
    if model:
        cond.append(Contract.model == model)
    if status:
        cond.append(Contract.status == status)
    if year is not None:
        cond.append((Contract.start_date <= date(year, 12, 31)) & (Contract.end_date >= date(year, 1, 1)))
    # The columns a row shows, not the contract's terms (JSON, decoded for nothing).
    base = (select(Contract.id, Contract.code, Contract.model, Contract.entity_id, Contract.project_id,
                   Contract.start_date, Contract.end_date, Contract.status, Contract.payee_household_id,
                   Contract.payee_village_code, Contract.version)
            .outerjoin(Household, Household.id == Contract.payee_household_id).where(*cond))
    rows = session.execute(base.order_by(Contract.code).offset(offset).limit(limit + 1)).all()
    if not offset and len(rows) <= limit:
        total = len(rows)
    else:
        total = _bounded_count(session, base.with_only_columns(Contract.id), counts.county_of(reach.prefix))
    more = len(rows) > limit
    rows = rows[:limit]
    entities = _entity_names(session, {c.entity_id for c in rows})
    projects = dict(session.execute(select(Project.id, Project.name).where(
        Project.id.in_({c.project_id for c in rows}))).all()) if rows else {}

    def ref(c: Any) -> str:
        return f"household:{c.payee_household_id}" if c.payee_household_id is not None else \
            f"village:{c.payee_village_code}"

    # How a payee is named depends on the contract's entity (`payee_shown`): the page's payees read at once.
    payees = _payees_of(session, actor, [(ref(c), c.entity_id) for c in rows])
    items = [{**_contract_row(c, entities), "project": projects.get(c.project_id, ""),
              "payee": payees[c.entity_id].get(ref(c), {"name": "", "viewable": False})} for c in rows]
    return {"items": items, "offset": offset, "limit": limit, "more": more, "q": q,
            "total": min(total, COUNT_CAP), "capped": total > COUNT_CAP}
