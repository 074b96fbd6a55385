"""Record registry facts from a document: one record or a list, each handed to its registry service.

This is how a district clerk adds what the import and the pages do not cover — a new implementing
entity, its insurance, a project with its funding, an asset and its valuations, profit records, work
days, contracts and their amendments, allocation plans — from a JSON or YAML file (`daipin record`).

Records refer to other rows by the keys people know, not by database ids: a household by 户编号
(`household: "2310020010010001"`), an entity by its unified social credit code, a project, asset or
contract by its code, a person by resident ID number. `payee_household`, `heir_household`,
`owner_entity`, … work the same way. Every record goes through the same service as the pages and the
API, so the same validation, region scope and ledger entry apply; the caller runs them all in one
transaction, so one bad record records nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db import sealing
from daipin.db.models.registry import Asset, Contract, ContractVersion, Entity, Household, Person, Project
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError, InputError, NotFound
from daipin.domain.vocabulary import RECORD_KIND
from daipin.services.contracts import service as contracts
from daipin.services.dynamic import service as dynamic
from daipin.services.registry import service as registry
from daipin.services.runs import service as runs


@dataclass(frozen=True)
class Kind:
    name: str
    service: Callable[..., Any]

    @property
    def zh(self) -> str:
        return RECORD_KIND.zh(self.name)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("region", registry.create_region),
    Kind("household", registry.register_household),
    Kind("member", registry.add_member),
    Kind("household-status", dynamic.change_household_status),
    Kind("death", dynamic.record_death),
    Kind("move", dynamic.record_move),
    Kind("entity", registry.register_entity),
    Kind("insurance", registry.add_insurance_policy),
    Kind("credit", registry.set_credit_status),
    Kind("project", registry.register_project),
    Kind("profit", registry.record_profit),
    Kind("asset", registry.register_asset),
    Kind("valuation", registry.add_valuation),
    Kind("work", registry.record_work),
    Kind("contribution", registry.record_contribution),
    Kind("contract", contracts.sign_contract),
    Kind("amendment", contracts.amend_contract),
    Kind("termination", contracts.terminate_contract),
    Kind("heir-transfer", contracts.transfer_share_to_heir),
    Kind("allocation-plan", runs.save_allocation_plan),
    Kind("setting", registry.set_setting),
)}

_SKIP = {"session", "actor", "at"}


def _household(session: Session, key: Any, field: str) -> int:
    hh = session.scalar(select(Household.id).where(Household.household_no == str(key)))
    if hh is None:
        raise NotFound(f"户编号 {key} 不存在", f"no household numbered {key}", field=field)
    return int(hh)


def _entity(session: Session, key: Any, field: str) -> int:
    found = session.scalar(select(Entity.id).where(Entity.uscc == str(key).strip().upper()))
    if found is None:
        raise NotFound(f"统一社会信用代码 {key} 的主体不存在", f"no entity with credit code {key}", field=field)
    return int(found)


def _by_code(model: Any, zh: str, en: str) -> Callable[[Session, Any, str], int]:
    def resolve(session: Session, key: Any, field: str) -> int:
        found = session.scalar(select(model.id).where(model.code == str(key)))
        if found is None:
            raise NotFound(f"{zh}编号 {key} 不存在", f"no {en} with code {key}", field=field)
        return int(found)
    return resolve


def _person(session: Session, key: Any, field: str) -> int:
    found = session.scalar(select(Person.id).where(
        Person.id_number_bidx == sealing.index_of(session.connection(), str(key).strip().upper())))
    if found is None:
        # The number itself is personal data: the message names the field, not the number.
        raise NotFound("该身份证号不在档", "no person with that resident ID number", field=field)
    return int(found)


# A record's `<name>` is resolved to the service's `<name>_id` by the last word of the name.
_RESOLVERS: dict[str, Callable[[Session, Any, str], int]] = {
    "household": _household,
    "entity": _entity,
    "project": _by_code(Project, "项目", "project"),
    "asset": _by_code(Asset, "资产", "asset"),
    "contract": _by_code(Contract, "协议", "contract"),
    "person": _person,
}


def fields(kind: Kind) -> tuple[list[str], list[str]]:
    """(required, optional) field names of a record of this kind, as a document spells them."""
    required: list[str] = []
    optional: list[str] = []
    for p in inspect.signature(kind.service).parameters.values():
        if p.name in _SKIP:
            continue
        name = p.name
        if name.endswith("_id") and name[:-3].split("_")[-1] in _RESOLVERS:
            name = name[:-3]
        (required if p.default is inspect.Parameter.empty else optional).append(name)
    return required, optional


def _a_key(value: Any) -> bool:
    """Whether an `..._id` value is a key people know rather than a row id: not all digits (a household number,
    a code), or a resident ID number or other long number (row ids are far shorter), which is then looked up as
    a key, so that no error echoes it as an id."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    text = str(value).strip()
    return not text.isdigit() or len(text) >= 15


