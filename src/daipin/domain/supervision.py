"""Supervision's rules as data (SUPERVISION.md): the red-flag catalogue, its thresholds' defaults, a finding's path,
the escalation of an overdue rectification and the credit listing's windows (国办发〔2020〕49号). Pure: no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from daipin.domain.errors import Conflict, InputError


@dataclass(frozen=True)
class RuleDef:
    """One red-flag rule: its id, the severity its findings carry, and what it finds in Chinese and English."""

    id: str
    severity: str  # high | medium | low
    zh: str
    en: str


RULES: tuple[RuleDef, ...] = (
    RuleDef("FLAT", "medium", "平均分配（泛福利化、一发了之）", "flat distribution"),
    RuleDef("INELIGIBLE", "high", "向不符合条件的农户发放（违规发放）", "paid to an ineligible household"),
    RuleDef("DUPLICATE", "high", "重复享受或分户拆户", "paid twice, or a household split before a roster"),
    RuleDef("KIN", "medium", "村干部本户或亲属受益（优亲厚友，待核实）", "beneficiary in a cadre's household or kin"),
    RuleDef("IDLE", "medium", "收益闲置或滞留", "income received but not allocated or paid"),
    RuleDef("ARREARS", "high", "实施主体拖欠", "an entity's dues unpaid past the due date"),
    RuleDef("NO_LINK", "high", "无利益联结", "poverty funds or assets with no benefit linkage"),
    RuleDef("CONCENTRATION", "medium", "单一主体集中度过高（系统性风险）", "one entity carries a large share"),
    RuleDef("NO_INSURANCE", "medium", "经营性扶贫资产无有效保险", "an operating asset has no policy in force"),
    RuleDef("NO_VALUATION", "high", "资产折股量化未经评估或决议", "shares issued without valuation or decision"),
    RuleDef("DISPOSAL", "high", "资产出租、抵押或处置未经批准（非法处置）", "an asset disposed of without approval"),
    RuleDef("RETURN", "low", "约定年收益率偏离市场区间", "a return outside the market band"),
    RuleDef("ACCOUNT", "high", "收款账户户名不是受益人（个人账户）", "paid to an account not held by the beneficiary"),
    RuleDef("NOTICE", "high", "未公示、公示期不足或异议未结即拨付", "money moved without a proper notice"),
    RuleDef("PV_USE", "medium", "光伏收益用于公益岗位和劳务的比例不足", "too little PV income used for posts and labour"),
)
RULE_BY_ID: dict[str, RuleDef] = {r.id: r for r in RULES}
MANUAL_RULE = "MANUAL"  # a finding an inspection opens by hand

SEVERITIES = ("high", "medium", "low")

# Thresholds a county may set (SUPERVISION.md "Rules"); every value is an exact decimal string.
DEFAULT_THRESHOLDS: dict[str, str] = {
    "duplicate_split_days": "180",  # DUPLICATE: a household split within this many days before a roster
    "idle_days": "90",  # IDLE: received but not allocated, or allocated but not paid
    "arrears_days": "30",  # ARREARS: unpaid this many days past the due date
    "concentration_share": "0.30",  # CONCENTRATION: one entity's share of a township's linked households
    "return_ceiling": "0.20",  # RETURN: an implausibly high annual return
    "pv_use_share": "0.80",  # PV_USE: the least share of PV income for public-welfare posts and labour
    "escalate_after_days": "30",  # overdue rectification: township first, the district after this many days
    "credit_objection_days": "10",  # credit listing: the objection window after the notice
    "credit_repair_after_days": "365",  # credit listing: the least time listed before repair
}
THRESHOLD_LABELS: dict[str, str] = {
    "duplicate_split_days": "分户后距名单确认的天数",
    "idle_days": "收益闲置、滞留天数",
    "arrears_days": "拖欠超过应付日的天数",
    "concentration_share": "单一主体占乡镇联结户的比例",
    "return_ceiling": "约定年收益率上限",
    "pv_use_share": "光伏收益用于公益岗位和劳务的最低比例",
    "escalate_after_days": "逾期整改升级到区级的天数",
    "credit_objection_days": "失信认定异议期（天）",
    "credit_repair_after_days": "失信名单最短公示期（天），期满且整改后方可修复",
}
_DAY_KEYS = {"duplicate_split_days", "idle_days", "arrears_days", "escalate_after_days", "credit_objection_days",
             "credit_repair_after_days"}


def check_threshold(key: str, value: object) -> str:
    """A threshold as stored: whole days (0–3650) or a share between 0 and 1, as an exact string."""
    if key not in DEFAULT_THRESHOLDS:
        raise InputError(f"未知的监督设置 {key}", f"unknown supervision setting {key}", field="key")
    text = str(value).strip()
    try:
        d = Decimal(text)
    except InvalidOperation as exc:
        raise InputError(f"{THRESHOLD_LABELS[key]}应为数字", f"{key} must be a number", field=key) from exc
    if key in _DAY_KEYS:
        if d != d.to_integral_value() or not 0 <= d <= 3650:
            raise InputError(f"{THRESHOLD_LABELS[key]}应为 0 到 3650 的整数", f"{key} must be whole days 0-3650",
                             field=key)
        return str(int(d))
    if not Decimal(0) < d <= Decimal(1):
        raise InputError(f"{THRESHOLD_LABELS[key]}应在 0 到 1 之间", f"{key} must be between 0 and 1", field=key)
    return text


def thresholds(stored: Mapping[str, str] | None) -> dict[str, str]:
    """The county's thresholds: its own settings over the defaults."""
    out = dict(DEFAULT_THRESHOLDS)
    out.update({k: v for k, v in (stored or {}).items() if k in DEFAULT_THRESHOLDS})
    return out


