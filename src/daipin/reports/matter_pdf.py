"""The papers of a matter (一事一议) as the village board, the township and the archive room keep them: the meeting
notice, the sign-in sheet, the minutes with the tally, the township review form, the result announcement and the
archive dossier. Built from the typed reads of `services/documents/views.py`; amounts in 元 and in capitals (大写),
times in Beijing time with the zone named, each paper closed by its issuing body and date (落款). No ID numbers,
phones or bank accounts: the reads never hand them over."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Preformatted, Spacer, Table, TableStyle

from daipin.domain.localtime import for_people
from daipin.domain.money import format_yuan
from daipin.reports.notice_pdf import _training_mark, note_lines
from daipin.reports.payment_pdf import _doc, _grid, _p, _styles, capitals

Story = list[Any]

VOTE_WORDS = (("for", "赞成"), ("against", "反对"), ("abstain", "弃权"))
PRESENT_WORDS = (("representatives", "村民代表"), ("adults", "成年村民"), ("households", "户代表"),
                 ("members", "领导小组成员"))


def _build(title: str, story: Story, *, training: bool) -> bytes:
    buf = io.BytesIO()
    doc = _doc(buf, title, A4)
    if training:
        from daipin.reports.notice_pdf import cjk_font

        mark = _training_mark(cjk_font())
        doc.build(story, onFirstPage=mark, onLaterPages=mark)
    else:
        doc.build(story)
    return buf.getvalue()


def _right(st: dict[str, ParagraphStyle]) -> ParagraphStyle:
    return ParagraphStyle("right", parent=st["base"], alignment=TA_RIGHT)


def _seal(st: dict[str, ParagraphStyle], body: str, date: str, *, stamp: bool = True) -> Story:
    """落款: the issuing body (to stamp) and the date, right-aligned."""
    return [Spacer(1, 8 * mm), _p(f"{body}{'（盖章）' if stamp else ''}", _right(st)), _p(date, _right(st))]


def _title(st: dict[str, ParagraphStyle], ctx: dict[str, Any], paper: str) -> Story:
    m = ctx["matter"]
    place = " ".join(x for x in (ctx["names"]["township"], ctx["names"]["village"]) if x) or ctx["names"]["region"]
    return [_p(paper, st["title"]), _p(f"{place} · {m['kind_label']}：{m['title']}（事项 {m['id']}）", st["small"])]


def _attendance(mt: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [["", "应到（人）", "实到（人）"]]
    for key, zh in PRESENT_WORDS:
        el, pr = mt["eligible"].get(key) or 0, mt["present"].get(key)
        if el or pr:
            rows.append([zh, el, "" if pr is None else pr])
    return rows


def tally_text(votes: dict[str, Any] | None) -> str:
    if not votes:
        return "尚未表决"
    return "，".join(f"{zh} {votes.get(key, 0)} 票" for key, zh in VOTE_WORDS)


def _beneficiaries(st: dict[str, ParagraphStyle], rows: Sequence[dict[str, Any]], total_fen: int | None) -> Story:
    if not rows:
        return [_p("（本事项无逐户金额）", st["small"])]
    table: list[list[Any]] = [["序号", "编号", "名称", "金额（元）"]]
    for i, b in enumerate(rows, 1):
        table.append([i, b.get("ref", ""), b.get("name", ""), format_yuan(b["amount_fen"]) if "amount_fen" in b else ""])
    out: Story = [_grid(table, [14 * mm, 58 * mm, 56 * mm, 50 * mm], st["small"])]
    if total_fen:
        out.append(_p(f"合计：{format_yuan(total_fen)} 元（大写：{capitals(total_fen)}）", st["base"]))
    return out


def meeting_notice(ctx: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    """召开会议通知."""
    st = _styles()
    mt, m = ctx["meeting"], ctx["matter"]
    title = f"关于召开{mt['type_label']}的通知"
    who = {"representatives_meeting": "全体村民代表", "villagers_meeting": "全体年满十八周岁的村民（或各户代表）",
           "leading_group_meeting": "领导小组全体成员"}.get(mt["type"], "应到会人员")
    story = _title(st, ctx, title)
    story += [_p(f"{who}：", st["base"]),
              _p(f"经研究，定于 {for_people(mt['scheduled_at'])} 在 {mt['place']} 召开{mt['type_label']}，"
                 f"审议“{m['title']}”事项，请准时参加。", st["base"]),
              _p("会议议程", st["h2"]),
              _p(f"一、听取“{m['title']}”方案说明（资金来源：{m['funding_source'] or '—'}；责任人："
                 f"{m['responsible_person'] or '—'}）；", st["base"]),
              _p("二、讨论并表决（赞成、反对、弃权）；", st["base"]),
              _p("三、宣布表决结果。", st["base"]),
              _p("应到人数（按登记册于会议当日计算）", st["h2"]),
              _grid(_attendance(mt), [60 * mm, 50 * mm, 50 * mm], st["base"]),
              _p(f"本通知于 {for_people(mt['called_at'])} 发出，距开会不少于十日（村民委员会组织法）。", st["small"])]
    story += _seal(st, ctx["issuer"], ctx["date"])
    story.append(_p(f"打印于 {for_people(printed_at)}", st["small"]))
    return _build(title, story, training=training)


def sign_in(ctx: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    """会议签到表: one row per person entitled to attend, a column to sign."""
    st = _styles()
    mt = ctx["meeting"]
    title = f"{mt['type_label']}签到表"
    story = _title(st, ctx, title)
    story.append(_p(f"会议时间：{for_people(mt['scheduled_at'])}　地点：{mt['place']}", st["base"]))
    rows: list[list[Any]] = [["序号", "姓名", "户编号", "身份", "签名", "备注"]]
    for i, r in enumerate(ctx["rows"], 1):
        rows.append([i, r["name"], r["ref"], r["role"], "", ""])
    sheet = Table([[_p(c, st["base"]) for c in r] for r in rows], colWidths=[12 * mm, 30 * mm, 46 * mm, 22 * mm,
                                                                            40 * mm, 32 * mm],
                  rowHeights=[None] + [10 * mm] * (len(rows) - 1), repeatRows=1)  # room to sign by hand
    sheet.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f2f6"))]))
    story.append(sheet)
    story.append(_p(f"应到 {len(ctx['rows'])} 人，实到＿＿＿人。列席：第一书记（驻村工作队）＿＿＿＿＿＿", st["base"]))
    story += _seal(st, ctx["issuer"], ctx["day"])
    story.append(_p(f"本表只列姓名和户编号，不含身份证号、电话。打印于 {for_people(printed_at)}", st["small"]))
    return _build(title, story, training=training)


def minutes(ctx: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    """会议记录: time, place, attendance, the tally and the outcome, what was decided."""
    st = _styles()
    mt, m = ctx["meeting"], ctx["matter"]
    title = f"{mt['type_label']}记录"
    story = _title(st, ctx, title)
    facts = [["会议时间", for_people(mt["scheduled_at"])], ["会议地点", mt["place"]],
             ["议题", f"{m['kind_label']}：{m['title']}"],
             ["第一书记（驻村干部）", "到会" if mt["first_secretary_present"] else "未到会"],
             ["列席干部", "、".join(mt["cadres_present"]) or "—"]]
    if mt["minutes_ref"]:
        facts.append(["纸质记录编号", mt["minutes_ref"]])
    story.append(_grid(facts, [40 * mm, 140 * mm], st["base"], header=False))
    story += [_p("到会情况", st["h2"]), _grid(_attendance(mt), [60 * mm, 50 * mm, 50 * mm], st["base"]),
              _p("表决情况", st["h2"])]
    votes = mt["votes"] or {}
    story.append(_grid([["赞成", "反对", "弃权", "表决时间"],
                        [votes.get("for", 0), votes.get("against", 0), votes.get("abstain", 0),
                         for_people(votes.get("at"))]], [35 * mm, 35 * mm, 35 * mm, 75 * mm], st["base"]))
    story.append(_p(f"表决结果：{tally_text(votes)}。", st["base"]))
    if mt["decided_at"] is not None:
        outcome = "通过" if mt["passed"] else "未通过"
        reasons = "；".join(mt["outcome_reasons"])
        story.append(_p(f"会议结果：{outcome}{'（' + reasons + '）' if reasons else ''}；"
                        f"到会人数{'符合' if mt['quorum_met'] else '不符合'}法定要求。", st["base"]))
    story += [_p("审议事项的受益对象及金额", st["h2"]), *_beneficiaries(st, ctx["beneficiaries"], ctx["total_fen"])]
    if m["justification"]:
        story.append(_p(f"说明：{m['justification']}", st["base"]))
    story.append(Spacer(1, 6 * mm))
    story.append(_p("主持人（签字）：　　　　　　　记录人（签字）：　　　　　　　监票人（签字）：", st["base"]))
    story += _seal(st, ctx["issuer"], ctx["date"])
    story.append(_p(f"打印于 {for_people(printed_at)}", st["small"]))
    return _build(title, story, training=training)


def review_form(ctx: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    """乡镇审核意见表: the matter, its meeting's result and amounts, and the opinion with the body's seal."""
    st = _styles()
    m = ctx["matter"]
    title = "乡镇审核意见表" if len(m["region_code"]) == 12 else "审核意见表"
    story = _title(st, ctx, title)
    mt = ctx["meeting"]
    rows = [["事项名称", m["title"]], ["事项类型", m["kind_label"]], ["年度", m["year"] or "—"],
            ["报审单位", ctx["issuer"]], ["资金来源", m["funding_source"] or "—"],
            ["责任人", m["responsible_person"] or "—"]]
    if mt is not None:
        rows.append(["会议", f"{mt['type_label']}，{for_people(mt['scheduled_at'])}，{mt['place']}"])
        rows.append(["表决", tally_text(mt["votes"])])
    if ctx["total_fen"]:
        rows.append(["金额合计", f"{format_yuan(ctx['total_fen'])} 元（大写：{capitals(ctx['total_fen'])}）"])
    rows.append(["受益对象", f"{len(ctx['beneficiaries'])} 个"])
    story.append(_grid(rows, [34 * mm, 146 * mm], st["base"], header=False))
    story.append(_p("审核意见", st["h2"]))
    if ctx["reviews"]:
        for r in ctx["reviews"]:
            verdict = "审核通过" if r["decision"] == "approve" else "退回修改"
            story.append(_grid([[f"第 {r['round']} 轮", f"{verdict}：{r['comments'] or '同意。'}"],
                                ["审核人", r["reviewer"]], ["审核时间", for_people(r["at"])]],
                               [34 * mm, 146 * mm], st["base"], header=False))
        date = ctx["reviews"][-1]["date"]
    else:
        story.append(_grid([["意见", "\n\n\n"], ["审核人", ""], ["日期", ""]], [34 * mm, 146 * mm], st["base"],
                           header=False))
        date = "　　年　　月　　日"
    story += _seal(st, ctx["reviewer_body"], date)
    story.append(_p(f"打印于 {for_people(printed_at)}", st["small"]))
    return _build(title, story, training=training)


def announcement(ctx: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    """执行结果公告: what was paid (in 元 and capitals), what was written off and why, where to complain."""
    st = _styles()
    c = ctx["content"]
    title = str(c.get("title") or "执行结果公告")
    story = _title(st, ctx, title)
    story.append(_p(f"公告时间：{for_people(ctx['announced_at'])}", st["base"]))
    pay = c.get("payments") or {}
    if pay:
        paid = int(pay.get("paid_fen", 0))
        story.append(_p(f"本事项已支付 {pay.get('paid_count', 0)} 笔，合计 {format_yuan(paid)} 元（大写：{capitals(paid)}）。",
                        st["base"]))
        rows: list[list[Any]] = [["序号", "收款人", "金额（元）", "状态"]]
        for i, ln in enumerate(pay.get("lines") or [], 1):
            rows.append([i, ln.get("name", ""), format_yuan(int(ln.get("amount_fen", 0))),
                         {"paid": "已支付", "written_off": "已核销"}.get(ln.get("status"), ln.get("status", ""))])
        story.append(_grid(rows, [16 * mm, 70 * mm, 50 * mm, 44 * mm], st["small"]))
        for w in pay.get("written_off") or []:
            story.append(_p(f"已核销：{w.get('name', '')} {format_yuan(int(w.get('amount_fen', 0)))} 元，"
                            f"{w.get('reason', '')}（{w.get('decision', '')}）", st["base"]))
    elif c.get("beneficiaries"):
        story += _beneficiaries(st, c["beneficiaries"], None)
    story.append(_p("监督渠道", st["h2"]))
    for ch in c.get("complaint_channels") or []:
        story.append(_p(f"· {ch.get('name', '')}{'：' + ch['number'] if ch.get('number') else ''}", st["base"]))
    cp = c.get("ledger_checkpoint") or {}
    if cp:
        story.append(_p(f"账本检查点：条目数 {cp.get('size', '')}，根（base64）{cp.get('root', '')}", st["small"]))
    story += _seal(st, ctx["issuer"], ctx["date"])
    story.append(_p(f"本公告不含身份证号、电话、银行账号。打印于 {for_people(printed_at)}", st["small"]))
    return _build(title, story, training=training)


def dossier(ctx: dict[str, Any], *, printed_at: Any, training: bool = False,
            action_label: Callable[[str], str] = str, state_label: Callable[[str], str] = str) -> bytes:
    """事项档案 for the archive room: one printable file beside the verifiable zip (which it does not replace)."""
    st = _styles()
    m = ctx["matter"]
    title = f"事项档案 · {m['title']}"
    story = _title(st, ctx, "事项档案")
    story.append(_grid([["事项", f"{m['kind_label']}：{m['title']}"], ["年度", m["year"] or "—"],
                        ["状态", m["state_label"]], ["起草", for_people(ctx["created_at"])],
                        ["归档", for_people(ctx["archived_at"])], ["文件摘要", ctx["document_digest"]],
                        ["金额合计", f"{format_yuan(ctx['total_fen'])} 元（大写：{capitals(ctx['total_fen'])}）"]],
                       [30 * mm, 150 * mm], st["base"], header=False))
    story.append(_p("一、办理过程（每步一条账本记录）", st["h2"]))
    rows: list[list[Any]] = [["时间（北京时间）", "操作", "状态", "办理人", "账本序号"]]
    for e in ctx["events"]:
        rows.append([for_people(e["at"]), action_label(e["action"]), state_label(e["to"]), e["actor"],
                     e["ledger_index"] if e["ledger_index"] is not None else ""])
    story.append(_grid(rows, [46 * mm, 34 * mm, 28 * mm, 52 * mm, 20 * mm], st["small"]))
    mt = ctx["meeting"]
    if mt is not None:
        story += [_p("二、会议与表决", st["h2"]),
                  _p(f"{mt['type_label']}：{for_people(mt['scheduled_at'])}，{mt['place']}。{tally_text(mt['votes'])}。"
                     f"{'通过' if mt['passed'] else '未通过' if mt['decided_at'] else ''}", st["base"]),
                  _grid(_attendance(mt), [60 * mm, 50 * mm, 50 * mm], st["small"])]
    story.append(_p("三、审核", st["h2"]))
    for r in ctx["reviews"]:
        story.append(_p(f"{for_people(r['at'])} {r['reviewer']}：{'审核通过' if r['decision'] == 'approve' else '退回修改'}"
                        f"{'，' + r['comments'] if r['comments'] else ''}", st["base"]))
    story.append(_p("四、受益对象及金额", st["h2"]))
    story += _beneficiaries(st, ctx["beneficiaries"], ctx["total_fen"])
    story.append(_p("五、公示与异议", st["h2"]))
    for n in ctx["notices"]:
        story.append(_p(f"公示 {n['id']}：{for_people(n['posted_at'])} 至 {for_people(n['ends_at'])}（{n['days']} 天）；"
                        f"检查点根（base64）{n['root']}", st["base"]))
    for o in ctx["objections"]:
        story.append(_p(f"异议 #{o['id']}（{for_people(o['filed_at'])}）：{o['text']}；答复：{o['answer'] or '—'}", st["small"]))
    if not ctx["objections"]:
        story.append(_p("公示期内无异议。", st["base"]))
    pay = ctx["payments"]
    if pay:
        paid = int(pay.get("paid_fen", 0))
        story += [_p("六、支付", st["h2"]),
                  _p(f"已支付 {pay.get('paid_count', 0)} 笔，合计 {format_yuan(paid)} 元（大写：{capitals(paid)}）；"
                     f"已核销 {pay.get('written_off_count', 0)} 笔。", st["base"])]
    last = next((n for n in reversed(ctx["notices"]) if n["checkpoint"]), None)
    if last is not None:
        story += [_p("七、账本检查点（公示时，签名注记全文）", st["h2"]),
                  Preformatted("\n".join(note_lines(last["checkpoint"])),
                               ParagraphStyle("note", parent=st["small"], fontSize=6.5, leading=8.5))]
    story.append(_p("本档案与可验证档案包（dossier.zip，daipin ledger verify-bundle 核验）同时归档；"
                    "不含身份证号、电话、银行账号。", st["small"]))
    story += _seal(st, ctx["issuer"], ctx.get("archived_day", ""), stamp=True)
    story.append(_p(f"打印于 {for_people(printed_at)}", st["small"]))
    return _build(title, story, training=training)


def contract(ctx: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    """利益联结协议: the parties, the term, every term in force by its name, the versions, places to sign."""
    st = _styles()
    c = ctx["contract"]
    title = f"利益联结协议（{c['model_label']}）"
    story: Story = [_p(title, st["title"]), _p(f"协议编号 {c['code']} · 第 {c['version']} 版 · {c['status_label']}",
                                                 st["small"])]
    story.append(_grid([["甲方（实施主体）", c["entity"]], ["乙方（受益方）", c["payee"] or "—"],
                        ["项目", f"{c['project']}（{c['project_code']}）"],
                        ["务工人员", c["person"] or "—"], ["签订日期", c["signed_on"] or "—"],
                        ["协议期限", f"{c['start']} 至 {c['end']}"]], [40 * mm, 140 * mm], st["base"], header=False))
    story.append(_p("协议条款（现行）", st["h2"]))
    story.append(_grid([[t["label"], t["value"]] for t in ctx["terms"]] or [["—", "—"]], [50 * mm, 130 * mm],
                       st["base"], header=False))
    if len(ctx["history"]) > 1:
        story.append(_p("版本记录", st["h2"]))
        rows: list[list[Any]] = [["版本", "变更原因", "生效日期", "操作人", "时间"]]
        for v in ctx["history"]:
            rows.append([f"第 {v['version']} 版", v["reason"] or "—", v["effective_from"] or "—", v["actor"],
                         for_people(v["at"])])
        story.append(_grid(rows, [18 * mm, 60 * mm, 26 * mm, 36 * mm, 40 * mm], st["small"]))
    story.append(Spacer(1, 10 * mm))
    story.append(_p("甲方（盖章）：　　　　　　　　　　乙方（签字或盖章）：", st["base"]))
    story.append(_p("日期：　　年　　月　　日　　　　　日期：　　年　　月　　日", st["base"]))
    story.append(_p(f"本协议文本由系统按登记的现行版本生成，不含身份证号、电话、银行账号。打印于 {for_people(printed_at)}",
                    st["small"]))
    return _build(title, story, training=training)
