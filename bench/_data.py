"""Shared generators and helpers of the benchmarks (not a benchmark itself).

- valid identifiers (the logic of tests/idgen.py, copied so the benches do not import tests);
- a month of one project: roster, contracts, long-form attendance, payments as csv or xlsx
  bytes (xlsx written by hand, Excel-like: shared strings, a date style; see read_speed.py);
- a real uvicorn server on loopback over a LocalStore, in a subprocess
  (``python bench/_data.py serve DATA_DIR PORT``), and small timing helpers.

Every worker is valid on every rule: checksummed 18-digit ID (men born 1970-1999, women
1980-1999, so no AGE_* finding in 2026), Luhn-valid 19-digit card, a mobile number, the
employer's valid credit code, a known job type, a contract covering the month at a daily
rate, attendance with weekly rest, and (payments) pay from the dedicated account into the
worker's own card before the contract's pay day.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 27)  # the fixed clock of the server: October 2026's pay deadline has passed
PERIOD = "2026-10"
ACCOUNT = "4425010020239361300"  # the project's dedicated wage account (fixtures/project.json)
CONTRACTOR = "9144030019219286XW"  # general contractor's credit code (fixtures/project.json)
RATE_YUAN = 400  # daily wage
PAY_DAY = 15

# --- valid identifiers ---------------------------------------------------------------------

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def make_id(birth: str = "19850612", seq: int = 123, male: bool = True, region: str = "440305") -> str:
    code = f"{seq:03d}"
    if (int(code[2]) % 2 == 1) != male:
        code = code[:2] + str((int(code[2]) + 1) % 10)
    body = region + birth + code
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W, strict=True)) % 11]


def make_credit(body: str = "91440300MA5DL7K25") -> str:
    total = sum(_CREDIT_CHARS.index(ch) * w for ch, w in zip(body, _CREDIT_W, strict=True))
    return body + _CREDIT_CHARS[(31 - total % 31) % 31]


def make_card(prefix: str = "622202", n: int = 1, length: int = 19) -> str:
    body = (prefix + str(n).zfill(length - len(prefix) - 1))[: length - 1]
    digits = [int(d) for d in reversed(body)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


EMPLOYER = make_credit()  # the labour subcontractor's credit code
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红春海波成林辉文荣德福贵生"


@dataclass(frozen=True)
class Worker:
    id_number: str
    name: str
    card: str
    phone: str
    male: bool


_BIRTH_DAYS = 7300  # birth dates spread over 20 years


def workers(n: int, offset: int = 0) -> list[Worker]:
    """n distinct valid workers; ``offset`` gives another, disjoint set (another project's crew).

    Worker i: birth date 1980-01-01 (men: 1970-01-01) + (i mod 7300) days, sequence
    number 2*(i div 7300) + sex bit, so IDs are distinct for i < 3.65 million."""
    out = []
    for i in range(offset, offset + n):
        male = i % 3 != 0
        birth = (dt.date(1970, 1, 1) if male else dt.date(1980, 1, 1)) + dt.timedelta(days=i % _BIRTH_DAYS)
        seq = (i // _BIRTH_DAYS) * 2 + (1 if male else 0)
        id_number = make_id(birth.strftime("%Y%m%d"), seq % 1000, male=male)
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[(i // 7) % len(GIVEN)]
        out.append(Worker(id_number, name, make_card("622202", i + 1), f"139{i % 100_000_000:08d}", male))
    return out


def work_days(i: int, days: int = 25, period: str = PERIOD) -> list[dt.date]:
    """``days`` dates of the month for worker i, each worker resting on a rotating set of days
    (so nobody works every day: no NO_REST_DAY)."""
    year, month = int(period[:4]), int(period[5:7])
    first = dt.date(year, month, 1)
    n_days = ((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - first).days
    all_days = [first + dt.timedelta(days=d) for d in range(n_days)]
    rest = n_days - days
    start = i % n_days
    off = {(start + k * (n_days // max(rest, 1))) % n_days for k in range(rest)}
    chosen = [d for j, d in enumerate(all_days) if j not in off]
    return chosen[:days]


# --- rows of each kind (lists of cells: str, date, int/float, or None) ----------------------

ROSTER_HEADERS = ["序号", "姓名", "性别", "身份证号码", "手机号码", "用工单位统一社会信用代码", "用工单位", "班组", "工种",
                  "进场日期", "退场日期", "工资卡号", "开户银行"]
CONTRACT_HEADERS = ["身份证号码", "姓名", "合同编号", "用工单位统一社会信用代码", "合同开始日期", "合同结束日期", "计薪方式",
                    "工资标准", "工资发放日"]
ATTENDANCE_HEADERS = ["身份证号码", "姓名", "日期", "工时"]
PAYMENT_HEADERS = ["姓名", "身份证号码", "工资所属期", "实发金额", "发放日期", "付款账号", "收款账号", "收款人", "发放渠道",
                   "银行流水号"]


def roster_rows(ws: list[Worker]) -> list[list]:
    entry = dt.date(2026, 3, 1)
    return [[str(i), w.name, "男" if w.male else "女", w.id_number, w.phone, EMPLOYER, "深圳市某劳务有限公司",
             f"班组{i % 20}", "钢筋工", entry, None, w.card, "中国建设银行"] for i, w in enumerate(ws, 1)]


def contract_rows(ws: list[Worker]) -> list[list]:
    start = dt.date(2026, 3, 1)
    return [[w.id_number, w.name, f"HT-{i:07d}", EMPLOYER, start, None, "日薪", RATE_YUAN, PAY_DAY]
            for i, w in enumerate(ws, 1)]


def attendance_rows(ws: list[Worker], days: int = 25, period: str = PERIOD, variant: int = 0) -> list[list]:
    """Long form, one row per worker-day. ``variant`` k > 0 changes the hours of row k (8 -> 9)
    so that each run uploads different bytes (an identical file would return the stored receipt)
    with the same row count."""
    out = []
    for i, w in enumerate(ws):
        for d in work_days(i, days, period):
            out.append([w.id_number, w.name, d, 8])
    if variant:
        out[variant % len(out)][3] = 9
    return out


def payment_rows(ws: list[Worker], payouts: int = 1, days: int = 25, period: str = PERIOD) -> list[list]:
    """``payouts`` payouts per worker adding up to the days worked x the daily rate, each its own
    bank transaction, from the dedicated account into the worker's card before the pay day."""
    out = []
    total_fen = RATE_YUAN * 100 * days
    paid_at = dt.date(int(period[:4]) + (period[5:] == "12"), int(period[5:]) % 12 + 1, 10)
    for i, w in enumerate(ws):
        share, rest = divmod(total_fen, payouts)
        for k in range(payouts):
            fen = share + (rest if k == 0 else 0)
            out.append([w.name, w.id_number, period, f"{fen // 100}.{fen % 100:02d}", paid_at, ACCOUNT, w.card,
                        w.name, "银行卡", f"TX{period.replace('-', '')}{i:07d}{k:03d}"])
    return out


# --- file bytes ------------------------------------------------------------------------------


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def to_csv(headers: list[str], rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    """As Chinese Excel saves 'CSV UTF-8': BOM, CRLF."""
    out = io.StringIO()
    wr = csv.writer(out, lineterminator="\r\n")
    wr.writerow(headers)
    for row in rows:
        wr.writerow([_cell_text(v) for v in row])
    return out.getvalue().encode(encoding)


_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def to_xlsx(headers: list[str], rows: list[list], sheet: str = "Sheet1", title: str | None = None,
            notes: tuple[str, ...] = ()) -> bytes:
    """An Excel-like workbook: text as shared strings (IDs and cards stay text), dates as
    date-styled serial numbers, numbers as numbers; optional title and note rows above the header."""
    sst: dict[str, int] = {}
    out = io.StringIO()
    w = out.write
    all_rows = ([[title]] if title else []) + [[note] for note in notes] + [headers, *rows]
    cols = [_col(c) for c in range(max(len(r) for r in all_rows))]
    w('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
      f'<dimension ref="A1:{cols[-1]}{len(all_rows)}"/><sheetData>')
    epoch = dt.date(1899, 12, 30)
    for r, row in enumerate(all_rows, start=1):
        w(f'<row r="{r}">')
        for c, v in enumerate(row):
            if v is None:
                continue
            ref = f"{cols[c]}{r}"
            if isinstance(v, str):
                k = sst.get(v)
                if k is None:
                    k = sst[v] = len(sst)
                w(f'<c r="{ref}" t="s"><v>{k}</v></c>')
            elif isinstance(v, dt.date):
                w(f'<c r="{ref}" s="1"><v>{(v - epoch).days}</v></c>')
            else:
                w(f'<c r="{ref}"><v>{v}</v></c>')
        w("</row>")
    w("</sheetData></worksheet>")
    sst_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(sst)}" uniqueCount="{len(sst)}">'
        + "".join(f"<si><t>{escape(k)}</t></si>" for k in sst)
        + "</sst>"
    )
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        z.writestr("xl/sharedStrings.xml", sst_xml)
        z.writestr("xl/worksheets/sheet1.xml", out.getvalue())
    return buf.getvalue()


