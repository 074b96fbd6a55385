"""The public notice as a PDF for the village board: Chinese font embedded, ledger checkpoint and a QR code.

Built only from the notice's posted content (already checked for personal data), so nothing
private can reach the paper copy.
"""

from __future__ import annotations

import io
import os
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from daipin.config import settings
from daipin.domain.localtime import for_people
from daipin.domain.money import format_yuan

FONT_NAME = "DaipinCJK"
FONT_CANDIDATES = (
    settings().cjk_font,
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


class FontMissing(RuntimeError):
    """No CJK font: a notice printed without one would be unreadable, so none is printed."""


@cache
def cjk_font() -> str:
    for path in FONT_CANDIDATES:
        if path and os.path.exists(path):
            kw: dict[str, Any] = {"subfontIndex": 0} if path.endswith(".ttc") else {}
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, **kw))
            return FONT_NAME
    raise FontMissing("缺少中文字体（fonts-wqy-microhei）/ no CJK font installed (fonts-wqy-microhei)")


def _fen(v: Any) -> str:
    return format_yuan(int(v or 0))


def qr_png(data: str) -> bytes:
    """A QR code of `data` (an address, or a whole signed note) as PNG bytes."""
    import segno

    buf = io.BytesIO()
    segno.make(data, error="m" if len(data) < 200 else "l").save(buf, kind="png", scale=4, border=2)
    return buf.getvalue()


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


TRAINING_MARK = "演示/培训数据"


def _training_mark(font: str) -> Any:
    """Draws 演示/培训数据 across a page: a notice printed from a training database is not a notice."""
    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 46)
        canvas.setFillColor(colors.Color(0.7, 0.2, 0.1, alpha=0.18))
        width, height = A4
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        canvas.drawCentredString(0, 40, TRAINING_MARK)
        canvas.drawCentredString(0, -80, TRAINING_MARK)
        canvas.restoreState()
        canvas.setFont(font, 9)
        canvas.drawString(18 * mm, height - 10 * mm, f"{TRAINING_MARK}（非正式公示）")
    return draw


def channel_line(ch: dict[str, Any]) -> str:
    """A complaint channel as printed: its name, its number, and where the number comes from."""
    line = str(ch.get("name", ""))
    if ch.get("number"):
        line += f"：{ch['number']}"
        if ch.get("source"):
            line += f"（电话来源：{ch['source']}）"
    else:
        line += "（未设置电话，请到办公地点反映）"
    return line


def meeting_and_review(content: dict[str, Any], base: ParagraphStyle, h2: ParagraphStyle) -> list[Any]:
    """The meeting that decided the matter (time, place, attendance, tally, outcome) and the township's opinion."""
    out: list[Any] = []
    mt = content.get("meeting")
    if mt:
        out.append(_p("会议与表决", h2))
        out.append(_p(f"{mt.get('type_label', '')}：{for_people(mt.get('scheduled_at'))}，地点：{mt.get('place', '')}", base))
        out.append(_p(attendance_line(mt), base))
        if mt.get("votes"):
            out.append(_p(tally_line(mt), base))
    rv = content.get("review")
    if rv:
        out.append(_p("乡镇审核意见", h2))
        verdict = "审核通过" if rv.get("decision") == "approve" else "退回修改"
        out.append(_p(f"{rv.get('body', '')} {verdict}（{for_people(rv.get('at'))}）：{rv.get('comments') or '同意。'}",
                      base))
    return out


def attendance_line(mt: dict[str, Any]) -> str:
    el, pr = mt.get("eligible") or {}, mt.get("present") or {}
    parts = []
    for key, zh in (("representatives", "村民代表"), ("adults", "成年村民"), ("households", "户代表"), ("members", "成员")):
        if el.get(key) or pr.get(key):
            parts.append(f"{zh}应到 {el.get(key) or 0} 人、实到 {pr.get(key) or 0} 人")
    return "到会情况：" + ("；".join(parts) if parts else "未登记")


def tally_line(mt: dict[str, Any]) -> str:
    v = mt.get("votes") or {}
    line = f"表决结果：赞成 {v.get('for', 0)} 票，反对 {v.get('against', 0)} 票，弃权 {v.get('abstain', 0)} 票"
    if "passed" in mt:
        line += "，通过" if mt["passed"] else "，未通过"
    return line


def issuer_block(issuer: dict[str, Any] | None, base: ParagraphStyle) -> list[Any]:
    """落款: the issuing body and the date, right-aligned as on a posted notice."""
    if not issuer:
        return []
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
    return [Spacer(1, 5 * mm), _p(issuer.get("name", ""), right), _p(issuer.get("date", ""), right)]


def note_lines(note: str) -> list[str]:
    """The signed note's lines as printed (the blank line between text and signatures kept)."""
    return note.rstrip("\n").split("\n")


