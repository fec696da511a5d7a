"""Chinese messages are Chinese: no English words inside what a zh caller is told.

Walks the rule registry (``GET /api/v1/rules``), the findings of files that cannot be read, and
the refusals that can be triggered over HTTP with ``Accept-Language: zh-CN``, and fails on an
ASCII word of three or more letters in a Chinese message. Allowed: stable codes (PERIOD_INVALID),
the API's own parameter and field names and enum values (period, kind, roster, id_number ...),
header and MIME names (Authorization: Bearer, text/csv), acronyms written in capitals (CSV, PDF,
UTF-8, GBK, YYYY-MM), file extensions (.xlsx), product names (Excel, Word, PowerPoint), and text a
message quotes from the user's file in 「」.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

from conftest import FIXTURES, service
from sitereg.validate.columns import SCHEMAS

# Names the API itself defines: parameters, body fields, enum values, canonical columns.
API_NAMES = {
    "period", "period_from", "period_to", "kind", "file", "region", "reason", "date", "from", "to", "code",
    "investment_type", "government", "state_owned", "other", "batch_id", "payer_account", "mapping", "token",
    "upload_id", "roster", "contracts", "attendance", "payroll", "payments", "entry_exit", "auto",
} | {c.name for cols in SCHEMAS.values() for c in cols}
PRODUCTS = {"excel", "word", "powerpoint", "opendocument", "wps", "sitereg", "luhn"}  # names
FORMATS = {"xlsx", "xls", "xlsm", "xlsb", "csv", "docx", "ods", "pdf", "png", "jpeg", "rtf", "html", "xml", "json"}
HEADERS = {"authorization", "bearer", "idempotency-key", "content-type", "accept-language"}
EXTENSIONS = re.compile(r"[A-Za-z0-9_-]*\.(xlsx|xlsm|xlsb|xls|csv|ods|docx|pdf|txt)\b", re.I)
MIME = re.compile(r"\b[a-z]+/[a-z0-9.+-]+\b")
UPLOAD_ID = re.compile(r"\bU[0-9]{20}[0-9a-f]{6}\b")
URL_PATH = re.compile(r"/api/[A-Za-z0-9_{}./?=&-]*")
QUOTED = re.compile(r"「[^」]*」")
PLACEHOLDER = re.compile(r"<[a-z_]+>|\{[a-z_]+\}")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")
CJK = re.compile(r"[\u3400-\u9fff]")


def english_words(text: str) -> list[str]:
    """ASCII words of 3+ letters in ``text`` that are not codes, names or allowed tokens."""
    text = QUOTED.sub("", text)
    text = PLACEHOLDER.sub("", text)
    text = EXTENSIONS.sub("", text)
    text = URL_PATH.sub("", text)
    text = UPLOAD_ID.sub("", text)
    text = MIME.sub("", text)
    out = []
    for word in WORD.findall(text):
        letters = sum(ch.isalpha() for ch in word)
        low = word.lower()
        if letters < 3 or low in API_NAMES or low in PRODUCTS or low in HEADERS or low in FORMATS:
            continue
        if word.upper() == word:  # a code (PERIOD_INVALID), an acronym (PDF, UTF-8, GBK), YYYY-MM
            continue
        out.append(word)
    return out


def test_the_checker_itself():
    assert english_words("这是保存成表格后缀的网页，不是 Excel 文件；HTML page saved as a spreadsheet, save as .xlsx") == [
        "page", "saved", "spreadsheet", "save"]
    assert english_words("period 应为 YYYY-MM 格式，如 2026-10") == []
    assert english_words("无法识别的列「Worker Name」，该列内容未入库。") == []
    assert english_words("请在请求头加入 Authorization: Bearer <token>；以 text/csv 提交的内容是 xlsx 工作簿") == []
    assert english_words("请求参数无效：Validation failed for POST /api/v1/projects") == ["Validation", "failed", "for"]


ZH = {"Accept-Language": "zh-CN"}


def _detail(response) -> str:
    body = response.json()
    assert set(body) >= {"status", "code", "detail"}, body
    return body["detail"]


class Wording:
    """Collects every Chinese message that is not Chinese; ``verdict`` fails on any."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str, list[str]]] = []
        self.checked = 0

    def check(self, where: str, text: str) -> None:
        self.checked += 1
        assert CJK.search(text), f"{where}: not Chinese at all: {text!r}"
        found = english_words(text)
        if found:
            self.problems.append((where, text, found))

    def verdict(self) -> None:
        assert not self.problems, "English words in Chinese messages:\n" + "\n".join(
            f"  {where}: {found} in {text!r}" for where, text, found in self.problems)


