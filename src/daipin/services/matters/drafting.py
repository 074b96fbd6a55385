"""Drafting every matter kind on the web: which kinds a role drafts, the regions it drafts them for, each kind's
document built from the form's fields (or proposed from the registry), and the document as people read it.

The draft itself is the one typed command `commands.DraftMatter` (the API's body, the pages' form, the command
line's options); this module only turns a form's plain fields into that command's `document`, naming the field
a refusal is about, and reads a document back in Chinese labels and yuan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Asset, Region
from daipin.domain import access
from daipin.domain import workflow as wf
from daipin.domain.actors import Actor
from daipin.domain.errors import DaipinError, InputError, NotFound
from daipin.domain.localtime import beijing_date
from daipin.domain.money import MAX_FEN
from daipin.domain.vocabulary import (
    ALLOCATION_PER,
    ALLOCATION_RULE,
    ASSET_STATUS,
    BENEFIT_MODEL,
    HOUSEHOLD_STATUS,
    LABOR,
    MATTER_KIND,
)
from daipin.services.matters import service as wfs
from daipin.services.shared import scope

# The kinds in the order the page offers them.
KINDS: tuple[wf.MatterKind, ...] = (
    wf.MatterKind.VILLAGE_ALLOCATION, wf.MatterKind.BENEFICIARY_ROSTER, wf.MatterKind.ASSET_DISPOSAL,
    wf.MatterKind.SHARE_QUANTIFICATION, wf.MatterKind.CONTRACT, wf.MatterKind.TOWNSHIP_PROJECT,
    wf.MatterKind.DISTRICT_ALLOCATION)

# How each kind's document is made on the form: proposed from the registry, built from typed fields, or typed
# whole (JSON or YAML, as `daipin matter draft KIND REGION FILE` reads it) from a template.
FROM_REGISTRY = frozenset({wf.MatterKind.VILLAGE_ALLOCATION, wf.MatterKind.BENEFICIARY_ROSTER})
FROM_FIELDS = frozenset({wf.MatterKind.DISTRICT_ALLOCATION, wf.MatterKind.TOWNSHIP_PROJECT,
                         wf.MatterKind.ASSET_DISPOSAL})
TYPED = frozenset({wf.MatterKind.CONTRACT, wf.MatterKind.SHARE_QUANTIFICATION})

# The document's own fields on the form (named `d_…` apart from the command's), with the document key each fills.
DOCUMENT_FIELDS: dict[wf.MatterKind, tuple[str, ...]] = {
    wf.MatterKind.DISTRICT_ALLOCATION: ("d_fund", "d_key_village_weight", "d_villages"),
    wf.MatterKind.TOWNSHIP_PROJECT: ("d_description", "d_households"),
    wf.MatterKind.ASSET_DISPOSAL: ("d_asset", "d_action", "d_on", "d_value", "d_counterparty", "d_reason"),
}
# A refusal about the document (`document.asset`) shown beside the form field that typed it (`d_asset`).
FIELD_OF_DOCUMENT = {"document.fund_fen": "d_fund", "document.key_village_weight": "d_key_village_weight",
                     "document.villages": "d_villages", "document.description": "d_description",
                     "document.households": "d_households", "document.asset": "d_asset",
                     "document.action": "d_action", "document.on": "d_on", "document.value_fen": "d_value",
                     "document.counterparty": "d_counterparty", "document.reason": "d_reason"}

TEMPLATES: dict[wf.MatterKind, dict[str, Any]] = {
    wf.MatterKind.CONTRACT: {
        "version": 1, "kind": "contract",
        "contracts": [{"code": "HT-2026-001", "model": "fund_support", "project": 1,
                       "payee_household_no": "户编号", "start_date": "2026-01-01", "end_date": "2026-12-31",
                       "terms": {"amount_fen": 100000, "purpose": "购买种苗", "support_type": "grant"}}]},
    wf.MatterKind.SHARE_QUANTIFICATION: {
        "version": 1, "kind": "share_quantification", "asset": "资产编号", "project": 1,
        "start_date": "2026-01-01", "end_date": "2030-12-31",
        "holders": [{"code": "GF-2026-001", "household_no": "户编号", "contribution_value_fen": 500000,
                     "shares": "1", "profit_share": "0.05"}]},
}

ASSET_ACTIONS = {"lease": "出租", "pledge": "抵押", "dispose": "处置（转让、报废）"}


def may_draft_kind(actor: Actor, kind: wf.MatterKind) -> bool:
    decide, _, _ = wfs.STEP_ACTIONS[wf.path_of(kind)]
    return access.may(actor, decide)


def kinds_for(actor: Actor) -> list[tuple[str, str]]:
    """The kinds this role drafts (code, label): a township or district user is offered no village kind."""
    return [(k.value, MATTER_KIND.zh(k)) for k in KINDS if may_draft_kind(actor, k)]


def regions_for(session: Session, actor: Actor, kind: wf.MatterKind) -> list[Region]:
    """The regions at the kind's level (village, township, county) in which the actor drafts it."""
    decide, _, _ = wfs.STEP_ACTIONS[wf.path_of(kind)]
    level = wf.REGION_LEVEL[wf.path_of(kind)]
    in_reach = scope.where(access.reach(actor, decide), region=Region.code)
    rows = session.scalars(select(Region).where(in_reach).order_by(Region.code))
    return [r for r in rows if len(r.code) == level]


