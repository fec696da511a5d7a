"""The monthly 通报 of a region: a Word document in the register of county bureaus' reports.

Every figure is taken from the functions behind ``GET /api/v1/coverage`` and ``GET /api/v1/risks``
(``api.coverage.stored_rows`` → ``period.coverage_rows``, ``api.coverage._summary`` and
``period.errors_as_of``), so the bulletin, the dashboard and the xlsx say the same thing.

The trend is a chart and a table. The chart is a PNG drawn by matplotlib (Agg, through a
``Figure`` of its own: no pyplot, no change to matplotlib's global state) with ASCII text only --
months as 2026-06, percentages as 95%, series keys A-E -- in DejaVu Sans, the font matplotlib
ships, so it draws the same on any server whatever fonts it has. The Chinese title, caption and
the key to A-E are Word paragraphs around the picture (the reader's Word renders them). The
table under it keeps the exact figures, editable. The picture's alt text lists every plotted
value, so a screen reader (and a test) reads what the lines show.
"""

from __future__ import annotations

import io
import math
import threading
from typing import Any

import polars as pl
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Emu, Pt, RGBColor

from sitereg import grammar as g
from sitereg import period as period_mod
from sitereg.exports import INVESTMENT_ZH, RATE_COLUMNS, arrears_unknown, money, period_zh
from sitereg.grammar import add_months
from sitereg.validate.coverage import sum_counts
from sitereg.validate.rules import BY_CODE

RATE_SHORT = {"realname_rate": "实名制覆盖率", "contract_rate": "劳动合同签订率", "dedicated_account_rate": "专户代发率",
              "full_pay_rate": "足额发放率", "on_time_rate": "按时发放率"}
CN_NUM = "一二三四五六七八九十"
TREND_MONTHS = 12
RISK_LIMIT = 20


# The chart's series: (API key, key drawn in the picture, colour, line style, marker). The colours
# are the dashboard's; line style and marker tell the lines apart when printed in black and white.
CHART_SERIES = (("realname_rate", "A", "#1d5fa8", "-", "o"),
                ("contract_rate", "B", "#d9480f", (0, (6, 3)), "s"),
                ("dedicated_account_rate", "C", "#2b8a3e", (0, (2, 2)), "^"),
                ("full_pay_rate", "D", "#862e9c", (0, (8, 2, 2, 2)), "D"),
                ("on_time_rate", "E", "#5c6770", (0, (1, 1)), "v"))
LINE_ZH = {"-": "实线", (0, (6, 3)): "虚线", (0, (2, 2)): "短虚线", (0, (8, 2, 2, 2)): "点划线", (0, (1, 1)): "点线"}
MARKER_ZH = {"o": "圆点", "s": "方块", "^": "上三角", "D": "菱形", "v": "下三角"}
CHART_WIDTH_IN, CHART_HEIGHT_IN, CHART_DPI = 6.2, 3.0, 200


def filename(region: str, period: str) -> tuple[str, str]:
    return f"实名制和工资支付情况通报-{region}-{period}.docx", f"bulletin-{region}-{period}.docx"


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def yuan(text: str | None) -> str:
    return "—" if text is None else f"{money(text):,.2f}元"


def count(n: int) -> str:
    return f"{n:,}"


def _frac(t: dict[str, Any], key: str) -> str:
    f = t["fractions"][key]
    return f"{count(f['numerator'])}/{count(f['denominator'])}"


def _arrears(t: dict[str, Any]) -> str:
    return "无法估算" if arrears_unknown(t) else yuan(t["arrears_estimate"])


def _change(now: float | None, before: float | None) -> str:
    if now is None:
        return "本月无可计算人数"
    if before is None:
        return "上月无可计算人数，无法比较"
    diff = round((now - before) * 100, 1)
    if diff == 0:
        return "与上月持平"
    return f"较上月{'上升' if diff > 0 else '下降'}{abs(diff):.1f}个百分点"


# ------------------------------------------------------------------------------------------------
# figures


