"""Bureau exports: coverage.xlsx, a project-month's findings (xlsx, csv) and the monthly 通报 (docx),
each opened (openpyxl, python-docx) and compared cell by cell with the API's JSON figures."""

from __future__ import annotations

import csv
import io
import urllib.parse
from decimal import Decimal

import docx
import openpyxl
import pytest

import golden
from conftest import upload
from test_workbook import team_roster

PERIOD = golden.PERIOD  # 2026-10
PREVIOUS = "2026-09"
BASE = {"investment_type": "government", "contractor_credit_code": golden.CREDIT, "dedicated_account": golden.ACCOUNT,
        "guarantee": {"form": "cash", "amount": "1.00"}, "notice_board": True}


def _post_files(client, admin, code, files, period=PERIOD, kinds=None):
    for kind, (name, data) in files.items():
        if kinds is not None and kind not in kinds:
            continue
        r = upload(client, admin, code, kind, period, name, data)
        assert r.status_code == 201, r.text


@pytest.fixture
def region(client, admin):
    """Region 4403: A-1 (government, two workers, one without a contract, also a roster in
    September), B-1 (other, ten workers), D-1 (government, nothing uploaded), E-1 (other: roster
    and attendance only, so no expected amount: arrears cannot be estimated); C-1 in 3101."""
    small = [golden.base(i) for i in range(1, 3)]
    small[0].contract = None
    big = [golden.base(i) for i in range(10, 20)]
    extra = {"roster": [], "attendance": [], "payments": [], "roster_columns": []}
    projects = [
        ({**BASE, "code": "A-1", "name": "=HYPERLINK(\"x\")福田区某学校项目", "region_code": "440304"}, small, None),
        ({**BASE, "code": "B-1", "name": "南山区某住宅项目", "region_code": "440305", "investment_type": "other"}, big, None),
        ({**BASE, "code": "C-1", "name": "黄浦区某项目", "region_code": "310101"}, big[:3], None),
        ({**BASE, "code": "D-1", "name": "宝安区某道路项目", "region_code": "440306"}, [], ()),
        ({**BASE, "code": "E-1", "name": "龙岗区某厂房项目", "region_code": "440307", "investment_type": "other"},
         [golden.base(i) for i in range(30, 33)], ("roster", "attendance")),
    ]
    for body, workers, kinds in projects:
        assert client.post("/api/v1/projects", json=body, headers=admin).status_code == 201
        if workers:
            _post_files(client, admin, body["code"], golden.files(workers, extra), kinds=kinds)
    name, data = golden.files(small, extra)["roster"]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb.active["A1"] = "2026年9月建筑工人花名册"  # the title names the month; it must match the upload's
    buf = io.BytesIO()
    wb.save(buf)
    _post_files(client, admin, "A-1", {"roster": (name, buf.getvalue())}, period=PREVIOUS)
    return projects


@pytest.fixture
def bureau(tokens):
    return tokens.issue("bureau", "4403")


def _disposition_name(response) -> str:
    value = response.headers["content-disposition"]
    assert value.startswith("attachment;") and 'filename="' in value
    star = value.split("filename*=UTF-8''")[1]
    return urllib.parse.unquote(star)


def _money(text: str) -> float:
    return float(Decimal(text))


def _rows_by_first_cell(ws) -> dict[str, tuple]:
    return {str(r[0].value): r for r in ws.iter_rows() if r and r[0].value is not None}


