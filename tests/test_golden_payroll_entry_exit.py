"""Golden months for the payroll (工资表) and entry/exit (进退场) rules, through the API.

The base is the golden month of ``golden.py`` (roster, contracts, attendance, payments), with a
site wage sheet and the platform's entry/exit log added, written as real xlsx in the layouts of
formats.md. A clean month has no error or warning, and its payroll and log no finding at all;
one planted breach per payroll / entry-exit rule yields exactly those findings, on the worker
(or row) it was planted on.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field

import openpyxl
import pytest

import golden
from idgen import make_card
from sitereg.validate.rules import RULES

PROJECT = {"code": "GOLDEN-PY", "name": "工资表与进退场黄金测试项目", "region_code": "440304", "investment_type": "state_owned",
           "contractor_credit_code": golden.CREDIT, "dedicated_account": golden.ACCOUNT,
           "guarantee": {"form": "cash", "amount": "100000.00"}, "start_date": "2026-01-01", "status": "active",
           "notice_board": True}
FULL = golden.RATE * len(golden.DAYS)  # what a clean worker earns in October, in yuan


@dataclass
class Month:
    workers: list[golden.Worker]
    payroll: list[dict]  # lines of the wage sheet
    log: list[dict]  # lines of the entry/exit log
    expected: list[tuple[str, str | None]] = field(default_factory=list)  # (rule, masked worker ID or None)


def masked(w: golden.Worker) -> str:
    return w.id_number[:6] + "********" + w.id_number[-4:]


def payroll_line(w: golden.Worker, **over) -> dict:
    line = {"姓名": w.name, "身份证号码": w.id_number, "工资卡号": w.card, "出勤天数": str(len(golden.DAYS)),
            "单价/天": str(golden.RATE), "应发工资（元）": f"{FULL}.00", "扣款（元）": "0.00", "实发工资（元）": f"{FULL}.00"}
    line.update(over)
    return line


def entry(w: golden.Worker, date: str = "2026-03-01", way: str = "进场") -> dict:
    return {"工人姓名": w.name, "证件号码": w.id_number, "进退场日期": date, "类型": way}


def month(plants: bool) -> Month:
    workers, _, _ = golden.month(False)  # ten clean workers: rostered, contracted, present, paid
    m = Month(workers, [payroll_line(w) for w in workers], [entry(w) for w in workers])
    if not plants:
        return m
    n = 300

    def plant(rule: str, payroll: dict | None = None, *, on_payroll: bool = True, **kw) -> golden.Worker:
        nonlocal n
        n += 1
        w = golden.base(n)
        for k, v in kw.items():
            setattr(w, k, v)
        m.workers.append(w)
        m.log.append(entry(w))
        if on_payroll:
            m.payroll.append(payroll_line(w, **(payroll or {})))
        m.expected.append((rule, masked(w)))
        return w

    plant("PAYROLL_ARITHMETIC", {"实发工资（元）": f"{FULL - 100}.00"})
    plant("DEDUCTION_HIGH", {"扣款（元）": "2000.00", "实发工资（元）": f"{FULL - 2000}.00"})
    plant("PAYROLL_BELOW_EXPECTED", {"应发工资（元）": f"{FULL - 800}.00", "实发工资（元）": f"{FULL - 800}.00"})
    plant("PAYROLL_DAYS_DIFFER", {"出勤天数": str(len(golden.DAYS) - 2)})
    plant("NOT_ON_PAYROLL", on_payroll=False)
    # Owed more than the contract gives (an agreed bonus) and paid only the contract's amount.
    plant("PAID_BELOW_PAYROLL", {"应发工资（元）": f"{FULL + 400}.00", "实发工资（元）": f"{FULL + 400}.00"})
    # Left the site without an entry on record: only on the roster and in the log.
    gone = plant("EXIT_WITHOUT_ENTRY", on_payroll=False, contract=None, days=[], payments=[])
    m.log[-1] = entry(gone, "2026-10-20", "退场")
    # An entry/exit line whose type is neither: that line is not stored, the worker's entry is.
    odd = plant("VALUE_INVALID")
    m.log.append(entry(odd, "2026-10-12", "请假"))
    # A wage-sheet line naming its worker by a card the roster does not hold.
    stranger = golden.Worker(499, "无名氏", card=make_card(n=9999))
    m.payroll.append(payroll_line(stranger, 身份证号码=""))
    m.expected.append(("WORKER_UNRESOLVED", None))
    return m


def xlsx(sheet: str, title: str | None, header: list[str], lines: list[dict]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(header)
    for line in lines:
        ws.append([line.get(h) or None for h in header])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"  # IDs and cards as text, as the template sets them
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PAYROLL_HEADER = ["序号", "姓名", "身份证号码", "工资卡号", "出勤天数", "单价/天", "应发工资（元）", "扣款（元）", "实发工资（元）", "签字"]
LOG_HEADER = ["工人姓名", "证件号码", "进退场日期", "类型"]


def run_month(client, admin, m: Month) -> tuple[dict, dict[str, dict]]:
    assert client.post("/api/v1/projects", json=PROJECT, headers=admin).status_code == 201
    files = golden.files(m.workers, {"roster": [], "attendance": [], "payments": [], "roster_columns": []})
    payroll = [{**line, "序号": str(i)} for i, line in enumerate(m.payroll, 1)]
    files["payroll"] = ("工资表.xlsx", xlsx("钢筋班", "2026年10月工资表", PAYROLL_HEADER, payroll))
    files["entry_exit"] = ("进退场记录.xlsx", xlsx("进退场记录", None, LOG_HEADER, m.log))
    receipts = {}
    for kind in ("roster", "contracts", "attendance", "payments", "payroll", "entry_exit"):
        name, data = files[kind]
        r = client.post(f"/api/v1/projects/{PROJECT['code']}/uploads", data={"kind": kind, "period": golden.PERIOD},
                        files={"file": (name, data)}, headers=admin)
        assert r.status_code == 201, r.text
        receipts[kind] = r.json()
    found = client.get(f"/api/v1/projects/{PROJECT['code']}/periods/{golden.PERIOD}/findings", headers=admin).json()
    assert not found["truncated"]
    return found, receipts


def test_clean_month_with_payroll_and_log_has_no_error_or_warning(client, admin):
    m = month(plants=False)
    found, receipts = run_month(client, admin, m)
    assert found["counts"]["error"] == 0 and found["counts"]["warning"] == 0, found["findings"]
    for kind in ("payroll", "entry_exit"):
        r = receipts[kind]
        assert (r["errors"], r["warnings"], r["infos"]) == (0, 0, 0), (kind, r)
        assert r["rows_accepted"] == r["rows_total"] == len(m.payroll if kind == "payroll" else m.log)


def test_planted_month_yields_exactly_the_planted_findings_on_the_planted_workers(client, admin):
    m = month(plants=True)
    found, receipts = run_month(client, admin, m)
    got = Counter((f["rule"], f["worker"]) for f in found["findings"])
    unresolved = [f for f in found["findings"] if f["rule"] == "WORKER_UNRESOLVED"]
    expected = Counter((rule, worker) for rule, worker in m.expected if rule != "WORKER_UNRESOLVED")
    assert got - Counter({("WORKER_UNRESOLVED", f["worker"]): 1 for f in unresolved}) == expected
    # The unresolved line is named as the clerk wrote it, its card masked.
    (u,) = unresolved
    assert u["value"] == f"****{make_card(n=9999)[-4:]} 无名氏" and u["kind"] == "payroll"
    assert receipts["payroll"]["rows_rejected"] == 1 and receipts["entry_exit"]["rows_rejected"] == 1


def test_the_plants_cover_every_payroll_and_entry_exit_rule():
    planted = {rule for rule, _ in month(plants=True).expected}
    own = {r.code for r in RULES if r.kinds and set(r.kinds) <= {"payroll", "entry_exit"}}
    assert own | {"WORKER_UNRESOLVED"} <= planted


@pytest.mark.parametrize("rule", ["PAYROLL_BELOW_EXPECTED", "PAID_BELOW_PAYROLL", "NOT_ON_PAYROLL"])
def test_each_planted_payroll_breach_alone_is_the_only_finding(client, admin, rule):
    """Each cross-file payroll plant on its own in a clean month: exactly that one finding."""
    full = month(plants=True)
    m = month(plants=False)
    index = next(i for i, (r, _) in enumerate(full.expected) if r == rule)
    w = next(x for x in full.workers if masked(x) == full.expected[index][1])
    m.workers.append(w)
    m.log.append(entry(w))
    m.payroll += [line for line in full.payroll if line["身份证号码"] == w.id_number]
    found, _ = run_month(client, admin, m)
    assert [(f["rule"], f["worker"]) for f in found["findings"] if f["severity"] != "info"] == [(rule, masked(w))]
