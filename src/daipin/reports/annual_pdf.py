"""The annual report (年度报告) of a village, township or district as PDF: totals in 元 and 大写, a chart of pools
and payments region by region and one of income per household (reportlab graphics), the table, the findings."""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from daipin.domain.localtime import for_people
from daipin.domain.money import format_yuan
from daipin.reports.notice_pdf import _training_mark, cjk_font
from daipin.reports.payment_pdf import _doc, _grid, _p, _styles, capitals

CHART_ROWS = 40  # regions drawn in a chart; the table lists them all
POOL_COLOR, PAID_COLOR, HOUSEHOLD_COLOR = colors.HexColor("#5470c6"), colors.HexColor("#91cc75"), colors.HexColor("#fac858")


def _wan(fen: int) -> float:
    """Fen as 万元 for a chart's axis."""
    return round(fen / 1_000_000, 2)


def _bars(title: str, labels: list[str], series: list[tuple[str, list[float], Any]], unit: str) -> Drawing:
    font = cjk_font()
    width, height = 178 * mm, 70 * mm
    d = Drawing(width, height)
    d.add(String(0, height - 10, f"{title}（{unit}）", fontName=font, fontSize=9))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 36, 28, width - 50, height - 58
    chart.data = [values or [0] for _name, values, _c in series]
    for i, (_name, _v, color) in enumerate(series):
        chart.bars[i].fillColor = color
    chart.categoryAxis.categoryNames = [x[:6] for x in labels] or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 5 if len(labels) > 12 else 7
    chart.categoryAxis.labels.angle = 45 if len(labels) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 120, height - 8
    legend.fontName, legend.fontSize = font, 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [(c, name) for name, _v, c in series]
    d.add(legend)
    return d


def render(report: dict[str, Any], *, printed_at: Any, training: bool = False) -> bytes:
    st = _styles()
    r, t = report["region"], report["totals"]
    title = f"{r['name']}{report['year']}年度带贫益贫年度报告"
    buf = io.BytesIO()
    story: list[Any] = [_p(title, st["title"]),
                        _p(f"{r['level']} {r['name']}（{r['code']}） · 打印于 {for_people(printed_at)}", st["small"])]
    story.append(_grid([
        ["资金池", f"{format_yuan(t['pool_fen'])} 元（大写：{capitals(t['pool_fen'])}），共 {t['pools']} 个"],
        ["已支付", f"{format_yuan(t['paid_fen'])} 元（大写：{capitals(t['paid_fen'])}）"],
        ["其中支付到户", f"{format_yuan(t['paid_household_fen'])} 元"],
        ["受益户数", f"{t['households']} 户"],
        ["户均收入（仅已支付）", f"{format_yuan(t['per_household_fen'])} 元"],
    ], [44 * mm, 138 * mm], st["base"], header=False))
    rows = report["rows"][:CHART_ROWS]
    labels = [x["name"] for x in rows]
    if rows:
        story.append(_bars(f"各{report['row_label']}资金池与已支付", labels,
                           [("资金池", [_wan(x["pool_fen"]) for x in rows], POOL_COLOR),
                            ("已支付", [_wan(x["paid_fen"]) for x in rows], PAID_COLOR)], "万元"))
        story.append(_bars(f"各{report['row_label']}户均收入", labels,
                           [("户均收入", [x["per_household_fen"] / 100 for x in rows], HOUSEHOLD_COLOR)], "元"))
    story.append(_p(f"分{report['row_label']}情况", st["h2"]))
    table: list[list[Any]] = [[report["row_label"], "资金池（元）", "已支付（元）", "受益户数", "户均收入（元）"]]
    for x in report["rows"]:
        table.append([x["name"], format_yuan(x["pool_fen"]), format_yuan(x["paid_fen"]), x["households"],
                      format_yuan(x["per_household_fen"])])
    table.append(["合计", format_yuan(t["pool_fen"]), format_yuan(t["paid_fen"]), t["households"],
                  format_yuan(t["per_household_fen"])])
    story.append(_grid(table, [52 * mm, 36 * mm, 36 * mm, 24 * mm, 34 * mm], st["small"]))
    if report["by_kind"]:
        story.append(_p("按事项类型", st["h2"]))
        kinds: list[list[Any]] = [["事项类型", "资金池（元）", "已支付（元）", "受益户数"]]
        for k in report["by_kind"]:
            kinds.append([k["label"], format_yuan(k["pool_fen"]), format_yuan(k["paid_fen"]), k["households"]])
        story.append(_grid(kinds, [60 * mm, 44 * mm, 44 * mm, 34 * mm], st["small"]))
    story.append(_p("督查发现", st["h2"]))
    for f in report["findings"]:
        story.append(_p(f"· {f.get('title', '')}（{f.get('status', '')}）", st["base"]))
    if report["findings_note"]:
        story.append(_p(report["findings_note"], st["base"]))
    story.append(_p("户均收入 = 已支付到户金额 ÷ 获得支付的户数（未支付、支付失败、已核销的不计）。不含个人信息。", st["small"]))
    doc = _doc(buf, title, A4)
    if training:
        mark = _training_mark(cjk_font())
        doc.build(story, onFirstPage=mark, onLaterPages=mark)
    else:
        doc.build(story)
    return buf.getvalue()
