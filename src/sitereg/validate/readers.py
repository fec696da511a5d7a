"""Uploaded file bytes -> a table of exact text cells with the row numbers the user sees.

``read_table`` decides the format by content (zip magic -> xlsx, OLE2 -> refused, else text ->
csv), finds the header row under any title and note rows, and returns every cell as text:

* xlsx text cells unchanged (leading zeros, 18-digit IDs); numeric cells as Excel shows them
  in General format (15 significant digits, no ``.0``); date cells as ISO ``2026-10-08`` (or
  ``2026-10-08 07:30:00``); booleans ``TRUE`` / ``FALSE``. ``Table.numeric`` marks the cells
  that were numeric in the workbook (an ID typed as a number has lost its last digits).
* csv decoded as strict UTF-8 (BOM stripped) or else GB18030; every field is text.

``__row__`` is the row number Excel shows (csv: the line on which the record starts); fully
blank rows are dropped, so the numbering keeps its gaps.

Hostile workbooks: before calamine sees an xlsx, every zip member is inflated in a stream while
the real bytes are counted (headers are not trusted), and each worksheet's XML is scanned for
its used range (``<dimension>`` and the actual cell references): calamine allocates
rows x columns of the used range at once and aborts the whole process when that fails.

A file that cannot be used gives a ``ReadFailure`` (never an exception).
"""

from __future__ import annotations

import csv
import io
import math
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import fastexcel
import polars as pl
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

__all__ = ["ReadFailure", "Table", "read_table", "FILE_EMPTY", "FILE_TOO_LARGE", "FILE_UNREADABLE"]

FILE_UNREADABLE = "FILE_UNREADABLE"
FILE_EMPTY = "FILE_EMPTY"
FILE_TOO_LARGE = "FILE_TOO_LARGE"

