"""Issue 11: state in the database. The races and staleness the old bucket-listing design had,
each reproduced; the worker ledger; one clock; rebuild-index from the bucket."""

from __future__ import annotations

import datetime as dt

from conftest import FIXTURES, TODAY, service, upload
from test_batches import ACCOUNT, batch, fixture_records, push

PERIOD = "2026-10"

def _first_worker_id() -> str:
    import polars as pl

    df = pl.read_csv(FIXTURES / "payments.csv", infer_schema=False)
    return df.get_column(df.columns[[i for i, c in enumerate(df.columns) if "身份证" in c][0]]).to_list()[0]


def test_risks_follow_the_pay_deadline_without_a_new_upload(tmp_path, project_body):
    """/risks used to show findings frozen at upload time: after the deadline passed, live
    findings said NOT_PAID and /risks did not."""
    clock = {"today": dt.date(2026, 11, 10)}  # before the 2026-11-15 deadline
    with service(tmp_path, project_body, today=lambda: clock["today"]) as (client, admin):
        bureau = {"Authorization": "Bearer " + client.app.state.catalog.issue_token("bureau", ("4403",))}
        contractor = {"Authorization": "Bearer " + client.app.state.catalog.issue_token(
            "contractor", (project_body["contractor_credit_code"],))}
        for kind, name in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx")):
            assert upload(client, contractor, project_body["code"], kind, PERIOD, name).status_code == 201
        before = client.get(f"/api/v1/risks?period={PERIOD}", headers=bureau).json()["projects"][0]["by_rule"]
        assert "NOT_PAID" not in before
        clock["today"] = dt.date(2026, 12, 1)
        live = client.get(f"/api/v1/projects/{project_body['code']}/periods/{PERIOD}/findings", headers=bureau).json()
        after = client.get(f"/api/v1/risks?period={PERIOD}", headers=bureau).json()["projects"][0]["by_rule"]
        assert after.get("NOT_PAID") == live["counts"]["by_rule"]["NOT_PAID"] > 0


def test_two_concurrent_batches_sharing_a_transaction_store_it_once(client, project, tokens):
    import concurrent.futures

    bank = tokens.issue("bank", ACCOUNT)
    records = fixture_records()
    a, b = batch(records[:20], batch_id="B-A"), batch(records[10:30], batch_id="B-B")  # 10 shared transactions
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda x: push(client, bank, x), (a, b)))
    assert [r.status_code for r in answers] == [201, 201]
    from sitereg import period

    t, _ = period.load(client.app.state.catalog, project["code"], PERIOD)
    assert t.payments.height == 30 and t.payments.get_column("bank_txn_id").n_unique() == 30


def test_other_project_sees_the_overlap_at_once(client, admin, project, tokens, project_body):
    """One project's upload used to leave the other project's overlap findings stale."""
    other = {**project_body, "code": "XM-OTHER", "dedicated_account": "4425010020239361399"}
    assert client.post("/api/v1/projects", json=other, headers=admin).status_code == 201
    contractor = tokens.issue("contractor", project_body["contractor_credit_code"])
    assert upload(client, contractor, "XM-OTHER", "attendance", PERIOD, "attendance_wide.xlsx").status_code == 201
    url = f"/api/v1/projects/XM-OTHER/periods/{PERIOD}/findings"
    assert "ATTENDANCE_OVERLAP" not in client.get(url, headers=admin).json()["counts"]["by_rule"]
    assert upload(client, contractor, project["code"], "attendance", PERIOD, "attendance_wide.xlsx").status_code == 201
    assert client.get(url, headers=admin).json()["counts"]["by_rule"]["ATTENDANCE_OVERLAP"] > 0