# ---------------------------------------------------------------- a finding's path

FINDING_STATUSES = ("open", "assigned", "rectified", "verified", "dismissed")
CLOSED = ("verified", "dismissed")
_STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": (("open", "assigned"), "assigned"),  # (re)assign: another unit or deadline
    "rectify": (("assigned",), "rectified"),
    "verify": (("rectified",), "verified"),
    "reject": (("rectified",), "assigned"),  # the rectification is not accepted: back to the unit
    "dismiss": (("open", "assigned"), "dismissed"),
}
STEP_LABELS = {"assign": "交办整改", "rectify": "报告整改", "verify": "验收销号", "reject": "退回重新整改",
               "dismiss": "排除（说明理由）"}


def next_status(current: str, step: str) -> str:
    """The status a step leads to from `current`, or a Conflict naming why it cannot be taken."""
    if step not in _STEPS:
        raise InputError(f"未知的处理步骤 {step}", f"unknown step {step}", field="step")
    sources, target = _STEPS[step]
    if current not in sources:
        raise Conflict(f"问题线索当前状态不能{STEP_LABELS[step]}", f"a finding that is {current} cannot {step}",
                       field="step", code="finding_state")
    return target


def escalation(deadline: date | None, status: str, today: date, escalate_after_days: int) -> str | None:
    """Who an overdue rectification is flagged to: the township once it is overdue, the district when it has been
    overdue longer than `escalate_after_days`; None when it is not overdue (or no longer open)."""
    if deadline is None or status not in ("open", "assigned") or today <= deadline:
        return None
    return "district" if (today - deadline).days > escalate_after_days else "township"


# ---------------------------------------------------------------- credit listing (国办发〔2020〕49号)

LISTING_STATUSES = ("notified", "objected", "answered", "listed", "withdrawn", "repaired")
LIVE_LISTING = ("notified", "objected", "answered", "listed")


def objection_deadline(notified_at: datetime, days: int) -> datetime:
    """The end of the objection window that starts when the entity is told."""
    return notified_at + timedelta(days=days)


def may_take_effect(status: str, objection_until: datetime, at: datetime) -> tuple[bool, str, str]:
    """Whether a listing may take effect now: the window over with no objection, or every objection answered."""
    if status == "answered":
        return True, "", ""
    if status == "objected":
        return False, "异议尚未答复，认定不能生效", "the objection is not answered yet"
    if status == "notified":
        if at < objection_until:
            return False, "异议期尚未届满，认定不能生效", "the objection window is still open"
        return True, "", ""
    return False, "该认定已不能生效", f"a listing that is {status} cannot take effect"


def repair_from(listed_at: datetime, days: int) -> datetime:
    """The earliest time a listing may be repaired."""
    return listed_at + timedelta(days=days)