ROW = "__row__"
MAX_COLS = 16_384  # XFD, Excel's last column
MAX_CELLS = 50_000_000  # rows x columns of a sheet's used range that calamine may allocate
HEADER_SCAN_ROWS = 30  # the header row is looked for among this many non-blank rows
_SEGMENT = 8 << 20  # sheet XML is scanned in segments of about this size
_CHUNK = 1 << 20  # inflate this much at a time

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_UTF8_BOM = b"\xef\xbb\xbf"
# Files that are no table at all: said so, rather than read as text with a strange header.
_NOT_TABLES = ((b"%PDF", "PDF document"), (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"),
               (b"GIF8", "GIF image"), (b"BM", "BMP image"), (b"{\\rtf", "RTF document"))


FINDINGS_SHEETS = {"zh": "问题清单", "en": "Findings"}  # sheets of our own report.xlsx


@dataclass(frozen=True)
class ReadFailure:
    """The file cannot be used at all; becomes a finding, never an exception."""

    code: str  # FILE_UNREADABLE | FILE_EMPTY | FILE_TOO_LARGE
    reason: str  # short English technical reason


@dataclass(frozen=True, eq=False)
class Table:
    frame: pl.DataFrame  # "__row__" (Int64) + one String column per header, in file order
    headers: list[str]  # the column names of ``frame`` without "__row__"
    header_row: int  # row number (Excel row / csv line) of the header row
    numeric: dict[str, pl.Series] = field(default_factory=dict)  # xlsx: header -> Boolean per row
    sheet: str | None = None  # xlsx: sheet name used
    encoding: str | None = None  # csv: "utf-8", "utf-8-sig" or "gb18030"
    title: str = ""  # text of the rows above the header (a title such as 2026年10月考勤表)
    others: tuple[Table, ...] = ()  # xlsx: the workbook's other non-blank sheets, in order
    # A two-line header's merged group title over a sub-column: header -> title (扣款 over 借支).
    groups: dict[str, str] = field(default_factory=dict)

    def sheets(self) -> list[Table]:
        """This sheet and every other non-blank one of the workbook."""
        return [self, *self.others]


def read_table(
    data: bytes,
    filename: str,
    *,
    header_hints: frozenset[str],
    max_rows: int = 1_048_576,
    max_xml_bytes: int = 300_000_000,
) -> Table | ReadFailure:
    """Read an uploaded xlsx or csv; ``filename`` is not used to decide the format."""
    data = bytes(data)
    hints = _normalised_hints(frozenset(header_hints))
    if data.startswith(_OLE2):
        if _ENCRYPTED_PACKAGE in data:
            return ReadFailure(FILE_UNREADABLE, "encrypted workbook (password-protected), save as .xlsx without a password")
        return ReadFailure(FILE_UNREADABLE, "legacy .xls or encrypted workbook, save as .xlsx")
    for magic, what in _NOT_TABLES:
        if data.startswith(magic):
            return ReadFailure(FILE_UNREADABLE, f"{what}, not a table: send the spreadsheet (.xlsx or .csv)")
    if data.startswith(_ZIP_MAGIC):
        try:
            return _read_xlsx(data, hints, max_rows, max_xml_bytes)
        except MemoryError:
            return ReadFailure(FILE_TOO_LARGE, "out of memory while reading the workbook")
    try:
        return _read_csv(data, hints, max_rows)
    except MemoryError:
        return ReadFailure(FILE_TOO_LARGE, "out of memory while reading the text file")


# --------------------------------------------------------------------------------------------
# header row, header names, assembling the table (shared by xlsx and csv)

_NORM_DROP = re.compile(r"[\s*＊_:：]+")
_NORM_SUFFIX = re.compile(r"[（(【\[][^（()）【】\[\]]*[）)】\]]$")
_WS = re.compile(r"\s+")
_BLANK = r"^\s*$"


def _norm(text: str) -> str:
    """Header text for matching: no spaces, newlines, ``*``, ``_``, colons, ``（必填）``-like suffixes."""
    s = _NORM_DROP.sub("", text)
    while True:
        t = _NORM_SUFFIX.sub("", s)
        if t == s or not t:
            break
        s = t
    return s.casefold()


@lru_cache(maxsize=16)
def _normalised_hints(hints: frozenset[str]) -> frozenset[str]:
    return frozenset(n for n in (_norm(h) for h in hints if isinstance(h, str)) if n)


def _clean_header(value: str | None) -> str:
    """Header text as written: stripped, newlines and spaces inside removed (kept as one space
    between two ASCII words, e.g. ``ID Number``)."""
    if value is None:
        return ""
    s = value.strip()

    def gap(m: re.Match[str]) -> str:
        a, b = s[m.start() - 1], s[m.end()]
        return " " if a.isascii() and a.isalnum() and b.isascii() and b.isalnum() else ""

    return _WS.sub(gap, s)


def _hint_count(row: tuple, hints: frozenset[str]) -> int:
    """How many cells are known header names; 0 unless one of them is more than a number (day
    columns ``1``..``31`` are hints, and a data row of small numbers must not pass for a header)."""
    found = [n for n in (_norm(v) for v in row if v is not None) if n in hints]
    return len(found) if any(not n.isdigit() for n in found) else 0


def _pick_header(rows: list[tuple], hints: frozenset[str]) -> int:
    if hints:
        for i, row in enumerate(rows):
            if _hint_count(row, hints) >= 2:
                return i
    for i, row in enumerate(rows):
        if sum(v is not None for v in row) >= 2:
            return i
    return 0


def _group_start(upper: tuple, lower: tuple, p: int) -> bool:
    """A merged group title (e.g. 考勤情况 over the day numbers): only its top-left cell holds
    the text, the cells right of it are blank while the row below is filled."""
    return (p + 1 < len(upper) and upper[p] is not None and upper[p + 1] is None
            and lower[p] is not None and lower[p + 1] is not None)


def _second_header(upper: tuple, lower: tuple) -> bool:
    """Is ``lower`` clearly the second line of a two-line header? It fills gaps of the upper
    row and holds nothing under the upper row's own (non-group) titles, unlike a data row."""
    fills = conflicts = filled = 0
    for p, (u, low) in enumerate(zip(upper, lower)):
        if low is None:
            continue
        filled += 1
        if u is None:
            fills += 1
        elif _clean_header(u) != _clean_header(low) and not _group_start(upper, lower, p):
            conflicts += 1
    return fills >= 1 and conflicts == 0 and filled >= 2


def _combine(upper: tuple, lower: tuple) -> tuple[list[str | None], dict[int, str]]:
    """The two header lines as one, and the merged group title over each position that has one
    (应发工资 over 基本工资 | 加班工资 | 小计): what the sub-column means may come from it."""
    out: list[str | None] = []
    groups: dict[int, str] = {}
    group: str | None = None
    for p, (u, low) in enumerate(zip(upper, lower)):
        if u is not None:
            group = _clean_header(u) if _group_start(upper, lower, p) else None
        if low is None:
            out.append(u)
            group = None if u is None else group
        elif u is None or _group_start(upper, lower, p):
            out.append(low)
            if group:
                groups[p] = group
        else:
            out.append(u)
    return out, groups


def _unique_names(names: list[str], positions: list[int]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name, pos in zip(names, positions):
        base = name or f"列{pos}"
        cand, k = base, 2
        while cand in seen or cand == ROW:
            cand, k = f"{base}({k})", k + 1
        seen.add(cand)
        out.append(cand)
    return out


@dataclass
class _Assembled:
    frame: pl.DataFrame
    headers: list[str]
    header_row: int
    numeric: dict[str, pl.Series]
    title: str = ""
    groups: dict[str, str] = field(default_factory=dict)


def _assemble(raw: pl.DataFrame, positions: list[int], hints: frozenset[str],
              masks: dict[int, str] | None = None) -> _Assembled | None:
    """``raw``: one String column ``c{pos}`` per file column plus ``__row__`` and optional
    Boolean mask columns (``masks``: position -> mask column). None when no row has text."""
    cols = [f"c{p}" for p in positions]
    raw = raw.with_columns(
        pl.when(pl.col(c).str.contains(_BLANK)).then(None).otherwise(pl.col(c)).alias(c) for c in cols
    )
    if not cols:
        return None
    nonblank = raw.select(pl.any_horizontal(pl.col(cols).is_not_null())).to_series()
    idx = nonblank.arg_true()
    if idx.len() == 0:
        return None
    top = idx.head(HEADER_SCAN_ROWS + 1).to_list()
    top_rows = raw.select(cols)[top].rows()
    top_nums = raw.get_column(ROW).gather(top).to_list()
    h = _pick_header(top_rows[:HEADER_SCAN_ROWS], hints)
    header_cells: list[str | None] = list(top_rows[h])
    last = top[h]
    group_at: dict[int, str] = {}
    if h + 1 < len(top_rows) and top_nums[h + 1] == top_nums[h] + 1 \
            and _second_header(top_rows[h], top_rows[h + 1]):
        header_cells, group_at = _combine(top_rows[h], top_rows[h + 1])
        last = top[h + 1]
    names = [_clean_header(v) for v in header_cells]

    data = raw.slice(last + 1).filter(nonblank.slice(last + 1))
    counts = data.select(pl.col(cols).null_count()).row(0) if data.height else (0,) * len(cols)
    keep = [i for i in range(len(cols)) if names[i] or counts[i] < data.height]
    final = _unique_names([names[i] for i in keep], [positions[i] for i in keep])
    frame = data.select(pl.col(ROW).cast(pl.Int64), *(pl.col(cols[i]).alias(n) for i, n in zip(keep, final)))
    numeric: dict[str, pl.Series] = {}
    for i, n in zip(keep, final):
        mcol = (masks or {}).get(positions[i])
        if mcol is not None:
            m = data.get_column(mcol).fill_null(False).alias(n)
            if m.any():
                numeric[n] = m
    title = " ".join(str(v).strip() for row in top_rows[:h] for v in row if v is not None and str(v).strip())
    groups = {n: group_at[i] for i, n in zip(keep, final) if i in group_at}
    return _Assembled(frame, final, top_nums[h], numeric, title[:500], groups)


# --------------------------------------------------------------------------------------------
# csv

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_DELIMS = (",", ";", "\t", "|")


def _read_csv(data: bytes, hints: frozenset[str], max_rows: int) -> Table | ReadFailure:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ReadFailure(FILE_UNREADABLE, "UTF-16 text, save as UTF-8 or GBK csv")
    body, encoding = (data[3:], "utf-8-sig") if data.startswith(_UTF8_BOM) else (data, "utf-8")
    if not body.strip():
        return ReadFailure(FILE_EMPTY, "no data in file")
    if b"\x00" in body:
        return ReadFailure(FILE_UNREADABLE, "binary data: not a zip/xlsx and not valid text")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = body.decode("gb18030")
        except UnicodeDecodeError:
            return ReadFailure(FILE_UNREADABLE, "not a zip/xlsx and not valid text (neither UTF-8 nor GB18030)")
        encoding = "gb18030"
        body = text.encode("utf-8")
    sample = text[:65536]
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 100):
        return ReadFailure(FILE_UNREADABLE, "binary data: not a zip/xlsx and not valid text")
    head = sample.lstrip()[:4096].lower()
    if head.startswith("<") and ("<html" in head or "<table" in head):
        return ReadFailure(FILE_UNREADABLE, "HTML page saved as a spreadsheet, save as .xlsx")
    if head.startswith("<") and "urn:schemas-microsoft-com:office:spreadsheet" in head:
        return ReadFailure(FILE_UNREADABLE, "XML Spreadsheet 2003, save as .xlsx")

    delim = _detect_delimiter(sample, hints)
    # Wider than Excel's last column is no register of workers, and parsing 200,000 columns takes
    # minutes and gigabytes: refuse it before parsing (a quoted delimiter only over-counts).
    sep = delim.encode()
    if max(line.count(sep) for line in body.split(b"\n")) + 1 > MAX_COLS:
        return ReadFailure(FILE_TOO_LARGE, f"more than {MAX_COLS} columns, past Excel's last column")
    parsed = _csv_polars(body, delim)
    if parsed is None:
        try:
            parsed = _csv_python(text, delim)
        except csv.Error as e:
            return ReadFailure(FILE_UNREADABLE, f"malformed csv: {e}")
    raw, n = parsed
    positions = list(range(1, n + 1))
    got = _assemble(raw, positions, hints)
    if got is None:
        return ReadFailure(FILE_EMPTY, "no non-blank row")
    last_row = max(got.header_row, got.frame.get_column(ROW).max() or 0)
    if last_row > max_rows:
        return ReadFailure(FILE_TOO_LARGE, f"more than {max_rows} rows")
    return Table(got.frame, got.headers, got.header_row, {}, None, encoding, got.title, groups=got.groups)


def _detect_delimiter(sample: str, hints: frozenset[str]) -> str:
    """The delimiter that makes a header row out of known header names, else the one that
    splits the first lines most consistently into two or more fields."""
    cut = sample.rfind("\n")
    sample = sample[: cut + 1] if 0 < cut < len(sample) - 1 else sample
    best, best_score = ",", (-1, -1, -1, -1)
    for d in _DELIMS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d, strict=False)
                    if any(f.strip() for f in r)][: HEADER_SCAN_ROWS + 1]
        except csv.Error:
            continue
        hint_hits = max((_hint_count(tuple(f for f in r if f.strip()), hints) for r in rows), default=0)
        widths = [len(r) for r in rows if len(r) >= 2]
        modal = max(set(widths), key=widths.count) if widths else 0
        score = (hint_hits if hint_hits >= 2 else 0, widths.count(modal) if modal else 0, modal, sample.count(d))
        if score > best_score:
            best, best_score = d, score
    return best


