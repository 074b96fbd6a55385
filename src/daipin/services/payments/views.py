"""Reads of payments: reconciliation per batch and per pool, the district's pools of a year, 到户清单 per village
and a household's slip. Every read asks the access policy (`payment.read` in the batch's region)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Household, Region, Run
from daipin.db.models.workflow import Matter, PaymentBatch, PaymentLine
from daipin.domain import access
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError, NotFound
from daipin.domain.localtime import beijing_date
from daipin.domain.vocabulary import PAYMENT_BATCH_STATUS, PAYMENT_LINE_STATUS
from daipin.services.payments import bankfiles
from daipin.services.payments import service as payments
from daipin.services.shared import scope, sheets
from daipin.services.shared.sheets import Column, Table

# The parts a pool is reconciled into, in the order reports show them.
PARTS = (("paid_fen", "已支付", "paid"), ("open_fen", "待支付（含已发银行）", "pending or sent"),
         ("failed_fen", "支付失败待重发", "failed, awaiting retry"), ("written_off_fen", "已核销", "written off"),
         ("retained_fen", "留存（未分配）", "retained"), ("undistributed_fen", "未分配余额", "undistributed"))


def reconcile(session: Session, batch: PaymentBatch, matter: Matter) -> dict[str, Any]:
    """Batch and pool to the fen: batch total = paid + open + failed + written off; pool = that + retained +
    undistributed. `balanced` says both hold."""
    rows = session.execute(select(PaymentLine.status, PaymentLine.amount_fen)
                           .where(PaymentLine.batch_id == batch.id)).all()
    s = payments.sums((str(st), int(a)) for st, a in rows)
    run = session.get(Run, batch.run_id)
    parts = payments.pool_parts(run) if run is not None else {
        "pool_fen": batch.total_fen, "distributed_fen": batch.total_fen, "retained_fen": 0, "undistributed_fen": 0}
    lines_sum = s["paid_fen"] + s["open_fen"] + s["failed_fen"] + s["written_off_fen"]
    pool_sum = lines_sum + parts["retained_fen"] + parts["undistributed_fen"]
    region = session.scalar(select(Region.name).where(Region.code == matter.region_code)) or matter.region_code
    return {"batch": batch.id, "matter": matter.id, "title": matter.title, "year": matter.year,
            "region": matter.region_code, "region_name": region, "pool_key": batch.pool_key,
            "status": batch.status, "status_label": PAYMENT_BATCH_STATUS.zh(batch.status),
            "total_fen": batch.total_fen, **parts, **s,
            "lines_sum_fen": lines_sum, "pool_sum_fen": pool_sum,
            "batch_balanced": lines_sum == batch.total_fen, "pool_balanced": pool_sum == parts["pool_fen"],
            "balanced": lines_sum == batch.total_fen and pool_sum == parts["pool_fen"]}


def batch_report(session: Session, actor: Actor, batch_id: int) -> dict[str, Any]:
    batch, matter = payments.readable_batch(session, actor, batch_id)
    out = reconcile(session, batch, matter)
    out["lines"] = payments.lines(session, batch)
    out["files"] = bankfiles.files(session, batch)
    out["can_record"] = access.allowed(actor, "payment.record", region=matter.region_code)
    out["villages"] = villages_of(session, batch)
    return out


LINE_PAGE_SIZES = (20, 50, 100, 200)  # lines per page the batch page offers
LINES_PER_PAGE = 50


def batch_page(session: Session, actor: Actor, batch_id: int, *, status: str | None = None, q: str | None = None,
               page: int = 1, per_page: int = LINES_PER_PAGE, line: int | None = None) -> dict[str, Any]:
    """The batch page's report: the reconciliation of the whole batch, and one page of its lines, narrowed by
    status and by the payee's name (or its 序号 when `q` is a number), with the total they match. `line` opens the
    page that holds that line (after a retry or a refused step), filters aside."""
    batch, matter = payments.readable_batch(session, actor, batch_id)
    if status and status not in PAYMENT_LINE_STATUS:
        raise InputError("支付状态不存在，请从列表中选择", "unknown payment status: choose one from the list", "status")
    q = (q or "").strip()
    if len(q) > 50:
        raise InputError("查找内容最多 50 个字", "search text is 50 characters at most", "q")
    if per_page not in LINE_PAGE_SIZES:
        raise InputError("每页条数应为 20、50、100 或 200", "lines per page must be 20, 50, 100 or 200", "per_page")
    out = reconcile(session, batch, matter)
    where = [PaymentLine.batch_id == batch.id]
    if line is not None:
        status, q = None, ""
    if status:
        where.append(PaymentLine.status == status)
    if q:
        where.append(PaymentLine.seq == int(q) if q.isascii() and q.isdigit() and len(q) <= 9
                     else PaymentLine.payee_name.contains(q, autoescape=True))
    order = (PaymentLine.seq.is_(None), PaymentLine.seq, PaymentLine.id)
    total = int(session.scalar(select(func.count()).select_from(PaymentLine).where(*where)) or 0)
    pages = max(1, -(-total // per_page))
    if line is not None:
        ids = list(session.scalars(select(PaymentLine.id).where(*where).order_by(*order)))
        if line in ids:
            page = ids.index(line) // per_page + 1
    page = min(max(1, page), pages)
    out["lines"] = list(session.scalars(select(PaymentLine).where(*where).order_by(*order)
                                        .offset((page - 1) * per_page).limit(per_page)))
    out["files"] = bankfiles.files(session, batch)
    out["can_record"] = access.allowed(actor, "payment.record", region=matter.region_code)
    out["villages"] = villages_of(session, batch)
    out["line_count"] = int(session.scalar(select(func.count()).select_from(PaymentLine)
                                            .where(PaymentLine.batch_id == batch.id)) or 0)
    out["listing"] = {"status": status or "", "q": q, "page": page, "pages": pages, "total": total,
                      "per_page": per_page, "sizes": LINE_PAGE_SIZES,
                      "page_numbers": sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})}
    return out


def district_pools(session: Session, actor: Actor, year: int, region: str | None = None) -> dict[str, Any]:
    """Every pool of a year the actor reads (its batch), with paid / open / failed / written-off / retained sums;
    `region` (a township's 9 digits or a village's 12) narrows them to its batches."""
    if not 2000 <= year <= 2100:
        raise InputError("年度应在 2000 至 2100 之间", "year must be between 2000 and 2100", "year")
    if region and not (region.isdigit() and len(region) in (9, 12)):
        raise InputError("区划代码应为 9 或 12 位数字", "region must be 9 or 12 digits", "region")
    access.require(actor, "payment.read", field="actor")
    in_reach = scope.where(access.reach(actor, "payment.read"), region=Matter.region_code)
    stmt = select(PaymentBatch, Matter).join(Matter, Matter.id == PaymentBatch.matter_id).where(
        Matter.year == year, in_reach)
    if region:
        stmt = stmt.where(Matter.region_code.startswith(region))
    pairs = session.execute(stmt.order_by(Matter.region_code, PaymentBatch.id)).all()
    pools = [reconcile(session, b, m) for b, m in pairs]
    keys = ("pool_fen", "total_fen", "paid_fen", "open_fen", "failed_fen", "written_off_fen", "retained_fen",
            "undistributed_fen")
    totals = {k: sum(int(p[k]) for p in pools) for k in keys}
    return {"year": year, "region": region or "", "pools": pools, "totals": totals,
            "balanced": all(p["balanced"] for p in pools)}


def reconcile_xlsx(report: dict[str, Any], fmt: str = "xlsx", today: date | None = None) -> bytes:
    """The reconciliation as a spreadsheet: every line (account masked), then (xlsx) the parts on a sheet of
    their own; amounts numbers of yuan, under a title row (`sheets.write_export`)."""
    lines = Table("明细", [Column("序号", "int"), Column("户名"), Column("账号（遮蔽）", "id"), Column("金额", "money"),
                           Column("状态"), Column("回单号", "id"), Column("失败原因"), Column("核销原因"),
                           Column("核销决定")],
                  [[ln.seq or ln.id, ln.payee_name, ln.bank_account_masked, ln.amount_fen,
                    PAYMENT_LINE_STATUS.zh(ln.status), ln.payment_ref, ln.failure_reason, ln.write_off_reason or "",
                    ln.write_off_ref or ""] for ln in report["lines"]])
    parts = Table("对账", [Column("项目"), Column("金额", "money")],
                  [["资金池合计", report["pool_fen"]], ["批次合计", report["total_fen"]],
                   *([zh, int(report[key])] for key, zh, _en in PARTS)])
    title = sheets.title_line(f"对账　{report['title']}　资金池 {report['pool_key']}"
                              f"　{'平衡' if report['balanced'] else '不平衡'}", str(report.get("region_name", "")),
                              today or beijing_date(datetime.now(UTC)), masked=True)
    return sheets.export_bytes(fmt, title, [lines, parts])


def pools_xlsx(report: dict[str, Any], fmt: str = "xlsx", today: date | None = None, region: str = "") -> bytes:
    """A year's pools and batches as a spreadsheet: one row per pool, amounts numbers of yuan, a total row."""
    keys = ("pool_fen", "paid_fen", "open_fen", "failed_fen", "written_off_fen", "retained_fen", "undistributed_fen")
    rows: list[list[Any]] = [[p["pool_key"], p["title"], p["region_name"], p["batch"], p["status_label"],
                              *(int(p[k]) for k in keys), "是" if p["balanced"] else "否"] for p in report["pools"]]
    rows.append(["合计", "", "", None, "", *(int(report["totals"][k]) for k in keys),
                 "是" if report["balanced"] else "否"])
    columns = [Column("资金池", "id"), Column("事项"), Column("辖区"), Column("批次", "int"), Column("批次状态"),
               *(Column(h, "money") for h in ("资金池合计", "已支付", "待支付", "支付失败", "已核销", "留存", "未分配")),
               Column("平衡")]
    title = sheets.title_line(f"{report['year']}年度资金池与支付批次", region, today or beijing_date(datetime.now(UTC)),
                              masked=False)
    return sheets.export_bytes(fmt, title, [Table(f"{report['year']}年度资金池", columns, rows)])


