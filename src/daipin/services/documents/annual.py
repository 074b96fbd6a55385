"""The annual report of a village, township or district: what was pooled, what was paid, how many households it
reached and what each received on average (paid only), region by region; and the supervision findings (none are
recorded yet — `findings` is the seam where they will be read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Region, Run
from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.domain.money import half_up
from daipin.domain.vocabulary import MATTER_KIND

LEVEL_LABELS = {6: "区（县）", 9: "乡镇", 12: "村"}
FINDINGS_NOTE = "本年度暂无监督检查发现记录（监督检查功能启用后，发现的问题及整改情况在此列出）。"


@dataclass
class Figures:
    """One region's (or the whole report's) figures; money in fen."""

    pool_fen: int = 0
    paid_fen: int = 0
    paid_household_fen: int = 0
    households: int = 0
    pools: int = 0

    @property
    def per_household_fen(self) -> int:
        """Income per household reached: paid to households ÷ households paid, half up to the fen."""
        return half_up(self.paid_household_fen, self.households) if self.households else 0

    def as_dict(self) -> dict[str, int]:
        return {"pool_fen": self.pool_fen, "paid_fen": self.paid_fen, "paid_household_fen": self.paid_household_fen,
                "households": self.households, "per_household_fen": self.per_household_fen, "pools": self.pools}


def findings(session: Session, region_code: str, year: int) -> list[dict[str, Any]]:
    """Supervision findings (督查发现) of the region and year. None are recorded yet: the supervision feature will
    answer here, and the report prints what it returns."""
    del session, region_code, year
    return []


def _pool_of(run: Run | None, batch_total: int) -> int:
    from daipin.services.payments import service as payments

    return payments.pool_parts(run)["pool_fen"] if run is not None else batch_total


def latest_year(session: Session, region_code: str) -> int | None:
    """The latest year with a pool (a payment batch) in the region: what the report opens on by default."""
    return session.scalar(select(func.max(Matter.year)).join(PaymentBatch, PaymentBatch.matter_id == Matter.id)
                          .where(Matter.region_code.startswith(region_code)))


def annual(session: Session, actor: Actor, region_code: str, year: int) -> dict[str, Any]:
    """The report of `region_code` (a district, township or village) for `year`: totals, one row per region a
    level below (townships of a district, villages of a township; a village's own pools), and figures by matter
    kind. A pool is a payment batch of a matter of the year; a household is reached when a line to it is paid."""
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InputError("年度应在 2000 至 2100 之间", "year must be between 2000 and 2100", "year")
    if not region_code.isdigit() or len(region_code) not in (6, 9, 12):
        raise InputError("区划代码应为 6、9 或 12 位数字", "region must be 6, 9 or 12 digits", "region")
    access.require(actor, "dashboard.read", field="actor")
    if not access.allowed(actor, "dashboard.read", region=region_code):
        raise NotFound(f"区划 {region_code} 不存在", f"region {region_code} not found", "region")
    region = session.scalar(select(Region).where(Region.code == region_code))
    if region is None:
        raise NotFound(f"区划 {region_code} 不存在", f"region {region_code} not found", "region")
    level = len(region_code)
    child_len = {6: 9, 9: 12, 12: 12}[level]
    in_region = Matter.region_code.startswith(region_code) if level < 12 else Matter.region_code == region_code
    children: dict[str, Figures] = {}
    names: dict[str, str] = {}
    if level < 12:
        for code, name in session.execute(select(Region.code, Region.name).where(
                Region.parent_code == region_code).order_by(Region.code)):
            children[code], names[code] = Figures(), name
    total = Figures()
    by_kind: dict[str, Figures] = {}

    def child_of(code: str) -> str:
        return code[:child_len] if len(code) >= child_len else code

    # Pools: each batch of a matter of the year, its pool read from its run.
    batches = session.execute(
        select(PaymentBatch.id, PaymentBatch.total_fen, Matter.region_code, Matter.kind, Matter.title, Matter.id,
               Run).join(Matter, Matter.id == PaymentBatch.matter_id).outerjoin(Run, Run.id == PaymentBatch.run_id)
        .where(Matter.year == year, in_region).order_by(Matter.region_code, PaymentBatch.id)).all()
    for _bid, batch_total, code, kind, title, mid, run in batches:
        pool = _pool_of(run, int(batch_total))
        key = child_of(code) if level < 12 else f"matter:{mid}"
        if level == 12:
            names[key] = title
        for f in (children.setdefault(key, Figures()), total, by_kind.setdefault(kind, Figures())):
            f.pool_fen += pool
            f.pools += 1
    # Paid: lines paid, by region a level below, by payee type and kind.
    sub = func.substr(Matter.region_code, 1, child_len) if level < 12 else Matter.id
    paid = session.execute(
        select(sub, Matter.kind, PaymentLine.payee_type, func.coalesce(func.sum(PaymentLine.amount_fen), 0))
        .select_from(PaymentLine).join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
        .join(Matter, Matter.id == PaymentBatch.matter_id)
        .where(Matter.year == year, in_region, PaymentLine.status == "paid")
        .group_by(sub, Matter.kind, PaymentLine.payee_type)).all()
    for key, kind, payee_type, fen in paid:
        key = str(key) if level < 12 else f"matter:{key}"
        for f in (children.setdefault(key, Figures()), total, by_kind.setdefault(kind, Figures())):
            f.paid_fen += int(fen)
            if payee_type == "household":
                f.paid_household_fen += int(fen)
    # Households reached: distinct households with a paid line, per region below and in all.
    reached = select(sub.label("k"), PaymentLine.household_id.label("h")).select_from(PaymentLine) \
        .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id).join(Matter, Matter.id == PaymentBatch.matter_id) \
        .where(Matter.year == year, in_region, PaymentLine.status == "paid", PaymentLine.payee_type == "household",
               PaymentLine.household_id.is_not(None)).distinct().subquery()
    for key, n in session.execute(select(reached.c.k, func.count()).group_by(reached.c.k)):
        children.setdefault(str(key) if level < 12 else f"matter:{key}", Figures()).households = int(n)
    total.households = int(session.scalar(select(func.count(func.distinct(reached.c.h)))) or 0)
    kind_reached = select(Matter.kind, func.count(func.distinct(PaymentLine.household_id))).select_from(PaymentLine) \
        .join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id).join(Matter, Matter.id == PaymentBatch.matter_id) \
        .where(Matter.year == year, in_region, PaymentLine.status == "paid", PaymentLine.payee_type == "household") \
        .group_by(Matter.kind)
    for kind, n in session.execute(kind_reached):
        by_kind.setdefault(kind, Figures()).households = int(n)
    if level < 12:
        missing = [k for k in children if k not in names]
        if missing:
            names.update(dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(missing))).all()))
    found = findings(session, region_code, year)
    return {
        "region": {"code": region.code, "name": region.name, "level": LEVEL_LABELS[level]},
        "year": year,
        "totals": total.as_dict(),
        "rows": [{"code": k.removeprefix("matter:"), "name": names.get(k, k), **f.as_dict()}
                 for k, f in sorted(children.items())],
        "row_label": {6: "乡镇", 9: "村", 12: "事项"}[level],
        "by_kind": [{"kind": k, "label": MATTER_KIND.zh(k), **f.as_dict()} for k, f in sorted(by_kind.items())],
        "findings": found,
        "findings_note": "" if found else FINDINGS_NOTE,
    }


def annual_xlsx(report: dict[str, Any]) -> bytes:
    """The report as a workbook: 汇总 (totals and by kind), 分区域 (one row per region below), 督查发现."""
    import io

    from openpyxl import Workbook

    from daipin.domain.money import format_yuan
    from daipin.services.shared import sheets

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总"
    r = report["region"]
    ws.append([f"{r['name']}（{r['code']}）{report['year']}年度带贫益贫年度报告"])
    ws.append(["项目", "资金池（元）", "已支付（元）", "其中支付到户（元）", "受益户数", "户均收入（元，仅已支付）", "资金池个数"])

    def money_row(label: str, f: dict[str, Any]) -> list[Any]:
        return [label, format_yuan(f["pool_fen"], grouping=False), format_yuan(f["paid_fen"], grouping=False),
                format_yuan(f["paid_household_fen"], grouping=False), f["households"],
                format_yuan(f["per_household_fen"], grouping=False), f["pools"]]

    ws.append(money_row("合计", report["totals"]))
    for k in report["by_kind"]:
        sheets.append(ws, money_row(k["label"], k))
    rows = wb.create_sheet("分区域")
    rows.append([report["row_label"], "代码", "资金池（元）", "已支付（元）", "其中支付到户（元）", "受益户数",
                 "户均收入（元）", "资金池个数"])
    for row in report["rows"]:
        line = money_row(row["name"], row)
        sheets.append(rows, [line[0], row["code"], *line[1:]])
    fs = wb.create_sheet("督查发现")
    fs.append(["发现", "状态"])
    for f in report["findings"]:
        sheets.append(fs, [str(f.get("title", "")), str(f.get("status", ""))])
    if not report["findings"]:
        fs.append([report["findings_note"], ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