def _csv_polars(body: bytes, delim: str) -> tuple[pl.DataFrame, int] | None:
    """Fast path. Every field is text. A first line with the widest field count is prepended so
    that ragged lines (titles, short rows) do not change the column count. The width comes from
    the first 64 KB; only if polars meets a longer line are all lines counted. None if polars
    cannot parse the file (e.g. stray quotes): the caller then uses the csv module."""
    sep = delim.encode()
    n = max(line.count(sep) for line in body[:65536].split(b"\n")) + 1
    df = _polars_csv_width(body, delim, n)
    if df is None:
        wide = max(line.count(sep) for line in body.split(b"\n")) + 1
        df = _polars_csv_width(body, delim, wide) if wide > n else None
        n = wide
    if df is None:
        return None
    cols = [f"c{i}" for i in range(1, n + 1)]
    df = df.rename(dict(zip(df.columns, cols)))
    # Excel shows one row per record, a quoted line break staying inside its cell.
    return df.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW)), n


def _polars_csv_width(body: bytes, delim: str, n: int) -> pl.DataFrame | None:
    try:
        df = pl.read_csv(delim.encode() * (n - 1) + b"\n" + body, has_header=False, infer_schema=False,
                         separator=delim, quote_char='"', raise_if_empty=False)
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    return df.slice(1) if df.width == n else None