class Figures:
    """What the bulletin says, computed as the coverage and risk endpoints compute it."""

    def __init__(self, stored_rows, request, principal, region: str, period: str) -> None:
        from sitereg.api.coverage import INVESTMENT_TYPES, _summary

        today = request.app.state.today()
        self.today, self.region, self.period = today, region, period
        first = add_months(period, -(TREND_MONTHS - 1))
        rows, projects = stored_rows(request, principal, first, period, region, None)
        self.projects = projects
        month = rows.filter(pl.col("period") == period) if rows.height else rows
        prev = rows.filter(pl.col("period") == add_months(period, -1)) if rows.height else rows

        def split(frame: pl.DataFrame, t: str) -> pl.DataFrame:
            return frame.filter(pl.col("investment_type") == t) if frame.height else frame

        self.totals = _summary(month, today, period, period)
        self.by_type = {t: _summary(split(month, t), today, period, period) for t in INVESTMENT_TYPES}
        self.previous = _summary(prev, today, add_months(period, -1), add_months(period, -1))
        self.previous_gov = _summary(split(prev, "government"), today, add_months(period, -1), add_months(period, -1))
        self.in_scope = {"all": len(projects), **{t: sum(p.investment_type == t for p in projects.values())
                                                  for t in INVESTMENT_TYPES}}
        uploaded = set(month.get_column("project").to_list()) if month.height else set()
        self.missing = sorted((p for c, p in projects.items() if c not in uploaded), key=lambda p: p.code)
        months = sorted(set(rows.get_column("period").to_list())) if rows.height else []
        self.trend = [(m, _summary(rows.filter(pl.col("period") == m), today, m, m)) for m in months]
        # The risk list of GET /api/v1/risks: arrears first, then error counts.
        self.risks = []
        for row in month.iter_rows(named=True) if month.height else []:
            errors = period_mod.errors_as_of(row, today)
            p = projects[row["project"]]
            item = _summary(month.filter(pl.col("project") == row["project"]), today, period, period)
            self.risks.append({"project": p.code, "name": p.name, "investment_type": p.investment_type,
                               "arrears_fen": row["arrears_fen"], "coverage": item, "errors": sum(errors.values()),
                               "by_rule": errors})
        self.risks.sort(key=lambda r: (-r["arrears_fen"], -r["errors"], r["project"]))
        self.unknown_arrears = sum(1 for r in self.risks if arrears_unknown(r["coverage"]))
        self.summed = sum_counts(month)


# ------------------------------------------------------------------------------------------------
# trend chart

_MPL_LOCK = threading.Lock()


def _matplotlib():
    """matplotlib's Figure and Agg canvas, imported on first use (a cold import takes a second or
    more; ``warm_up`` does it ahead of the first bulletin). Only these classes are used: no pyplot,
    no ``matplotlib.use``, no rcParams changes."""
    with _MPL_LOCK:
        from matplotlib import get_data_path
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.font_manager import FontProperties
    return Figure, FigureCanvasAgg, FontProperties, get_data_path


def warm_up() -> None:
    """Import matplotlib and load its font once, so that the first 通报 is as quick as the next."""
    trend_png("2026-01", "2026-12", [])


def chart_months(first: str, last: str) -> list[str]:
    return [add_months(first, i) for i in range(g.month_index(last) - g.month_index(first) + 1)]


