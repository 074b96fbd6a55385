"""Decision-gated actions (WORKFLOW.md "Decision-gated actions", R3.1–R3.3).

A contract committing quantified poverty funds or collective assets, a share quantification (and the
reassignment of a quantified share), and an asset's disposal, lease or pledge take effect only by executing the
approved matter of that kind. A matter of these kinds carries a document that says exactly what it decides:

- `{"kind": "contract", "contracts": [{code, model, project, start_date, end_date, terms,
  payee_village_code | payee_household_no, person_id?}]}`: the contracts to sign;
- `{"kind": "share_quantification", "asset", "project", "start_date", "end_date", "holders": [{code,
  household_no, contribution_value_fen, shares, profit_share, annual_floor_fen?}], "reassignments": [{contract,
  household_no, on}]}`: quantified-fund shares issued on a valued asset, and freed shares given to new holders;
- `{"kind": "asset_disposal", "asset", "action": dispose | lease | pledge, "on", "counterparty", "value_fen",
  "reason"}`: what happens to one of the village's assets.

`check` is run when the matter is drafted or its draft changed: every item is checked as its action would check
it (terms, dates, eligibility, reach, the asset's valuation), nothing written, and its preview is what the
meeting votes on and the notice shows. `apply` is run when the approved matter is executed: it checks all again
(the registry may have changed since) and then does what was decided, each change its own ledger entry naming
the matter. The direct paths refuse these actions (`contracts.sign_contract` for `needs_decision` contracts,
`registry.register_asset` for a leased, pledged or disposed status).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, AssetValuation, Contract, Household
from daipin.db.models.workflow import Matter
from daipin.domain.actors import Actor
from daipin.domain.contracts import MODELS
from daipin.domain.errors import Conflict, DaipinError, InputError, NotFound
from daipin.domain.money import format_yuan
from daipin.domain.vocabulary import ASSET_STATUS
from daipin.services.contracts import service as contracts
from daipin.services.registry.service import household_by_no
from daipin.services.shared import freetext, trace
from daipin.services.shared.inputs import as_date, money, need
from daipin.services.shared.rows import row_fact

GATED_KINDS = frozenset({"contract", "share_quantification", "asset_disposal"})
MAX_ITEMS = 500

# What an asset disposal matter may decide, the status it gives the asset, and the statuses it may start from.
ASSET_ACTIONS: dict[str, tuple[str, str, frozenset[str]]] = {
    "lease": ("出租", "leased", frozenset({"in_use", "idle"})),
    "pledge": ("抵押", "pledged", frozenset({"in_use", "idle", "leased"})),
    "dispose": ("处置（转让、报废）", "disposed", frozenset({"in_use", "idle", "leased", "pledged"})),
}


def _prefixed(field: str, exc: DaipinError) -> DaipinError:
    exc.field = f"{field}.{exc.field}" if exc.field else field
    return exc


def _items(document: dict[str, Any], key: str, *, required: bool) -> list[dict[str, Any]]:
    items = document.get(key, [])
    if not isinstance(items, list) or (required and not items):
        raise InputError(f"文件须列出{'要签订的协议' if key == 'contracts' else '事项内容'}（{key}）",
                         f"the document must list its {key}", field=f"document.{key}")
    if len(items) > MAX_ITEMS:
        raise InputError(f"一个事项最多 {MAX_ITEMS} 项", f"at most {MAX_ITEMS} {key} per matter",
                         field=f"document.{key}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError("每一项应为 JSON 对象", "each item must be a JSON object", field=f"document.{key}[{i}]")
    return items


def _household(session: Session, value: Any, field: str) -> Household:
    if not isinstance(value, str) or not value.strip():
        raise InputError("缺少户编号", "missing household number", field=field)
    try:
        return household_by_no(session, value.strip())
    except DaipinError as exc:
        raise _prefixed(field, exc) from None


def _asset(session: Session, value: Any, region: str, field: str) -> Asset:
    if not isinstance(value, str) or not value.strip():
        raise InputError("缺少资产编号", "missing asset code", field=field)
    a = session.scalar(select(Asset).where(Asset.code == value.strip()))
    if a is None:
        raise NotFound(f"资产 {value} 不存在", f"asset {value} not found", field=field)
    owner = a.owner_region_code or ""
    if owner != region:
        raise InputError(f"资产 {a.code} 不属于本村集体，不能由本村决议", f"asset {a.code} is not owned by village "
                         f"{region}", field=field)
    return a


def _in_village(region: str, prepared: contracts.PreparedContract, field: str) -> None:
    """A village decides contracts whose payee is itself or one of its households (the project may be anywhere
    in the county the deciding official reaches: `prepare_contract` asks the access policy for both)."""
    if prepared.region != region:
        raise InputError("受益方不属于本村：本村只能决议本村或本村农户的协议", "the payee is not this village or one of "
                         "its households", field=f"{field}.payee")


def _free_text(value: Any, field: str, zh: str, limit: int = 400) -> str:
    """Typed text of what was decided (a counterparty, the reasons): refused if it holds an ID number, phone or
    bank number (`shared.freetext`, the one rule for typed text)."""
    return freetext.text(value, field, zh, field, limit=limit) or ""


# ---------------------------------------------------------------- contract matters


def _prepare_contracts(session: Session, actor: Actor, document: dict[str, Any], region: str,
                       signed_on: date | None) -> list[contracts.PreparedContract]:
    out: list[contracts.PreparedContract] = []
    seen: set[str] = set()
    for i, item in enumerate(_items(document, "contracts", required=True)):
        field = f"document.contracts[{i}]"
        hh = _household(session, item["payee_household_no"], f"{field}.payee_household_no") \
            if item.get("payee_household_no") is not None else None
        try:
            p = contracts.prepare_contract(
                session, actor, code=item.get("code"), model=item.get("model"), project_id=item.get("project"),
                start_date=item.get("start_date"), end_date=item.get("end_date"), terms=item.get("terms"),
                payee_household_id=hh.id if hh else None, payee_village_code=item.get("payee_village_code"),
                person_id=item.get("person_id"), signed_on=signed_on, acknowledge_warning=True)
        except DaipinError as exc:
            raise _prefixed(field, exc) from None
        if p.code in seen:
            raise InputError(f"协议编号 {p.code} 在文件中重复", f"contract {p.code} is listed twice",
                             field=f"{field}.code")
        seen.add(p.code)
        _in_village(region, p, field)
        out.append(p)
    return out


def _contract_item(p: contracts.PreparedContract) -> dict[str, Any]:
    item: dict[str, Any] = {"code": p.code, "model": p.model, "model_label": MODELS.zh(p.model),
                            "project": p.project.code, "project_name": p.project.name, "start": p.start.isoformat(),
                            "end": p.end.isoformat(), "terms": p.terms}
    return item


def _payee(session: Session, p: contracts.PreparedContract) -> dict[str, str]:
    if p.payee_household_id is not None:
        hh = session.get(Household, p.payee_household_id)
        assert hh is not None
        return {"ref": hh.household_no, "type": "household"}
    return {"ref": str(p.payee_village_code), "type": "village"}


# ---------------------------------------------------------------- share quantification


def _valued_at(session: Session, a: Asset) -> AssetValuation | None:
    return session.scalar(select(AssetValuation).where(AssetValuation.asset_id == a.id)
                          .order_by(AssetValuation.valued_on.desc(), AssetValuation.id.desc()).limit(1))


def _prepare_shares(session: Session, actor: Actor, document: dict[str, Any], region: str,
                    signed_on: date | None) -> tuple[Asset | None, list[contracts.PreparedContract],
                                                    list[tuple[Contract, Household, date]]]:
    holders = _items(document, "holders", required=False)
    moves = _items(document, "reassignments", required=False)
    if not holders and not moves:
        raise InputError("文件须列出量化到户的股份（holders）或重新分配的股份（reassignments）",
                         "the document must list holders or reassignments", field="document.holders")
    asset: Asset | None = None
    prepared: list[contracts.PreparedContract] = []
    if holders:
        asset = _asset(session, document.get("asset"), region, "document.asset")
        valuation = _valued_at(session, asset)
        if valuation is None:
            raise Conflict(f"资产 {asset.code} 尚无第三方评估，不能折股量化", f"asset {asset.code} has no valuation: "
                           "shares are issued only on a valued asset", field="document.asset", code="not_valued")
        if asset.status == "disposed":
            raise Conflict(f"资产 {asset.code} 已处置", f"asset {asset.code} is disposed of", field="document.asset")
        seen: set[str] = set()
        for i, h in enumerate(holders):
            field = f"document.holders[{i}]"
            hh = _household(session, h.get("household_no"), f"{field}.household_no")
            terms: dict[str, Any] = {"contribution_kind": "quantified_fund",
                                     "contribution_value_fen": h.get("contribution_value_fen"),
                                     "shares": h.get("shares"), "profit_share": h.get("profit_share")}
            if h.get("annual_floor_fen") is not None:
                terms["annual_floor_fen"] = h["annual_floor_fen"]
            try:
                p = contracts.prepare_contract(
                    session, actor, code=h.get("code"), model="shareholding", project_id=document.get("project"),
                    start_date=document.get("start_date"), end_date=document.get("end_date"), terms=terms,
                    payee_household_id=hh.id, signed_on=signed_on, acknowledge_warning=True)
            except DaipinError as exc:
                raise _prefixed(field, exc) from None
            if p.code in seen:
                raise InputError(f"协议编号 {p.code} 在文件中重复", f"contract {p.code} is listed twice",
                                 field=f"{field}.code")
            seen.add(p.code)
            _in_village(region, p, field)
            prepared.append(p)
        total = sum(int(p.terms["contribution_value_fen"]) for p in prepared)
        if total > valuation.value_fen:
            raise InputError(f"量化到户的折股价值合计 {format_yuan(total)} 元超过资产评估价值 {format_yuan(valuation.value_fen)} 元",
                             "the shares quantified exceed the asset's appraised value",
                             field="document.holders")
    reassigned: list[tuple[Contract, Household, date]] = []
    for i, mv in enumerate(moves):
        field = f"document.reassignments[{i}]"
        code = need(mv.get("contract"), f"{field}.contract", "协议编号", "contract code", limit=40)
        c = session.scalar(select(Contract).where(Contract.code == code))
        if c is None:
            raise NotFound(f"协议 {code} 不存在", f"contract {code} not found", field=f"{field}.contract")
        if c.terms.get("contribution_kind") not in ("quantified_fund", "poverty_loan"):
            raise InputError(f"协议 {code} 不是扶贫量化资金或扶贫贷款股份", f"contract {code} is not a quantified "
                             "share", field=f"{field}.contract")
        if c.status != "pending_reassignment":
            raise Conflict(f"协议 {code} 不在待重新分配状态", f"contract {code} is not pending reassignment",
                           field=f"{field}.contract")
        if contracts.payee_region(session, c) != region:
            raise InputError(f"协议 {code} 的股份不属于本村", f"contract {code} is another village's share",
                             field=f"{field}.contract")
        hh = _household(session, mv.get("household_no"), f"{field}.household_no")
        if hh.village_code != region:
            raise InputError("新受益户不是本村农户", "the new holder is not a household of this village",
                             field=f"{field}.household_no")
        # the project, the last holder, then the new one: all in the deciding official's reach
        contracts.require_contract_reach(actor, "contract.change",
                                         contracts.project_region(contracts.contract_project(session, c)),
                                         region, hh.village_code, field=f"{field}.contract")
        on = as_date(mv.get("on"), f"{field}.on", "生效日期")
        contracts.not_before_current(session, c, on, f"{field}.on", "生效日期")
        reassigned.append((c, hh, on))
    return asset, prepared, reassigned


# ---------------------------------------------------------------- asset disposal


def _prepare_disposal(session: Session, document: dict[str, Any], region: str) -> dict[str, Any]:
    asset = _asset(session, document.get("asset"), region, "document.asset")
    action = document.get("action")
    if action not in ASSET_ACTIONS:
        raise InputError("处置方式应为 出租(lease)、抵押(pledge) 或 处置(dispose)", "action must be lease, pledge or "
                         "dispose", field="document.action")
    label, to_status, from_statuses = ASSET_ACTIONS[action]
    if asset.status not in from_statuses:
        raise Conflict(f"资产 {asset.code} 当前为“{ASSET_STATUS.zh(asset.status)}”，不能{label}",
                       f"asset {asset.code} is {asset.status}: it cannot be {to_status}", field="document.action",
                       code="asset_state")
    on = as_date(document.get("on"), "document.on", "生效日期")
    value = money(document.get("value_fen"), "document.value_fen", "金额")
    return {"asset": asset, "action": action, "action_label": label, "status": to_status, "on": on,
            "counterparty": _free_text(document.get("counterparty"), "document.counterparty", "受让方、承租方或抵押权人"),
            "reason": _free_text(document.get("reason"), "document.reason", "理由", limit=1000), "value_fen": value}


# ---------------------------------------------------------------- the two entry points


def check(session: Session, actor: Actor, kind: str, document: dict[str, Any], region: str) -> dict[str, Any]:
    """Check what a gated matter decides, as its execution will; returns its preview (what is voted on and
    posted: labels, codes and amounts; the payees as references the notice shows by name)."""
    if len(region) != 12:
        raise InputError("此类事项由村办理", "these matters are a village's", field="region")
    if kind == "contract":
        items = _prepare_contracts(session, actor, document, region, None)
        return {"kind": kind, "items": [_contract_item(p) for p in items],
                "payees": [_payee(session, p) for p in items]}
    if kind == "share_quantification":
        asset, holders, moves = _prepare_shares(session, actor, document, region, None)
        return {"kind": kind, "asset": asset.code if asset else None,
                "items": [_contract_item(p) for p in holders],
                "reassignments": [{"contract": c.code, "on": on.isoformat()} for c, _hh, on in moves],
                "payees": [_payee(session, p) for p in holders]
                + [{"ref": hh.household_no, "type": "household"} for _c, hh, _on in moves]}
    if kind == "asset_disposal":
        d = _prepare_disposal(session, document, region)
        return {"kind": kind, "asset": d["asset"].code, "asset_name": d["asset"].name, "action": d["action"],
                "action_label": d["action_label"], "on": d["on"].isoformat(), "counterparty": d["counterparty"],
                "value_fen": d["value_fen"], "payees": []}
    raise InputError(f"事项类型 {kind} 没有决议生效的动作", f"{kind} matters decide no gated action", field="kind")


def apply(session: Session, actor: Actor, m: Matter, at: datetime) -> dict[str, Any]:
    """Do what the executed matter decided (checked again first: nothing is written if any item no longer
    holds). Returns what was done, for the execution's ledger entry."""
    from daipin.domain.localtime import beijing_date

    doc, region, today = m.document or {}, m.region_code, beijing_date(at)
    if m.kind == "contract":
        items = _prepare_contracts(session, actor, doc, region, today)
        signed = [contracts.create_contract(session, actor, p, at=at, matter_id=m.id) for p in items]
        return {"signed": [c.code for c in signed]}
    if m.kind == "share_quantification":
        _asset_row, holders, moves = _prepare_shares(session, actor, doc, region, today)
        issued = [contracts.create_contract(session, actor, p, at=at, matter_id=m.id) for p in holders]
        for c, hh, on in moves:
            contracts.reassign_share(session, actor, c.id, hh.id, matter_id=m.id, on=on, at=at)
        return {"signed": [c.code for c in issued], "reassigned": [c.code for c, _hh, _on in moves]}
    if m.kind == "asset_disposal":
        d = _prepare_disposal(session, doc, region)
        a: Asset = d["asset"]
        locked = session.scalar(select(Asset).where(Asset.id == a.id).with_for_update()
                                .execution_options(populate_existing=True))
        assert locked is not None
        if locked.status not in ASSET_ACTIONS[d["action"]][2]:
            raise Conflict("资产状态已变化，不能执行", "the asset's status changed", field="document.action",
                           code="asset_state")
        before = locked.status
        locked.status = d["status"]
        trace.record(session, actor=actor, type="asset.status", subject=f"asset:{locked.code}", region=region,
                     facts={"matter": m.id, "action": d["action"], "from": before, "to": locked.status,
                            "on": d["on"].isoformat(), "value_fen": d["value_fen"],
                            "counterparty": trace.pii(session, d["counterparty"]),
                            "reason": trace.pii(session, d["reason"]), "row": row_fact(session, locked)}, at=at)
        return {"asset": locked.code, "status": locked.status}
    return {}
