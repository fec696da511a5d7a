"""The rule registry: one rule is one entry, with the derived columns it needs.

A rule written here, at test time, runs through the real validation path (the checker and
the HTTP upload) without any change to ``filecheck``; every entry's derived columns can be
computed on every kind it names; the catalogue lists every rule. Also the pieces of issue 10
that live in the same files: the saved column map, KIND_MISMATCH only for a file that lacks
its kind's columns, what WORKER_UNRESOLVED shows, and findings naming their sheet.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from ruleharness import (
    CARD_A,
    ID_A,
    ID_B,
    PERIOD,
    TODAY,
    attendance_rows,
    check,
    codes,
    contract_row,
    payment_row,
    payroll_row,
    punch_row,
    roster_row,
    table,
    tables_of,
)
from sitereg.rulesdoc import render
from sitereg.validate import rules as registry
from sitereg.validate.codes import work_type_lookup
from sitereg.validate.columns import header_hints
from sitereg.validate.crosscheck import OVERLAP_SCHEMA, cross_findings, prepare
from sitereg.validate.filecheck import FINDING_SCHEMA, Context, validate_file
from sitereg.validate.readers import read_table
from sitereg.validate.rules import RULES, Derived, Rule, closure

ROOT = Path(__file__).resolve().parent.parent
c = pl.col

# ---- a new rule, declared in one place -----------------------------------------------------
# "Over 16 hours a day": the worker-day's hours summed over all of its records (a long sheet may
# split a day into several lines); the day's first record carries the finding.
# The finding points at the cell the hours come from: 工时, else the clock-out or punch time.
DAY = [c("id_number"), c("_date")]
# A gate punch's later rows of a day are folded into its first (_absent_day): counted once.
DAY_HOURS = Derived("_day_hours", lambda env: c("_hours").filter(~c("_absent_day")).sum().over(DAY))
HOURS_FROM = ("hours", "clock_out", "punch_time")
HOURS_OVER_16 = Rule(
    "HOURS_OVER_16", "warning", "values",
    "工人 {worker} 在 {date} 工作 {hours} 小时，超过 16 小时。请核实考勤或安排休息。",
    "Worker {worker} worked {hours} hours on {date}, over 16. Check the record or give rest.",
    ("attendance",), HOURS_FROM,
    applies=lambda col, env: col == next(h for h in HOURS_FROM if h in env.names),
    check=lambda col, env: (c("_day_hours") > 16) & (c("__rid__") == c("__rid__").min().over(DAY)),
    args=lambda col, env: {"hours": c("_day_hours"), "date": c("_date")},
    derives=(DAY_HOURS,), title_zh="单日工时超过 16 小时", title_en="Over 16 hours a day",
)
WITH_NEW = (*RULES, HOURS_OVER_16)
CTX = Context(PERIOD, TODAY, job_types=work_type_lookup())


def _hits(result, code="HOURS_OVER_16") -> list[tuple]:
    f = result.findings.filter(c("rule") == code)
    return [(r["row"], r["column"], r["value"], r["worker"], json.loads(r["args"])) for r in f.iter_rows(named=True)]


def test_a_rule_added_as_one_entry_finds_exactly_its_breaches():
    rows = [
        {"身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-08", "工时": "9"},
        {"身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-08", "工时": "8"},  # the same day: 17 hours
        {"身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-09", "工时": "16"},  # 16 is allowed
        {"身份证号码": ID_B, "姓名": "李秀英", "日期": "2026-10-08", "工时": "10"},
    ]
    result = validate_file(table(rows), "attendance", CTX, WITH_NEW)
    worker = ID_A[:6] + "********" + ID_A[-4:]
    assert _hits(result) == [(2, "工时", "9", worker, {"hours": "17.0", "date": "2026-10-08"})]
    # Nothing else changes: the other findings and the stored rows are those of the registry alone.
    alone = validate_file(table(rows), "attendance", CTX)
    assert result.findings.filter(c("rule") != "HOURS_OVER_16").equals(alone.findings)
    assert result.rows.equals(alone.rows)


def test_the_new_rule_reads_the_hours_every_attendance_shape_gives():
    clock = [{"身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-08", "上班打卡时间": "05:00", "下班打卡时间": "22:30"},
             {"身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-09", "上班打卡时间": "07:00", "下班打卡时间": "17:00"}]
    assert [h[0] for h in _hits(validate_file(table(clock), "attendance", CTX, WITH_NEW))] == [2]
    punches = [punch_row("2026-10-08 05:00:00", "入场"), punch_row("2026-10-08 21:30:00", "出场"),
               punch_row("2026-10-09 07:00:00", "入场"), punch_row("2026-10-09 17:00:00", "出场")]
    assert [h[0] for h in _hits(validate_file(table(punches), "attendance", CTX, WITH_NEW))] == [2]
    wide = [{"身份证号码": ID_A, "姓名": "张建国", "1": "05:00-22:00", "2": "8", "3": "√"}]
    assert [h[2] for h in _hits(validate_file(table(wide), "attendance", CTX, WITH_NEW))] == ["05:00-22:00"]


def test_the_new_rule_through_the_upload_api(client, admin, project, monkeypatch):
    # Registering the entry is the only change: the upload path, receipt and messages pick it up.
    monkeypatch.setattr(registry, "RULES", WITH_NEW)
    monkeypatch.setitem(registry.BY_CODE, HOURS_OVER_16.code, HOURS_OVER_16)
    body = "身份证号码,姓名,日期,工时\n" + f"{ID_A},张建国,2026-10-08,18\n{ID_A},张建国,2026-10-09,8\n"
    r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"kind": "attendance", "period": PERIOD},
                    files={"file": ("考勤.csv", body.encode())}, headers=admin)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["warnings"] == 1
    found = client.get(f"/api/v1/uploads/{receipt['upload_id']}/report", headers=admin).json()["findings"]
    (hit,) = [f for f in found if f["rule"] == "HOURS_OVER_16"]
    assert (hit["row"], hit["column"], hit["severity"]) == (2, "工时", "warning")
    assert "2026-10-08 工作 18.0 小时" in hit["message"]


# ---- every entry's derived columns can be computed ------------------------------------------
def _wide_rows() -> list[dict]:
    return [{"身份证号码": ID_A, "姓名": "张建国", "1": "8", "2": "√", "3": "07:30-17:30", "4": "异常"}]


SAMPLES: dict[str, list[list[dict]]] = {
    "roster": [[roster_row(性别="女", 证件类型="居民身份证", 社保卡金融账号=CARD_A, 人员编号="A1"),
                roster_row(身份证号码=ID_B, 工资卡号=None)]],
    "contracts": [[contract_row(), contract_row(计薪方式="月薪", 工资标准="7500", 身份证号码=ID_B)]],
    "attendance": [attendance_rows(days=[1, 2]), _wide_rows(),
                   [punch_row("2026-10-08 07:31:00", "入场"), punch_row("2026-10-08 17:40:00", "出场")],
                   [{"身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-08", "上班打卡时间": "07:30", "下班打卡时间": "17:30"}]],
    "payroll": [[payroll_row(), payroll_row(身份证号码=None, 工资卡号="6222020000000000018")]],
    "payments": [[payment_row(), payment_row(银行流水号="T0002", 发放渠道="社保卡")]],
    "entry_exit": [[{"证件号码": ID_A, "工人姓名": "张建国", "进退场日期": "2026-10-01", "类型": "进场"},
                    {"证件号码": ID_A, "工人姓名": "张建国", "进退场日期": "2026-10-20", "类型": "退场"}]],
}


def _probe(rule: Rule, kind: str) -> Rule:
    """A rule that reads every derived column ``rule`` declares, on every row with a name."""
    names = [d.name for d in closure(rule.derives)]
    return Rule("PROBE", "info", "values", "探针", "probe", (kind,), ("name",),
                check=lambda col, env: pl.lit(True), args=lambda col, env: {n: c(n) for n in names},
                derives=rule.derives)


@pytest.mark.parametrize("rule", [r for r in RULES if r.check is not None], ids=lambda r: r.code)
def test_every_file_rule_can_compute_its_derived_columns_on_each_of_its_kinds(rule):
    names = {d.name for d in closure(rule.derives)}
    for kind in rule.kinds:
        for rows in SAMPLES[kind]:
            result = validate_file(table(rows), kind, CTX, [_probe(rule, kind)])
            probes = result.findings.filter(c("rule") == "PROBE")
            assert probes.height >= 1, (rule.code, kind)
            assert all(set(json.loads(a or "{}")) == names for a in probes.get_column("args")), (rule.code, kind)
            # and the rule itself runs on the sample without error
            validate_file(table(rows), kind, CTX, [rule])


@pytest.mark.parametrize("rule", [r for r in RULES if r.across is not None], ids=lambda r: r.code)
def test_every_cross_rule_can_compute_its_derived_columns(rule):
    t = tables_of([roster_row()], [contract_row()], attendance_rows(), [payment_row()], [payroll_row()],
                  SAMPLES["entry_exit"][0])
    names = sorted(d.name for d in closure(rule.across_derives))
    probe = dataclasses.replace(rule, code="PROBE", across=lambda: pl.lit(True),
                                across_args=lambda: {n: c(n).cast(pl.String) for n in names})
    overlap = pl.DataFrame({"id_number": [ID_A], "date": [None], "name": ["张建国"], "what": ["payments"],
                            "other": ["B"], "period": [PERIOD], "days": [None]}, schema=OVERLAP_SCHEMA)
    found = cross_findings(prepare(t, PERIOD, "4425010020239361300", TODAY), overlap, 1.5, [probe])
    assert found.height >= 1
    assert all(set(json.loads(a)) >= {"name", *names} for a in found.get_column("args"))
    cross_findings(prepare(t, PERIOD, "4425010020239361300", TODAY), overlap, 1.5, [rule])


def test_derived_columns_have_one_definition_per_name():
    seen: dict[str, Derived] = {}
    for rule in RULES:
        for d in closure((*rule.derives, *rule.across_derives)):
            assert seen.setdefault(d.name, d) is d, d.name


def test_the_catalogue_lists_every_rule(client, admin):
    body = client.get("/api/v1/rules", headers=admin).json()
    assert [r["code"] for r in body["rules"]] == [r.code for r in RULES]
    written = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert written == render() + "\n"
    for rule in RULES:
        assert f"| `{rule.code}` |" in written


# ---- the contractor's saved column map -----------------------------------------------------
def test_a_saved_column_map_names_headers_no_alias_knows():
    rows = [{"实名编码（必填）": ID_A, "工人": "张建国", "性别": "男", "手机号码": "13800138000", "用工单位统一社会信用代码":
             roster_row()["用工单位统一社会信用代码"], "工种": "钢筋工", "进场日期": "2026-03-01", "工资卡号": CARD_A}]
    plain = validate_file(table(rows), "roster", CTX)
    assert {"COLUMN_MISSING", "COLUMN_UNKNOWN"} <= set(codes(plain)) and plain.rows.height == 0
    mapped = Context(PERIOD, TODAY, job_types=work_type_lookup(), column_map={"实名编码 (必填)": "id_number", "工人": "name"})
    result = validate_file(table(rows), "roster", mapped)
    assert codes(result) == []  # no missing column, and a mapped header is never "unknown"
    assert result.rows.select("id_number", "name").row(0) == (ID_A, "张建国")
    assert result.header_map.columns["id_number"] == "实名编码（必填）"


def test_a_saved_map_takes_a_header_the_checker_would_otherwise_pass_over():
    # 编号 is usually a row number and quietly ignored; on this site it is the worker's own number.
    rows = [{"编号": "A-17", "工号": "B-2", "身份证号码": ID_A, "姓名": "张建国", "日期": "2026-10-08", "工时": "8"}]
    assert validate_file(table(rows), "attendance", CTX).header_map.columns["worker_no"] == "工号"
    ctx = Context(PERIOD, TODAY, column_map={"编号": "worker_no", "工号": "worker_no"})
    result = validate_file(table(rows), "attendance", ctx)
    assert result.header_map.columns["worker_no"] == "编号"  # the map first, in file order
    assert codes(result) == []  # 工号, given the same meaning, is not reported as unknown
    # A map entry naming no column of the kind is not used.
    other = validate_file(table(rows), "attendance", Context(PERIOD, TODAY, column_map={"编号": "bank_txn_id"}))
    assert other.header_map.columns["worker_no"] == "工号"


# ---- KIND_MISMATCH only when the chosen kind's columns are missing ---------------------------
def test_a_file_with_every_required_column_of_its_kind_is_never_a_kind_mismatch():
    # A bank's payment file also has everything a payroll needs (姓名, 实发金额): as payments it
    # is taken whole, and as a payroll too.
    for kind in ("payments", "payroll"):
        result = validate_file(table([payment_row()]), kind, CTX)
        assert "KIND_MISMATCH" not in codes(result) and result.rows.height == 1, kind
    # A roster chosen as attendance lacks 日期: refused, saying what it looks like.
    refused = validate_file(table([roster_row()]), "attendance", CTX)
    assert {"KIND_MISMATCH", "COLUMN_MISSING"} <= set(codes(refused)) and refused.rows.height == 0


# ---- WORKER_UNRESOLVED names the row as the clerk wrote it ----------------------------------
def test_worker_unresolved_shows_the_card_masked_or_the_number_as_written():
    result = check("payroll", [payroll_row(身份证号码=None)])
    (f,) = result.findings.filter(c("rule") == "WORKER_UNRESOLVED").iter_rows(named=True)
    assert f["value"] == f"****{CARD_A[-4:]} 张建国"
    rows = [{"人员编号": "A-017", "姓名": "张建国", "日期": "2026-10-08", "工时": "8"}]
    (g,) = check("attendance", rows).findings.filter(c("rule") == "WORKER_UNRESOLVED").iter_rows(named=True)
    assert g["value"] == "A-017 张建国"


# ---- findings name their sheet --------------------------------------------------------------
def _workbook(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PAYROLL_HEAD = ["姓名", "身份证号码", "出勤天数", "应发工资", "扣款", "实发工资"]


def test_a_finding_on_the_second_sheet_names_that_sheet():
    data = _workbook({
        "钢筋班": [PAYROLL_HEAD, ["张建国", ID_A, "22", "8800.00", "0", "8800.00"]],
        "木工班": [PAYROLL_HEAD, ["李秀英", ID_B, "22", "8800.00", "0", "8500.00"]],  # 8800 - 0 ≠ 8500
    })
    result = validate_file(read_table(data, "工资表.xlsx", header_hints=header_hints()), "payroll", CTX)
    (f,) = result.findings.filter(c("rule") == "PAYROLL_ARITHMETIC").iter_rows(named=True)
    assert (f["sheet"], f["row"]) == ("木工班", 2)
    assert result.rows.height == 2


def test_one_data_sheet_among_instructions_still_names_its_sheet_and_a_csv_has_no_sheet():
    data = _workbook({"填写说明": [["说明"], ["请按模板填写"]],
                      "工资表": [PAYROLL_HEAD, ["李秀英", ID_B, "22", "8800.00", "0", "8500.00"]]})
    result = validate_file(read_table(data, "工资表.xlsx", header_hints=header_hints()), "payroll", CTX)
    assert result.findings.filter(c("rule") == "PAYROLL_ARITHMETIC").get_column("sheet").to_list() == ["工资表"]
    csv = check("payroll", [payroll_row(实发工资="8500.00")])
    assert csv.findings.schema == pl.Schema(FINDING_SCHEMA)


def test_the_report_names_the_sheet_of_each_finding(client, admin, project):
    data = _workbook({
        "钢筋班": [PAYROLL_HEAD, ["张建国", ID_A, "22", "8800.00", "0", "8800.00"]],
        "木工班": [PAYROLL_HEAD, ["李秀英", ID_B, "22", "8800.00", "0", "8500.00"]],
    })
    r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"kind": "payroll", "period": PERIOD},
                    files={"file": ("工资表.xlsx", data)}, headers=admin)
    assert r.status_code == 201, r.text
    found = client.get(f"/api/v1/uploads/{r.json()['upload_id']}/report", headers=admin).json()["findings"]
    (hit,) = [f for f in found if f["rule"] == "PAYROLL_ARITHMETIC"]
    assert (hit["sheet"], hit["row"]) == ("木工班", 2)