def trend_png(first: str, last: str, trend: list[dict[str, Any]]) -> bytes:
    """The trend chart as PNG bytes: one line per rate of ``CHART_SERIES`` over every month from
    ``first`` to ``last`` (the axis shows them all; a month without data leaves a gap in the line).

    ``trend``: items shaped as ``GET /api/v1/coverage?period_from=&period_to=``'s ``trend`` (a
    ``period`` and the rates, None where a rate has no denominator). Deterministic: the same trend
    gives the same bytes (bundled font, fixed size and dpi, no timestamp in the file)."""
    Figure, FigureCanvasAgg, FontProperties, data_path = _matplotlib()
    font_path = f"{data_path()}/fonts/ttf/DejaVuSans.ttf"
    small, normal = FontProperties(fname=font_path, size=8), FontProperties(fname=font_path, size=9)
    months = chart_months(first, last)
    by_month = {t["period"]: t for t in trend}
    fig = Figure(figsize=(CHART_WIDTH_IN, CHART_HEIGHT_IN), dpi=CHART_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.085, 0.2, 0.8, 0.72))
    xs = list(range(len(months)))
    for key, label, colour, style, marker in CHART_SERIES:
        ys = [math.nan if (by_month.get(m) or {}).get(key) is None else by_month[m][key] * 100 for m in months]
        ax.plot(xs, ys, color=colour, linestyle=style, linewidth=1.6, marker=marker, markersize=4.5,
                markeredgecolor="white", markeredgewidth=0.6, label=label, clip_on=False)
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_yticklabels([f"{v}%" for v in (0, 25, 50, 75, 100)], fontproperties=small)
    ax.set_xticks(xs)
    ax.set_xticklabels(months, fontproperties=small, rotation=45 if len(months) > 8 else 0,
                       ha="right" if len(months) > 8 else "center", rotation_mode="anchor")
    ax.grid(axis="y", color="#e3e8ee", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#8a99a8")
    ax.tick_params(colors="#52606d", length=3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), prop=normal, frameon=False, handlelength=2.6,
              borderaxespad=0)
    out = io.BytesIO()
    # No "Software" text chunk: the bytes depend on the figures alone.
    fig.savefig(out, format="png", dpi=CHART_DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


def chart_alt_text(first: str, last: str, trend: list[dict[str, Any]]) -> str:
    """Every plotted value in words (the picture's alt text): screen readers read it out."""
    by_month = {t["period"]: t for t in trend}
    parts = []
    for m in chart_months(first, last):
        t = by_month.get(m)
        if t is None:
            parts.append(f"{m}：无已上传资料")
        else:
            parts.append(f"{m}：" + "，".join(f"{RATE_SHORT[k]}{pct(t.get(k))}" for k, *_ in CHART_SERIES))
    return f"{period_zh(first, last)}主要覆盖率趋势图。" + "；".join(parts) + "。"


def chart_legend_zh() -> str:
    return "图例：" + "；".join(f"{label} {RATE_SHORT[key]}（{LINE_ZH[style]}、{MARKER_ZH[marker]}）"
                              for key, label, _c, style, marker in CHART_SERIES) + "。"


def _picture(doc, png: bytes, alt: str) -> None:
    doc.add_picture(io.BytesIO(png), width=Emu(int(CHART_WIDTH_IN * 914400)))
    p = doc.paragraphs[-1]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = None
    inline = doc.inline_shapes[-1]._inline
    inline.docPr.set("name", "趋势图")
    inline.docPr.set("descr", alt)


# ------------------------------------------------------------------------------------------------
# document


def _font(run, size: float | None = None, bold: bool = False, color: RGBColor | None = None, family: str = "仿宋") -> None:
    run.font.name = family
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)
    if size:
        run.font.size = Pt(size)
    run.bold = bold
    if color is not None:
        run.font.color.rgb = color


def _para(doc, text: str, *, size: float = 14, bold: bool = False, align=None, indent: bool = True, family: str = "仿宋"):
    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    p.paragraph_format.line_spacing = 1.5
    _font(p.add_run(text), size, bold, family=family)
    return p


def _heading(doc, text: str) -> None:
    _para(doc, text, size=14, bold=True, indent=False, family="黑体")


def _table(doc, head: list[str], rows: list[list[str]], widths: list[float] | None = None):
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, head):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), 10.5, True)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), 10.5)
    return table