def test_coverage_xlsx_is_the_bureau_report(client, region, bureau):
    api = client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()
    r = client.get(f"/api/v1/coverage.xlsx?period={PERIOD}", headers=bureau)
    assert r.status_code == 200, r.text
    assert _disposition_name(r) == f"实名制工资支付覆盖率-4403-{PERIOD}.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["汇总", "项目明细"]
    ws = wb["汇总"]
    head = [c.value for c in next(row for row in ws.iter_rows() if row[0].value == "统计范围")]
    assert head[:6] == ["统计范围", "项目数", "已上传项目数", "未上传项目数", "在场人数", "发薪人数"]
    rows = _rows_by_first_cell(ws)
    col = {name: i for i, name in enumerate(head)}
    for label, t, scope_n in (("全部项目（合计）", api["totals"], 4), ("其中政府投资工程项目", api["by_investment_type"]["government"], 2)):
        row = rows[label]
        assert row[col["项目数"]].value == scope_n
        assert row[col["已上传项目数"]].value == t["projects"]
        assert row[col["未上传项目数"]].value == scope_n - t["projects"]
        assert row[col["在场人数"]].value == t["workers_active"]
        for key, name in (("realname_rate", "实名制覆盖率"), ("contract_rate", "劳动合同签订率"), ("full_pay_rate", "足额发放率")):
            cell = row[col[name]]
            assert cell.value == pytest.approx(t[key]) and cell.number_format == "0.0%", (label, name)
        wages = row[col["专户发放工资总额（元）"]]
        assert wages.data_type == "n" and wages.value == pytest.approx(_money(t["wages_paid"]))
        assert wages.number_format == "#,##0.00"
    # The government row counts A-1 and D-1 (not uploaded); 4403 holds four projects, C-1 is outside.
    assert rows["全部项目（合计）"][col["未上传项目数"]].value == 1

    projects = wb["项目明细"]
    head = [c.value for c in next(row for row in projects.iter_rows() if row[0].value == "序号")]
    col = {name: i for i, name in enumerate(head)}
    lines = {row[col["项目编码"]].value: row for row in projects.iter_rows() if isinstance(row[0].value, int)}
    assert sorted(lines) == ["A-1", "B-1", "D-1", "E-1"]
    assert lines["D-1"][col["本月上传情况"]].value == "未上传"
    by_code = {p["project"]: p for p in api["projects"]}
    for code in ("A-1", "B-1", "E-1"):
        item, line = by_code[code], lines[code]
        assert line[col["本月上传情况"]].value == "已上传"
        assert line[col["在场人数"]].value == item["workers_active"]
        for key, name in (("realname_rate", "实名制覆盖率"), ("contract_rate", "劳动合同签订率"),
                          ("dedicated_account_rate", "专户代发率（总包代发落实率）"), ("full_pay_rate", "足额发放率")):
            cell = line[col[name]]
            if item[key] is None:
                assert cell.value == "—"
            else:
                assert cell.value == pytest.approx(item[key]) and cell.number_format == "0.0%"
    # A project name that looks like a formula stays text.
    name_cell = lines["A-1"][col["项目名称"]]
    assert name_cell.data_type == "s" and name_cell.value.startswith("=HYPERLINK")
    # E-1 has workers and no expected amount: not ¥0.00 but 无法估算.
    assert by_code["E-1"]["fractions"]["full_pay_rate"]["denominator"] == 0 and by_code["E-1"]["arrears_estimate"] == "0.00"
    assert lines["E-1"][col["欠薪风险金额（元）"]].value == "无法估算"
    a_arrears = lines["A-1"][col["欠薪风险金额（元）"]]
    assert a_arrears.value == pytest.approx(_money(by_code["A-1"]["arrears_estimate"])) and a_arrears.number_format == "#,##0.00"
    totals = {row[0].value: row for row in projects.iter_rows() if row[0].value in ("合计", "其中政府投资工程项目")}
    assert totals["合计"][col["在场人数"]].value == api["totals"]["workers_active"]
    assert totals["其中政府投资工程项目"][col["在场人数"]].value == api["by_investment_type"]["government"]["workers_active"]


def test_coverage_csv_has_the_xlsx_lines_and_never_a_made_up_zero(client, region, bureau):
    """The csv listed only projects with figures, said 0.00 where the xlsx says 无法估算, and
    was named coverage.csv."""
    r = client.get(f"/api/v1/coverage?period={PERIOD}", headers={**bureau, "Accept": "text/csv"})
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert f"coverage-4403-{PERIOD}.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    by_code = {row["project"]: row for row in rows}
    assert sorted(by_code) == ["A-1", "B-1", "D-1", "E-1"]  # as the xlsx's 项目明细
    assert by_code["D-1"]["status"] == "not_uploaded" and by_code["D-1"]["workers_active"] == ""
    assert by_code["D-1"]["period"] == PERIOD and by_code["D-1"]["investment_type"] == "government"
    assert by_code["E-1"]["status"] == "uploaded" and by_code["E-1"]["arrears_estimate"] == ""  # 无法估算
    api = {p["project"]: p for p in client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()["projects"]}
    assert by_code["A-1"]["arrears_estimate"] == api["A-1"]["arrears_estimate"]
    for code in ("A-1", "E-1"):  # the nested figures too, flattened
        assert by_code[code]["ssc_payouts_count"] == str(api[code]["ssc_payouts"]["count"])
        assert by_code[code]["ssc_payouts_amount"] == api[code]["ssc_payouts"]["amount"]
        assert by_code[code]["five_guarantee"] == ("true" if api[code]["five_systems"]["guarantee"] else "false")