def _csv_python(text: str, delim: str) -> tuple[pl.DataFrame, int]:
    """Tolerant slow path; rows numbered by record, as Excel shows them (a blank line is a row)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)
    rows = list(reader)
    n = max((len(r) for r in rows), default=0)
    columns = {f"c{i + 1}": [r[i] if i < len(r) else None for r in rows] for i in range(n)}
    df = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    return df.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW)), n


# --------------------------------------------------------------------------------------------
# xlsx: guard (zip inflation budget, used range of every sheet)


class _Refuse(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.failure = ReadFailure(code, reason)


_P = r"(?:[A-Za-z_][\w.-]*:)?"  # optional namespace prefix (the OpenXML SDK writes <x:c ...>)
_Q = "[\"']"
# One pass over each segment of sheet XML finds (first alternative wins at a position):
#  numeric cells: no t= or t="n" (r first), optionally a formula, then <v> and the stored value
#  boolean / ISO-date cells (t="b" / t="d")
#  cells whose reference has 2+ column letters or many row digits (used-range check)
#  cells without an r= attribute (calamine places them one after another)
_NUM = (rf"<{_P}c\s+r\s*=\s*{_Q}[A-Z]{{1,3}}\d{{1,7}}{_Q}"
        rf"(?:\s+(?:s|cm|vm|ph)\s*=\s*{_Q}[^\"']*{_Q}|\s+t\s*=\s*{_Q}n{_Q})*\s*>"
        rf"(?:<{_P}f\b[^>]*/>|<{_P}f\b[^>]*>[^<]*</{_P}f>)?<{_P}v>[^<]*</")
_BOOLDATE = rf"<{_P}c\s+r\s*=\s*{_Q}[A-Z]{{1,3}}\d{{1,7}}{_Q}[^>]*\st\s*=\s*{_Q}[bd]{_Q}"
_RLESS = (rf"<{_P}c(?:\s+(?:[^r>/\s][^\s=>]*|r[^\s=>]+)\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>")


@lru_cache(maxsize=8)
def _scan_pattern(row_digits: int) -> str:
    big = rf"<{_P}c\s(?:[^>]*\s)?r\s*=\s*{_Q}(?:[A-Za-z]{{2,}}\d+|[A-Za-z]+\d{{{row_digits},}})"
    return f"{_NUM}|{_BOOLDATE}|{big}|{_RLESS}"


_REF = r"\sr\s*=\s*[\"']([A-Za-z]+)(\d+)"
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s+ref\s*=\s*[\"']([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_CUT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:c|row)[\s/>]")
_SKIP_PREFIX = ("xl/media/", "xl/embeddings/", "xl/printerSettings/", "docProps/thumbnail")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


@dataclass
class _SheetScan:
    max_row: int = 0  # largest row among the captured cell references (exact for large ones)
    max_col: int = 0  # largest column (1-based) among the captured references
    has_cells: bool = False
    odd: bool = False  # cells without r= (or unparsable references): exact pass needed
    dimension: tuple[int, int] | None = None  # rows, cols of <dimension ref=...>
    numeric: list[pl.DataFrame] = field(default_factory=list)  # col (1-based), row, value (<v> text)
    booldate: list[pl.DataFrame] = field(default_factory=list)  # col, row, kind ("b" | "d")


@dataclass
class _Scan:
    sheets: list[tuple[str, bool, str | None]]  # name, hidden, zip member
    members: dict[str, _SheetScan]


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def add(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise _Refuse(FILE_TOO_LARGE, f"workbook XML expands past {self.limit // 1_000_000} MB")


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget):
    """Yield the member's bytes in chunks, counting what is really inflated."""
    with zf.open(info) as f:
        while chunk := f.read(_CHUNK):
            budget.add(len(chunk))
            yield chunk


def _segments(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget):
    """Yield pieces of the member cut just before a <c or <row tag, so that no cell tag is split."""
    buf = bytearray()
    for chunk in _inflate(zf, info, budget):
        buf += chunk
        if len(buf) < _SEGMENT:
            continue
        cut = 0
        for m in _CUT.finditer(buf, max(0, len(buf) - 65536)):
            cut = m.start()
        if cut <= 0:
            cut = buf.rfind(b"<")
            if cut <= 0:
                cut = len(buf)
        yield bytes(buf[:cut])
        del buf[:cut]
    if buf:
        yield bytes(buf)


def _scan_segment(seg: bytes, st: _SheetScan, row_digits: int) -> None:
    if not st.has_cells and re.search(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]", seg):
        st.has_cells = True
    try:
        s = pl.Series([seg], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:  # not UTF-8: the patterns are ASCII, latin-1 keeps every byte
        s = pl.Series([seg.decode("latin-1")])
    found = s.str.extract_all(_scan_pattern(row_digits)).explode().drop_nulls()
    if found.len() == 0:
        return
    m = pl.col("m")
    df = pl.DataFrame({"m": found}).select(
        kind=pl.when(m.str.ends_with("</")).then(pl.lit("n"))
        .when(m.str.contains(r"\st\s*=\s*[\"']b[\"']$")).then(pl.lit("b"))
        .when(m.str.contains(r"\st\s*=\s*[\"']d[\"']$")).then(pl.lit("d"))
        .otherwise(pl.lit("x")),
        letters=m.str.extract(_REF, 1).str.to_uppercase(),
        digits=m.str.extract(_REF, 2),
        value=m.str.extract(r"<(?:[A-Za-z_][\w.-]*:)?v>([^<]*)</$", 1),
    )
    if df.get_column("letters").null_count() or df.get_column("digits").null_count():
        st.odd = True
        df = df.drop_nulls(["letters", "digits"])
    if df.height == 0:
        return
    if (df.get_column("digits").str.len_bytes() > 9).any() or (df.get_column("letters").str.len_bytes() > 3).any():
        raise _Refuse(FILE_TOO_LARGE, "sheet has cells beyond Excel's last row or column")
    letters = df.get_column("letters").unique().to_list()
    df = df.select(
        "kind", "value",
        col=pl.col("letters").replace_strict({x: _col_number(x) for x in letters}, return_dtype=pl.Int64),
        row=pl.col("digits").cast(pl.Int64),
    )
    st.max_row = max(st.max_row, df.get_column("row").max() or 0)
    st.max_col = max(st.max_col, df.get_column("col").max() or 0)
    num = df.filter(pl.col("kind") == "n").select("col", "row", "value")
    if num.height:
        st.numeric.append(num)
    bd = df.filter(pl.col("kind").is_in(["b", "d"]))
    if bd.height:
        st.booldate.append(bd)


_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTR_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]*)(\d*)")