HEADERS = {"roster": ROSTER_HEADERS, "contracts": CONTRACT_HEADERS, "attendance": ATTENDANCE_HEADERS,
           "payments": PAYMENT_HEADERS}


def month_files(ws: list[Worker], fmt: str = "csv", days: int = 25, payouts: int = 1, period: str = PERIOD,
                variant: int = 0) -> dict[str, tuple[str, bytes]]:
    """kind -> (filename, bytes) for one project-month."""
    rows = {"roster": roster_rows(ws), "contracts": contract_rows(ws),
            "attendance": attendance_rows(ws, days, period, variant), "payments": payment_rows(ws, payouts, days, period)}
    out = {}
    for kind, r in rows.items():
        if fmt == "xlsx":
            out[kind] = (f"{kind}.xlsx", to_xlsx(HEADERS[kind], r))
        else:
            out[kind] = (f"{kind}.csv", to_csv(HEADERS[kind], r))
    return out


def project(code: str, region: str = "440305", investment_type: str = "government"):
    from sitereg.catalog import Guarantee, Project

    return Project(code=code, name=f"{code} 某安置房项目施工总承包", region_code=region, investment_type=investment_type,
                   contractor_credit_code=CONTRACTOR, dedicated_account=ACCOUNT, account_bank="中国建设银行深圳南山支行",
                   guarantee=Guarantee(form="bank_guarantee", amount="500000.00"), start_date=dt.date(2026, 3, 1),
                   notice_board=True)