def test_coverage_xlsx_admin_all_regions_is_named_so(client, region, admin):
    r = client.get(f"/api/v1/coverage.xlsx?period={PERIOD}", headers=admin)
    assert r.status_code == 200
    assert _disposition_name(r) == f"实名制工资支付覆盖率-全部-{PERIOD}.xlsx"
    assert 'filename="coverage-all-2026-10.xlsx"' in r.headers["content-disposition"]
    lines = [row for row in openpyxl.load_workbook(io.BytesIO(r.content))["项目明细"].iter_rows(values_only=True)
             if isinstance(row[0], int)]
    assert len(lines) == 5


def test_findings_exports_match_the_json(client, region, bureau):
    api = client.get(f"/api/v1/projects/A-1/periods/{PERIOD}/findings", headers=bureau).json()
    assert api["counts"]["total"] > 0
    r = client.get(f"/api/v1/projects/A-1/periods/{PERIOD}/findings.xlsx", headers=bureau)
    assert r.status_code == 200, r.text
    assert _disposition_name(r) == f"核查问题清单-A-1-{PERIOD}.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    head = [c.value for c in next(row for row in ws.iter_rows() if row[0].value == "序号")]
    assert head == ["序号", "所属月份", "来源", "资料类型", "文件名", "上传编号", "级别", "规则代码", "规则", "工作表", "行号",
                    "列", "值（已脱敏）", "工人身份证（已脱敏）", "说明"]
    lines = [row for row in ws.iter_rows(values_only=True) if isinstance(row[0], int)]
    assert len(lines) == api["counts"]["total"]
    col = {name: i for i, name in enumerate(head)}
    for f, line in zip(api["findings"], lines):
        assert line[col["规则代码"]] == f["rule"]
        assert line[col["说明"]] == f["message"]
        assert (line[col["工人身份证（已脱敏）"]] or None) == f["worker"]
        assert line[col["所属月份"]] == PERIOD
        assert line[col["级别"]] in ("错误", "警告", "提示")
        assert (line[col["工作表"]] or None) == f.get("sheet")  # one-sheet files and cross-file checks: empty
        if f.get("upload_id"):
            assert line[col["上传编号"]] == f["upload_id"] and line[col["文件名"]]
            assert line[col["来源"]] == "本月上传"
        else:
            assert line[col["来源"]] in ("跨文件核对", "跨项目核对")
    # Nothing unmasked: no 18-digit ID anywhere in the file.
    text = "".join(str(v) for row in lines for v in row if v is not None)
    for w in [golden.base(i) for i in range(1, 3)]:
        assert w.id_number not in text

    c = client.get(f"/api/v1/projects/A-1/periods/{PERIOD}/findings.csv", headers=bureau)
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    assert _disposition_name(c) == f"核查问题清单-A-1-{PERIOD}.csv"
    assert c.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert rows[0] == head and len(rows) - 1 == api["counts"]["total"]
    assert [r[7] for r in rows[1:]] == [f["rule"] for f in api["findings"]]