def _exact_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> tuple[int, int]:
    """Slow exact pass: the largest row and column calamine would place a cell at, following its
    rules for missing r= attributes (next row / next column)."""
    row, col, max_row, max_col = 0, 0, 0, 0
    for seg in _segments(zf, info, budget):
        for m in _TAG.finditer(seg):
            closing, tag, attrs = m.groups()
            if closing:
                continue
            r = _ATTR_R.search(attrs)
            if tag == b"row":
                row = int(r.group(2)) if r and r.group(2) else row + 1
                col = 0
                continue
            if r and r.group(1) and r.group(2):
                if len(r.group(1)) > 3 or len(r.group(2)) > 9:
                    raise _Refuse(FILE_TOO_LARGE, "sheet has cells beyond Excel's last row or column")
                row, col = int(r.group(2)), _col_number(r.group(1).decode())
            else:
                col += 1
            max_row, max_col = max(max_row, row), max(max_col, col)
    return max_row, max_col


def _check_extent(rows: int, cols: int, max_rows: int, what: str) -> None:
    if rows > max_rows:
        raise _Refuse(FILE_TOO_LARGE, f"{what} reaches row {rows}, more than {max_rows} rows")
    if cols > MAX_COLS:
        raise _Refuse(FILE_TOO_LARGE, f"{what} reaches column {cols}, past Excel's last column")
    if rows * cols > MAX_CELLS:
        raise _Refuse(FILE_TOO_LARGE, f"{what} spans {rows} rows x {cols} columns, more than {MAX_CELLS} cells")


def _scan_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, max_rows: int) -> _SheetScan:
    st = _SheetScan()
    row_digits = min(6, len(str(max_rows)))
    first = True
    for seg in _segments(zf, info, budget):
        if first:
            first = False
            if _DTD.search(seg, 0, 65536):
                raise _Refuse(FILE_UNREADABLE, "sheet XML declares a DTD or entities")
            dm = _DIMENSION.search(seg, 0, 65536)
            if dm:
                c1, r1, c2, r2 = (g.decode() if g else "" for g in dm.groups())
                if max(len(r1), len(r2)) > 9 or max(len(c1), len(c2)) > 3:
                    raise _Refuse(FILE_TOO_LARGE, "sheet dimension beyond Excel's last row or column")
                if r1 and c1:
                    last_row, last_col = int(r2 or r1), _col_number(c2 or c1)
                    st.dimension = (last_row, last_col)
                    if last_row > max_rows or last_col > MAX_COLS:
                        _check_extent(last_row, last_col, max_rows, "sheet dimension")
                    _check_extent(abs(last_row - int(r1)) + 1, abs(last_col - _col_number(c1)) + 1,
                                  max_rows, "sheet dimension")
        _scan_segment(seg, st, row_digits)
    _check_extent(st.max_row, st.max_col, max_rows, "sheet")
    # Cells not captured have at most 26 columns and fewer than 10**(row_digits-1) rows.
    bound_rows = max(st.max_row, 10 ** (row_digits - 1) - 1) if st.has_cells else st.max_row
    bound_cols = max(st.max_col, 26) if st.has_cells else st.max_col
    if st.odd or bound_rows * bound_cols > MAX_CELLS:
        rows, cols = _exact_extent(zf, info, _Budget(budget.limit))
        _check_extent(rows, cols, max_rows, "sheet")
    return st


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    return b"".join(_inflate(zf, info, budget))


def _workbook_sheets(wb: bytes, rels: bytes | None) -> list[tuple[str, bool, str | None]]:
    targets: dict[str, str] = {}
    if rels is not None:
        for el in SafeET.fromstring(rels, forbid_dtd=True).iter():
            if _local(el.tag) == "Relationship" and el.get("TargetMode") != "External":
                target = el.get("Target") or ""
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                targets[el.get("Id") or ""] = path
    out = []
    for el in SafeET.fromstring(wb, forbid_dtd=True).iter():
        if _local(el.tag) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
        out.append((el.get("name") or "", (el.get("state") or "visible") != "visible", targets.get(rid or "")))
    return out


# what zipfile / zlib raise on damaged archives (bad offsets give ValueError "negative seek")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
               RuntimeError, ValueError, zlib.error, KeyError, struct.error)


def _open_zip(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        return zf, zf.infolist()
    except _ZIP_ERRORS as e:
        raise _Refuse(FILE_UNREADABLE, f"broken zip archive: {e}") from None


def _sheet_list(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], budget: _Budget) -> list[tuple[str, bool, str | None]]:
    """(name, hidden, zip member) of each sheet, from workbook.xml and its relationships."""
    by_name = {i.filename: i for i in infos}
    wb = _read_small(zf, by_name["xl/workbook.xml"], budget)
    rels_info = by_name.get("xl/_rels/workbook.xml.rels")
    rels = _read_small(zf, rels_info, budget) if rels_info else None
    try:
        return _workbook_sheets(wb, rels)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as e:
        raise _Refuse(FILE_UNREADABLE, f"workbook.xml is not readable XML: {e}") from None