def assets_for(session: Session, village: str) -> list[Asset]:
    if len(village) != 12:
        return []
    return list(session.scalars(select(Asset).where(Asset.owner_region_code == village).order_by(Asset.code)))


def registry_document(session: Session, actor: Actor, kind: wf.MatterKind, region: str, year: int,
                      at: datetime) -> dict[str, Any]:
    """The document a kind drafted from the registry starts from, for a region the actor drafts in."""
    decide, _, _ = wfs.STEP_ACTIONS[wf.path_of(kind)]
    if not access.allowed(actor, decide, region=region) or not access.allowed(actor, "household.read",
                                                                                 region=region):
        raise NotFound(f"村 {region} 不存在", f"village {region} not found", "region")
    if kind is wf.MatterKind.VILLAGE_ALLOCATION:
        from daipin.services.runs import service as runs

        return runs.build_village_allocation_document(session, region, year)
    from daipin.services.rosters import rules as rosters

    return rosters.roster_document(session, region, year, beijing_date(at))


def _yuan(raw: str, field: str, zh: str) -> int:
    try:
        v = Decimal(raw.strip().replace(",", "").removesuffix("元"))
    except InvalidOperation:
        raise InputError(f"{zh}格式不对（元，最多两位小数）", "amount in yuan, at most two decimals", field) from None
    if not v.is_finite() or v < 0 or v != v.quantize(Decimal("0.01")):
        raise InputError(f"{zh}格式不对（元，最多两位小数）", "amount in yuan, at most two decimals", field)
    if v > MAX_FEN // 100:
        raise InputError(f"{zh}过大", "amount too large", field)
    return int(v * 100)


def _decimal(raw: str, field: str, zh: str) -> str:
    try:
        v = Decimal(raw.strip())
    except InvalidOperation:
        raise InputError(f"{zh}应为数字（如 1.5）", "expected a decimal number", field) from None
    if not v.is_finite() or v <= 0:
        raise InputError(f"{zh}应为正数", "expected a positive number", field)
    return format(v.normalize(), "f")


def _lines(raw: str) -> list[str]:
    return [ln.strip() for ln in raw.replace("\r", "").split("\n") if ln.strip()]


def _village_line(line: str, i: int) -> dict[str, Any]:
    """`村代码 贫困人口数 [重点村] [绩效系数]`: 231002001001 86 是 1.2"""
    field = "d_villages"
    parts = line.replace("，", " ").replace(",", " ").split()
    if len(parts) < 2 or not parts[0].isdigit() or len(parts[0]) != 12 or not parts[1].isdigit():
        raise InputError(f"第 {i + 1} 行应为“村代码 贫困人口数 [是否重点村] [绩效系数]”",
                         f"line {i + 1}: village code, poor people, [key village], [performance]", field)
    out: dict[str, Any] = {"id": parts[0], "poor_people": int(parts[1]), "key_village": False}
    for p in parts[2:]:
        if p in ("是", "重点村", "yes", "true"):
            out["key_village"] = True
        elif p in ("否", "no", "false"):
            out["key_village"] = False
        else:
            out["performance"] = _decimal(p, field, f"第 {i + 1} 行的绩效系数")
    return out


