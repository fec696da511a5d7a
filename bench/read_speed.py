"""Time read_table on a 100,000 x 12 roster (xlsx and csv) against bare polars reads.

    uv run python bench/read_speed.py [rows]

Prints (never asserts) the median of 3 runs. Files are built in memory, Excel-like (shared
strings, a date style), with a title and a note row above the header.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
import sys
import time

import fastexcel
import polars as pl
from _data import to_xlsx  # bench/ is on sys.path when run as a script

from sitereg.validate import readers
from sitereg.validate.columns import header_hints

HINTS = header_hints()

# --- Excel-like files written by hand (shared strings, a date style): fast to build -----------


HEADERS = [
    "姓名", "身份证号码", "性别", "手机号码", "用工单位统一社会信用代码", "用工单位",
    "班组", "工种", "进场日期", "退场日期", "工资卡号", "工资标准",
]

def rows(n: int):
    base = dt.date(2026, 1, 1)
    for i in range(n):
        yield [
            f"工人{i}", f"11010119900307{i % 10000:04d}", "男", f"138{i:08d}",
            "91110000MA01ABCD2X", "某劳务公司", f"班组{i % 20}", "钢筋工",
            base + dt.timedelta(days=i % 300), None, f"62220{i:014d}",
            350.5 if i % 2 else 400,
        ]


def make_xlsx(n: int) -> bytes:
    return to_xlsx(HEADERS, list(rows(n)), sheet="花名册", title="某某项目农民工花名册", notes=("填表说明：带*为必填",))


def make_csv(n: int, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    wr = csv.writer(out, lineterminator="\r\n")
    wr.writerow(HEADERS)
    for row in rows(n):
        wr.writerow(["" if v is None else (v.isoformat() if isinstance(v, dt.date) else v) for v in row])
    return out.getvalue().encode(encoding)


# --- timing --------------------------------------------------------------------------------


def timed(label: str, fn, runs: int = 3) -> object:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    print(f"  {label:<58} {statistics.median(times):6.3f} s   (min {min(times):.3f})")
    return result


def main(n: int) -> None:
    start = time.perf_counter()
    xlsx = make_xlsx(n)
    csv_utf8 = make_csv(n)
    csv_gbk = make_csv(n, "gb18030")
    print(f"{n} rows x 12 columns: xlsx {len(xlsx) / 1e6:.1f} MB, csv {len(csv_utf8) / 1e6:.1f} MB "
          f"(built in {time.perf_counter() - start:.1f} s)")

    print("xlsx")
    t = timed("read_table (guard scan + calamine + rendering)",
              lambda: readers.read_table(xlsx, "r.xlsx", header_hints=HINTS))
    assert isinstance(t, readers.Table), t
    timed("  of which: guard scan (inflate + used range + numeric cells)",
          lambda: readers._scan_xlsx(xlsx, 1_048_576, 300_000_000))
    timed("  of which: fastexcel all-string read, header_row=None",
          lambda: fastexcel.read_excel(xlsx).load_sheet(0, header_row=None, skip_rows=0,
                                                        dtypes="string").to_polars())
    timed("  alternative numeric detection: 2nd calamine read (bool dtype)",
          lambda: fastexcel.read_excel(xlsx).load_sheet(0, header_row=None, skip_rows=0, dtypes="boolean",
                                                        use_columns=[1, 11]).to_polars())
    timed("bare polars.read_excel (calamine, drops blank rows)", lambda: pl.read_excel(xlsx))
    print(f"  -> frame {t.frame.shape}, header row {t.header_row}, numeric columns {sorted(t.numeric)}")

    print("csv")
    t = timed("read_table utf-8", lambda: readers.read_table(csv_utf8, "r.csv", header_hints=HINTS))
    assert isinstance(t, readers.Table), t
    timed("read_table gb18030", lambda: readers.read_table(csv_gbk, "r.csv", header_hints=HINTS))
    timed("bare polars.read_csv (type inference)", lambda: pl.read_csv(csv_utf8))
    timed("bare polars.read_csv(infer_schema=False)", lambda: pl.read_csv(csv_utf8, infer_schema=False))
    print(f"  -> frame {t.frame.shape}, header row {t.header_row}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