def _scan_xlsx(data: bytes, max_rows: int, max_xml_bytes: int) -> _Scan:
    zf, infos = _open_zip(data)
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise _Refuse(FILE_UNREADABLE, "binary .xlsb workbook, save as .xlsx")
        if "content.xml" in names:
            raise _Refuse(FILE_UNREADABLE, "OpenDocument spreadsheet, save as .xlsx")
        if "word/document.xml" in names:
            raise _Refuse(FILE_UNREADABLE, "Word document, not a table: send the spreadsheet (.xlsx or .csv)")
        if "ppt/presentation.xml" in names:
            raise _Refuse(FILE_UNREADABLE, "PowerPoint presentation, not a table: send the spreadsheet (.xlsx or .csv)")
        raise _Refuse(FILE_UNREADABLE, "zip archive without xl/workbook.xml, not an xlsx")
    if any(i.flag_bits & 0x1 for i in infos):
        raise _Refuse(FILE_UNREADABLE, "encrypted zip archive")
    # Macros are never run here, but a macro workbook is not what the templates ask for, and
    # its values may be what the macro last left there: ask for a plain .xlsx.
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _Refuse(FILE_UNREADABLE, "macro-enabled workbook (.xlsm), save as .xlsx")
    budget = _Budget(max_xml_bytes)
    try:
        sheets = _sheet_list(zf, infos, budget)
        sheet_members = {m for _, _, m in sheets if m}
        members: dict[str, _SheetScan] = {}
        for info in infos:
            name = info.filename
            if info.is_dir() or name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
                continue
            is_sheet = name in sheet_members or name.startswith(("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/"))
            if is_sheet:
                members[name] = _scan_sheet(zf, info, budget, max_rows)
            elif not name.startswith(_SKIP_PREFIX) and not name.endswith(".bin"):
                for _ in _inflate(zf, info, budget):
                    pass
        return _Scan(sheets, members)
    except _ZIP_ERRORS as e:
        raise _Refuse(FILE_UNREADABLE, f"broken zip archive: {e}") from None


# --------------------------------------------------------------------------------------------
# xlsx: reading with calamine, rendering cells as Excel shows them

_CALAMINE_ERRORS = (fastexcel.FastExcelError, OSError, ValueError, RuntimeError, OverflowError)
_DATETIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?$"
_NUMBER_LIKE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def _is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException"