def test_findings_exports_name_the_sheet_of_a_team_workbook(client, project, admin):
    """One sheet per 班组 (test_workbook.team_roster): row 5 of which sheet, and two 合计 lines
    skipped at row 7 that are told apart by their sheet."""
    code = project["code"]
    assert upload(client, admin, code, "roster", PERIOD, "teams.xlsx", team_roster()).status_code == 201
    api = client.get(f"/api/v1/projects/{code}/periods/{PERIOD}/findings", headers=admin).json()["findings"]
    r = client.get(f"/api/v1/projects/{code}/periods/{PERIOD}/findings.xlsx", headers=admin)
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    head = [c.value for c in next(row for row in ws.iter_rows() if row[0].value == "序号")]
    sheet, row = head.index("工作表"), head.index("行号")
    assert row == sheet + 1
    lines = [line for line in ws.iter_rows(values_only=True) if isinstance(line[0], int)]
    assert [line[sheet] or None for line in lines] == [f.get("sheet") for f in api]
    rule = head.index("规则代码")
    assert ("木工班", 5) in {(line[sheet], line[row]) for line in lines if line[rule] == "ID_CHECKSUM"}
    footers = [line for line in lines if line[rule] == "FOOTER_ROWS_SKIPPED"]
    assert sorted(line[sheet] for line in footers) == ["木工班", "钢筋班"]
    assert len({line[1:] for line in footers}) == 2  # the two lines no longer read the same

    c = client.get(f"/api/v1/projects/{code}/periods/{PERIOD}/findings.csv", headers=admin)
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert rows[0] == head
    assert [r[sheet] for r in rows[1:]] == [line[sheet] or "" for line in lines]
    assert [r[row] for r in rows[1:]] == ["" if line[row] is None else str(line[row]) for line in lines]


def test_findings_of_a_carried_over_roster_name_its_month(client, region, bureau):
    """November has no upload of its own for A-1: its roster is September's... no, October's, carried over."""
    r = client.get("/api/v1/projects/A-1/periods/2026-11/findings.xlsx", headers=bureau)
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    head = [c.value for c in next(row for row in ws.iter_rows() if row[0].value == "序号")]
    col = {name: i for i, name in enumerate(head)}
    lines = [row for row in ws.iter_rows(values_only=True) if isinstance(row[0], int)]
    carried = [line for line in lines if line[col["上传编号"]]]
    for line in carried:
        assert line[col["所属月份"]] == PERIOD and line[col["来源"]] == f"沿用 {PERIOD} 上传的文件"
    # Nothing of November's own: it says so above the carried-over lines (README: never 没有发现问题).
    text = " ".join(str(c) for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "本月未上传任何资料" in text and "没有发现问题" not in text


def test_findings_export_of_an_empty_month_says_nothing_was_uploaded(client, region, bureau):
    r = client.get("/api/v1/projects/D-1/periods/2026-10/findings.xlsx", headers=bureau)
    assert r.status_code == 200
    text = " ".join(str(c) for row in openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)
                    for c in row if c)
    assert "本月未上传任何资料，没有可核查的内容" in text and "没有发现问题" not in text


def test_findings_export_scope_and_period(client, region, bureau):
    assert client.get(f"/api/v1/projects/C-1/periods/{PERIOD}/findings.xlsx", headers=bureau).status_code == 404
    assert client.get(f"/api/v1/projects/C-1/periods/{PERIOD}/findings.csv", headers=bureau).status_code == 404
    bad = client.get("/api/v1/projects/A-1/periods/2026-13/findings.csv", headers=bureau)
    assert bad.status_code == 400 and bad.json()["code"] == "PERIOD_INVALID"
    assert client.get(f"/api/v1/projects/A-1/periods/{PERIOD}/findings.csv").status_code == 401


def _doc_text(data: bytes) -> tuple[str, list]:
    d = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in d.paragraphs), d.tables