# --- timing and memory -------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def fmt_s(x: float) -> str:
    return f"{x:7.3f} s"


# --- a real server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(data_dir: str | Path, port: int | None = None, workers: int = 1):
    """A real uvicorn serving ``create_app`` over a LocalStore at data_dir, on 127.0.0.1:port,
    in a subprocess (so its work is not in this process); yields the base URL."""
    import httpx

    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", str(data_dir), str(port), str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def app_factory():
    """The app over the LocalStore named by SITEREG_BENCH_DATA_DIR, with the fixed clock (for
    uvicorn's worker processes, which import the app by name)."""
    from sitereg.api import create_app
    from sitereg.settings import Settings
    from sitereg.storage.local import LocalStore

    data_dir = os.environ["SITEREG_BENCH_DATA_DIR"]
    return create_app(Settings(data_dir=data_dir), LocalStore(data_dir), today=lambda: TODAY)


def _serve(data_dir: str, port: int, workers: int) -> None:
    import logging

    import uvicorn

    logging.basicConfig(level=logging.WARNING)
    os.environ["SITEREG_BENCH_DATA_DIR"] = data_dir
    if workers > 1:
        # Several processes over one store, as several API servers over one bucket would be.
        uvicorn.run("_data:app_factory", factory=True, app_dir=str(Path(__file__).resolve().parent), workers=workers,
                    host="127.0.0.1", port=port, log_level="warning", access_log=False)
    else:
        uvicorn.run(app_factory(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def catalog(data_dir: str | Path, database_url: str | None = None):
    """The service's state over a data directory: its files and its database (SQLite in it by default)."""
    from sitereg.catalog import Catalog
    from sitereg.db import open_database
    from sitereg.settings import Settings
    from sitereg.storage.local import LocalStore

    return Catalog(LocalStore(Path(data_dir)), open_database(Settings(data_dir=str(data_dir), database_url=database_url)))


def tokens(data_dir: str | Path) -> dict[str, dict[str, str]]:
    """Authorization headers of an admin, the contractor, and a bureau of region 4403 (Shenzhen)."""

    cat = catalog(data_dir)
    h = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    return {"admin": h(cat.issue_token("admin", ())), "contractor": h(cat.issue_token("contractor", (CONTRACTOR,))),
            "bureau": h(cat.issue_token("bureau", ("4403",)))}


def upload(client, url: str, headers: dict, code: str, kind: str, period: str, name: str, data: bytes):
    return client.post(f"{url}/api/v1/projects/{code}/uploads", data={"kind": kind, "period": period},
                       files={"file": (name, data)}, headers=headers)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        _serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        print(__doc__)
