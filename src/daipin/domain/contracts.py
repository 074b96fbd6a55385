"""Benefit-linkage contract terms per model (R1.1–R1.4, R2.4): what each must state, and how it feeds the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from daipin.domain.errors import InputError
from daipin.domain.money import DECIMAL_PLACES, MAX_DECIMAL, MAX_FEN, format_yuan
from daipin.domain.vocabulary import (
    BENEFIT_MODEL,
    CONTRACT_STATUS,
    CONTRIBUTION_KIND,
    INTEREST_BASIS,
    PAY_CYCLE,
    PRICE_RULE,
    SUPPORT_TYPE,
    TRUSTEESHIP_ASSET,
    TRUSTEESHIP_UNIT,
    WAGE_BASIS,
    Vocab,
)

# Term types: money = whole fen (int ≥ 0); decimal = exact decimal string or int (≥ 0);
# text = non-empty string; choice = one of `choices`; list = non-empty list of objects or strings.


@dataclass(frozen=True)
class Term:
    name: str
    type: str
    zh: str
    en: str
    required: bool = True
    choices: tuple[str, ...] = ()


# The benefit models (R1.1–R1.4, R2.4) and the ways a share is paid in, with their names: the vocabulary's.
MODELS: Vocab = BENEFIT_MODEL
CONTRIBUTION_KINDS: Vocab = CONTRIBUTION_KIND

# Shares that pass to heirs; a quantified-fund or poverty-loan share is a benefit right, never inherited (R1.4).
INHERITABLE_CONTRIBUTIONS = frozenset({"land_rights", "own_money"})

# Contracts that commit quantified poverty funds or collective assets take effect only by executing the approved
# matter that decided them (WORKFLOW.md "Decision-gated actions", R3.1–R3.3): the three asset-income modes (the
# village's or the households' assets formed by poverty funds, as equity, lease or fixed interest) and a share paid
# in with quantified poverty funds.
ASSET_INCOME_MODELS = frozenset({"equity_dividend", "asset_lease", "fixed_interest"})


def needs_decision(model: str, terms: dict[str, Any]) -> bool:
    """Whether a contract of `model` with `terms` commits quantified poverty funds or collective assets."""
    if model in ASSET_INCOME_MODELS:
        return True
    return model == "shareholding" and terms.get("contribution_kind") == "quantified_fund"


TERMS: dict[str, tuple[Term, ...]] = {
    "order_purchase": (
        Term("buyer", "text", "收购方", "buyer"),
        Term("product", "text", "产品或服务", "product or service"),
        Term("quantity", "decimal", "收购数量", "quantity"),
        Term("unit", "text", "计量单位", "unit", required=False),
        Term("price_rule", "choice", "定价规则", "price rule", choices=PRICE_RULE.codes),
        Term("floor_price_fen", "money", "保护价", "floor price"),
        Term("price_fen", "money", "约定价格", "agreed price", required=False),
        Term("market_price_fen", "money", "市场价格", "market price", required=False),
        Term("delivery_schedule", "list", "交货安排", "delivery schedule"),
    ),
    "fund_support": (
        Term("amount_fen", "money", "扶持金额", "amount"),
        Term("purpose", "text", "资金用途", "purpose"),
        Term("support_type", "choice", "扶持方式", "grant or revolving", choices=SUPPORT_TYPE.codes),
        Term("repayment_schedule", "list", "还款计划", "repayment schedule", required=False),
        Term("repayments", "list", "还款记录", "repayments", required=False),
    ),
    "trusteeship": (
        Term("asset_kind", "choice", "托管资产类别", "asset kind", choices=TRUSTEESHIP_ASSET.codes),
        Term("unit", "choice", "计量单位", "unit", choices=TRUSTEESHIP_UNIT.codes),
        Term("units", "decimal", "托管数量", "units"),
        Term("annual_fen_per_unit", "money", "每单位年收益", "return per unit per year"),
        Term("duties", "list", "实施主体责任", "the entity's duties"),
    ),
    "employment": (
        Term("position", "text", "工作岗位", "position"),
        Term("hours", "text", "工作时间", "working hours"),
        Term("wage_basis", "choice", "计酬方式", "wage basis", choices=WAGE_BASIS.codes),
        Term("wage_fen", "money", "工资标准", "wage rate"),
        Term("pay_cycle", "choice", "发放周期", "pay cycle", choices=PAY_CYCLE.codes),
    ),
    "shareholding": (
        Term("contribution_kind", "choice", "入股方式", "contribution kind", choices=CONTRIBUTION_KIND.codes),
        Term("contribution_value_fen", "money", "折股价值", "contribution value"),
        Term("shares", "decimal", "股份数", "shares"),
        Term("profit_share", "decimal", "分红比例", "dividend share of profit"),
        Term("annual_floor_fen", "money", "保底分红", "annual floor", required=False),
    ),
    "equity_dividend": (
        Term("profit_share", "decimal", "分红比例", "share of profit"),
        Term("annual_floor_fen", "money", "保底分红", "annual floor", required=False),
    ),
    "asset_lease": (
        Term("asset_code", "text", "租赁资产", "leased asset", required=False),
        Term("annual_rent_fen", "money", "年租金", "annual rent"),
    ),
    "fixed_interest": (
        Term("basis", "choice", "计息基础", "interest basis", required=False,
             choices=INTEREST_BASIS.codes),
        Term("principal_fen", "money", "本金或折价", "principal"),
        Term("annual_rate", "decimal", "年利率", "annual rate"),
    ),
}

# The models the engine settles, and the engine kind each maps to (ENGINE.md §1).
ENGINE_KIND: dict[str, str] = {
    "order_purchase": "order_purchase",
    "trusteeship": "trusteeship",
    "employment": "employment",
    "shareholding": "equity_dividend",
    "equity_dividend": "equity_dividend",
    "asset_lease": "asset_lease",
    "fixed_interest": "fixed_interest",
}


def _decimal(value: object, field: str, term: Term) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"{term.zh}应为十进制数字字符串", f"{term.en} must be a decimal string", field=field)
    check_decimal(value, field, term.zh, term.en)
    return str(value).strip() if isinstance(value, str) else str(value)


def check_decimal(value: int | str, field: str, zh: str, en: str) -> Decimal:
    """A decimal term as written: a finite number, not negative, at most `MAX_DECIMAL`, with at most
    `DECIMAL_PLACES` decimals (so that what the engine multiplies stays a sensible size)."""
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise InputError(f"{zh}不是有效数字", f"{en} is not a number", field=field) from exc
    if not d.is_finite():
        raise InputError(f"{zh}不是有效数字", f"{en} is not a number", field=field)
    if d < 0:
        raise InputError(f"{zh}不能为负数", f"{en} must not be negative", field=field)
    if d > MAX_DECIMAL:
        raise InputError(f"{zh}过大（最多 {MAX_DECIMAL:,}）", f"{en} is too large (at most {MAX_DECIMAL:,})", field=field)
    if d != d.quantize(Decimal(1).scaleb(-DECIMAL_PLACES)):
        raise InputError(f"{zh}小数位数过多（最多 {DECIMAL_PLACES} 位）",
                         f"{en} has too many decimals (at most {DECIMAL_PLACES})", field=field)
    return d


def check_fen(value: int, field: str, zh: str, en: str) -> int:
    """An amount in fen within `MAX_FEN` either way (the caller refuses a negative one where it must)."""
    if abs(value) > MAX_FEN:
        raise InputError(f"{zh}过大（最多 {MAX_FEN // 100:,} 元）", f"{en} is too large (at most {MAX_FEN // 100:,} "
                         "yuan)", field=field)
    return value


def check_model(model: object) -> str:
    if not isinstance(model, str) or model not in MODELS:
        raise InputError(f"未知的利益联结模式 {model!r}", f"unknown benefit model {model!r}", field="model")
    return model


CONTRACT_STATUS_LABELS: Vocab = CONTRACT_STATUS


def validate_terms(model: str, terms: object) -> dict[str, Any]:
    """Check a contract's terms for its model; returns the normalised terms.

    A missing required term is refused with the term named: `terms.floor_price_fen: 缺少必填条款 保护价`.
    """
    check_model(model)
    if not isinstance(terms, dict):
        raise InputError("协议条款应为对象", "terms must be an object", field="terms")
    spec = {t.name: t for t in TERMS[model]}
    for key in terms:
        if key not in spec:
            raise InputError(f"{MODELS[model]}协议没有条款 {key}", f"unknown term {key!r} for {model}",
                             field=f"terms.{key}", code="unknown_term")
    out: dict[str, Any] = {}
    for term in TERMS[model]:
        field = f"terms.{term.name}"
        value = terms.get(term.name)
        if value is None or (isinstance(value, (str, list)) and not value):
            if term.required:
                raise InputError(f"缺少必填条款 {term.zh}", f"missing required term {term.en}", field=field,
                                 code="missing_term")
            continue
        if term.type == "money":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{term.zh}应为整数（分）", f"{term.en} must be whole fen", field=field)
            if value < 0:
                raise InputError(f"{term.zh}不能为负数", f"{term.en} must not be negative", field=field)
            out[term.name] = check_fen(value, field, term.zh, term.en)
        elif term.type == "decimal":
            out[term.name] = _decimal(value, field, term)
        elif term.type == "text":
            if not isinstance(value, str):
                raise InputError(f"{term.zh}应为文字", f"{term.en} must be text", field=field)
            out[term.name] = value.strip()
        elif term.type == "choice":
            if value not in term.choices:
                raise InputError(f"{term.zh}应为 {'/'.join(term.choices)} 之一", f"{term.en} must be one of "
                                 f"{', '.join(term.choices)}", field=field)
            out[term.name] = value
        elif term.type == "list":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                raise InputError(f"{term.zh}应为列表", f"{term.en} must be a list", field=field)
            _plain(value, field)
            out[term.name] = value
    _cross_checks(model, out)
    return out


def _plain(value: object, field: str) -> None:
    """A list term's items as the ledger can record them: text, whole numbers, true/false, lists and objects
    with text keys of these. A binary float (1.5 read from YAML or JSON) is refused here, naming where it is,
    rather than by the ledger after the contract was written."""
    if isinstance(value, float):
        raise InputError("不能是二进制小数，小数请写成文字（如 \"1.5\"）", "must not be a binary float; write a "
                         "decimal as text (\"1.5\")", field=field)
    if isinstance(value, list):
        for i, item in enumerate(value):
            _plain(item, f"{field}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError("键应为文字", "keys must be text", field=f"{field}.{key}")
            _plain(item, f"{field}.{key}")
    elif value is not None and not isinstance(value, str | int):
        raise InputError("应为文字、整数、列表或对象", "must be text, a whole number, a list or an object", field=field)


def _cross_checks(model: str, terms: dict[str, Any]) -> None:
    if model == "order_purchase" and terms["price_rule"] == "fixed" and "price_fen" not in terms:
        raise InputError("缺少必填条款 约定价格", "missing required term agreed price (fixed price rule)",
                         field="terms.price_fen", code="missing_term")
    if model == "fund_support" and terms["support_type"] == "revolving" and not terms.get("repayment_schedule"):
        raise InputError("缺少必填条款 还款计划", "missing required term repayment schedule (revolving fund)",
                         field="terms.repayment_schedule", code="missing_term")
    if model == "fund_support":
        for name, day in (("repayment_schedule", "due"), ("repayments", "on")):
            total = _payments(terms.get(name) or [], f"terms.{name}", day)
            if total > terms["amount_fen"]:
                label = "还款计划" if name == "repayment_schedule" else "还款记录"
                raise InputError(f"{label}合计 {format_yuan(total)} 元，超过扶持金额", f"the {name} add up to more "
                                 "than the amount", field=f"terms.{name}")
    if model in ("shareholding", "equity_dividend") and Decimal(terms["profit_share"]) > 1:
        raise InputError("分红比例不能大于1", "profit share must not exceed 1", field="terms.profit_share")
    if model == "trusteeship":
        expected = "mu" if terms["asset_kind"] == "land" else "head"
        if terms["unit"] != expected:
            raise InputError(f"托管{('土地' if expected == 'mu' else '牲畜')}的计量单位应为 {expected}",
                             f"unit must be {expected} for {terms['asset_kind']}", field="terms.unit")


def _iso_day(value: object) -> bool:
    """A calendar date written YYYY-MM-DD."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _payments(items: list[Any], field: str, day: str) -> int:
    """A repayment schedule (`day` = "due") or the repayments made (`day` = "on"): each item a line of text, or
    an object with its date (YYYY-MM-DD) and `amount_fen`, and an optional `note`. Returns the objects' total."""
    total = 0
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if isinstance(item, str):
            if not item.strip():
                raise InputError("不能为空行", "must not be empty", field=where)
            continue
        if not isinstance(item, dict):
            raise InputError("每项应为一行文字，或日期加金额", "each item is a line of text or a date with an amount",
                             field=where)
        extra = set(item) - {day, "amount_fen", "note"}
        if extra:
            raise InputError(f"不接受 {'、'.join(sorted(extra))}（只写 {day}、amount_fen、note）",
                             f"unknown keys {sorted(extra)} (only {day}, amount_fen, note)", field=where)
        if not _iso_day(item.get(day)):
            raise InputError("日期应为 YYYY-MM-DD", "the date must be YYYY-MM-DD", field=f"{where}.{day}")
        amount = item.get("amount_fen")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InputError("金额应为整数（分）", "the amount must be whole fen", field=f"{where}.amount_fen")
        if amount <= 0:
            raise InputError("金额应大于零", "the amount must be positive", field=f"{where}.amount_fen")
        total += check_fen(amount, f"{where}.amount_fen", "金额", "amount")
    return total