def _arguments(session: Session, kind: Kind, record: Any, where: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise InputError("每条记录应为一个对象（键值对）", "each record must be an object", field=where or None)
    params = {p.name: p for p in inspect.signature(kind.service).parameters.values() if p.name not in _SKIP}
    args: dict[str, Any] = {}
    for key, value in record.items():
        field = f"{where}.{key}" if where else str(key)
        target = key if key in params else f"{key}_id"
        if target not in params:
            required, optional = fields(kind)
            raise InputError(f"未知字段 {key}；{kind.name} 可用字段：{'、'.join(required + optional)}",
                             f"unknown field {key!r}; a {kind.name} takes: {', '.join(required + optional)}",
                             field=field)
        if target != key or (key.endswith("_id") and _a_key(value)):
            last = (target[:-3]).split("_")[-1]
            resolver = _RESOLVERS.get(last)
            if resolver is not None and value is not None:
                value = resolver(session, value, field)
        elif "date" in str(params[target].annotation) and "datetime" not in str(params[target].annotation) \
                and isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError as exc:
                raise InputError("不是有效日期（应为 YYYY-MM-DD）", "not an ISO date (YYYY-MM-DD)", field=field) from exc
        args[target] = value
    missing = [name for name, p in params.items() if p.default is inspect.Parameter.empty and name not in args]
    if missing:
        shown = missing[0][:-3] if missing[0].endswith("_id") and missing[0][:-3].split("_")[-1] in _RESOLVERS \
            else missing[0]
        raise InputError(f"缺少字段 {shown}", f"missing field {shown!r}", field=f"{where}.{shown}" if where else shown)
    return args


def record_all(session: Session, actor: Actor, kind_name: str, document: Any, at: datetime) -> list[str]:
    """Record every record of the document (a mapping or a list of them); one line per record for the caller.

    Stops at the first bad record with its index in the field path (`[3].uscc`); the caller's transaction
    is then rolled back, so nothing of the document is recorded.
    """
    kind = KINDS.get(kind_name)
    if kind is None:
        raise InputError(f"未知记录类别 {kind_name}；可用：{'、'.join(KINDS)}",
                         f"unknown kind {kind_name!r}; one of: {', '.join(KINDS)}", field="kind")
    records = document if isinstance(document, list) else [document]
    if not records:
        raise InputError("文件中没有记录", "the document holds no record", field=None)
    done = []
    for i, record in enumerate(records):
        where = f"[{i}]" if isinstance(document, list) else ""
        args = _arguments(session, kind, record, where)
        try:
            result = kind.service(session, actor, at=at, **args)
        except DaipinError as exc:
            if exc.field:  # named as a record names it: `person`, not the service's `person_id`
                head, dot, rest = exc.field.partition(".")
                if head.endswith("_id") and head[:-3].split("_")[-1] in _RESOLVERS:
                    exc.field = head[:-3] + dot + rest
            if where:
                exc.field = f"{where}.{exc.field}" if exc.field else where
            exc.args = (exc.text(),)
            raise
        session.flush()
        done.append(_describe(session, kind, result))
    return done


def _describe(session: Session, kind: Kind, result: Any) -> str:
    warnings: list[Any] = []
    if isinstance(result, tuple):  # register_project returns (project, warnings)
        result, warnings = result[0], list(result[1])
    ident = getattr(result, "id", None)
    if isinstance(result, ContractVersion):  # a contract's new version: by the contract's code
        contract = session.get(Contract, result.contract_id)
        label = f"{contract.code if contract else result.contract_id} 第{result.version}版"
    else:
        label = next((str(getattr(result, a)) for a in ("code", "household_no", "name", "key", "version")
                      if getattr(result, a, None) not in (None, "")), "")
    text = f"已登记 / recorded: {kind.name} {label}".rstrip() + (f" (id {ident})" if ident is not None else "")
    for w in warnings:
        text += f"\n  ⚠ {w.get('message', w) if isinstance(w, dict) else w}"
    return text
