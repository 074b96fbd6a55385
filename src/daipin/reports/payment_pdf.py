"""Printed payment papers: the reconciliation of a batch and its pool, 到户清单 (a village's list of what each
household is paid, to sign for) and a household's payment slip. Amounts in figures and in Chinese capitals
(大写, cn2an: 壹万贰仟叁佰肆拾伍元陆角柒分). Accounts only masked; no ID numbers, no phones."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from daipin.domain.localtime import for_people
from daipin.domain.money import format_yuan
from daipin.reports.notice_pdf import cjk_font


def capitals(fen: int) -> str:
    """An amount in Chinese capitals as written on money papers: 1234567 → 壹万贰仟叁佰肆拾伍元陆角柒分,
    1000 → 壹拾元整, 5 → 伍分, 0 → 零元整."""
    import cn2an

    if fen < 0:
        return "负" + capitals(-fen)
    return str(cn2an.an2cn(format_yuan(fen, grouping=False), "rmb"))


def _styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    return {"base": base, "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
            "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, alignment=TA_CENTER, spaceAfter=6),
            "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=17, spaceBefore=6, spaceAfter=3)}


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _grid(rows: Sequence[Sequence[Any]], widths: Sequence[float], style: ParagraphStyle, *,
          header: bool = True) -> Table:
    t = Table([[_p(c, style) for c in r] for r in rows], colWidths=list(widths), repeatRows=1 if header else 0)
    spec = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        spec.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f2f6")))
    t.setStyle(TableStyle(spec))
    return t


def _doc(buf: io.BytesIO, title: str, pagesize: Any = A4) -> SimpleDocTemplate:
    return SimpleDocTemplate(buf, pagesize=pagesize, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm,
                             bottomMargin=14 * mm, title=title, author="daipin", subject=title)


def reconciliation(report: dict[str, Any], parts: Sequence[tuple[str, str, str]], *, status_label: Any,
                   printed_at: Any) -> bytes:
    """A batch and its pool reconciled to the fen, then every line (account masked)."""
    st = _styles()
    buf = io.BytesIO()
    title = f"支付对账单 · {report['title']}"
    story: list[Any] = [_p(title, st["title"]),
                        _p(f"{report['region_name']} · 批次 {report['batch']} · 资金池 {report['pool_key']} · "
                           f"打印于 {for_people(printed_at)}", st["small"])]
    rows = [["项目", "金额（元）", "大写"], ["资金池合计", format_yuan(report["pool_fen"]), capitals(report["pool_fen"])],
            ["批次合计", format_yuan(report["total_fen"]), capitals(report["total_fen"])]]
    rows += [[zh, format_yuan(int(report[key])), capitals(int(report[key]))] for key, zh, _en in parts]
    rows.append(["核对", "平衡" if report["balanced"] else "不平衡", "资金池 = 已支付 + 待支付 + 支付失败 + 已核销 + 留存 + 未分配"])
    story.append(_grid(rows, [40 * mm, 40 * mm, 102 * mm], st["base"]))
    story.append(_p("明细", st["h2"]))
    lines = [["序号", "户名", "账号", "金额（元）", "状态", "回单号 / 原因"]]
    for ln in report["lines"]:
        note = ln.payment_ref or ln.failure_reason or ""
        if ln.write_off_reason:
            note = f"{ln.write_off_reason}（{ln.write_off_ref}）"
        lines.append([ln.seq or ln.id, ln.payee_name, ln.bank_account_masked or "—", format_yuan(ln.amount_fen),
                      status_label(ln.status), note])
    story.append(_grid(lines, [14 * mm, 30 * mm, 32 * mm, 28 * mm, 24 * mm, 54 * mm], st["small"]))
    _doc(buf, title).build(story)
    return buf.getvalue()


def village_list(ctx: dict[str, Any], *, printed_at: Any) -> bytes:
    """到户清单: one row per household with the amount in figures and capitals and a column to sign."""
    st = _styles()
    buf = io.BytesIO()
    title = f"{ctx['village_name']} 到户清单"
    story: list[Any] = [_p(title, st["title"]),
                        _p(f"{ctx['matter'].title} · 批次 {ctx['batch'].id} · 打印于 {for_people(printed_at)}",
                           st["small"])]
    rows = [["序号", "户名", "账号", "金额（元）", "金额大写", "状态", "签收"]]
    for ln in ctx["lines"]:
        rows.append([ln.seq or ln.id, ln.payee_name, ln.bank_account_masked or "—", format_yuan(ln.amount_fen),
                     capitals(ln.amount_fen), ctx["status_label"](ln.status), ""])
    rows.append(["合计", f"{len(ctx['lines'])} 户", "", format_yuan(ctx["total_fen"]), capitals(ctx["total_fen"]), "", ""])
    story.append(_grid(rows, [13 * mm, 30 * mm, 32 * mm, 28 * mm, 90 * mm, 22 * mm, 30 * mm], st["base"]))
    story.append(Spacer(1, 6 * mm))
    story.append(_p("村委会（盖章）：　　　　　　　经办人：　　　　　　　乡镇审核：　　　　　　　日期：", st["base"]))
    story.append(_p("本清单不含身份证号、电话；银行账号只显示末四位。", st["small"]))
    _doc(buf, title, landscape(A4)).build(story)
    return buf.getvalue()


def slip(ctx: dict[str, Any], *, printed_at: Any) -> bytes:
    """A household's payment slip (A5)."""
    st = _styles()
    ln = ctx["line"]
    buf = io.BytesIO()
    title = "收益分配到户通知单"
    rows = [["事项", ctx["matter"].title], ["村（乡镇）", ctx["region_name"]], ["户名", ln.payee_name],
            ["收款账号", ln.bank_account_masked or "—"], ["金额（小写）", f"¥{format_yuan(ln.amount_fen)} 元"],
            ["金额（大写）", capitals(ln.amount_fen)], ["状态", ctx["status_label"](ln.status)]]
    if ln.payment_ref:
        rows.append(["银行回单号", ln.payment_ref])
    if ln.paid_at:
        rows.append(["支付时间", for_people(ln.paid_at)])
    story: list[Any] = [_p(title, st["title"]), _grid(rows, [30 * mm, 88 * mm], st["base"], header=False),
                        Spacer(1, 5 * mm), _p("户主签收：　　　　　　　　日期：", st["base"]),
                        _p(f"批次 {ctx['batch'].id} · 明细 {ln.seq or ln.id} · 打印于 {for_people(printed_at)}", st["small"])]
    _doc(buf, title, A5).build(story)
    return buf.getvalue()