def villages_of(session: Session, batch: PaymentBatch) -> list[tuple[str, str]]:
    """(code, name) of the villages whose households the batch pays."""
    codes = sorted({str(c) for c in session.scalars(
        select(Household.village_code).join(PaymentLine, PaymentLine.household_id == Household.id)
        .where(PaymentLine.batch_id == batch.id).distinct())})
    names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())
    return [(c, names.get(c, c)) for c in codes]


def village_list(session: Session, actor: Actor, batch_id: int, village: str) -> dict[str, Any]:
    """到户清单: a village's lines of a batch (not the requeued ones), account masked, for printing."""
    batch, matter = payments.readable_batch(session, actor, batch_id)
    if not access.allowed(actor, "payment.read", region=village):
        raise NotFound(f"村 {village} 不存在", f"village {village} not found", "village")
    rows = list(session.scalars(
        select(PaymentLine).join(Household, Household.id == PaymentLine.household_id)
        .where(PaymentLine.batch_id == batch.id, Household.village_code == village,
               PaymentLine.status != "requeued").order_by(PaymentLine.seq, PaymentLine.id)))
    if not rows:
        raise NotFound(f"该批次没有村 {village} 的明细", f"the batch pays no household of village {village}", "village")
    name = session.scalar(select(Region.name).where(Region.code == village)) or village
    return {"batch": batch, "matter": matter, "village": village, "village_name": name, "lines": rows,
            "total_fen": sum(r.amount_fen for r in rows)}


def slip(session: Session, actor: Actor, line_id: int) -> dict[str, Any]:
    """A household's payment slip: one line, its matter, amount (figures and capitals), account masked."""
    line = session.get(PaymentLine, line_id)
    if line is None:
        raise NotFound(f"支付明细 {line_id} 不存在", f"payment line {line_id} not found", "line_id")
    try:
        batch, matter = payments.readable_batch(session, actor, line.batch_id)
    except NotFound:
        raise NotFound(f"支付明细 {line_id} 不存在", f"payment line {line_id} not found", "line_id") from None
    region = session.scalar(select(Region.name).where(Region.code == matter.region_code)) or matter.region_code
    return {"line": line, "batch": batch, "matter": matter, "region_name": region}