def test_current_is_the_order_of_arrival_not_the_clock(client, project, contractor):
    from sitereg import catalog as catalog_mod

    real = catalog_mod.new_upload_id
    # A host whose clock runs a year ahead makes the first upload; the second, from a host with
    # the right time, must still become current.
    catalog_mod.new_upload_id = lambda now=None: real(dt.datetime(2027, 11, 29, tzinfo=dt.UTC))
    try:
        import sitereg.pipeline as pipeline_mod

        pipeline_mod.new_upload_id = catalog_mod.new_upload_id
        first = upload(client, contractor, project["code"], "roster", PERIOD, "roster_en.csv").json()
    finally:
        catalog_mod.new_upload_id = real
        pipeline_mod.new_upload_id = real
    second = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    # By their ids (clocks) the first upload looks newer; the database knows it arrived first.
    assert first["upload_id"] > second["upload_id"]
    assert client.app.state.catalog.current_upload("roster", project["code"], PERIOD) == second["upload_id"]


def test_worker_ledger_across_projects_in_scope_and_audited(client, admin, project, tokens, project_body):
    contractor = tokens.issue("contractor", project_body["contractor_credit_code"])
    for kind, name in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx"),
                       ("payments", "payments.csv")):
        upload(client, contractor, project["code"], kind, PERIOD, name)
    worker = _first_worker_id()
    bureau, outside = tokens.issue("bureau", "4403"), tokens.issue("bureau", "3101")
    r = client.get(f"/api/v1/workers/{worker}/ledger?from=2026-01&to=2026-12", headers=bureau)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["worker"] == worker[:6] + "********" + worker[-4:] and worker not in r.text
    month = body["months"][0]
    assert month["project"] == project["code"] and month["period"] == PERIOD and month["days"] > 0
    assert month["paid"] is not None and "." in month["paid"]
    assert client.get(f"/api/v1/workers/{worker}/ledger", headers=outside).status_code == 404
    assert client.get(f"/api/v1/workers/{worker}/ledger", headers=contractor).status_code == 403
    events = client.get("/api/v1/audit", headers=admin).json()["events"]
    assert any(e["action"] == "worker_ledger" for e in events)
    # The ID as typed, a final X in lower case: the same worker, echoed and audited as X.
    assert worker.endswith("X")
    r = client.get(f"/api/v1/workers/{worker[:-1]}x/ledger?from=2026-01&to=2026-12", headers=bureau)
    assert r.status_code == 200 and r.json()["worker"] == body["worker"]
    events = client.get("/api/v1/audit", headers=admin).json()["events"]
    assert {e["target"] for e in events if e["action"] == "worker_ledger"} == {body["worker"]}


def test_the_ledger_gives_the_codes_the_projects_findings_give_today(tmp_path, project_body):
    """The ledger kept the codes of the day its month was last rechecked (PAYMENT_PENDING long
    after the deadline) and left out the cross-project ones (ATTENDANCE_OVERLAP, PAID_TWICE)
    that both projects' findings show. Each entry now has, for the worker, the codes of the
    project-period's findings on the day it is read."""
    clock = {"today": dt.date(2026, 11, 10)}  # before the 2026-11-15 deadline
    with service(tmp_path, project_body, today=lambda: clock["today"]) as (client, admin):
        other = {**project_body, "code": "XM-OTHER", "dedicated_account": "4425010020239361399"}
        assert client.post("/api/v1/projects", json=other, headers=admin).status_code == 201
        contractor = {"Authorization": "Bearer " + client.app.state.catalog.issue_token(
            "contractor", (project_body["contractor_credit_code"],))}
        codes = (project_body["code"], "XM-OTHER")
        for code in codes:
            for kind, name in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"),
                               ("attendance", "attendance_wide.xlsx")):
                assert upload(client, contractor, code, kind, PERIOD, name).status_code == 201
        worker = _first_worker_id()
        masked = worker[:6] + "********" + worker[-4:]

        def ledger() -> dict[str, list[str]]:
            r = client.get(f"/api/v1/workers/{worker}/ledger?from={PERIOD}&to={PERIOD}", headers=admin)
            assert r.status_code == 200, r.text
            return {m["project"]: m["findings"] for m in r.json()["months"]}

        def live() -> dict[str, list[str]]:
            out = {}
            for code in codes:
                found = client.get(f"/api/v1/projects/{code}/periods/{PERIOD}/findings", headers=admin).json()
                assert not found["truncated"]
                out[code] = sorted({f["rule"] for f in found["findings"] if f["worker"] == masked})
            return out

        before = ledger()
        assert before == live()
        assert all("ATTENDANCE_OVERLAP" in c and "PAYMENT_PENDING" in c and "NOT_PAID" not in c for c in before.values())
        clock["today"] = dt.date(2026, 12, 1)  # the deadline has passed; nothing uploaded since
        after = ledger()
        assert after == live()
        assert all("NOT_PAID" in c and "PAYMENT_PENDING" not in c for c in after.values())
        # Both projects pay the worker for the month: PAID_TWICE on both, as their findings say.
        for code in codes:
            assert upload(client, contractor, code, "payments", PERIOD, "payments.csv").status_code == 201
        paid = ledger()
        assert paid == live()
        assert all("PAID_TWICE" in c for c in paid.values())