def test_rule_registry_is_chinese_in_chinese(client, admin):
    w = Wording()
    rules = client.get("/api/v1/rules", headers={**admin, **ZH}).json()["rules"]
    assert len(rules) > 30
    for rule in rules:
        w.check(f"{rule['code']} message.zh", rule["message"]["zh"])
        w.check(f"{rule['code']} title.zh", rule["title"]["zh"])
    w.verdict()


# ------------------------------------------------------------------------------------------------
# files that cannot be read: the 422's detail and every finding message


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


UNREADABLE = {
    "html.xlsx": b"<html><body><table><tr><td>\xe5\xa7\x93\xe5\x90\x8d</td></tr></table></body></html>",
    "scan.xlsx": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "photo.xlsx": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "utf16.csv": "姓名,身份证号码\n张三,110101199003071234\n".encode("utf-16"),
    "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    "broken.xlsx": b"PK\x03\x04" + bytes(40),
    "noise.xlsx": bytes(range(256)) * 8,
    "sheet2003.xlsx": b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>',
    "book.ods": _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}),
    "wide.csv": (",".join(f"c{i}" for i in range(16400)) + "\n" + ",".join("1" for _ in range(16400)) + "\n").encode(),
}


def test_unreadable_files_are_explained_in_chinese(client, admin, project):
    w = Wording()
    for name, data in UNREADABLE.items():
        r = client.post(f"/api/v1/projects/{project['code']}/uploads", headers={**admin, **ZH},
                        data={"kind": "roster", "period": "2026-10"}, files={"file": (name, data)})
        assert r.status_code == 422, (name, r.text)
        body = r.json()
        w.check(f"{name}: detail", body["detail"])
        for f in body["findings"]:
            w.check(f"{name}: {f['rule']}", f["message"])
    w.verdict()


def test_findings_of_a_readable_file_are_chinese(client, admin, project):
    """A real file with findings of many kinds (fixtures/roster.xlsx, roster_en.csv with English headers)."""
    w = Wording()
    for name in ("roster.xlsx", "roster_en.csv"):
        r = client.post(f"/api/v1/projects/{project['code']}/uploads", headers={**admin, **ZH},
                        data={"period": "2026-10"}, files={"file": (name, (FIXTURES / name).read_bytes())})
        assert r.status_code in (200, 201, 422), r.text
        upload_id = r.json().get("upload_id")
        report = client.get(f"/api/v1/uploads/{upload_id}/report", headers={**admin, **ZH}).json()
        for f in report["findings"]:
            w.check(f"{name}: {f['rule']}", f["message"])
    assert w.checked >= 4
    w.verdict()


# ------------------------------------------------------------------------------------------------
# refusals over HTTP


