"""One grammar for every value that reaches the service from outside: path segments, query
parameters, form fields, JSON fields and the columns of a bank batch.

Every pattern is matched whole (``fullmatch``: a trailing newline is not "the end") and with
``re.ASCII`` (``\\d`` would take full-width and Arabic-Indic digits, which ``int()`` then reads
as numbers and which sort after every ASCII period). Lengths are bounded before any regex runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str
    pattern: re.Pattern[str]
    max_len: int
    code: str  # the error code of a 400 when a value does not match
    zh: str  # what a valid value looks like, to finish "… 应为 …"
    en: str

    def ok(self, value: object) -> bool:
        return isinstance(value, str) and len(value) <= self.max_len and self.pattern.fullmatch(value) is not None


def _term(name: str, pattern: str, max_len: int, code: str, zh: str, en: str) -> Term:
    return Term(name, re.compile(pattern, re.ASCII), max_len, code, zh, en)


# Years 1990-2099: far enough back for any project still owed wages, and no year of 0001.
PERIOD = _term("period", r"(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])", 7, "PERIOD_INVALID",
               "YYYY-MM 格式的年月（如 2026-10，半角数字）", "YYYY-MM with ASCII digits, e.g. 2026-10")
DATE = _term("date", r"(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", 10, "DATE_INVALID",
             "YYYY-MM-DD 格式的日期（半角数字）", "a YYYY-MM-DD date with ASCII digits")
PROJECT_CODE = _term("code", r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", 64, "PROJECT_CODE_INVALID",
                     "字母、数字、点、下划线或连字符（最多 64 位）", "letters, digits, '.', '_' or '-' (at most 64)")
REGION_CODE = _term("region_code", r"[1-8][0-9]{5}", 6, "REGION_INVALID",
                    "6 位行政区划代码（GB/T 2260，半角数字）", "a 6-digit administrative code (GB/T 2260, ASCII digits)")
REGION_PREFIX = _term("region", r"[1-8][0-9]{0,5}", 6, "REGION_INVALID",
                      "1-6 位行政区划代码前缀（如 4403，半角数字）", "a 1-6 digit region-code prefix (e.g. 4403, ASCII digits)")
UPLOAD_ID = _term("upload_id", r"U[0-9]{20}[0-9a-f]{6}", 27, "UPLOAD_ID_INVALID",
                  "上传编号（U 加 26 位）", "an upload id (U and 26 characters)")
SAFE_ID = _term("id", r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", 128, "VALIDATION",
                "字母、数字、点、下划线或连字符（最多 128 位）", "letters, digits, '.', '_' or '-' (at most 128)")
ACCOUNT = _term("account", r"[0-9]{6,32}", 32, "VALIDATION", "6-32 位数字账号", "an account number of 6-32 digits")
CREDIT_CODE = _term("credit_code", r"[0-9A-HJ-NP-RT-UW-Y]{18}", 18, "VALIDATION",
                    "18 位统一社会信用代码", "an 18-character unified social credit code")
ID_NUMBER = _term("id_number", r"[1-8][0-9]{16}[0-9Xx]", 18, "ID_INVALID",
                  "18 位居民身份证号码", "an 18-character resident ID number")
TEMPLATE = _term("name", r"[a-z_]{1,20}\.xlsx", 25, "NOT_FOUND", "模板文件名（如 roster.xlsx）", "a template file name (e.g. roster.xlsx)")
AMOUNT = _term("amount", r"[0-9]{1,12}\.[0-9]{2}", 15, "AMOUNT_INVALID", "两位小数的金额（如 1234.50）",
               "an amount with two decimals (e.g. 1234.50)")

def anchored(term: Term) -> str:
    """The term as a whole-string regex for Polars (Rust's ``$`` is the end of the text)."""
    return f"^(?:{term.pattern.pattern})$"


# Free text (names, reasons, labels): printable, bounded, no control characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_TEXT = 200
MAX_PARAM = 256  # any query parameter or path segment
MAX_MONTHS = 120  # a period range: ten years of monthly reports
MAX_JSON_DEPTH = 16


def text_ok(value: object, max_len: int = MAX_TEXT, min_len: int = 1) -> bool:
    return isinstance(value, str) and min_len <= len(value.strip()) and len(value) <= max_len and not _CONTROL.search(value)


def clean_filename(name: str | None) -> str:
    """A sent file name as it may be kept and shown: control characters and path parts
    dropped, at most 255 characters (the name is the clerk's, so it is cleaned, not refused)."""
    cleaned = _CONTROL.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return cleaned[-255:] or "upload"


def month_index(period: str) -> int:
    """Months since year 0 of a PERIOD-valid string."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def add_months(period: str, n: int) -> str:
    i = month_index(period) + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def months(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive; both must match PERIOD (ValueError otherwise,
    and for a range longer than MAX_MONTHS), so the loop is bounded by construction."""
    if not (PERIOD.ok(first) and PERIOD.ok(last)):
        raise ValueError("not a period")
    start, end = month_index(first), month_index(last)
    if end < start or end - start + 1 > MAX_MONTHS:
        raise ValueError("period range out of bounds")
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(start, end + 1)]


_INNERMOST = re.compile(rb"\[\]|\{\}")
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_KEEP = b'[]{}"\\'
_DROP = bytes(b for b in range(256) if b not in _KEEP)


def json_depth_ok(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests at most ``limit`` arrays/objects (checked before any decoder
    recurses into it). Only brackets, quotes and backslashes are kept (bytes.translate, in C),
    strings are blanked so brackets inside them do not count, then innermost pairs are peeled."""
    skeleton = _STRING.sub(b"", _ESCAPE.sub(b"", body.translate(None, _DROP)))
    for _ in range(limit):
        if not skeleton:
            return True
        skeleton, n = _INNERMOST.subn(b"", skeleton)
        if n == 0:
            return True  # unbalanced: the decoder refuses it with its own message
    return not skeleton
