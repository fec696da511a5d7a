"""Files a bureau hands on: the region's coverage workbook and a project-month's findings (xlsx
and csv), in Chinese, with real numbers (rates as 0.0% cells, yuan as 0.00 cells).

The figures come in already computed by the API's own functions (``api.coverage._summary`` and
the Coverage items of ``GET /api/v1/coverage``), so a file never disagrees with the JSON.
Nothing here talks HTTP; the handlers in ``api/`` stay thin.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import urllib.parse
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill

from sitereg.validate.columns import KIND_LABELS
from sitereg.validate.rules import BY_CODE
from sitereg.validate.workbook import csv_safe

PCT = "0.0%"
MONEY = "#,##0.00"
COUNT = "#,##0"
INVESTMENT_ZH = {"government": "政府投资", "state_owned": "国企投资", "other": "其他"}
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
RATE_COLUMNS = (("realname_rate", "实名制覆盖率"), ("contract_rate", "劳动合同签订率"),
                ("dedicated_account_rate", "专户代发率（总包代发落实率）"), ("full_pay_rate", "足额发放率"),
                ("on_time_rate", "按时发放率"))
FIVE_ZH = (("realname", "实名制"), ("dedicated_account", "专用账户"), ("guarantee", "工资保证金"),
           ("bank_payroll", "银行代发"), ("notice_board", "维权公示牌"))
CROSS_PROJECT = ("ATTENDANCE_OVERLAP", "PAID_TWICE")
NOT_UPLOADED = "未上传"
CANNOT_ESTIMATE = "无法估算"
GOV_ROW = "其中政府投资工程项目"
ALL_ROW = "全部项目（合计）"
HEAD_FONT = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
TITLE_FONT = Font(bold=True, size=14)
WARN_FONT = Font(color="9C0006")
WRAP = Alignment(wrap_text=True, vertical="top")


# ------------------------------------------------------------------------------------------------
# shared helpers

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _put_text(cell, value: object) -> None:
    """Store ``value`` as a string cell, never as a formula (a project name may start with =)."""
    text = ILLEGAL_CHARACTERS_RE.sub("", value if isinstance(value, str) else str(value))[:32767]
    cell.value = text  # openpyxl makes "=..." a formula here ...
    cell.data_type = "s"  # ... so the type is set back to string explicitly
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True  # Excel's own "this is text" mark


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the real (Chinese) name as RFC 5987 ``filename*``."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def period_zh(first: str, last: str) -> str:
    def one(p: str) -> str:
        y, m = p.split("-")
        return f"{y}年{int(m)}月"
    return one(first) if first == last else f"{one(first)}至{one(last)}"


def money(text: str | None) -> Decimal | None:
    """A yuan decimal string of the API ("1234.50") as a number for a cell (exact to the fen)."""
    return None if text is None else Decimal(text)


def arrears_unknown(item: dict[str, Any]) -> bool:
    """No expected amount exists (no daily or monthly contract wage for anyone who worked): the
    arrears estimate is not 0, it cannot be estimated."""
    frac = (item.get("fractions") or {}).get("full_pay_rate") or {}
    return frac.get("denominator", 0) == 0 and item.get("workers_active", 0) > 0 and money(item.get("arrears_estimate")) == 0


class _Sheet:
    """A write-only sheet with typed cells: numbers stay numbers, text is never a formula."""

    def __init__(self, wb, title: str, widths: Iterable[float]) -> None:
        self.ws = wb.create_sheet(title)
        for i, w in enumerate(widths, start=1):
            self.ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = w

    def cell(self, value: Any, fmt: str | None = None, font: Font | None = None, fill: PatternFill | None = None,
             wrap: bool = False) -> Cell:
        cell = WriteOnlyCell(self.ws)
        if isinstance(value, str):
            _put_text(cell, value)
        else:
            cell.value = float(value) if isinstance(value, Decimal) else value
        if fmt and not isinstance(value, str):
            cell.number_format = fmt
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if wrap:
            cell.alignment = WRAP
        return cell

    def row(self, values: Iterable[Any]) -> None:
        self.ws.append([v if isinstance(v, Cell) else self.cell(v) for v in values])

    def head(self, names: Iterable[str]) -> None:
        self.row([self.cell(n, font=HEAD_FONT, fill=HEAD_FILL, wrap=True) for n in names])


# ------------------------------------------------------------------------------------------------
# coverage.xlsx


SUMMARY_HEAD = ("统计范围", "项目数", "已上传项目数", "未上传项目数", "在场人数", "发薪人数",
                *(n for _, n in RATE_COLUMNS), "社保卡发放人次", "社保卡发放金额（元）", "专户发放工资总额（元）",
                "欠薪风险金额（元）")
PROJECT_HEAD = ("序号", "项目编码", "项目名称", "区划代码", "投资类型", "本月上传情况", "在场人数", "发薪人数",
                *(n for _, n in RATE_COLUMNS), "社保卡发放人次", "专户发放工资总额（元）", "欠薪风险金额（元）",
                "五项制度未落实")


def _rate_cells(sheet: _Sheet, item: dict[str, Any]) -> list[Cell]:
    # A rate with an empty denominator is not 0 and not 100%: "—" (nothing to measure).
    return [sheet.cell("—") if item.get(k) is None else sheet.cell(item[k], PCT) for k, _ in RATE_COLUMNS]


def _arrears_cell(sheet: _Sheet, item: dict[str, Any]) -> Cell:
    if arrears_unknown(item):
        return sheet.cell(CANNOT_ESTIMATE, font=WARN_FONT)
    return sheet.cell(money(item["arrears_estimate"]), MONEY)


def coverage_workbook(*, region: str | None, first: str, last: str, today: dt.date,
                      summaries: dict[str, dict[str, Any]], in_scope: dict[str, int],
                      items: list[dict[str, Any]], projects: dict[str, Any]) -> bytes:
    """The bureau's coverage report: 汇总 (whole region, 其中政府投资工程项目, the other investment
    types) and 项目明细 (every project in scope, 未上传 where nothing came, then the same totals).

    ``summaries``: ``_summary`` output for "all" and each investment type; ``in_scope``: projects in
    scope per the same keys; ``items``: the Coverage objects of ``GET /api/v1/coverage``;
    ``projects``: every project in scope by code (``catalog.Project``)."""
    wb = openpyxl.Workbook(write_only=True)
    where = f"区划 {region}" if region else "全部可见区划"
    months = period_zh(first, last)
    by_code = {i["project"]: i for i in items}

    s = _Sheet(wb, "汇总", (26, 8, 10, 10, 10, 10, 12, 12, 14, 12, 12, 12, 16, 18, 16))
    s.row([s.cell(f"实名制与工资支付覆盖率统计表（{months}）", font=TITLE_FONT)])
    s.row([f"统计范围：{where}；统计月份：{first if first == last else first + ' 至 ' + last}；生成日期：{today.isoformat()}"])
    s.row([])
    s.head(SUMMARY_HEAD)
    rows = (("all", ALL_ROW), ("government", GOV_ROW), ("state_owned", "国企投资工程项目"), ("other", "其他工程项目"))
    unknown_n = 0
    for key, name in rows:
        t = summaries[key]
        scope_n = in_scope[key]
        bold = HEAD_FONT if key in ("all", "government") else None
        s.row([s.cell(name, font=bold), s.cell(scope_n, COUNT), s.cell(t["projects"], COUNT),
               s.cell(scope_n - t["projects"], COUNT), s.cell(t["workers_active"], COUNT), s.cell(t["workers_paid"], COUNT),
               *_rate_cells(s, t), s.cell(t["ssc_payouts"]["count"], COUNT), s.cell(money(t["ssc_payouts"]["amount"]), MONEY),
               s.cell(money(t["wages_paid"]), MONEY), _arrears_cell(s, t)])
    unknown_n = sum(1 for i in items if arrears_unknown(i))
    s.row([])
    notes = [
        "说明：",
        "1. 比率 = 各项目分子之和 ÷ 分母之和（不是各项目比率的平均）；分母为 0 时显示“—”（无可计算人数）。",
        "2. 实名制覆盖率：在场或发薪人员中已在花名册登记且身份证有效的比例；劳动合同签订率、专户代发率以在场人数为分母；"
        "足额发放率以在场人员中有日薪或月薪合同工资标准的人数为分母（计件人员没有应发金额，不计入）。",
        "3. 按时发放率与足额发放率同一分母，只计算工资发放期限已过的人员；期限未到时显示“—”。",
        "4. 欠薪风险金额 = 各在场人员应发工资（日薪×出勤天数，或月薪×出勤天数÷21.75）减去实际发到本人账户金额之和；"
        "没有日薪或月薪工资标准的项目无法估算，标注“无法估算”，不计为 0。",
        f"5. “未上传”：本月在建（已开工、未完工）但没有上传任何资料的项目，仍列入项目数。本次 {unknown_n} 个项目的欠薪风险金额无法估算。",
    ]
    for n in notes:
        s.row([n])

    p = _Sheet(wb, "项目明细", (6, 22, 30, 10, 10, 12, 10, 10, 12, 12, 14, 12, 12, 12, 16, 16, 26))
    p.row([p.cell(f"各项目实名制与工资支付情况（{months}，{where}）", font=TITLE_FONT)])
    p.row([])
    p.head(PROJECT_HEAD)
    ordered = sorted(projects.values(), key=lambda pr: (pr.region_code, pr.code))
    for n, pr in enumerate(ordered, start=1):
        base = [p.cell(n), pr.code, pr.name, pr.region_code, INVESTMENT_ZH.get(pr.investment_type, pr.investment_type)]
        item = by_code.get(pr.code)
        if item is None:
            p.row([*base, p.cell(NOT_UPLOADED, font=WARN_FONT)])
            continue
        missing = "、".join(name for k, name in FIVE_ZH if not (item.get("five_systems") or {}).get(k)) or "—"
        p.row([*base, "已上传", p.cell(item["workers_active"], COUNT), p.cell(item["workers_paid"], COUNT),
               *_rate_cells(p, item), p.cell(item["ssc_payouts"]["count"], COUNT), p.cell(money(item["wages_paid"]), MONEY),
               _arrears_cell(p, item), missing])
    for key, name in (("all", "合计"), ("government", GOV_ROW)):
        t = summaries[key]
        p.row([p.cell(name, font=HEAD_FONT), "", "", "", "", f"已上传 {t['projects']} / 共 {in_scope[key]} 个项目",
               p.cell(t["workers_active"], COUNT), p.cell(t["workers_paid"], COUNT), *_rate_cells(p, t),
               p.cell(t["ssc_payouts"]["count"], COUNT), p.cell(money(t["wages_paid"]), MONEY), _arrears_cell(p, t)])
    return _save(wb)


def coverage_filename(region: str | None, first: str, last: str, ext: str = "xlsx") -> tuple[str, str]:
    """(the Chinese file name, its ASCII fallback), e.g. 实名制工资支付覆盖率-4403-2026-10.xlsx."""
    where = region or "全部"
    months = first if first == last else f"{first}至{last}"
    ascii_months = first if first == last else f"{first}_{last}"
    return f"实名制工资支付覆盖率-{where}-{months}.{ext}", f"coverage-{region or 'all'}-{ascii_months}.{ext}"


# ------------------------------------------------------------------------------------------------
# a project-month's findings


# 工作表: row numbers repeat from sheet to sheet of a workbook (one sheet per 班组); empty for a
# csv, a workbook of one sheet and cross-file checks.
FINDINGS_HEAD = ("序号", "所属月份", "来源", "资料类型", "文件名", "上传编号", "级别", "规则代码", "规则", "工作表", "行号",
                 "列", "值（已脱敏）", "工人身份证（已脱敏）", "说明")


def finding_lines(findings: list[dict[str, Any]], receipts: dict[str, Any], period: str) -> list[list[Any]]:
    """One line per finding (as ``findings.finding_json`` renders it, values already masked),
    with the month and file it comes from: a roster or contracts carried over from an earlier
    month says so."""
    out = []
    for n, f in enumerate(findings, start=1):
        receipt = receipts.get(f.get("upload_id") or "")
        rule = BY_CODE.get(f["rule"])
        if receipt is not None:
            month, filename, upload = receipt.period, receipt.filename, receipt.upload_id
            source = "本月上传" if receipt.period == period else f"沿用 {receipt.period} 上传的文件"
        else:
            month, filename, upload = period, "", ""
            source = "跨项目核对" if f["rule"] in CROSS_PROJECT else "跨文件核对"
        out.append([n, month, source, KIND_LABELS.get(f.get("kind") or "", f.get("kind") or ""), filename, upload,
                    SEVERITY_ZH.get(f["severity"], f["severity"]), f["rule"], rule.title_zh if rule else "",
                    f.get("sheet") or "", f.get("row"), f.get("column") or "", f.get("value") or "", f.get("worker") or "",
                    f.get("message") or ""])
    return out


def findings_workbook(code: str, name: str, period: str, lines: list[list[Any]], counts: dict[str, Any],
                      uploaded: bool = True) -> bytes:
    """``uploaded``: the month has files of its own. Without, it says 本月未上传 (README: never
    没有发现问题), and any lines come from a roster or contracts carried over from earlier."""
    wb = openpyxl.Workbook(write_only=True)
    s = _Sheet(wb, "问题清单", (6, 10, 18, 12, 28, 26, 6, 22, 20, 12, 7, 16, 22, 22, 70))
    s.row([s.cell(f"{code} {name} {period_zh(period, period)} 核查问题清单", font=TITLE_FONT)])
    s.row([f"错误 {counts.get('error', 0):,} 条，警告 {counts.get('warning', 0):,} 条，提示 {counts.get('info', 0):,} 条，"
           f"共 {counts.get('total', len(lines)):,} 条；身份证号、银行卡号、手机号均已脱敏。"])
    if not uploaded:
        s.row([s.cell(f"{period_zh(period, period)}本月未上传任何资料" + ("；下列问题来自沿用的早期月份资料（见“月份”列）。"
                                                                 if lines else "，没有可核查的内容。"), font=WARN_FONT)])
    s.row([])
    s.head(FINDINGS_HEAD)
    for line in lines:
        s.row([s.cell(v) if v is not None else None for v in line[:-1]] + [s.cell(line[-1], wrap=True)])
    if not lines and uploaded:
        s.row(["已上传的资料中没有发现问题。"])
    return _save(wb)


def findings_csv(lines: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(FINDINGS_HEAD)
    for line in lines:
        writer.writerow([csv_safe(v) for v in line])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 csv with Chinese text correctly


def findings_filename(code: str, period: str, ext: str) -> tuple[str, str]:
    return f"核查问题清单-{code}-{period}.{ext}", f"findings-{code}-{period}.{ext}"