def _refusals(project_code: str) -> list[tuple[str, str, str, dict]]:
    """(name, method, path, request keyword arguments) of requests each refused with a Chinese detail."""
    up = f"/api/v1/projects/{project_code}/uploads"
    roster = (FIXTURES / "roster.xlsx").read_bytes()
    return [
        ("period", "GET", f"/api/v1/projects/{project_code}/periods/2026-13/findings", {}),
        ("coverage period", "GET", "/api/v1/coverage", {}),
        ("coverage range", "GET", "/api/v1/coverage?period_from=2000-01&period_to=2026-10", {}),
        ("investment type", "GET", "/api/v1/coverage?period=2026-10&investment_type=private", {}),
        ("region", "GET", "/api/v1/coverage?period=2026-10&region=44O3", {}),
        ("bulletin region", "GET", "/api/v1/bulletins/0/2026-10.docx", {}),
        ("bulletin document", "GET", "/api/v1/bulletins/4403/2026-10.pdf", {}),
        ("unknown project", "GET", "/api/v1/projects/NOPE-1", {}),
        ("kind", "POST", up, {"data": {"kind": "invoice", "period": "2026-10"}, "files": {"file": ("a.csv", b"a\n")}}),
        ("upload period", "POST", up, {"data": {"kind": "roster", "period": "10/2026"}, "files": {"file": ("a.csv", b"a\n")}}),
        ("file missing", "POST", up, {"data": {"kind": "roster", "period": "2026-10"}}),
        ("audit date", "GET", "/api/v1/audit?date=yesterday", {}),
        ("template", "GET", "/api/v1/templates/invoice.xlsx", {}),
        ("upload id", "GET", "/api/v1/uploads/not-an-id", {}),
        ("json depth", "POST", "/api/v1/projects", {"content": b"[" * 40 + b"]" * 40,
                                                     "headers": {"Content-Type": "application/json"}}),
        ("project fields", "POST", "/api/v1/projects", {"json": {**json.loads((FIXTURES / "project.json").read_text()),
                                                                 "code": "NEW-1", "region_code": "abc"}}),
        ("column map kind", "GET", f"/api/v1/projects/{project_code}/column-maps/invoice", {}),
        ("column map body", "PUT", f"/api/v1/projects/{project_code}/column-maps/roster", {"content": b"{not json"}),
        ("column map value", "PUT", f"/api/v1/projects/{project_code}/column-maps/roster",
         {"json": {"mapping": {"工人名字": "full_name"}}}),
        ("same file twice is fine", "POST", up, {"data": {"kind": "roster", "period": "2026-10"},
                                                 "files": {"file": ("roster.xlsx", roster)}}),
    ]


def test_refusals_are_chinese(client, admin, project):
    w = Wording()
    for name, method, path, kwargs in _refusals(project["code"]):
        headers = {**admin, **ZH, **kwargs.pop("headers", {})}
        r = client.request(method, path, headers=headers, **kwargs)
        if r.status_code < 400:
            continue
        w.check(f"{name} ({r.status_code} {r.json().get('code')})", _detail(r))
    assert w.checked >= 15
    w.verdict()


def test_refusals_by_role_and_token_are_chinese(client, admin, tokens, project):
    bureau = {**tokens.issue("bureau", project["region_code"][:4]), **ZH}
    other = {**tokens.issue("contractor", "91440300MA5DXXXX0X"), **ZH}
    up = f"/api/v1/projects/{project['code']}/uploads"
    cases = [
        ("no token", client.get("/api/v1/projects", headers=ZH)),
        ("bad token", client.get("/api/v1/projects", headers={"Authorization": "Bearer nope", **ZH})),
        ("bureau uploads", client.post(up, headers=bureau, data={"kind": "roster", "period": "2026-10"},
                                       files={"file": ("a.csv", b"a\n")})),
        ("bureau writes a column map", client.put(f"/api/v1/projects/{project['code']}/column-maps/roster", headers=bureau,
                                                  json={"mapping": {}})),
        ("contractor reads another's project", client.get(f"/api/v1/projects/{project['code']}", headers=other)),
        ("contractor reads the audit", client.get("/api/v1/audit", headers=other)),
        ("bureau reads a bulletin outside", client.get("/api/v1/bulletins/3101/2026-10.docx", headers=bureau)),
        ("method", client.delete("/api/v1/projects", headers={**admin, **ZH})),
    ]
    w = Wording()
    for name, r in cases:
        assert r.status_code >= 400, (name, r.status_code)
        w.check(f"{name} ({r.status_code})", _detail(r))
    w.verdict()


def test_over_the_limit_states_the_limit_in_chinese(tmp_path, project_body):
    with service(tmp_path, project_body, max_upload_bytes=20_000) as (client, admin):
        r = client.post(f"/api/v1/projects/{project_body['code']}/uploads", headers={**admin, **ZH},
                        data={"kind": "roster", "period": "2026-10"}, files={"file": ("big.csv", b"a,b\n" * 10_000)})
        assert r.status_code == 413
        detail = _detail(r)
        w = Wording()
        w.check("413", detail)
        w.verdict()
        assert "20 KB" in detail or "19.5312 KB" in detail or "0.02 MB" in detail