def test_bulletin_docx_says_what_the_dashboard_says(client, region, bureau):
    api = client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()
    risks = client.get(f"/api/v1/risks?period={PERIOD}", headers=bureau).json()
    r = client.get(f"/api/v1/bulletins/4403/{PERIOD}.docx", headers=bureau)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert _disposition_name(r) == f"实名制和工资支付情况通报-4403-{PERIOD}.docx"
    text, tables = _doc_text(r.content)
    t, gov = api["totals"], api["by_investment_type"]["government"]
    assert "2026年10月" in text and "通报" in text
    assert f"本月纳入监管的在建工程项目共4个，已上传本月资料的{t['projects']}个，未上传的{4 - t['projects']}个" in text
    assert f"在场农民工{t['workers_active']}人" in text
    assert f"实名制覆盖率{t['realname_rate'] * 100:.1f}%（{t['fractions']['realname_rate']['numerator']}/" \
           f"{t['fractions']['realname_rate']['denominator']}）" in text
    assert "其中政府投资工程项目2个" in text
    assert f"劳动合同签订率{gov['contract_rate'] * 100:.1f}%" in text
    assert "宝安区某道路项目" in "\n".join(c.text for tb in tables for row in tb.rows for c in row.cells)  # not uploaded
    # Risks: arrears first, the one that cannot be estimated apart, in the order of /risks.
    cells = [[c.text for c in row.cells] for tb in tables for row in tb.rows]
    risk_rows = [row for row in cells if row and row[1] in ("A-1", "B-1", "E-1") and len(row) == 8]
    order = [p["project"] for p in risks["projects"]]
    shown = [row[1] for row in risk_rows]
    assert shown == [c for c in order if c in shown]
    e1 = next(row for row in risk_rows if row[1] == "E-1")
    assert e1[5] == "无法估算"
    # The month's change: September had A-1's roster only.
    assert "与2026年9月相比" in text
    # The summary table: the government column equals by_investment_type.government.
    summary = tables[0]
    header = [c.text for c in summary.rows[0].cells]
    assert header[:3] == ["指标", "全部项目", "其中政府投资工程项目"]
    body = {row.cells[0].text: [c.text for c in row.cells] for row in summary.rows[1:]}
    assert body["在场人数"][1] == f"{t['workers_active']:,}" and body["在场人数"][2] == f"{gov['workers_active']:,}"
    assert body["实名制覆盖率"][1] == f"{t['realname_rate'] * 100:.1f}%"


def test_bulletin_scope(client, region, bureau, admin):
    assert client.get(f"/api/v1/bulletins/3101/{PERIOD}.docx", headers=bureau).status_code == 404
    assert client.get(f"/api/v1/bulletins/44O3/{PERIOD}.docx", headers=bureau).status_code == 400
    assert client.get(f"/api/v1/bulletins/3101/{PERIOD}.docx", headers=admin).status_code == 200


def test_coverage_xlsx_over_a_range_sums_each_project(client, region, bureau):
    api = client.get(f"/api/v1/coverage?period_from={PREVIOUS}&period_to={PERIOD}", headers=bureau).json()
    r = client.get(f"/api/v1/coverage.xlsx?period_from={PREVIOUS}&period_to={PERIOD}", headers=bureau)
    assert r.status_code == 200, r.text
    assert _disposition_name(r) == f"实名制工资支付覆盖率-4403-{PREVIOUS}至{PERIOD}.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["项目明细"]
    head = [c.value for c in next(row for row in ws.iter_rows() if row[0].value == "序号")]
    col = {name: i for i, name in enumerate(head)}
    lines = {row[col["项目编码"]]: row for row in ws.iter_rows(values_only=True) if isinstance(row[0], int)}
    for p in api["projects"]:
        assert lines[p["project"]][col["在场人数"]] == p["workers_active"]
    assert lines["D-1"][col["本月上传情况"]] == "未上传"


def _pictures(data: bytes) -> list[tuple[bytes, str, str]]:
    """(PNG bytes, alt text, name) of every inline picture of a docx, in document order."""
    d = docx.Document(io.BytesIO(data))
    out = []
    for shape in d.inline_shapes:
        inline = shape._inline
        rid = inline.graphic.graphicData.pic.blipFill.blip.embed
        out.append((d.part.related_parts[rid].blob, inline.docPr.get("descr"), inline.docPr.get("name")))
    return out