def district_villages(session: Session, county: str) -> str:
    """The county's villages as lines of the district form, poor people counted from the registry."""
    from sqlalchemy import func

    from daipin.db.models.registry import Household, Person

    counts = dict(session.execute(
        select(Household.village_code, func.count(Person.id)).join(Person, Person.household_id == Household.id)
        .where(Household.county_code == county, Household.status == "poor", Household.life_state == "alive")
        .group_by(Household.village_code)).all())
    villages = session.scalars(select(Region).where(Region.level == "village", Region.code.startswith(county))
                               .order_by(Region.code))
    return "\n".join(f"{v.code} {counts.get(v.code, 0)} {'是' if v.poor_village else '否'}" for v in villages)


def parse_typed(text: str) -> dict[str, Any]:
    """A document typed whole, as JSON or YAML (the command line's file); InputError naming `document`."""
    import yaml

    try:
        doc = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"（第 {mark.line + 1} 行）" if mark is not None else ""
        raise InputError(f"文件不是有效的 JSON 或 YAML{where}", "the document is not valid JSON or YAML",
                         "document") from None
    if not isinstance(doc, dict):
        raise InputError("事项文件应为对象（JSON 或 YAML）", "the document must be an object", "document")
    return doc


def document_from_form(kind: wf.MatterKind, form: Mapping[str, str]) -> dict[str, Any]:
    """The kind's document from the form's `d_…` fields, or InputError naming the field (nothing written)."""
    if kind is wf.MatterKind.DISTRICT_ALLOCATION:
        fund = (form.get("d_fund") or "").strip()
        if not fund:
            raise InputError("须填写区级收益资金总额（元）", "the fund is required", "d_fund")
        villages = [_village_line(ln, i) for i, ln in enumerate(_lines(form.get("d_villages") or ""))]
        if not villages:
            raise InputError("须列出参与分配的村（每行一个）", "list the villages, one a line", "d_villages")
        return {"version": 1, "kind": "district_allocation", "fund_fen": _yuan(fund, "d_fund", "资金总额"),
                "key_village_weight": _decimal(form.get("d_key_village_weight") or "1.5", "d_key_village_weight",
                                               "重点村权重"),
                "villages": villages}
    if kind is wf.MatterKind.TOWNSHIP_PROJECT:
        description = (form.get("d_description") or "").strip()
        if not description:
            raise InputError("须写明项目内容", "describe the project", "d_description")
        raw = (form.get("d_households") or "").replace("，", "\n").replace(",", "\n").replace(" ", "\n")
        return {"description": description, "households": _lines(raw)}
    if kind is wf.MatterKind.ASSET_DISPOSAL:
        asset = (form.get("d_asset") or "").strip()
        if not asset:
            raise InputError("须选择资产", "choose the asset", "d_asset")
        action = (form.get("d_action") or "").strip()
        if action not in ASSET_ACTIONS:
            raise InputError("须选择处置方式（出租、抵押或处置）", "choose lease, pledge or dispose", "d_action")
        on = (form.get("d_on") or "").strip()
        if not on:
            raise InputError("须填写生效日期", "the date is required", "d_on")
        value = (form.get("d_value") or "").strip()
        return {"version": 1, "kind": "asset_disposal", "asset": asset, "action": action, "on": on,
                "value_fen": _yuan(value, "d_value", "金额") if value else 0,
                "counterparty": (form.get("d_counterparty") or "").strip(),
                "reason": (form.get("d_reason") or "").strip()}
    return parse_typed(form.get("document") or "")


def form_field(error: DaipinError) -> str | None:
    """The form field a refusal is shown beside (a document's field by the form field that typed it)."""
    field = error.field or ""
    for prefix, name in FIELD_OF_DOCUMENT.items():
        if field == prefix or field.startswith(prefix + "[") or field.startswith(prefix + "."):
            return name
    return field or None


def document_text(doc: dict[str, Any] | None) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) if doc is not None else ""


# ---------------------------------------------------------------- the document as people read it


