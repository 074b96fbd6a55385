"""The insurance register as a spreadsheet (xlsx): the operating assets with the policy covering each, and the
premium subsidies. Cells a person typed are written as text, never as formulas (`shared/sheets.py`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from daipin.domain.actors import Actor
from daipin.domain.money import format_yuan
from daipin.services.insurance import views
from daipin.services.shared.sheets import save_sheets


def _yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen, grouping=False)


def export_insurance(session: Session, actor: Actor, path: Path | str | IO[bytes], *, today: date) -> int:
    """Two sheets: 资产保险 (one row per operating asset in reach) and 保费补贴; returns the number of rows."""
    assets = [[r["asset"], r["name"], r["region_name"], r["project_name"], r["entity"], _yuan(r["value_fen"]),
               r["insured_label"], r["insurer"], r["policy_no"], r["kind"],
               "全部经营资产" if r["for_all_assets"] else ("本资产" if r["insured"] else ""),
               _yuan(r["insured_sum_fen"]), r["valid_to"]] for r in views.assets(session, actor, today=today)]
    subsidies = [[r["year"], r["entity"], r["insurer"], r["policy_no"], r["asset"], _yuan(r["premium_fen"]),
                  _yuan(r["subsidy_fen"]), r["status_label"], r["reason"], r["paid_on"]]
                 for r in views.subsidies(session, actor)]
    return save_sheets(path, [
        ("资产保险", ["资产编号", "资产名称", "区划", "项目", "经营主体", "资产原值（元）", "保险状态", "保险机构",
                  "保单号", "险种", "保障范围", "保险金额（元）", "保险止期"], assets),
        ("保费补贴", ["年度", "主体", "保险机构", "保单号", "资产", "保费（元）", "补贴（元）", "状态", "理由",
                  "支付日期"], subsidies)])
