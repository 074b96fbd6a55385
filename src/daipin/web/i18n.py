"""Message catalogs: Chinese (zh_CN) is the source language and default; English is switchable.

The .po files under web/locale are compiled in memory at start-up, so no binary .mo is kept in the tree.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "daipin_lang"


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for a locale; Chinese needs none because the messages are written in Chinese."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def pick_locale(cookie: str | None, query: str | None = None, accept: str | None = None) -> str:
    for cand in (query, cookie):
        if cand in LOCALES:
            return cand
    return DEFAULT_LOCALE


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def _labels() -> dict[str, dict[str, str]]:
    from daipin.domain import workflow as wf
    from daipin.domain.contracts import CONTRACT_STATUS_LABELS, CONTRIBUTION_KINDS
    from daipin.services.registry.service import PROJECT_STATUS_LABELS

    return {
        "state": {s.value: label for s, label in wf.STATE_LABELS.items()},
        "action": {**{a.value: label for a, label in wf.ACTION_LABELS.items()}, "draft": "起草", "returned": "退回修改",
                   "reopened": "异议成立，重新办理"},
        "kind": {k.value: label for k, label in wf.KIND_LABELS.items()},
        "meeting_type": {t.value: label for t, label in wf.MEETING_LABELS.items()},
        "notice": {"open": "公示中", "closed": "公示期满", "withdrawn": "已撤回重新办理"},
        "objection": {"open": "待答复", "upheld": "异议成立", "dismissed": "异议不成立"},
        "payment": {"pending": "待支付", "paid": "已支付", "failed": "支付失败", "partly_paid": "部分支付"},
        "payee_type": {"household": "农户", "village": "村集体", "entity": "实施主体"},
        "contract": CONTRACT_STATUS_LABELS,
        "project": PROJECT_STATUS_LABELS,
        "asset_kind": {"operating": "经营性资产", "public": "公益性资产", "household": "到户类资产"},
        "asset_status": {"in_use": "使用中", "leased": "出租中", "pledged": "已抵押", "disposed": "已处置"},
        "life_state": {"alive": "健在", "deceased": "已故", "moved": "迁出", "died_out": "已消亡"},
        "decision": {"approve": "通过", "return": "退回"},
        "choice": {"fixed": "固定价格", "market_with_floor": "随行就市，设保护价", "grant": "无偿扶持",
                   "revolving": "周转使用（需归还）", "land": "土地", "livestock": "牲畜", "mu": "亩", "head": "头",
                   "day": "按日", "month": "按月", "piece": "计件", "daily": "每日", "weekly": "每周",
                   "monthly": "每月", "on_completion": "完工后", "capital": "资金", "forest": "林地",
                   "house": "房屋", **CONTRIBUTION_KINDS},
        # Keys of the objects a list term may hold (a repayment: its due date and amount).
        "term_item": {"due": "到期日", "amount_fen": "金额", "on": "日期", "date": "日期", "paid_on": "还款日期",
                      "quantity": "数量", "month": "月份", "note": "备注"},
        "warning": {"cap_applied": "超过每户上限，已削减", "flat_distribution": "平均分配",
                    "no_eligible_households": "没有符合条件的农户"},
    }


@cache
def labels() -> dict[str, dict[str, str]]:
    """Chinese names of the codes kept in the database (states, statuses, kinds), by group."""
    return _labels()


def label(locale: str, code: object, group: str) -> str:
    """The name people read for a stored code, in the page's language; an unknown code is shown as is."""
    if code is None or code == "":
        return ""
    zh = labels().get(group, {}).get(str(code))
    return gettext(locale, zh) if zh else str(code)