def _fen(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def readable(session: Session, doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A document in labels, yuan and names: facts (label, value, is-money) and tables (title, head, rows)."""
    if not isinstance(doc, dict):
        return None
    kind = doc.get("kind")
    facts: list[tuple[str, Any, bool]] = []
    tables: list[dict[str, Any]] = []
    if kind == "village_allocation":
        facts.append(("可分配收益", _fen(doc.get("pool_fen")), True))
        names = _village_names(session, [str(doc.get("village", ""))])
        facts.insert(0, ("村", names.get(str(doc.get("village")), doc.get("village")), False))
        heads = _heads(session, doc.get("households", []))
        tables.append({"title": "参与分配的农户", "head": ["户编号", "户主", "户类别", "劳动力", "人数"],
                       "rows": [[h.get("id"), heads.get(str(h.get("id")), ""), HOUSEHOLD_STATUS.zh(h["status"]) if h.get("status") in
                                 HOUSEHOLD_STATUS.codes else h.get("status"),
                                 LABOR.zh(h["labor"]) if h.get("labor") in LABOR.codes else h.get("labor"),
                                 h.get("members")] for h in doc.get("households", []) if isinstance(h, dict)]})
        buckets = [b for b in doc.get("buckets", []) if isinstance(b, dict)]
        if buckets:
            tables.append({"title": "分配办法", "head": ["项目", "比例", "分配依据", "计算单位"],
                           "rows": [[b.get("name"), _percent(b.get("share")),
                                     ALLOCATION_RULE.zh(b["rule"]) if b.get("rule") in ALLOCATION_RULE.codes
                                     else b.get("rule"),
                                     ALLOCATION_PER.zh(b["per"]) if b.get("per") in ALLOCATION_PER.codes else ""]
                                    for b in buckets]})
        work = [w for w in doc.get("work", []) if isinstance(w, dict)]
        if work:
            tables.append({"title": "公益岗位工作记录", "head": ["户编号", "岗位", "天数", "日工资（元）"],
                           "rows": [[w.get("household"), w.get("post"), w.get("days"),
                                     _yuan_text(w.get("daily_wage_fen"))] for w in work]})
    elif kind == "beneficiary_roster":
        facts += [("村", _village_names(session, [str(doc.get("village"))]).get(str(doc.get("village")),
                                                                              doc.get("village")), False),
                  ("年度", doc.get("year"), False), ("户数", len(doc.get("households", [])), False)]
        heads = _heads(session, doc.get("households", []))
        tables.append({"title": "收益扶贫对象", "head": ["户编号", "户主", "户类别"],
                       "rows": [[h.get("id"), heads.get(str(h.get("id")), ""), HOUSEHOLD_STATUS.zh(h["status"]) if h.get("status") in
                                 HOUSEHOLD_STATUS.codes else h.get("status")]
                                for h in doc.get("households", []) if isinstance(h, dict)]})
    elif kind == "district_allocation":
        facts += [("区级收益资金", _fen(doc.get("fund_fen")), True),
                  ("重点村权重", doc.get("key_village_weight"), False)]
        villages = [v for v in doc.get("villages", []) if isinstance(v, dict)]
        names = _village_names(session, [str(v.get("id")) for v in villages])
        tables.append({"title": "参与分配的村", "head": ["村", "贫困人口", "重点村", "绩效系数"],
                       "rows": [[names.get(str(v.get("id")), v.get("id")), v.get("poor_people"),
                                 "是" if v.get("key_village") else "否", v.get("performance", "1")]
                                for v in villages]})
        basis = doc.get("performance_basis")
        if isinstance(basis, dict):
            f, t = performance_basis(basis, names)
            facts += f
            tables.append(t)
    elif kind == "asset_disposal":
        facts += [("资产", doc.get("asset"), False),
                  ("处置方式", ASSET_ACTIONS.get(str(doc.get("action")), doc.get("action")), False),
                  ("生效日期", doc.get("on"), False), ("金额", _fen(doc.get("value_fen")), True),
                  ("受让方、承租方或抵押权人", doc.get("counterparty"), False), ("理由", doc.get("reason"), False)]
    elif kind == "share_quantification":
        facts += [("资产", doc.get("asset"), False), ("起止日期", f"{doc.get('start_date')} 至 {doc.get('end_date')}",
                                                    False)]
        tables.append({"title": "量化到户的股份", "head": ["协议编号", "户编号", "折股价值（元）", "股数", "收益比例"],
                       "rows": [[h.get("code"), h.get("household_no"), _yuan_text(h.get("contribution_value_fen")),
                                 h.get("shares"), _percent(h.get("profit_share"))]
                                for h in doc.get("holders", []) if isinstance(h, dict)]})
    elif kind == "contract":
        tables.append({"title": "拟签订的利益联结协议", "head": ["协议编号", "联结方式", "受益户或村", "起止日期"],
                       "rows": [[c.get("code"), BENEFIT_MODEL.zh(c["model"]) if c.get("model") in
                                 BENEFIT_MODEL.codes else c.get("model"),
                                 c.get("payee_household_no") or c.get("payee_village_code"),
                                 f"{c.get('start_date')} 至 {c.get('end_date')}"]
                                for c in doc.get("contracts", []) if isinstance(c, dict)]})
    elif "description" in doc:
        facts.append(("项目内容", doc.get("description"), False))
        households = doc.get("households", [])
        facts.append(("到户户数", len(households) if isinstance(households, list) else 0, False))
        if isinstance(households, list) and households:
            heads = _heads(session, [{"id": h} for h in households])
            tables.append({"title": "到户名单", "head": ["户编号", "户主"],
                           "rows": [[h, heads.get(str(h), "")] for h in households]})
    return {"facts": facts, "tables": tables}


def performance_basis(basis: dict[str, Any], names: dict[str, str]) -> tuple[list[tuple[str, Any, bool]],
                                                                            dict[str, Any]]:
    """How the villages' performance coefficients arose (facts and a table), from a district allocation's basis."""
    from daipin.domain import performance as perf

    raw = basis.get("parameters")
    p: dict[str, Any] = raw if isinstance(raw, dict) else {}
    median_income = basis.get("median_per_household_fen")
    facts: list[tuple[str, Any, bool]] = [
        ("绩效系数来源", perf.MODE_LABELS.get(str(basis.get("mode")), basis.get("mode")), False),
        ("绩效指标年度", basis.get("indicator_year"), False),
        ("指标统计截至", basis.get("as_of"), False),
        ("绩效系数计算公式", f"1 + {p.get('a')} ×（按期兑付率 − 全区中位数）+ {p.get('b')} ×（户均收益 − 全区中位数）"
                        f"÷ 全区中位数 − {p.get('c')} × 未销号问题数，限定在 {p.get('min')} 至 {p.get('max')} 之间，"
                        "四舍五入保留两位小数", False),
        ("全区按期兑付率中位数", _percent(basis.get("median_on_time_share")) if basis.get("median_on_time_share")
         else "—", False),
        ("全区户均收益中位数", _fen(median_income), True) if _fen(median_income) is not None
        else ("全区户均收益中位数", "—", False),
    ]
    rows = []
    for vid, v in (basis.get("villages") or {}).items():
        if not isinstance(v, dict):
            continue
        share = f"{v.get('dues_on_time')}/{v.get('dues')}（{_percent(v.get('on_time_share'))}）" \
            if v.get("dues") else "—"
        rows.append([names.get(str(vid), vid), share,
                     _yuan_text(v.get("per_household_fen")) if v.get("households") else "—",
                     v.get("open_findings"), v.get("computed"), v.get("performance"),
                     "人工调整" if v.get("overridden") else "按指标计算"])
    return facts, {"title": "绩效系数计算依据",
                   "head": ["村", "按期兑付", "户均收益（元）", "未销号问题", "按指标计算", "采用的绩效系数", "说明"],
                   "rows": rows}


def _heads(session: Session, households: Any) -> dict[str, str]:
    """Each listed household's head by name (the officials drafting and reading a matter see its households)."""
    from daipin.db.models.registry import Household, Person

    refs = [str(h.get("id")) for h in households if isinstance(h, dict) and h.get("id")] \
        if isinstance(households, list) else []
    if not refs:
        return {}
    rows = session.execute(select(Household.household_no, Person.name).join(Person, Person.household_id == Household.id)
                           .where(Household.household_no.in_(refs[:5000]), Person.relation == "户主")).all()
    return {str(no): str(name) for no, name in rows}


def _yuan_text(v: Any) -> str:
    from daipin.domain.money import format_yuan

    return format_yuan(v) if isinstance(v, int) and not isinstance(v, bool) else ""


def _percent(v: Any) -> str:
    try:
        return f"{format((Decimal(str(v)) * 100).normalize(), 'f')}%"
    except InvalidOperation:
        return str(v or "")


def _village_names(session: Session, codes: list[str]) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    return {c: f"{n}（{c}）" for c, n in session.execute(select(Region.code, Region.name)
                                                      .where(Region.code.in_(codes))).all()}


def asset_status_label(a: Asset) -> str:
    return ASSET_STATUS.zh(a.status) if a.status in ASSET_STATUS.codes else a.status