def _excel_general(text: str | None) -> str | None:
    """A stored number as Excel's General format shows it: at most 15 significant digits, plain
    notation, no trailing ``.0`` (``110101199003071234`` -> ``110101199003071000``,
    ``0.30000000000000004`` -> ``0.3``). None if ``text`` is not a finite number."""
    try:
        v = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    if v == 0:
        return "0"
    out = "%.15g" % v
    if "e" in out:
        out = format(Decimal(out), "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return out


_PLAIN_INT = r"^-?\d{1,15}$"
_SIMPLE_INT = r"^(?:0|-?[1-9]\d{0,14})$"
_PLAIN_DEC = r"^-?(?:0|[1-9]\d*)\.\d+$"


def _render_values(values: pl.Series) -> pl.Series:
    """Vectorised ``_excel_general`` for the common short forms; Python for the rest."""
    v = values.str.strip_chars()
    if v.str.contains(_SIMPLE_INT).all():  # whole numbers without leading zeros (day counts, serials) show as stored
        return v
    frame = pl.DataFrame({"v": v})
    short_dec = pl.col("v").str.contains(_PLAIN_DEC) & (pl.col("v").str.count_matches(r"\d") <= 15)
    out = frame.select(
        pl.when(pl.col("v").str.contains(_PLAIN_INT)).then(pl.col("v").cast(pl.Int64, strict=False).cast(pl.String))
        .when(short_dec).then(pl.col("v").str.replace(r"\.?0+$", "").str.replace(r"^-0$", "0"))
        .otherwise(None).alias("t")
    ).to_series()
    rest = out.is_null() & v.is_not_null()
    if rest.any():
        where = rest.arg_true()
        fixed = [_excel_general(x) for x in v.gather(where).to_list()]
        out = out.scatter(where, pl.Series(fixed, dtype=pl.String))
    return out


def _apply_numeric(text: pl.Series, cells: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Text of the cells that are numeric in the workbook (``cells``: row, value) as Excel shows
    them. Date-formatted numbers, which calamine turns into ``YYYY-MM-DD HH:MM:SS``, become ISO
    dates (``2026-10-08``, ``2026-10-08 07:30:00``, time only ``07:30:00``) and are not marked
    numeric. Returns (text, numeric mask)."""
    height = text.len()
    cells = cells.filter(pl.col("row").is_between(1, height))
    if not (cells.get_column("row").diff().drop_nulls() > 0).all():  # the sheet's own order needs no sort
        cells = cells.unique("row", keep="last")
    idx = (cells.get_column("row") - 1).cast(pl.UInt32)
    shown = text.gather(idx)
    is_date = shown.str.contains(_DATETIME).fill_null(False)
    rendered = _render_values(cells.get_column("value"))
    is_num = ~is_date & rendered.is_not_null()
    if is_date.any():
        date_text = shown.str.strip_suffix(" 00:00:00")
        if date_text.str.starts_with("1899-12-3").any():  # a time of day alone
            date_text = date_text.str.replace(r"^1899-12-3[01] (\d)", "$1")
        new = pl.select(pl.when(is_date).then(date_text).when(is_num).then(rendered).otherwise(shown)).to_series()
    else:
        new = pl.select(pl.when(is_num).then(rendered).otherwise(shown)).to_series()
    mask = pl.zeros(height, dtype=pl.Boolean, eager=True).scatter(idx.filter(is_num), True)
    return text.scatter(idx, new), mask


def _positions_mask(rows: pl.Series, height: int) -> pl.Series:
    """Boolean Series of ``height`` rows (row i = Excel row i+1), True at the given rows."""
    return pl.int_range(1, height + 1, eager=True, dtype=pl.Int64).is_in(rows.implode())


def _cell_info(scan: _Scan, sheet_name: str) -> _SheetScan | None:
    member = next((m for n, _, m in scan.sheets if n == sheet_name), None)
    st = scan.members.get(member) if member else None
    if st is None or st.odd:
        return None
    return st


def _typed_numeric(reader, idx: int, raw: pl.DataFrame, abs_cols: list[int]) -> tuple[dict[int, pl.DataFrame], dict[int, pl.DataFrame]]:
    """Fallback when the XML scan cannot place the cells (no r= attributes): two more calamine
    reads of the columns whose text could be a number. As booleans, calamine gives a value for
    numeric and boolean cells and null for text and dates; as floats, the exact number (its own
    string rendering keeps only 9 decimals). Each read costs a full parse of the sheet."""
    suspects = [a for a in abs_cols if raw.get_column(f"c{a + 1}").str.contains(_NUMBER_LIKE).any()
                or raw.get_column(f"c{a + 1}").is_in(["true", "false"]).any()]
    numeric: dict[int, pl.DataFrame] = {}
    booleans: dict[int, pl.DataFrame] = {}
    if not suspects:
        return numeric, booleans
    wanted = set(suspects)

    def typed(dtype: str) -> dict[int, pl.Series]:
        sheet = reader.load_sheet(idx, header_row=None, skip_rows=0, dtypes=dtype,
                                  use_columns=lambda c: c.absolute_index in wanted)
        cols = [c.absolute_index for c in sheet.selected_columns]
        frame = sheet.to_polars()
        return {a: frame.get_column(n) for a, n in zip(cols, frame.columns)}

    as_bool, as_float = typed("boolean"), typed("float")
    for a in suspects:
        text = raw.get_column(f"c{a + 1}")
        hit, value = as_bool.get(a), as_float.get(a)
        if hit is None or value is None or hit.len() != text.len() or value.len() != text.len():
            continue
        hit = hit.is_not_null()
        is_bool = text.is_in(["true", "false"])
        rows = pl.int_range(1, text.len() + 1, eager=True, dtype=pl.Int64)
        keep = hit & ~is_bool
        numeric[a + 1] = pl.DataFrame({"row": rows.filter(keep),
                                       "value": value.filter(keep).map_elements(repr, return_dtype=pl.String)})
        brows = rows.filter(hit & is_bool)
        booleans[a + 1] = pl.DataFrame({"row": brows, "kind": pl.Series(["b"] * brows.len(), dtype=pl.String)})
    return numeric, booleans


@dataclass(frozen=True)
class _RawSheet:
    name: str
    raw: pl.DataFrame  # one String column c{n} per column calamine placed (n: 1-based column)
    abs_cols: list[int]


@dataclass(frozen=True)
class LoadedSheets:
    """What calamine read of a workbook, before the XML scan's cell types are applied."""
    sheets: list[_RawSheet]
    skipped_hidden: bool  # hidden sheets not read because a visible one had rows


class NeedsReader(Exception):
    """Finishing needs calamine's typed reads (the scan could not place the cells): read the
    whole file in one go instead."""


def scan_xlsx(data: bytes, max_rows: int, max_xml_bytes: int) -> _Scan | ReadFailure:
    """The guard pass over the workbook's XML: refuses bombs, entities and absurd extents
    before calamine sees the file, and notes where the numeric, boolean and date cells are."""
    try:
        return _scan_xlsx(data, max_rows, max_xml_bytes)
    except _Refuse as r:
        return r.failure


def load_xlsx(data: bytes, max_rows: int, max_xml_bytes: int) -> LoadedSheets | ReadFailure:
    """calamine's text of the sheets to read, hidden ones only when no visible one has rows.
    Run only where a crash costs nothing (a limited child) unless ``scan_xlsx`` passed first."""
    try:
        zf, infos = _open_zip(data)
        hidden = {n: h for n, h, _ in _sheet_list(zf, infos, _Budget(max_xml_bytes))}
    except _Refuse as r:
        return r.failure
    except _ZIP_ERRORS as e:
        return ReadFailure(FILE_UNREADABLE, f"broken zip archive: {e}")
    return _load_sheets(data, hidden, max_rows)[0]


def _calamine(data: bytes):
    try:
        reader = fastexcel.read_excel(data)
        return reader, list(reader.sheet_names)
    except _CALAMINE_ERRORS as e:
        return ReadFailure(FILE_UNREADABLE, f"workbook not readable: {type(e).__name__}: {str(e)[:200]}"), []
    except BaseException as e:
        if _is_panic(e):
            return ReadFailure(FILE_UNREADABLE, "workbook not readable (reader panicked)"), []
        raise


def _load_sheets(data: bytes, hidden: dict[str, bool], max_rows: int, finish=None):
    """Read the sheets in order, visible first, each given to ``finish`` (when set) as it is
    read; stop before the hidden ones once a visible sheet had rows (with ``finish``: gave a
    table). Returns (LoadedSheets or a failure, finished tables)."""
    reader, names = _calamine(data)
    if isinstance(reader, ReadFailure):
        return reader, []
    # The findings sheet sitereg puts first in report.xlsx is skipped, so a contractor can fix
    # the marked cells and upload that very workbook again.
    ours = [i for i, n in enumerate(names) if n in FINDINGS_SHEETS.values()]
    order = [i for i, n in enumerate(names) if not hidden.get(n, False) and i not in ours] + \
            [i for i, n in enumerate(names) if hidden.get(n, False) and i not in ours]
    visible = len([i for i in order if not hidden.get(names[i], False)])
    raws: list[_RawSheet] = []
    found: list = []
    skipped = False
    for pos, idx in enumerate(order):
        if pos >= visible and (raws if finish is None else found):
            skipped = True
            break  # hidden sheets (code lists, old copies) are read only when no visible one has data
        try:
            sheet = reader.load_sheet(idx, header_row=None, skip_rows=0, dtypes="string")
            abs_cols = [c.absolute_index for c in sheet.selected_columns]
            raw = sheet.to_polars()
        except _CALAMINE_ERRORS as e:
            return ReadFailure(FILE_UNREADABLE, f"sheet {names[idx]!r} not readable: {type(e).__name__}: {str(e)[:200]}"), []
        except BaseException as e:
            if _is_panic(e):
                return ReadFailure(FILE_UNREADABLE, f"sheet {names[idx]!r} not readable (reader panicked)"), []
            raise
        if raw.width == 0 or raw.height == 0:
            continue
        if raw.height > max_rows:
            return ReadFailure(FILE_TOO_LARGE, f"more than {max_rows} rows"), []
        raw = raw.rename({old: f"c{a + 1}" for old, a in zip(raw.columns, abs_cols)})
        raw = raw.with_columns(pl.col(c).cast(pl.String) for c in raw.columns)
        raws.append(_RawSheet(names[idx], raw, abs_cols))
        if finish is not None:
            table = finish(reader, idx, raws[-1])
            if table is not None:
                found.append(table)
    return LoadedSheets(raws, skipped), found


def _one_table(found: list[Table]) -> Table | ReadFailure:
    if not found:
        return ReadFailure(FILE_EMPTY, "no sheet has a non-blank row")
    # Every sheet is offered: the validator takes those whose header fits the kind (one sheet
    # per 班组 is common) and skips the others (填写说明, 汇总, 代码表).
    first = found[0]
    return Table(first.frame, first.headers, first.header_row, first.numeric, first.sheet, first.encoding,
                 first.title, tuple(found[1:]), first.groups)


def finish_xlsx(loaded: LoadedSheets, scan: _Scan, hints: frozenset[str]) -> Table | ReadFailure:
    """The table from what calamine read and what the scan found, for a workbook read in two
    processes at once. NeedsReader when the sequential read must be done instead."""
    hints = _normalised_hints(frozenset(hints))
    found = [t for t in (_finish_xlsx(None, -1, r.name, r.raw, r.abs_cols, scan, hints) for r in loaded.sheets)
             if t is not None]
    if not found and loaded.skipped_hidden:
        raise NeedsReader  # every visible sheet was blank after all: the hidden ones are next
    return _one_table(found)


def _read_xlsx(data: bytes, hints: frozenset[str], max_rows: int, max_xml_bytes: int) -> Table | ReadFailure:
    scan = scan_xlsx(data, max_rows, max_xml_bytes)
    if isinstance(scan, ReadFailure):
        return scan
    hidden = {n: h for n, h, _ in scan.sheets}
    loaded, found = _load_sheets(
        data, hidden, max_rows,
        lambda reader, idx, r: _finish_xlsx(reader, idx, r.name, r.raw, r.abs_cols, scan, hints))
    if isinstance(loaded, ReadFailure):
        return loaded
    return _one_table(found)


def _finish_xlsx(reader, idx: int, name: str, raw: pl.DataFrame, abs_cols: list[int], scan: _Scan,
                 hints: frozenset[str]) -> Table | None:
    height = raw.height
    positions = [a + 1 for a in abs_cols]
    present = set(positions)
    st = _cell_info(scan, name)
    if st is not None:
        num = pl.concat(st.numeric) if st.numeric else \
            pl.DataFrame(schema={"col": pl.Int64, "row": pl.Int64, "value": pl.String})
        bd = pl.concat(st.booldate) if st.booldate else \
            pl.DataFrame(schema={"col": pl.Int64, "row": pl.Int64, "kind": pl.String})
        numeric_cells = {c: g.select("row", "value") for (c,), g in num.group_by("col") if c in present}
        booldate_rows = {c: g.select("row", "kind") for (c,), g in bd.group_by("col") if c in present}
    elif reader is None:
        raise NeedsReader
    else:
        numeric_cells, booldate_rows = _typed_numeric(reader, idx, raw, abs_cols)

    updates, masks = [], {}
    for pos, cells in numeric_cells.items():
        if cells.height == 0:
            continue
        col = f"c{pos}"
        text, num = _apply_numeric(raw.get_column(col), cells)
        masks[pos] = f"__num{pos}"
        updates += [text.alias(col), num.alias(masks[pos])]
    if updates:
        raw = raw.with_columns(updates)
    updates = []
    for pos, g in booldate_rows.items():
        col = f"c{pos}"
        b = _positions_mask(g.filter(pl.col("kind") == "b").get_column("row"), height)
        d = _positions_mask(g.filter(pl.col("kind") == "d").get_column("row"), height)
        s = pl.col(col)
        updates.append(
            pl.when(pl.lit(b)).then(s.str.to_uppercase())
            .when(pl.lit(d)).then(s.str.replace("T", " ", literal=True).str.replace(r" 00:00:00(?:\.0+)?Z?$", ""))
            .otherwise(s).alias(col))
    if updates:
        raw = raw.with_columns(updates)
    raw = raw.with_columns(pl.int_range(1, height + 1, dtype=pl.Int64).alias(ROW))
    got = _assemble(raw, positions, hints, masks)
    if got is None:
        return None
    return Table(got.frame, got.headers, got.header_row, got.numeric, name, None, got.title, groups=got.groups)