def build(stored_rows, request, principal, region: str, period: str) -> bytes:
    f = Figures(stored_rows, request, principal, region, period)
    month_zh = period_zh(period, period)
    t, gov = f.totals, f.by_type["government"]
    doc = Document()
    for section in doc.sections:
        section.left_margin = section.right_margin = Pt(72)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(f"关于{month_zh}区划{region}在建工程项目农民工实名制管理和工资支付情况的通报"), 20, True, family="宋体")
    _para(doc, f"（数据截至{f.today.year}年{f.today.month}月{f.today.day}日）", size=12, indent=False,
          align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"根据《保障农民工工资支付条例》《建筑工人实名制管理办法》，现将{month_zh}区划{region}内在建工程项目"
               "农民工实名制管理和工资支付情况通报如下：")

    n = 0

    def section(text: str) -> None:
        nonlocal n
        _heading(doc, f"{CN_NUM[n]}、{text}")
        n += 1

    section("总体情况")
    uploaded = t["projects"]
    _para(doc, f"本月纳入监管的在建工程项目共{count(f.in_scope['all'])}个，已上传本月资料的{count(uploaded)}个，"
               f"未上传的{count(f.in_scope['all'] - uploaded)}个。已上传项目在场农民工{count(t['workers_active'])}人，"
               f"本月发薪{count(t['workers_paid'])}人。")
    _para(doc, "、".join(f"{name}{pct(t[k])}（{_frac(t, k)}）" for k, name in RATE_SHORT.items()) + "。"
          f"通过农民工工资专用账户发放工资{yuan(t['wages_paid'])}，其中社会保障卡发放{count(t['ssc_payouts']['count'])}人次、"
          f"{yuan(t['ssc_payouts']['amount'])}。欠薪风险金额{_arrears(t)}"
          + (f"（另有{f.unknown_arrears}个项目没有日薪或月薪工资标准，无法估算，未计入）" if f.unknown_arrears and not arrears_unknown(t)
             else "") + "。")
    _para(doc, f"其中政府投资工程项目{count(f.in_scope['government'])}个，已上传本月资料的{count(gov['projects'])}个，"
               f"在场农民工{count(gov['workers_active'])}人；"
          + "、".join(f"{name}{pct(gov[k])}" for k, name in RATE_SHORT.items())
          + f"；专用账户发放工资{yuan(gov['wages_paid'])}，欠薪风险金额{_arrears(gov)}。")
    _table(doc, ["指标", "全部项目", "其中政府投资工程项目", "国企投资", "其他"],
           [["项目数（已上传/在监管）", *[f"{count(f.by_type[k]['projects'] if k != 'all' else t['projects'])}/"
                                         f"{count(f.in_scope[k])}" for k in ("all", "government", "state_owned", "other")]],
            ["在场人数", *[count(x["workers_active"]) for x in (t, gov, f.by_type["state_owned"], f.by_type["other"])]],
            *[[name, *[pct(x[k]) for x in (t, gov, f.by_type["state_owned"], f.by_type["other"])]] for k, name in RATE_COLUMNS],
            ["专户发放工资总额", *[yuan(x["wages_paid"]) for x in (t, gov, f.by_type["state_owned"], f.by_type["other"])]],
            ["欠薪风险金额", *[_arrears(x) for x in (t, gov, f.by_type["state_owned"], f.by_type["other"])]]])

    section("与上月比较")
    prev_month = period_zh(add_months(period, -1), add_months(period, -1))
    if f.previous["projects"] == 0:
        _para(doc, f"{prev_month}没有已上传资料的项目，本月无法与上月比较。")
    else:
        _para(doc, f"与{prev_month}相比（上月已上传项目{count(f.previous['projects'])}个，在场农民工"
                   f"{count(f.previous['workers_active'])}人）：" + "；".join(
                       f"{name}{pct(t[k])}，{_change(t[k], f.previous[k])}" for k, name in RATE_SHORT.items()) + "。")
        if f.previous_gov["projects"]:
            _para(doc, "其中政府投资工程项目：" + "；".join(
                f"{name}{pct(gov[k])}，{_change(gov[k], f.previous_gov[k])}" for k, name in RATE_SHORT.items()) + "。")

    section("本月未上传资料的项目")
    if f.missing:
        _para(doc, f"以下{len(f.missing)}个项目本月未上传花名册、考勤、工资发放等任何资料，无法核查，"
                   "其覆盖率未计入上述统计：")
        _table(doc, ["序号", "项目编码", "项目名称", "区划代码", "投资类型"],
               [[str(i), p.code, p.name, p.region_code, INVESTMENT_ZH.get(p.investment_type, p.investment_type)]
                for i, p in enumerate(f.missing, start=1)])
    else:
        _para(doc, "本月所有在监管项目均已上传资料。")

    section("欠薪风险项目及主要问题")
    arrears = [r for r in f.risks if r["arrears_fen"] > 0 or (r["by_rule"].get("NOT_PAID") and not arrears_unknown(r["coverage"]))]
    unknown = [r for r in f.risks if arrears_unknown(r["coverage"]) and r["by_rule"].get("NOT_PAID")]
    quality = [r for r in f.risks if r not in arrears and r not in unknown and r["errors"]]
    if arrears:
        _para(doc, f"本月{len(arrears)}个项目存在欠薪风险（按欠薪风险金额排序"
                   + (f"，列出前{RISK_LIMIT}个" if len(arrears) > RISK_LIMIT else "") + "）：")
        _risk_table(doc, arrears[:RISK_LIMIT])
    else:
        _para(doc, "本月已上传项目中未发现可估算金额的欠薪风险。")
    if unknown:
        _para(doc, f"另有{len(unknown)}个项目存在未发工资人员，但没有日薪或月薪工资标准，欠薪金额无法估算，请重点核查：")
        _risk_table(doc, unknown[:RISK_LIMIT])
    if quality:
        _para(doc, f"以下{len(quality)}个项目没有估算出欠薪，但资料存在错误（如身份证号码无效、未实名登记、未签劳动合同），"
                   "需督促整改：")
        _risk_table(doc, quality[:RISK_LIMIT])

    section(f"近{TREND_MONTHS}个月趋势")
    first = add_months(period, -(TREND_MONTHS - 1))
    if f.trend:
        trend = [{"period": m, **x} for m, x in f.trend]
        _para(doc, f"{period_zh(first, period)}各月已上传项目的主要覆盖率如图1所示（没有已上传资料的月份不画点），"
                   "各月具体数字见图下方的表格。")
        _picture(doc, trend_png(first, period, trend), chart_alt_text(first, period, trend))
        _para(doc, f"图1  {period_zh(first, period)}区划{region}主要覆盖率趋势", size=12, bold=True, indent=False,
              align=WD_ALIGN_PARAGRAPH.CENTER, family="黑体")
        _para(doc, chart_legend_zh() + "横轴为月份（年-月），纵轴为覆盖率（%）。", size=10.5, indent=False)
        _table(doc, ["月份", "已上传项目", "在场人数", *RATE_SHORT.values(), "欠薪风险金额"],
               [[m, count(x["projects"]), count(x["workers_active"]), *[pct(x[k]) for k in RATE_SHORT], _arrears(x)]
                for m, x in f.trend])
    else:
        _para(doc, f"近{TREND_MONTHS}个月没有已上传资料的项目，无趋势可画。")

    section("下一步工作要求")
    asks = []
    if f.missing:
        asks.append("请未上传本月资料的项目总承包单位尽快补传花名册、劳动合同、考勤和工资发放资料。")
    if arrears or unknown:
        asks.append("请对欠薪风险项目逐一核实工资发放情况，督促总承包单位通过专用账户按月足额发放，限期整改。")
    if quality:
        asks.append("请督促资料存在错误的项目按核查问题清单更正后重新上传。")
    asks.append("各项目应持续落实实名制管理、工资专用账户、工资保证金、银行代发工资和维权信息公示五项制度。")
    for i, text in enumerate(asks):
        _para(doc, f"（{CN_NUM[i]}）{text}")

    _para(doc, "附件：各项目明细见同月《实名制工资支付覆盖率》Excel 报表。", size=12)
    sign = _para(doc, f"{f.today.year}年{f.today.month}月{f.today.day}日", indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    sign.paragraph_format.space_before = Pt(24)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _main_problems(by_rule: dict[str, int], top: int = 3) -> str:
    items = sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return "；".join(f"{BY_CODE[c].title_zh if c in BY_CODE else c}{count(n)}{'人' if c == 'NOT_PAID' else '条'}" for c, n in items) or "—"


def _risk_table(doc, risks: list[dict[str, Any]]) -> None:
    _table(doc, ["序号", "项目编码", "项目名称", "投资类型", "在场人数", "欠薪风险金额", "错误数", "主要问题"],
           [[str(i), r["project"], r["name"], INVESTMENT_ZH.get(r["investment_type"], r["investment_type"]),
             count(r["coverage"]["workers_active"]), _arrears(r["coverage"]), count(r["errors"]), _main_problems(r["by_rule"])]
            for i, r in enumerate(risks, start=1)])


def region_ok(region: str) -> bool:
    return g.REGION_PREFIX.ok(region)
