"""The web pages in a real browser: headless Chromium (Debian's package) driven by Playwright.

The real server runs in-process (uvicorn in a background thread, on a free loopback port) over a
local store holding one month of data: two projects in region 4403 and one in 3101, plus the
fixture project a contractor uploads to. Each check compares what the page shows with what the
API answers for the same query.

Playwright for Python is used, not Selenium: it drives the system Chromium through
``executable_path`` (its own browser download is never used), waits for elements by itself, and
reports downloads as events, so a blob-URL download can be checked by its bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

import golden
from conftest import FIXTURES, TODAY

# Debian's Chromium; SITEREG_CHROMIUM names another binary.
CHROMIUM = os.environ.get("SITEREG_CHROMIUM") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                                   else shutil.which("chromium") or "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = ("Chromium is missing: the browser tests need Debian's chromium package. Install it with "
                "`apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver` "
                "(.ci/run does this); never `playwright install`.")
PERIOD = golden.PERIOD  # 2026-10; the server's clock says 2026-11-27, so it is also the default month
SHOTS = os.environ.get("SITEREG_SCREENSHOT_DIR")  # set to save screenshots of the views (outside the repo)
XSS_NAME = '<img src=x onerror="window.__xss=1">福田区某学校项目'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running sitereg with a month of data; yields (base URL, tokens by role)."""
    import uvicorn

    from sitereg.api import create_app
    from sitereg.settings import Settings
    from sitereg.storage_factory import open_store

    settings = Settings(data_dir=str(tmp_path_factory.mktemp("browser") / "data"))
    store = open_store(settings)
    app = create_app(settings, store, today=lambda: TODAY)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, name="sitereg-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        base = f"http://127.0.0.1:{port}"
        catalog = app.state.catalog
        project_body = json.loads((FIXTURES / "project.json").read_text(encoding="utf-8"))
        tokens = {
            "admin": catalog.issue_token("admin", ()),
            "bureau": catalog.issue_token("bureau", ("4403",)),
            "contractor": catalog.issue_token("contractor", (project_body["contractor_credit_code"],)),
        }
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60) as admin:
            _load_month(admin)
            assert admin.post("/api/v1/projects", json=project_body).status_code == 201
        yield base, tokens
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _load_month(admin: httpx.Client) -> None:
    """As tests/test_coverage.py: A-1 (4403, government, one of two workers without a contract),
    B-1 (4403, other, ten workers), C-1 (3101, outside the bureau's region); and D-1 (4403,
    government, nothing uploaded), E-1 (4403, other, roster and attendance only: no expected pay)."""
    base = {"investment_type": "government", "contractor_credit_code": golden.CREDIT, "dedicated_account": golden.ACCOUNT,
            "guarantee": {"form": "cash", "amount": "1.00"}, "notice_board": True}
    small = [golden.base(i) for i in range(1, 3)]
    small[0].contract = None
    big = [golden.base(i) for i in range(10, 20)]
    for project, workers in [
        ({**base, "code": "A-1", "name": XSS_NAME, "region_code": "440304"}, small),
        ({**base, "code": "B-1", "name": "南山区某住宅项目", "region_code": "440305", "investment_type": "other"}, big),
        ({**base, "code": "C-1", "name": "黄浦区某项目", "region_code": "310101"}, big[:3]),
        ({**base, "code": "D-1", "name": "宝安区某道路项目", "region_code": "440306"}, []),
        ({**base, "code": "E-1", "name": "龙岗区某厂房项目", "region_code": "440307", "investment_type": "other"},
         [golden.base(i) for i in range(30, 33)]),
    ]:
        assert admin.post("/api/v1/projects", json=project).status_code == 201
        if not workers:
            continue
        extra = {"roster": [], "attendance": [], "payments": [], "roster_columns": []}
        for kind, (name, data) in golden.files(workers, extra).items():
            if project["code"] == "E-1" and kind not in ("roster", "attendance"):
                continue
            r = admin.post(f"/api/v1/projects/{project['code']}/uploads", data={"kind": kind, "period": PERIOD},
                           files={"file": (name, data)})
            assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(INSTALL_HINT + f" (looked for {CHROMIUM})", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _api(server, role: str, path: str):
    base, tokens = server
    r = httpx.get(base + path, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _sign_in(page, server, role: str) -> None:
    base, tokens = server
    page.goto(base + "/")
    page.fill("#token", tokens[role])
    page.click("#signin")


def _pct(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _cell(page, selector: str) -> tuple[str, str]:
    """(percentage, numerator/denominator) shown in a rate cell."""
    return page.inner_text(f"{selector} .pct"), page.inner_text(f"{selector} .frac")


def test_pages_are_served_outside_the_api_guard(server):
    base, _ = server
    index = httpx.get(base + "/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in index.headers["content-security-policy"]
    js = httpx.get(base + "/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert js.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(base + "/static/app.css").status_code == 200
    assert "innerHTML" not in js.text  # API values go on the page as text only
    assert httpx.get(base + "/ui/session").status_code == 401
    assert httpx.get(base + "/api/v1/projects").status_code == 401


def test_bad_token_is_refused(page, server):
    base, _ = server
    page.goto(base + "/")
    page.fill("#token", "not-a-token")
    page.click("#signin")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "令牌无效" in page.inner_text("#login-error")
    assert page.is_hidden("#bureau") and page.is_hidden("#contractor")


def test_bureau_dashboard_matches_the_api(page, server):
    _sign_in(page, server, "bureau")
    page.wait_for_selector(f"body[data-bureau-loaded='{PERIOD}']")
    assert page.input_value("#b-period") == PERIOD  # previous month of the server's date
    assert "监管部门" in page.inner_text("#who-role") and "4403" in page.inner_text("#who-scope")
    assert page.is_hidden("#contractor")

    api = _api(server, "bureau", f"/api/v1/coverage?period={PERIOD}")
    totals, gov = api["totals"], api["by_investment_type"]["government"]
    row = "#totals tr[data-scope='all']"
    assert page.inner_text(f"{row} td[data-field='workers_active']") == str(totals["workers_active"])
    assert page.inner_text(f"{row} td[data-field='projects']") == str(totals["projects"])
    frac = totals["fractions"]["contract_rate"]
    assert _cell(page, f"{row} td[data-field='contract_rate']") == (
        _pct(totals["contract_rate"]), f"{frac['numerator']}/{frac['denominator']}")
    assert frac["denominator"] >= 12 and totals["contract_rate"] < 1  # A-1's worker without a contract counts
    grow = "#totals tr[data-scope='government']"
    assert page.inner_text(f"{grow} th") == "其中政府投资工程项目"
    assert page.inner_text(f"{grow} td[data-field='workers_active']") == str(gov["workers_active"])
    for key in ("realname_rate", "contract_rate", "dedicated_account_rate", "full_pay_rate", "on_time_rate"):
        f = gov["fractions"][key]
        assert _cell(page, f"{grow} td[data-field='{key}']") == (_pct(gov[key]), f"{f['numerator']}/{f['denominator']}")
    # On-time pay is judged per deadline: A-1's contracted worker was due 2026-11-15, before the server's date.
    assert gov["on_time_rate"] == 1.0 and page.inner_text(f"{grow} td[data-field='on_time_rate'] .pct") == "100.0%"
    assert page.inner_text(f"{grow} td[data-field='contract_rate'] .pct") == "50.0%"

    # The project table: only the bureau's region, and a click on a header sorts it.
    visible = {p["code"] for p in _api(server, "bureau", "/api/v1/projects")["projects"]}
    codes = page.eval_on_selector_all("#projects tbody tr", "rows => rows.map(r => r.dataset.project)")
    assert set(codes) == visible and {"A-1", "B-1"} <= set(codes) and "C-1" not in codes
    assert all(code != "C-1" for code in codes)
    headers = page.eval_on_selector_all("#projects thead th", "ths => ths.map(t => t.innerText.replace(/[▲▼]/g, '').trim())")
    assert headers == ["项目编码", "项目名称", "区划", "投资类型", "在场人数", "实名制覆盖率", "劳动合同签订率", "专户代发率",
                       "足额发放率", "按时发放率", "欠薪风险金额"]
    # A user-typed name is shown as text, never parsed as HTML.
    assert page.inner_text("#projects tr[data-project='A-1'] td[data-field='name']") == XSS_NAME
    assert page.locator("#projects img").count() == 0 and page.evaluate("window.__xss") is None

    by_workers = {p["project"]: p["workers_active"] for p in api["projects"]}
    page.click("#projects th[data-key='workers_active']")
    shown = page.eval_on_selector_all("#projects tbody tr", "rows => rows.map(r => r.dataset.project)")
    with_data = [c for c in shown if c in by_workers]
    assert with_data == sorted(by_workers, key=lambda c: (by_workers[c], c))
    assert page.get_attribute("#projects th[data-key='workers_active']", "aria-sort") == "ascending"
    page.click("#projects th[data-key='workers_active']")
    shown = [c for c in page.eval_on_selector_all("#projects tbody tr", "rows => rows.map(r => r.dataset.project)")
             if c in by_workers]
    assert shown == sorted(by_workers, key=lambda c: (-by_workers[c], c))
    assert page.get_attribute("#projects th[data-key='workers_active']", "aria-sort") == "descending"
    page.click("#projects th[data-key='contract_rate']")
    first = page.get_attribute("#projects tbody tr:first-child", "data-project")
    by_contract = {p["project"]: p["contract_rate"] for p in api["projects"] if p["contract_rate"] is not None}
    assert first == min(by_contract, key=lambda c: (by_contract[c], c))  # lowest rate first

    # The trend: 12 months on the axis, points where there is data, values as the API's.
    trend = _api(server, "bureau", f"/api/v1/coverage?period_from=2025-11&period_to={PERIOD}")["trend"]
    assert [t["period"] for t in trend] == [PERIOD]
    ticks = page.eval_on_selector_all("svg#trend text.tick", "ts => ts.map(t => t.textContent)")
    assert "2025-11" in ticks and PERIOD in ticks
    points = page.locator(f"svg#trend circle[data-period='{PERIOD}']")
    assert points.count() == 4
    contract_point = page.get_attribute(f"svg#trend circle[data-period='{PERIOD}'][data-series='contract_rate']", "data-value")
    assert float(contract_point) == trend[0]["contract_rate"]
    assert page.locator("#trend-legend li").all_inner_texts() == ["实名制覆盖率", "劳动合同签订率", "专户代发率", "足额发放率"]

    # The risk list, in the API's order: arrears risks (a shortfall, or workers unpaid past their
    # deadline) apart from projects with only data errors and ¥0.00, which are never ranked among them.
    risks = _api(server, "bureau", f"/api/v1/risks?period={PERIOD}")["projects"]
    arrears = [r["project"] for r in risks if float(r["arrears_estimate"]) > 0 or r["by_rule"].get("NOT_PAID")]
    quality = [r["project"] for r in risks if r["project"] not in arrears and r["errors"] > 0]
    shown = page.eval_on_selector_all("#risks tbody tr", "rows => rows.map(r => r.dataset.project)")
    assert shown == arrears
    assert page.eval_on_selector_all("#quality tbody tr", "rows => rows.map(r => r.dataset.project)") == quality
    assert "A-1" in quality  # one worker without a contract, nothing owed
    a = next(r for r in risks if r["project"] == "A-1")
    assert page.inner_text("#quality tr[data-project='A-1'] td[data-field='errors']") == str(a["errors"])
    assert "NO_CONTRACT" in page.get_attribute("#quality tr[data-project='A-1'] .chip", "title")
    # E-1 has workers and no expected amount: 无法估算, never ¥0.00.
    e1 = next(p for p in api["projects"] if p["project"] == "E-1")
    assert e1["fractions"]["full_pay_rate"]["denominator"] == 0 and e1["arrears_estimate"] == "0.00"
    assert page.inner_text("#projects tr[data-project='E-1'] td[data-field='arrears_estimate']") == "无法估算"
    assert page.get_attribute("#totals tr[data-scope='all'] .unknown-note", "data-unknown-projects") == "1"
    # D-1 sent nothing: said in words and colour.
    d1 = "#projects tr[data-project='D-1'] td[data-field='workers_active']"
    assert page.inner_text(d1) == "本月未上传" and "state-missing" in page.get_attribute(d1, "class")

    if SHOTS:
        page.screenshot(path=f"{SHOTS}/sitereg-bureau.png", full_page=True)

    # Drill-down: a click on a project shows its findings and its coverage.
    page.click("#projects tr[data-project='A-1'] td[data-field='project']")
    page.wait_for_selector("#detail-body[data-project='A-1'] table.findings")
    findings = _api(server, "bureau", f"/api/v1/projects/A-1/periods/{PERIOD}/findings")
    rules = page.eval_on_selector_all("#detail-body table.findings tbody tr", "rows => rows.map(r => r.dataset.rule)")
    assert rules == [f["rule"] for f in findings["findings"]] and "NO_CONTRACT" in rules
    worker = page.inner_text("#detail-body tr[data-rule='NO_CONTRACT'] td[data-field='worker']")
    assert "********" in worker  # masked, as the API sends it
    assert "劳动合同" in page.inner_text("#detail-body tr[data-rule='NO_CONTRACT'] td[data-field='message']")  # zh, whatever the browser's locale
    assert page.inner_text("#detail-body table.coverage td[data-field='contract_rate'] .frac") == "1/2"
    assert "A-1" in page.inner_text("#detail-title")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/sitereg-bureau-detail.png", full_page=True)

    # The export is fetched with the token and saved through a blob URL.
    with page.expect_download() as info:
        page.click("#b-export")
    saved = Path(info.value.path())
    assert info.value.suggested_filename == f"实名制工资支付覆盖率-4403-{PERIOD}.xlsx" and saved.read_bytes()[:2] == b"PK"
    with page.expect_download() as info:
        page.click("#b-bulletin")
    assert info.value.suggested_filename == f"实名制和工资支付情况通报-4403-{PERIOD}.docx"
    assert Path(info.value.path()).read_bytes()[:2] == b"PK"

    # A region prefix narrows everything to it.
    page.fill("#b-region", "440305")
    page.click("#b-load")
    page.wait_for_selector("#b-status:has-text('440305')")
    codes = page.eval_on_selector_all("#projects tbody tr", "rows => rows.map(r => r.dataset.project)")
    assert "A-1" not in codes and "B-1" in codes

    page.click("#signout")
    page.wait_for_selector("#login:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('sitereg.token')") is None


def test_contractor_uploads_and_sees_its_receipt(page, server):
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    assert page.is_hidden("#bureau")
    code = "XM-440305-2026-001"
    codes = page.eval_on_selector_all("#c-projects tbody tr", "rows => rows.map(r => r.dataset.project)")
    assert codes == [code]  # only its own project
    assert page.evaluate("sessionStorage.getItem('sitereg.token')") == server[1]["contractor"]

    # Record the progress box's stages and texts: bytes sent, then the server's work.
    _record_stages(page)
    page.select_option("#u-project", code)
    page.select_option("#u-kind", "roster")
    page.fill("#u-period", PERIOD)
    page.set_input_files("#u-file", str(FIXTURES / "roster.xlsx"))
    page.click("#u-submit")
    page.wait_for_selector("#receipt:not([hidden]) table.findings")
    fact = lambda key: page.inner_text(f"#receipt [data-field='{key}'] dd")  # noqa: E731
    assert fact("rows_total") == "41" and fact("rows_rejected") == "4" and fact("rows_accepted") == "37 / 41"
    files = page.eval_on_selector_all("#receipt table.findings td[data-field='file']", "ts => ts.map(t => t.textContent)")
    assert files and set(files) == {"roster.xlsx"}  # each finding names its file
    assert "null" not in page.inner_text("#receipt") and "undefined" not in page.inner_text("#receipt")
    # An extra column (备注) was not stored: the column map is offered, folded (nothing was refused for it).
    page.wait_for_selector("#colmap summary")
    assert page.evaluate("document.querySelector('#colmap').open") is False
    assert "1 列未识别「备注」" in page.inner_text("#colmap summary")
    # Not a bare "上传完成。": what was stored, in words and colour.
    assert "41 行中 37 行已保存，拒收 4 行" in page.inner_text("#u-status")
    assert page.get_attribute("#u-status", "data-tone") == "warning"
    stages = page.evaluate("window.__stages")
    assert stages[:1] == ["send"] and stages.index("check") < stages.index("report")
    # After the bytes, the server's stage in words, with the seconds waited.
    assert any(t.startswith("已上传，服务器校验中…已等待 0 秒") for t in page.evaluate("window.__stageTexts"))
    assert page.is_hidden("#u-progress-box")
    upload_id = page.get_attribute("#receipt", "data-upload-id")
    report = _api(server, "contractor", f"/api/v1/uploads/{upload_id}/report")
    assert fact("errors") == str(report["receipt"]["errors"])
    rows = page.eval_on_selector_all("#receipt table.findings td[data-field='row']", "tds => tds.map(t => t.textContent)")
    assert len(rows) == len(report["findings"])
    assert [r for r in rows if r.isdigit()] == [str(f["row"]) for f in report["findings"] if f["row"] is not None]
    assert any(r.isdigit() for r in rows)

    with page.expect_download() as info:
        page.click("#dl-report")
    assert info.value.suggested_filename.endswith(".xlsx") and Path(info.value.path()).read_bytes()[:2] == b"PK"
    with page.expect_download() as info:
        page.click("#dl-template")
    assert info.value.suggested_filename == "花名册模板.xlsx"  # the server names it

    # The project-period panel follows the upload: its findings and coverage.
    page.wait_for_selector(f"#pp-body[data-project='{code}'][data-period='{PERIOD}'] .findings-block")
    period = _api(server, "contractor", f"/api/v1/projects/{code}/periods/{PERIOD}/findings")
    assert page.locator("#pp-body table.findings tbody tr").count() == len(period["findings"])
    assert page.locator("#pp-body table.coverage").count() == 1
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/sitereg-contractor.png", full_page=True)

    # An unreadable file: 422, its detail and findings shown.
    page.set_input_files("#u-file", str(FIXTURES / "not_a_spreadsheet.xlsx"))
    page.click("#u-submit")
    page.wait_for_selector("#unreadable-detail")
    assert page.inner_text("#unreadable-detail").strip() not in ("", "—")
    assert page.locator("#receipt table.findings tbody tr").count() >= 1


def _record_stages(page) -> None:
    page.evaluate("""() => { window.__stages = []; window.__stageTexts = [];
      const box = document.querySelector('#u-progress-box'); const text = document.querySelector('#u-stage');
      new MutationObserver(() => { const s = box.dataset.stage; if (s && window.__stages.at(-1) !== s) window.__stages.push(s); })
        .observe(box, { attributes: true, attributeFilter: ['data-stage'] });
      new MutationObserver(() => { const t = text.textContent; if (t && window.__stageTexts.at(-1) !== t) window.__stageTexts.push(t); })
        .observe(text, { childList: true, characterData: true, subtree: true }); }""")


def test_server_stage_counts_the_seconds(page, server):
    """While the server checks a big file (a 200,000-row one takes seconds), the box says so and counts."""
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    page.evaluate("setProgress('send', 5e6, 2e7)")
    assert page.inner_text("#u-stage") == "正在上传 25%（5.0 MB / 20 MB）"
    page.evaluate("setProgress('check', 0, 0)")
    assert page.get_attribute("#u-progress-box", "data-stage") == "check"
    assert page.inner_text("#u-stage").startswith("已上传，服务器校验中…已等待 0 秒")
    assert page.evaluate("document.querySelector('#u-progress').hasAttribute('value')") is False  # no made-up percentage
    page.wait_for_selector("#u-progress-box[data-seconds='2']", timeout=5_000)
    assert "已等待 2 秒" in page.inner_text("#u-stage")
    if SHOTS:
        page.locator("#upload-form").locator("xpath=..").screenshot(path=f"{SHOTS}/sitereg-upload-stage.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#upload-form").locator("xpath=..").screenshot(path=f"{SHOTS}/sitereg-390-upload-stage.png")
        page.set_viewport_size({"width": 1360, "height": 900})
    page.evaluate("setProgress('done', 0, 0)")
    assert page.is_hidden("#u-progress-box") and page.evaluate("state.stageTimer") is None


def _odd_roster() -> bytes:
    """fixtures/roster_en.csv with the site's own name for the bank card column."""
    lines = (FIXTURES / "roster_en.csv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    head[head.index("id_number")] = "公民证件号"  # required: the file is refused until it is mapped
    head[head.index("bank_card")] = "工资银行卡"
    return ("\n".join([",".join(head), *lines[1:]]) + "\n").encode("utf-8")


def test_unknown_headers_offer_a_column_map(page, server, tmp_path):
    base, tokens = server
    code = "XM-440305-2026-001"
    month = "2026-08"  # a month no other test reads
    odd = tmp_path / "花名册-本工地.csv"
    odd.write_bytes(_odd_roster())
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    _record_stages(page)
    page.select_option("#u-project", code)
    page.select_option("#u-kind", "roster")
    page.fill("#u-period", month)
    page.set_input_files("#u-file", str(odd))
    page.click("#u-submit")
    page.wait_for_selector("#colmap-form")
    assert "文件被拒收，未保存任何行" in page.inner_text("#u-status")
    assert "缺少的必填列：身份证号码" in page.inner_text("#colmap")
    assert page.get_attribute("#colmap", "data-kind") == "roster"
    assert page.evaluate("document.querySelector('#colmap').open") is True  # refused for a missing column: open
    headers = page.eval_on_selector_all("#colmap select.colmap-target", "ss => ss.map(s => s.dataset.header)")
    assert headers == ["公民证件号", "工资银行卡"]
    options = page.eval_on_selector_all("#colmap select.colmap-target option", "os => os.map(o => [o.value, o.textContent])")
    assert options[0] == ["", "不对应（此列不入库）"]
    labels = dict(options)
    assert labels["id_number"] == "身份证号码（必填） · 文件缺少此列"
    assert labels["bank_card"] == "工资卡号"
    if SHOTS:
        page.locator("#receipt").screenshot(path=f"{SHOTS}/sitereg-colmap.png")
    # On a phone the form fits the screen: no sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#colmap").screenshot(path=f"{SHOTS or '/tmp'}/sitereg-390-colmap.png")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.select_option("#colmap select[data-header='公民证件号']", "id_number")
    page.select_option("#colmap select[data-header='工资银行卡']", "bank_card")
    page.click("#colmap-save")
    page.wait_for_selector("#colmap-status[data-tone='ok']")
    assert "已保存本项目花名册的列名对应（共 2 项）" in page.inner_text("#colmap-status")
    saved = _api(server, "contractor", f"/api/v1/projects/{code}/column-maps/roster")
    assert saved["mapping"] == {"公民证件号": "id_number", "工资银行卡": "bank_card"}
    assert _api(server, "bureau", f"/api/v1/projects/{code}/column-maps/roster")["mapping"] == saved["mapping"]
    # Send the same file again from the form: a new answer replaces the form and the receipt.
    first_receipt = page.get_attribute("#receipt", "data-upload-id")
    page.evaluate("document.querySelector('#u-progress-box').dataset.stage = ''")
    page.click("#colmap-reupload")
    page.wait_for_selector("#u-progress-box[data-stage='done']", state="attached")
    page.wait_for_selector("#receipt:not([hidden])")
    # (Whether it is now stored is the validator's part; the page reports whatever the server says.)
    assert first_receipt and ("行中" in page.inner_text("#u-status") or "拒收" in page.inner_text("#u-status"))
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/sitereg-colmap-after.png", full_page=True)


def test_a_detected_file_missing_one_header_offers_the_map_for_the_kind_it_looks_like(page, server, tmp_path):
    """With 自动识别 the refusal said 文件看起来像：花名册 but offered no 列名对应 form, showed the
    kind as "unknown", and its 下载空白模板 asked for /api/v1/templates/unknown.xlsx (404)."""
    odd = tmp_path / "花名册-自动识别.csv"
    # Headers no saved map of the shared server names (another test maps 公民证件号).
    odd.write_bytes(_odd_roster().replace("公民证件号".encode(), "个人证件编码".encode())
                    .replace("工资银行卡".encode(), "发薪银行户头".encode()))
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    page.select_option("#u-project", "XM-440305-2026-001")
    page.select_option("#u-kind", "")
    page.fill("#u-period", "2026-07")  # a month no other test reads
    page.set_input_files("#u-file", str(odd))
    page.click("#u-submit")
    page.wait_for_selector("#colmap-form")
    assert page.get_attribute("#colmap", "data-kind") == "roster"
    headers = page.eval_on_selector_all("#colmap select.colmap-target", "ss => ss.map(s => s.dataset.header)")
    assert headers == ["个人证件编码", "发薪银行户头"]
    assert "unknown" not in page.inner_text("#receipt")
    with page.expect_download() as info:
        page.click("#dl-template")
    assert info.value.suggested_filename == "花名册模板.xlsx"


def test_a_file_of_another_kind_is_not_offered_a_map_onto_the_chosen_one(page, server):
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    page.select_option("#u-project", "XM-440305-2026-001")
    page.select_option("#u-kind", "roster")
    page.fill("#u-period", "2026-06")
    page.set_input_files("#u-file", str(FIXTURES / "payments.csv"))
    page.click("#u-submit")
    page.wait_for_selector("#receipt:not([hidden])")
    page.wait_for_selector("#u-progress-box[data-stage='done']", state="attached")
    assert "银行代发结果" in page.inner_text("#receipt")  # KIND_MISMATCH says what it looks like
    assert page.query_selector("#colmap") is None


def test_token_survives_a_reload_but_not_a_sign_out(page, server):
    _sign_in(page, server, "admin")
    page.wait_for_selector("body[data-bureau-loaded]")
    assert page.is_visible("#bureau") and page.is_visible("#contractor")  # an admin sees both
    page.reload()
    page.wait_for_selector("body[data-bureau-loaded]")
    assert page.inner_text("#who-role") == "管理员"
    page.click("#signout")
    page.reload()
    page.wait_for_selector("#login:not([hidden])")
    assert page.is_hidden("#bureau")



def test_trend_chart_joins_consecutive_months_and_leaves_gaps(page, server):
    """The chart's drawing on its own, with months the fixture data does not have."""
    base, _ = server
    page.goto(base + "/")

    def month(period, rate):
        keys = ("realname_rate", "contract_rate", "dedicated_account_rate", "full_pay_rate")
        return {"period": period, **{k: rate for k in keys},
                "fractions": {k: {"numerator": int(rate * 4), "denominator": 4} for k in keys}}

    trend = [month("2026-06", 1.0), month("2026-08", 0.5), month("2026-09", 0.75)]
    page.evaluate("([t, a, b]) => renderTrend(t, a, b)", [trend, "2025-11", PERIOD])
    for key in ("realname_rate", "contract_rate", "dedicated_account_rate", "full_pay_rate"):
        group = f"svg#trend g[data-series='{key}']"
        assert page.locator(f"{group} circle").count() == 3
        assert page.locator(f"{group} polyline").count() == 1  # 08-09 joined; 06 alone; no line across 07
        assert page.get_attribute(f"{group} polyline", "points").count(",") == 2
    assert page.locator("svg#trend text.tick").count() == 12 + 5
    title = page.text_content("svg#trend circle[data-period='2026-08'][data-series='contract_rate'] title")
    assert title == "2026-08 劳动合同签订率 50.0%（2/4）"
    if SHOTS:
        page.evaluate("document.querySelector('#bureau').hidden = false")
        page.locator("#trend-box").screenshot(path=f"{SHOTS}/sitereg-trend.png")


def test_kind_choice_includes_auto_payroll_and_entry_exit_and_auto_sends_no_kind(page, server):
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    options = page.eval_on_selector_all("#u-kind option", "os => os.map(o => [o.value, o.textContent])")
    values = dict(options)
    assert options[0] == ["", "自动识别"] and values["payroll"] == "工资表" and values["entry_exit"] == "进退场"
    sent: list[bytes] = []

    def capture(route):
        sent.append(route.request.post_data_buffer or b"")
        route.fulfill(status=400, content_type="application/json",
                      body=json.dumps({"status": 400, "code": "KIND_INVALID", "detail": "kind 无效", "extra": {}}))

    page.route("**/uploads", capture)
    page.select_option("#u-kind", "")
    page.fill("#u-period", PERIOD)
    page.set_input_files("#u-file", str(FIXTURES / "roster.xlsx"))
    page.click("#u-submit")
    page.wait_for_selector("#u-status[data-tone='error']")
    assert sent and b'name="kind"' not in sent[0] and b'name="period"' in sent[0]
    assert "上传失败" in page.inner_text("#u-status")
    # A file over the server's limit is refused before sending, with the limit stated.
    page.evaluate("state.maxUpload = 1000")
    page.click("#u-submit")
    page.wait_for_selector("#u-status:has-text('超过上传上限 1 KB')")
    assert len(sent) == 1


def test_states_say_what_is_true(page, server):
    """November: nothing uploaded anywhere. The table says 本月未上传, a drill-down says so and
    shows the findings carried over from October's roster with their month and file."""
    base, tokens = server
    code = "XM-440305-2026-001"  # its October roster has findings; November has no upload of its own
    r = httpx.post(f"{base}/api/v1/projects/{code}/uploads", headers={"Authorization": f"Bearer {tokens['admin']}"},
                   data={"kind": "roster", "period": PERIOD}, files={"file": ("roster.xlsx", (FIXTURES / "roster.xlsx").read_bytes())},
                   timeout=60)
    assert r.status_code in (200, 201), r.text
    carried = _api(server, "bureau", f"/api/v1/projects/{code}/periods/2026-11/findings")["findings"]
    assert carried and all(f.get("upload_id") == r.json()["upload_id"] for f in carried if f.get("upload_id"))
    _sign_in(page, server, "bureau")
    page.wait_for_selector(f"body[data-bureau-loaded='{PERIOD}']")
    page.fill("#b-period", "2026-11")
    page.click("#b-load")
    page.wait_for_selector("body[data-bureau-loaded='2026-11']")
    cell = "#projects tr[data-project='A-1'] td[data-field='workers_active']"
    assert page.inner_text(cell) == "本月未上传"
    page.click("#projects tr[data-project='A-1'] td[data-field='project']")
    page.wait_for_selector("#detail-body[data-project='A-1'][data-state='missing']")
    assert "2026-11 本月未上传任何资料" in page.inner_text("#detail-missing")
    assert "没有发现问题" not in page.inner_text("#detail-body")
    page.click(f"#projects tr[data-project='{code}'] td[data-field='project']")
    page.wait_for_selector(f"#detail-body[data-project='{code}'][data-state='missing'] table.findings")
    months = page.eval_on_selector_all("#detail-body table.findings td[data-field='month']", "ts => ts.map(t => t.textContent)")
    files = page.eval_on_selector_all("#detail-body table.findings td[data-field='file']", "ts => ts.map(t => t.textContent)")
    assert months and all(m in (f"沿用 {PERIOD}", "2026-11") for m in months) and f"沿用 {PERIOD}" in months
    assert any(f.endswith((".xlsx", ".csv")) for f in files)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/sitereg-carried.png", full_page=True)
    # A region outside the token's scope says why nothing is shown.
    page.fill("#b-region", "3101")
    page.click("#b-load")
    page.wait_for_selector("#alert:not([hidden])")
    assert "不在此令牌的监管范围" in page.inner_text("#alert")
    # Counts have thousands separators.
    assert page.evaluate("num(1234567)") == "1,234,567"


def test_contractor_month_without_data_is_not_called_clean(page, server):
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    page.fill("#pp-period", "2025-01")
    page.click("#pp-load")
    page.wait_for_selector("#pp-body[data-period='2025-01'][data-state='empty']")
    text = page.inner_text("#pp-body .findings-block")
    assert "没有可核查的考勤或工资数据" in text and "没有发现问题" not in text
    assert "2025-01 本月未上传任何资料" in page.inner_text("#pp-missing")
    assert page.inner_text("#pp-body td[data-field='arrears_estimate']") == "—"  # not measured, not ¥0.00


def test_contractor_month_with_only_a_carried_roster_says_nothing_was_uploaded(page, server):
    """The bureau's view said 本月未上传 for such a month; the clerk's showed zeros and the carried
    roster's findings with nothing saying the month itself was empty."""
    _sign_in(page, server, "contractor")
    page.wait_for_selector("#contractor:not([hidden])")
    page.select_option("#pp-project", "XM-440305-2026-001")
    page.fill("#pp-period", "2026-11")
    page.click("#pp-load")
    page.wait_for_selector("#pp-body[data-period='2026-11']")
    assert "2026-11 本月未上传任何资料" in page.inner_text("#pp-missing")
    assert "下列问题来自沿用的早期月份资料" in page.inner_text("#pp-missing")


def _shots(page, name: str, start: int = 0, pages: int = 4) -> None:
    """Screens of a phone page, one viewport each (a full-page picture is too tall to look at), under
    SITEREG_SCREENSHOT_DIR or /tmp."""
    out = SHOTS or "/tmp"
    height = page.evaluate("document.documentElement.scrollHeight")
    for i in range(pages):
        y = start + i * 844
        if y >= height:
            break
        page.screenshot(path=f"{out}/{name}-{i}.png", full_page=True,
                        clip={"x": 0, "y": y, "width": 390, "height": min(844, height - y)})


@pytest.mark.parametrize("role", ["bureau", "admin"])
def test_phone_width_has_no_sideways_scrolling(browser, server, role):
    context = browser.new_context(accept_downloads=True, viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _sign_in(page, server, role)
        page.wait_for_selector(f"body[data-bureau-loaded='{PERIOD}']")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Tables are cards: no header row, each value labelled.
        assert page.is_hidden("#projects thead")
        label = page.get_attribute("#projects tr[data-project='B-1'] td[data-field='contract_rate']", "data-label")
        assert label == "劳动合同签订率"
        # Chart text is drawn at its shown size, not scaled down to a few pixels.
        size = page.evaluate("""() => { const t = document.querySelector('svg#trend text.tick');
          const svg = t.ownerSVGElement; return parseFloat(getComputedStyle(t).fontSize) * svg.getBoundingClientRect().width
          / svg.viewBox.baseVal.width; }""")
        assert size >= 10
        _shots(page, f"sitereg-390-{role}")
        page.click("#projects tr[data-project='A-1'] td[data-field='project']")
        page.wait_for_selector("#detail-body[data-project='A-1'] table.findings")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shots(page, f"sitereg-390-{role}-detail", start=page.evaluate("document.querySelector('#detail').offsetTop"))
    finally:
        context.close()
    assert not errors