def check_term(start: object, end: object) -> None:
    """A contract's term (start and end dates) is required and must not run backwards."""
    if start is None:
        raise InputError("缺少必填条款 协议起始日期", "missing required term start date", field="start_date",
                         code="missing_term")
    if end is None:
        raise InputError("缺少必填条款 协议终止日期", "missing required term end date", field="end_date",
                         code="missing_term")
    if start > end:  # type: ignore[operator]
        raise InputError("协议起始日期晚于终止日期", "start date is after end date", field="start_date")


def engine_terms(model: str, terms: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The ENGINE.md settlement kind and terms of a contract, or None for models that are records, not dues."""
    kind = ENGINE_KIND.get(model)
    if kind is None:
        return None
    if kind == "order_purchase":
        out: dict[str, Any] = {"quantity": terms["quantity"], "floor_price_fen": terms["floor_price_fen"]}
        if terms["price_rule"] == "fixed":
            out["price_fen"] = terms["price_fen"]
        elif "market_price_fen" in terms:
            out["market_price_fen"] = terms["market_price_fen"]
        return kind, out
    if kind == "trusteeship":
        return kind, {"units": terms["units"], "unit": terms["unit"], "annual_fen_per_unit": terms["annual_fen_per_unit"]}
    if kind == "equity_dividend":
        out = {"profit_share": terms["profit_share"]}
        if "annual_floor_fen" in terms:
            out["annual_floor_fen"] = terms["annual_floor_fen"]
        return kind, out
    if kind == "asset_lease":
        return kind, {"annual_rent_fen": terms["annual_rent_fen"]}
    if kind == "fixed_interest":
        return kind, {"principal_fen": terms["principal_fen"], "annual_rate": terms["annual_rate"]}
    # employment: the wage per day and days worked come from the period's work records.
    return kind, {}