def checkpoint_block(cp: dict[str, Any], note: str, url: str, base: ParagraphStyle, small: ParagraphStyle,
                     mono: ParagraphStyle) -> list[Any]:
    """The ledger checkpoint: size, root (base64, as in the note) and the signed note printed whole, line by line,
    with a QR code of the note itself (so its signature can be re-checked from paper:
    `daipin ledger check-note`) and one of the page's address."""
    qr_url = Image(io.BytesIO(qr_png(url)), width=30 * mm, height=30 * mm)
    lines: list[Any] = [_p("账本检查点（发布时）", base), _p(f"条目数 size：{cp.get('size', '')}", small),
                        _p(f"根 root（base64）：{cp.get('root', '')}", mono)]
    if cp.get("key_id"):
        lines.append(_p(f"签名公钥编号 key id：{cp['key_id']}", small))
    t = Table([[qr_url, lines]], colWidths=[34 * mm, 140 * mm])
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (0, 0), (-1, -1), 0.4, colors.grey)]))
    out: list[Any] = [t]
    if note:
        pre = ParagraphStyle("note", parent=mono, fontSize=7.5, leading=9.5)
        qr_note = Image(io.BytesIO(qr_png(note)), width=38 * mm, height=38 * mm)
        text = Preformatted("\n".join(note_lines(note)), pre)
        # The note on the whole width (a signature line is long: nothing may cover it), its QR code below.
        nt = Table([[text], [qr_note]], colWidths=[174 * mm])
        nt.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 1), (0, 1), "LEFT"),
                                ("BOX", (0, 0), (-1, -1), 0.4, colors.grey)]))
        out.append(KeepTogether([Spacer(1, 2 * mm), _p("签名检查点注记（全文；下方二维码为同一注记，可用 daipin ledger "
                                                       "check-note 核验签名）", small), nt]))
    return out


def render_notice(content: dict[str, Any], *, url: str, checkpoint_note: str, status_label: str = "",
                  result: dict[str, Any] | None = None, training: bool = False) -> bytes:
    """The notice (and its result announcement, if any) as PDF bytes; from a training database every page
    carries the words 演示/培训数据."""
    font = cjk_font()
    base = ParagraphStyle("base", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=10)
    mono = ParagraphStyle("mono", parent=small, fontSize=7, leading=9, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=base, fontSize=12.5, leading=18, spaceBefore=8, spaceAfter=3)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=str(content.get("title", "公示")), author="daipin",
                            subject="公示公告")
    story: list[Any] = [_p(content.get("title", "公示"), title)]
    matter = content.get("matter") or {}
    region = content.get("region") or {}
    window = content.get("window") or {}
    facts = [
        ("事项", f"{matter.get('kind_label', '')}：{matter.get('title', '')}"),
        ("村（乡镇）", f"{region.get('name', '')}（{region.get('code', '')}）"),
        ("年度", matter.get("year") or ""),
    ]
    project = content.get("project")
    if project:
        facts.append(("项目", f"{project.get('name', '')}（{project.get('code', '')}）"))
    facts += [
        ("资金来源", content.get("funding_source") or "—"),
        ("实施主体", content.get("implementing_entity") or "—"),
        ("责任人", content.get("responsible_person") or "—"),
        ("公示期", f"{for_people(window.get('posted_at'))} 至 {for_people(window.get('ends_at'))}"
                 f"（{window.get('days', '')} 天）"),
    ]
    if window.get("paper_posted_at"):
        facts.append(("纸质公示张贴于", for_people(window["paper_posted_at"])))
    if window.get("basis"):
        facts.append(("公示天数依据", window["basis"]))
    amounts = content.get("amounts") or {}
    if "total_fen" in amounts:
        facts.append(("分配合计", f"{_fen(amounts['total_fen'])} 元"))
    if status_label:
        facts.append(("状态", status_label))
    t = Table([[_p(k, base), _p(v, base)] for k, v in facts], colWidths=[28 * mm, 146 * mm])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                           ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f2f6"))]))
    story += [t, _p("受益对象及金额", h2)]
    rows = [[_p("序号", base), _p("户编号", base), _p("姓名", base), _p("金额（元）", base)]]
    for i, b in enumerate(content.get("beneficiaries") or [], 1):
        amount = _fen(b["amount_fen"]) if "amount_fen" in b else ""
        rows.append([_p(i, base), _p(b.get("ref", ""), base), _p(b.get("name", ""), base), _p(amount, base)])
    bt = Table(rows, colWidths=[14 * mm, 56 * mm, 52 * mm, 52 * mm], repeatRows=1)
    bt.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f2f6"))]))
    story.append(bt)
    if content.get("justification"):
        story += [_p("说明", h2), _p(content["justification"], base)]
    if result:
        story += [_p("执行结果", h2), _p(result.get("title", ""), base)]
        if result.get("announced_at"):
            story.append(_p(f"公告时间：{for_people(result['announced_at'])}", base))
        pay = result.get("payments") or {}
        if isinstance(pay, dict) and "paid_fen" in pay:
            story.append(_p(f"已支付 {pay['paid_count']} 笔，合计 {_fen(pay['paid_fen'])} 元", base))
            for w in pay.get("written_off") or []:
                story.append(_p(f"已核销：{w.get('name', '')} {_fen(w.get('amount_fen'))} 元，{w.get('reason', '')}"
                                f"（{w.get('decision', '')}）", base))
        elif isinstance(pay, dict) and "lines" in pay:  # announced before the exact figures were kept
            paid = sum(int(ln.get("amount_fen", 0)) for ln in pay["lines"] if ln.get("status") == "paid")
            story.append(_p(f"已支付合计：{_fen(paid)} 元", base))
    story += meeting_and_review(content, base, h2)
    story.append(_p("异议与监督渠道", h2))
    story.append(_p("公示期内，任何人均可实名或匿名提出异议，可向以下渠道反映：", base))
    for ch in content.get("complaint_channels") or []:
        story.append(_p(f"· {channel_line(ch)}", base))
    story.append(_p(f"网上查看与提出异议：{url}", base))
    story += issuer_block(content.get("issuer"), base)
    story.append(Spacer(1, 4 * mm))
    story += checkpoint_block(content.get("ledger_checkpoint") or {}, checkpoint_note, url, base, small, mono)
    story.append(_p("本公示不含身份证号、电话、银行账号、健康状况等个人信息。扫描二维码可核对网上版本。", small))
    if training:
        mark = _training_mark(font)
        doc.build(story, onFirstPage=mark, onLaterPages=mark)
    else:
        doc.build(story)
    return buf.getvalue()