def test_risks_count_payroll_shortfalls_once_the_deadline_passes(tmp_path):
    """PAID_BELOW_PAYROLL turns on when the deadline passes, as NOT_PAID does: /risks counted it
    only if the last recheck happened after the deadline."""
    from ruleharness import ACCOUNT as HARNESS_ACCOUNT
    from ruleharness import PERIOD as HARNESS_PERIOD
    from ruleharness import attendance_rows, contract_row, payment_row, payroll_row, roster_row, tables_of
    from sitereg import period as period_mod
    from sitereg.validate.crosscheck import prepare, timed_codes

    t = tables_of([roster_row()], [contract_row()], attendance_rows(), [payment_row(实发金额="100.00")],
                  [payroll_row()])
    p = prepare(t, HARNESS_PERIOD, HARNESS_ACCOUNT, dt.date(2026, 11, 1))  # rechecked before the deadline
    row = period_mod._risk_counts([], timed_codes(p))
    deadline = p.workers.get_column("deadline")[0]
    assert "PAID_BELOW_PAYROLL" not in period_mod.errors_as_of(row, deadline)
    assert period_mod.errors_as_of(row, deadline + dt.timedelta(days=1))["PAID_BELOW_PAYROLL"] == 1


def test_ledger_paid_from_dedicated_is_what_left_the_dedicated_account():
    """A payout from the project's dedicated account into someone else's card left the 专户:
    the ledger said paid_from_dedicated 0.00 beside that very account in paid_from. Whose card
    it reached is PAYEE_NOT_WORKER's business."""
    from ruleharness import ACCOUNT as HARNESS_ACCOUNT
    from ruleharness import CARD_B, attendance_rows, contract_row, payment_row, roster_row, tables_of
    from sitereg import period as period_mod
    from sitereg.validate.crosscheck import prepare, timed_codes

    t = tables_of([roster_row()], [contract_row()], attendance_rows(), [payment_row(收款账号=CARD_B)])
    p = prepare(t, PERIOD, HARNESS_ACCOUNT, TODAY)
    [month] = period_mod._worker_months(p, [], timed_codes(p))
    assert month["paid_dedicated_fen"] == month["paid_fen"] > 0
    assert p.workers.get_column("paid_own_dedicated_fen").to_list() == [0]  # the coverage rate's figure


def test_today_is_judged_in_the_configured_time_zone():
    from sitereg.settings import Settings, today_in

    utc = dt.datetime.now(dt.UTC)
    shanghai = (utc + dt.timedelta(hours=8)).date()
    assert today_in(Settings()) == shanghai
    assert today_in(Settings(timezone="UTC")) == utc.date()