def test_bulletin_trend_chart_is_drawn_from_the_api_trend(client, region, bureau):
    """The 通报's trend chart: a picture with a Chinese caption and key around it, drawn from the
    numbers of GET /api/v1/coverage?period_from=&period_to= (its trend), and the table kept."""
    from sitereg import bulletin

    first = bulletin.add_months(PERIOD, -11)
    api = client.get(f"/api/v1/coverage?period_from={first}&period_to={PERIOD}", headers=bureau).json()
    assert [t["period"] for t in api["trend"]] == [PREVIOUS, PERIOD]
    r = client.get(f"/api/v1/bulletins/4403/{PERIOD}.docx", headers=bureau)
    assert r.status_code == 200, r.text
    pictures = _pictures(r.content)
    assert len(pictures) == 1
    png, alt, name = pictures[0]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and name == "趋势图"
    # The picture is exactly the chart of the API's trend: same numbers, same bytes (deterministic).
    assert png == bulletin.trend_png(first, PERIOD, api["trend"])
    # Its alt text states every plotted value, month by month, as the API has them.
    by_month = {t["period"]: t for t in api["trend"]}
    for month in bulletin.chart_months(first, PERIOD):
        if month in by_month:
            t = by_month[month]
            expected = f"{month}：" + "，".join(f"{bulletin.RATE_SHORT[k]}{bulletin.pct(t[k])}" for k, *_ in bulletin.CHART_SERIES)
        else:
            expected = f"{month}：无已上传资料"
        assert expected in alt, (month, alt)

    d = docx.Document(io.BytesIO(r.content))
    texts = [p.text for p in d.paragraphs]
    at = next(i for i, p in enumerate(d.paragraphs) if p._p.xpath(".//pic:pic"))
    assert "如图1所示" in texts[at - 1]
    assert texts[at + 1] == "图1  2025年11月至2026年10月区划4403主要覆盖率趋势"
    legend = texts[at + 2]
    assert legend.startswith("图例：A 实名制覆盖率") and "E 按时发放率" in legend
    for key, label, *_ in bulletin.CHART_SERIES:
        assert f"{label} {bulletin.RATE_SHORT[key]}" in legend
    # The table keeps the exact figures, one row per month with data.
    trend_table = next(tb for tb in d.tables if tb.rows[0].cells[0].text == "月份")
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in trend_table.rows[1:]}
    assert sorted(rows) == [PREVIOUS, PERIOD]
    head = [c.text for c in trend_table.rows[0].cells]
    for month, t in by_month.items():
        assert rows[month][head.index("在场人数")] == f"{t['workers_active']:,}"
        for key, name in bulletin.RATE_SHORT.items():
            assert rows[month][head.index(name)] == bulletin.pct(t[key])


def test_trend_png_is_ascii_deterministic_and_leaves_matplotlib_as_it_was():
    import sys

    import matplotlib

    from sitereg import bulletin

    def rc() -> dict:  # read without resolving the backend (get_backend() would import pyplot)
        return {k: dict.__getitem__(matplotlib.rcParams, k) for k in matplotlib.rcParams}

    params, had_pyplot = rc(), "matplotlib.pyplot" in sys.modules
    trend = [{"period": "2026-06", "realname_rate": 1.0, "contract_rate": 0.5, "dedicated_account_rate": None,
              "full_pay_rate": 0.25, "on_time_rate": None},
             {"period": "2026-08", "realname_rate": 0.9, "contract_rate": 0.75, "dedicated_account_rate": 0.1,
              "full_pay_rate": 0.0, "on_time_rate": 1.0}]
    one = bulletin.trend_png("2025-11", "2026-10", trend)
    assert one == bulletin.trend_png("2025-11", "2026-10", trend)
    assert one != bulletin.trend_png("2025-11", "2026-10", trend[:1])
    assert b"Software" not in one and b"matplotlib" not in one
    assert rc() == params  # no rcParams changed, the backend not switched
    assert had_pyplot or "matplotlib.pyplot" not in sys.modules  # no pyplot: no global figure registry


def test_bulletin_is_quick(client, region, bureau):
    """The 通报 of a region: well under a second once matplotlib is loaded (the import itself is
    done by bulletin.warm_up when a bureau opens the dashboard)."""
    import time

    from sitereg import bulletin

    bulletin.warm_up()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        assert client.get(f"/api/v1/bulletins/4403/{PERIOD}.docx", headers=bureau).status_code == 200
        times.append(time.perf_counter() - t)
    print(f"bulletin 4403 {PERIOD}: {', '.join(f'{t * 1000:.0f} ms' for t in times)}")
    assert min(times) < 0.8, times


def test_findings_csv_content_type_names_the_charset_once(client, region, bureau):
    """Litestar adds "; charset=utf-8" to a text/* media type itself: the header used to say it twice."""
    for url, accept, media in ((f"/api/v1/projects/A-1/periods/{PERIOD}/findings.csv", "*/*", "text/csv"),
                               (f"/api/v1/coverage?period={PERIOD}", "text/csv", "text/csv"),
                               ("/", "text/html", "text/html")):
        c = client.get(url, headers={**bureau, "Accept": accept})
        assert c.status_code == 200, url
        assert c.headers["content-type"] == f"{media}; charset=utf-8", url