def test_malformed_bodies_are_refused_in_chinese(client, admin, project):
    w = Wording()
    r = client.post("/api/v1/projects", headers={**admin, **ZH}, json={"code": 5})
    assert r.status_code == 400
    w.check("project body of the wrong shape", _detail(r))
    r = client.post(f"/api/v1/projects/{project['code']}/uploads", headers={**admin, **ZH, "Content-Type": "text/plain"},
                    content=b"hello")
    assert r.status_code in (400, 415)
    w.check("upload without multipart", _detail(r))
    w.verdict()


def test_batch_csv_refusals_are_chinese(client, tokens, project):
    bank = {**tokens.issue("bank", project["dedicated_account"]), **ZH}
    r = client.post("/api/v1/payment-batches?batch_id=B1&payer_account=" + project["dedicated_account"],
                    headers={**bank, "Content-Type": "text/csv", "Idempotency-Key": "B1"}, content=b"a,b\n1,2\n")
    assert r.status_code >= 400
    w = Wording()
    w.check("batch csv columns", _detail(r))
    w.verdict()


# ------------------------------------------------------------------------------------------------
# the files a bureau hands on, and the web page's own strings

def test_exports_and_bulletin_are_chinese(client, admin, project):
    import docx
    import openpyxl

    from conftest import upload

    w = Wording()
    assert upload(client, admin, project["code"], "roster", "2026-10", "roster.xlsx").status_code == 201
    region = project["region_code"][:4]
    r = client.get(f"/api/v1/bulletins/{region}/2026-10.docx", headers={**admin, **ZH})
    assert r.status_code == 200
    d = docx.Document(io.BytesIO(r.content))
    texts = [p.text for p in d.paragraphs] + [c.text for t in d.tables for row in t.rows for c in row.cells]
    texts += [s._inline.docPr.get("descr") or "" for s in d.inline_shapes]
    for path, name in ((f"/api/v1/coverage.xlsx?period=2026-10&region={region}", "coverage.xlsx"),
                       (f"/api/v1/projects/{project['code']}/periods/2026-10/findings.xlsx", "findings.xlsx")):
        r = client.get(path, headers={**admin, **ZH})
        assert r.status_code == 200, (name, r.text)
        for ws in openpyxl.load_workbook(io.BytesIO(r.content)):
            texts += [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    r = client.get(f"/api/v1/projects/{project['code']}/periods/2026-10/findings.csv", headers={**admin, **ZH})
    texts += r.content.decode("utf-8-sig").splitlines()
    # A user's own text (the project's name, a file name, a worker's name) is not ours to judge.
    own = {project["name"], "roster.xlsx"}
    for text in texts:
        for piece in own:
            text = text.replace(piece, "")
        if CJK.search(text):
            w.check("export", text)
    assert w.checked > 50
    w.verdict()


def _page_strings() -> list[tuple[str, str]]:
    from sitereg.api.web import WEB_DIR

    out = []
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    for m in re.finditer(r">([^<>]+)<|(?:placeholder|title|aria-label)=\"([^\"]*)\"", html):
        out.append(("index.html", m.group(1) or m.group(2)))
    js = (WEB_DIR / "app.js").read_text(encoding="utf-8")
    code = re.sub(r"^\s*//.*$", "", js, flags=re.M)  # comments are for developers
    for m in re.finditer(r"\"(?:[^\"\\\n]|\\.)*\"|`(?:[^`\\]|\\.)*`", code):
        text = re.sub(r"\$\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}", "", m.group(0)[1:-1])  # the code inside ${...}
        out.append(("app.js", text))
    return [(where, t) for where, t in out if CJK.search(t)]


def test_web_page_strings_are_chinese():
    w = Wording()
    strings = _page_strings()
    assert len(strings) > 100
    for where, text in strings:
        w.check(where, text)
    w.verdict()


# ---- English messages: the system's own words in English -------------------------------------
# The header and the cell (the user's own text) stay as written; what the system derives or names
# (the gender an ID gives, a kind, the values a column allows) is English in a lang=en message.
def _rendered(kind: str, rows: list[dict], code: str) -> list[tuple[str, str]]:
    from ruleharness import check
    from sitereg.api.findings import finding_json

    found = check(kind, rows).findings
    return [(finding_json(f, kind, "zh")["message"], finding_json(f, kind, "en")["message"])
            for f in found.iter_rows(named=True) if f["rule"] == code]


def _system_cjk(en: str) -> list[str]:
    """Chinese left in an English message once the user's quoted text ('...') is taken out."""
    return CJK.findall(re.sub(r"'[^']*'", "", en))


def test_gender_mismatch_names_the_gender_of_the_id_in_the_callers_language():
    from ruleharness import CARD_B, ID_B, roster_row

    rows = [roster_row(性别="女"),  # ID_A is a man's
            roster_row(身份证号码=ID_B, 姓名="李秀英", 性别="M", 工资卡号=CARD_B)]  # ID_B is a woman's
    assert _rendered("roster", rows, "GENDER_MISMATCH") == [
        ("「性别」为「女」，但身份证号显示为男。请核对。", "'性别' says '女' but the ID number says male. Check which is right."),
        ("「性别」为「M」，但身份证号显示为女。请核对。", "'性别' says 'M' but the ID number says female. Check which is right."),
    ]


def test_a_gender_mismatch_stored_before_still_reads_english_in_english():
    from sitereg.api.findings import finding_json

    stored = {"rule": "GENDER_MISMATCH", "row": 31, "column": "性别", "value": "男", "worker": None,
              "args": '{"expected":"女"}'}
    assert finding_json(stored, "roster", "en")["message"] == (
        "'性别' says '男' but the ID number says female. Check which is right.")
    assert finding_json(stored, "roster", "zh")["message"] == "「性别」为「男」，但身份证号显示为女。请核对。"


def test_allowed_values_are_explained_in_english_in_english():
    from ruleharness import ID_A, payroll_row, roster_row

    cases = [
        ("roster", [roster_row(性别="未知")], "可填：男 / 女。", "allowed: 男 / 女 (male / female; also M / F)."),
        ("entry_exit", [{"证件号码": ID_A, "工人姓名": "张建国", "进退场日期": "2026-10-01", "类型": "进来"}],
         "可填：进场 / 退场（入场 / 出场）。", "allowed: 进场 / 退场 (entry / exit; also 入场 / 出场, in / out)."),
        ("payroll", [payroll_row(工资所属期="十月")], "可填：YYYY-MM，如 2026-10。", "allowed: YYYY-MM, e.g. 2026-10."),
    ]
    for kind, rows, zh_tail, en_tail in cases:
        ((zh, en),) = _rendered(kind, rows, "VALUE_INVALID")
        assert zh.endswith(zh_tail) and en.endswith(en_tail), (zh, en)
        assert "，" not in en and "（" not in en


def test_column_missing_names_the_kind_the_file_looks_like_in_english():
    from ruleharness import attendance_rows

    ((zh, en),) = _rendered("payroll", attendance_rows(days=[1]), "COLUMN_MISSING")
    assert "文件看起来像：考勤表。" in zh
    assert "the file looks like: attendance." in en
    # What is left in Chinese is the template's header to add, quoted: 实发工资.
    assert _system_cjk(en) == []


def test_kind_mismatch_and_columns_not_stored_read_as_english_in_english():
    """'a attendance file' and a list joined with 、 in an English sentence."""
    from ruleharness import attendance_rows, roster_row

    ((_, en),) = _rendered("payroll", attendance_rows(days=[1]), "KIND_MISMATCH")
    assert "looks like an attendance file, not a payroll file" in en
    ((_, en),) = _rendered("roster", [roster_row(民族="汉", 住址="x")], "COLUMNS_NOT_STORED")
    assert "、" not in en and "民族, 住址" in en


def test_a_malformed_body_says_which_field_and_a_broken_json_says_so(client, admin):
    """The Chinese detail was a bare 请求参数无效 / 请求格式错误: the field was named in English only."""
    r = client.post("/api/v1/projects", headers={**admin, **ZH}, json={"code": "X-1"})
    assert r.status_code == 400 and "name" in r.json()["detail"] and "缺失" in r.json()["detail"]
    r = client.post("/api/v1/projects", headers={**admin, **ZH, "Content-Type": "application/json"}, content=b'{"code":')
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