def test_rebuild_index_restores_every_endpoint(tmp_path, project_body):
    """A lost database is rebuilt from the bucket, and every endpoint answers as before."""
    from litestar.testing import TestClient

    from sitereg.api import create_app
    from sitereg.catalog import Catalog
    from sitereg.db import open_database
    from sitereg.rebuild import rebuild
    from sitereg.settings import Settings
    from sitereg.storage_factory import open_store

    settings = Settings(data_dir=str(tmp_path / "d"))
    store, db = open_store(settings), open_database(settings)
    catalog = Catalog(store, db)
    admin = {"Authorization": "Bearer " + catalog.issue_token("admin", ())}
    contractor = {"Authorization": "Bearer " + catalog.issue_token("contractor", (project_body["contractor_credit_code"],))}
    bank = {"Authorization": "Bearer " + catalog.issue_token("bank", (ACCOUNT,))}
    code = project_body["code"]
    urls = [f"/api/v1/projects/{code}", f"/api/v1/projects/{code}/periods/{PERIOD}/findings",
            f"/api/v1/projects/{code}/periods/{PERIOD}/coverage", f"/api/v1/coverage?period={PERIOD}",
            f"/api/v1/risks?period={PERIOD}", "/api/v1/projects"]
    with TestClient(create_app(settings, store, today=lambda: TODAY, db=db)) as client:
        client.post("/api/v1/projects", json=project_body, headers=admin)
        ids = [upload(client, contractor, code, kind, PERIOD, name).json()["upload_id"]
               for kind, name in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"),
                                  ("attendance", "attendance_wide.xlsx"))]
        assert push(client, bank, batch()).status_code == 201
        before = {u: client.get(u, headers=admin).json() for u in urls + [f"/api/v1/uploads/{i}" for i in ids]}
        before["batch"] = client.get("/api/v1/payment-batches/B-20261114-001", headers=admin).json()
    db.close()
    (tmp_path / "d" / "sitereg.db").unlink()
    db2 = open_database(settings)
    done = rebuild(Catalog(store, db2), settings, TODAY)
    assert done.projects == 1 and done.uploads == 3 and done.batches == 1 and done.periods == 1
    with TestClient(create_app(settings, store, today=lambda: TODAY, db=db2)) as client:
        after = {u: client.get(u, headers=admin).json() for u in urls + [f"/api/v1/uploads/{i}" for i in ids]}
        after["batch"] = client.get("/api/v1/payment-batches/B-20261114-001", headers=admin).json()
        assert after == before
        # The replayed batch is still one payout per transaction, and the tokens still work.
        assert push(client, bank, batch()).status_code == 200


def test_rebuild_restores_an_upload_made_current_again(tmp_path, project_body):
    """Re-sending an earlier upload's bytes makes it current again; a rebuilt database agrees."""
    from sitereg.catalog import Catalog
    from sitereg.db import open_database
    from sitereg.rebuild import rebuild

    with service(tmp_path, project_body) as (client, admin):
        catalog = client.app.state.catalog
        contractor = {"Authorization": "Bearer " + catalog.issue_token("contractor", (project_body["contractor_credit_code"],))}
        first = upload(client, contractor, project_body["code"], "roster", PERIOD, "roster.xlsx").json()["upload_id"]
        upload(client, contractor, project_body["code"], "roster", PERIOD, "roster_en.csv")
        again = upload(client, contractor, project_body["code"], "roster", PERIOD, "roster.xlsx")
        assert again.status_code == 200 and again.json()["upload_id"] == first
        assert catalog.current_upload("roster", project_body["code"], PERIOD) == first
        settings, store = client.app.state.settings, client.app.state.store
    (tmp_path / "svc" / "sitereg.db").unlink()
    db = open_database(settings)
    rebuild(Catalog(store, db), settings, TODAY)
    assert db.current_upload("roster", project_body["code"], PERIOD) == first


