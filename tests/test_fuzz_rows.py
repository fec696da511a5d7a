"""Random headers and cells through validation and the cross-file checks: findings, never an exception."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleharness import index_overlaps, table
from sitereg.validate.codes import work_type_lookup
from sitereg.validate.columns import SCHEMAS
from sitereg.validate.crosscheck import PeriodTables, cross_findings, prepare
from sitereg.validate.filecheck import FINDING_SCHEMA, Context, validate_file

CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "0", "-1", "25", "1e5", "√", "休", "×", "2026-10-05", "2026-13-01", "1.10101199003071E+17",
                     "440305198506121237", "男", "女", "日薪", "月薪", "计件", "银行卡", "社保卡", "2026-10", "15", "32",
                     "6222020000000000018", "=SUM(A1)", "１２３", "NaN", "2026/10/31", "2026年10月", "1,234.56", "x" * 300]),
    st.text(max_size=20),
)


@st.composite
def sheets(draw):
    kind = draw(st.sampled_from(list(SCHEMAS)))
    names = [h for c in SCHEMAS[kind] for h in (c.label, *c.aliases[:2])]
    headers = draw(st.lists(st.sampled_from(names + ["备注", "序号", "1日", "2日", "31日", "工时"]), min_size=1, max_size=10,
                            unique=True))
    rows = draw(st.lists(st.fixed_dictionaries({h: CELLS for h in headers}), min_size=1, max_size=8))
    return kind, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets())
def test_any_rows_give_findings_not_exceptions(sheet):
    kind, rows = sheet
    result = validate_file(table(rows), kind, Context("2026-10", dt.date(2026, 11, 27), job_types=work_type_lookup()))
    assert result.findings.schema == pl.Schema(FINDING_SCHEMA)
    assert result.rows.height <= max(len(rows), 1) * 31
    frames = {k: getattr(PeriodTables.empty(), k) for k in SCHEMAS}
    rows_ = result.rows.with_columns(upload_id=pl.lit("U"))
    frames[kind] = rows_.with_columns(source=pl.lit("upload")) if kind == "payments" else rows_
    t = PeriodTables(**frames)
    cross_findings(prepare(t, "2026-10", "1", dt.date(2026, 11, 27)), index_overlaps(t, "2026-10", {"B": t}), 1.5)