def test_an_earlier_months_roster_refreshes_the_later_months_that_carry_it(client, project, contractor, tokens):
    """A roster (or contracts, or entry/exit log) for an earlier month changes every later month
    that uses it; only its own month was recomputed, so the region view, /risks and the ledger
    of the later month kept the old figures while the project view was right."""
    import csv
    import io

    from idgen import make_card, make_id

    code = project["code"]
    credit = project["contractor_credit_code"]
    workers = [("张建国", make_id(seq=101), make_card(n=1)), ("李秀英", make_id(seq=203, male=False), make_card(n=2))]

    def sheet(rows):
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode()

    def roster(ws):
        return sheet([["姓名", "身份证号码", "用工单位统一社会信用代码", "工种", "进场日期", "工资卡号"],
                      *[[n, i, credit, "钢筋工", "2026-03-01", card] for n, i, card in ws]])

    both, one = roster(workers), roster(workers[:1])
    assert upload(client, contractor, code, "roster", "2026-09", "r.csv", both).status_code == 201
    att = sheet([["姓名", "身份证号码", "日期", "工时"], *[[n, i, "2026-10-08", "8"] for n, i, _ in workers]])
    assert upload(client, contractor, code, "attendance", "2026-10", "a.csv", att).status_code == 201
    bureau = tokens.issue("bureau", "4403")

    def region_realname():
        return client.get("/api/v1/coverage?period=2026-10", headers=bureau).json()["totals"]["realname_rate"]

    def risks():
        return client.get("/api/v1/risks?period=2026-10", headers=bureau).json()["projects"][0]["by_rule"]

    assert region_realname() == 1.0 and "NOT_ON_ROSTER" not in risks()
    assert upload(client, contractor, code, "roster", "2026-09", "r.csv", one).status_code == 201
    own = client.get(f"/api/v1/projects/{code}/periods/2026-10/coverage", headers=bureau).json()["realname_rate"]
    assert own == 0.5
    assert region_realname() == 0.5 and risks().get("NOT_ON_ROSTER") == 1
    ledger = client.get(f"/api/v1/workers/{workers[1][1]}/ledger", headers=bureau).json()
    assert any("NOT_ON_ROSTER" in m["findings"] for m in ledger["months"] if m["period"] == "2026-10"), ledger
    # The earlier roster's bytes again: it is current again, and October follows it back.
    assert upload(client, contractor, code, "roster", "2026-09", "r.csv", both).status_code == 200
    assert region_realname() == 1.0 and "NOT_ON_ROSTER" not in risks()


def test_the_ledger_counts_as_paid_only_what_reached_the_workers_own_account(client, project, contractor, tokens):
    """1400.00 paid to a foreman's card read as "paid" beside an UNDERPAID finding saying 0.00
    arrived; and a piece worker's expected pay read 0.00 where domain.md says there is none."""
    import csv
    import io

    from idgen import make_card, make_id

    code, credit = project["code"], project["contractor_credit_code"]
    account = project["dedicated_account"]
    (a, ida, carda), (b, idb, cardb) = ("赵敏", make_id(seq=305, male=False), make_card(n=5)), ("王强", make_id(seq=407), make_card(n=6))
    foreman = make_card(n=9)

    def sheet(rows):
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode()

    steps = [
        ("roster", [["姓名", "身份证号码", "用工单位统一社会信用代码", "工种", "进场日期", "工资卡号"],
                    [a, ida, credit, "木工", "2026-03-01", carda], [b, idb, credit, "木工", "2026-03-01", cardb]]),
        ("contracts", [["姓名", "身份证号码", "用工单位统一社会信用代码", "合同开始日期", "计薪方式", "工资标准", "工资发放日"],
                       [a, ida, credit, "2026-03-01", "日薪", "350", "15"], [b, idb, credit, "2026-03-01", "计件", "", "15"]]),
        ("attendance", [["姓名", "身份证号码", "日期", "工时"], [a, ida, "2026-10-08", "8"], [a, ida, "2026-10-09", "8"],
                        [b, idb, "2026-10-08", "8"]]),
        ("payments", [["姓名", "身份证号码", "工资所属期", "实发金额", "发放日期", "付款账号", "收款账号", "收款人", "发放渠道", "银行流水号"],
                      [a, ida, "2026-10", "700.00", "2026-11-10", account, foreman, "包工头", "银行卡", "T-1"],
                      [b, idb, "2026-10", "900.00", "2026-11-10", account, cardb, b, "银行卡", "T-2"]]),
    ]
    for kind, rows in steps:
        r = upload(client, contractor, code, kind, "2026-10", f"{kind}.csv", sheet(rows))
        assert r.status_code == 201, r.text
    bureau = tokens.issue("bureau", "4403")
    zhao = client.get(f"/api/v1/workers/{ida}/ledger", headers=bureau).json()["months"][0]
    assert (zhao["expected"], zhao["paid"], zhao["paid_to_others"]) == ("700.00", "0.00", "700.00")
    assert "UNDERPAID" in zhao["findings"] and "PAYEE_NOT_WORKER" in zhao["findings"]
    wang = client.get(f"/api/v1/workers/{idb}/ledger", headers=bureau).json()["months"][0]
    assert (wang["expected"], wang["paid"], wang["paid_to_others"]) == (None, "900.00", "0.00")
