"""Workbooks for people: the contractor's own file with every flagged cell marked, and blank
templates that the reader maps without a single unknown or missing column.

Both functions are pure (bytes in, bytes out) and never touch HTTP or storage. Building a
workbook costs memory in proportion to its cells; ``measure`` counts them without building
anything, so a caller can refuse a file before paying for it.

``annotate_workbook``
    xlsx: the original workbook opened with openpyxl (sheets, values, formats and merged cells
    kept), each flagged cell filled by its worst severity and commented with ``CODE: message``.
    A finding with a ``sheet`` (a workbook of several sheets) marks that sheet, placed by that
    sheet's own header; one without marks the first sheet that holds a table.
    Formulas are dropped and their cells keep the value Excel last calculated, so no formula
    from an uploaded file (=HYPERLINK to anywhere, say) runs when anyone opens the report;
    a FORMULA_REMOVED finding says how many.
    csv: converted to a one-sheet workbook first, every line at the Excel row equal to its csv
    line number and every cell stored as text (IDs keep all their digits).
    A first sheet (问题清单 / Findings) lists every finding. A file that cannot be opened gives a
    workbook with that sheet only.

``template_workbook``
    A blank template per record kind: title row, notes row, header row 3 (Column.label), text
    format for identifier columns, date formats, drop-downs for coded columns.

Text written by this module is always stored as a string cell; text starting with a character
that spreadsheets treat as the start of a formula (= + - @ tab CR) also gets Excel's quote
prefix, so it is shown and edited as text and never evaluated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import posixpath
import re
import warnings
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink

from sitereg.validate.codes import WORK_TYPES
from sitereg.validate.columns import ID, KIND_LABELS, NAME, SCHEMAS, Column, detect_kind, header_hints, normalise_header
from sitereg.validate.readers import FINDINGS_SHEETS, ROW, ReadFailure, Table, read_table
from sitereg.validate.rules import BY_CODE

__all__ = ["annotate_workbook", "measure", "template_workbook", "FINDINGS_SHEETS", "TEMPLATE_SHEETS"]

# openpyxl parses the contractor's workbook; it must never resolve XML entities.
if openpyxl.DEFUSEDXML is not True:  # not an assert: must also hold under python -O
    raise ImportError("openpyxl runs without defusedxml; install defusedxml")

AUTHOR = "sitereg"
TEMPLATE_SHEETS = KIND_LABELS
CODE_SHEET = "代码表"

SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
FILL_COLORS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
_FILLS = {s: PatternFill(fill_type="solid", start_color=c, end_color=c) for s, c in FILL_COLORS.items()}

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_INJECTION_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL_TEXT = 32_767  # Excel's limit of characters in one cell
_MAX_COMMENT_TEXT = 8_000
_WS = re.compile(r"\s+")
_DUP_SUFFIX = re.compile(r"^(.*)\((\d+)\)$")  # the reader names a repeated header "姓名(2)"
_UNNAMED = re.compile(r"^列(\d+)$")  # ... and a column without a header "列7" (its position)
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")

_TEXT = {
    "zh": {
        "headers": ("序号", "规则代码", "级别", "工作表", "行号", "列", "值", "工人", "说明"),
        "severity": {"error": "错误", "warning": "警告", "info": "提示"},
        "counts": "{file}：共 {total} 条，错误 {error} 条，警告 {warning} 条，提示 {info} 条",
        "legend": "原表中有问题的单元格已标色（红 = 错误，黄 = 警告，蓝 = 提示），鼠标移到单元格上可看批注；"
        "点击行号可跳到该单元格。改正后请重新上传原表（不要上传本清单）。",
        "none": "未发现问题。",
        "unreadable": "原文件无法打开，无法在原表中标注，问题仅列于本表。",
    },
    "en": {
        "headers": ("No.", "Rule", "Severity", "Sheet", "Row", "Column", "Value", "Worker", "Message"),
        "severity": {"error": "Error", "warning": "Warning", "info": "Info"},
        "counts": "{file}: {total} findings: {error} errors, {warning} warnings, {info} info",
        "legend": "Flagged cells in your sheet are coloured (red = error, yellow = warning, blue = info); "
        "hover over a cell to read its comment, click a row number to jump to the cell. "
        "Fix your own file and upload it again (not this list).",
        "none": "No findings.",
        "unreadable": "The original file could not be opened, so nothing is marked in it; the findings are listed here only.",
    },
}
_WIDTHS = (7, 22, 9, 14, 8, 20, 24, 22, 80)


def _lang(lang: str) -> str:
    return "en" if str(lang).lower().startswith("en") else "zh"


def _severity(value: object) -> str:
    return value if value in _RANK else "info"


# --------------------------------------------------------------------------------------------
# safe text


def _clean_text(value: object, limit: int = _MAX_CELL_TEXT) -> str:
    """Any value as text that openpyxl can store: no XML-illegal control characters, not longer
    than Excel allows in one cell."""
    text = value if isinstance(value, str) else str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text[:limit]


def _put_text(cell, value: object) -> None:
    """Store ``value`` as a string cell, never as a formula."""
    text = _clean_text(value)
    cell.value = text  # openpyxl makes "=..." a formula here ...
    cell.data_type = "s"  # ... so the type is set back to string explicitly
    if text.startswith(_INJECTION_START):
        cell.quotePrefix = True  # Excel's own "this is text" mark (the leading ' when editing)


def _text(ws, value: object, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    _put_text(cell, value)
    for k, v in style.items():
        setattr(cell, k, v)
    return cell


def _plain(ws, value: object, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    for k, v in style.items():
        setattr(cell, k, v)
    return cell


# --------------------------------------------------------------------------------------------
# findings -> cells


def _norm_header(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    return _WS.sub("", str(value))


_ID_KEYS = frozenset(normalise_header(a) for a in ID.aliases + (ID.name, ID.label))


@dataclass
class _Locator:
    """Where the headers of a data sheet are: header text -> column number."""

    sheet: str
    header_row: int
    upper: dict[str, list[int]]  # normalised header text -> columns, left to right
    lower: dict[str, list[int]]  # second line of a two-line header
    first_col: int
    id_col: int | None

    @classmethod
    def build(cls, sheet: str, header_row: int, upper: dict[int, object], lower: dict[int, object]) -> _Locator:
        up: dict[str, list[int]] = defaultdict(list)
        low: dict[str, list[int]] = defaultdict(list)
        for col, value in sorted(upper.items()):
            if key := _norm_header(value):
                up[key].append(col)
        for col, value in sorted(lower.items()):
            if key := _norm_header(value):
                low[key].append(col)
        cols = sorted(c for c, v in (*upper.items(), *lower.items()) if _norm_header(v))
        id_col = next((c for c in cols if normalise_header(_norm_header(upper.get(c) or lower.get(c) or "")) in _ID_KEYS), None)
        return cls(sheet, header_row, dict(up), dict(low), cols[0] if cols else 1, id_col)

    def header_cell(self, header: object) -> tuple[int, int] | None:
        """(row, column) of the cell whose text is ``header``: under a merged group title (基本信息
        over 姓名 性别 身份证号码) that is the lower row of the two, not the group's cell."""
        key = _norm_header(header)
        if not key:
            return None
        if key in self.upper:
            return self.header_row, self.upper[key][0]
        if key in self.lower:
            return self.header_row + 1, self.lower[key][0]
        if (m := _DUP_SUFFIX.match(key)) and int(m.group(2)) >= 2:
            base, k = m.group(1), int(m.group(2))
            both = sorted(set(self.upper.get(base, []) + self.lower.get(base, [])))
            if len(both) >= k:
                col = both[k - 1]
                return (self.header_row if col in self.upper.get(base, []) else self.header_row + 1), col
        if m := _UNNAMED.match(key):
            return self.header_row, int(m.group(1))
        return None


@dataclass
class _Mark:
    row: int
    col: int
    severity: str
    lines: list[str]


def _positive_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return n if n >= 1 else None


_Marks = dict[str, dict[tuple[int, int], _Mark]]  # sheet title -> (row, column) -> mark
_Where = tuple[str, int, int]  # sheet title, row, column


def _cell_of(f: dict, loc: _Locator) -> tuple[int, int] | None:
    row = _positive_int(f.get("row"))
    head = loc.header_cell(f.get("column")) if f.get("column") else None
    if row is not None and head is not None:
        return row, head[1]
    if row is not None:  # the row as a whole: its ID cell, else its first cell
        return row, loc.id_col or loc.first_col
    return head  # the column as a whole (unknown column...): its header cell, or nothing


def _place(findings: list[dict], locators: dict[str | None, _Locator]) -> tuple[_Marks, list[_Where | None]]:
    """The cell each finding marks (None: summary sheet only) and the marks per sheet and cell.
    ``locators``: by the sheet a finding names; None for findings that name none (csv,
    cross-file). A sheet without a locator is not marked: better no mark than one on a stranger's row."""
    marks: _Marks = defaultdict(dict)
    where: list[_Where | None] = []
    for f in findings:
        loc = locators.get(f.get("sheet") or None)
        pos = _cell_of(f, loc) if loc is not None else None
        where.append(None if pos is None else (loc.sheet, *pos))
        if pos is None:
            continue
        sev = _severity(f.get("severity"))
        line = f"{f.get('rule') or ''}: {f.get('message') or ''}".strip()
        mark = marks[loc.sheet].get(pos)
        if mark is None:
            marks[loc.sheet][pos] = _Mark(pos[0], pos[1], sev, [line])
        else:
            if _RANK[sev] < _RANK[mark.severity]:
                mark.severity = sev
            if line not in mark.lines:
                mark.lines.append(line)
    return marks, where


def _comment(text: str) -> Comment:
    text = _clean_text(text, _MAX_COMMENT_TEXT)
    lines = sum(max(1, len(part) // 24 + 1) for part in text.split("\n"))
    return Comment(text, AUTHOR, width=320, height=min(600, 24 + 18 * lines))


def _location(sheet: str, row: int, col: int) -> str:
    return f"'{sheet.replace(chr(39), chr(39) * 2)}'!{get_column_letter(col)}{row}"


# --------------------------------------------------------------------------------------------
# the findings sheet


def _findings_rows(
    ws,
    findings: list[dict],
    where: list[_Where | None],
    readable: bool,
    lang: str,
    filename: str,
    failure: str | None,
) -> Iterable[list]:
    t = _TEXT[lang]
    counts = {s: 0 for s in SEVERITIES}
    for f in findings:
        counts[_severity(f.get("severity"))] += 1
    line = t["counts"].format(file=_clean_text(filename or "-", 200), total=len(findings), **counts)
    if not findings:
        line += " " + t["none"]
    yield [_text(ws, line, font=Font(bold=True, size=12))]
    yield [
        _text(
            ws,
            t["legend"] if readable else t["unreadable"] + (f" ({failure})" if failure else ""),
            font=Font(color="595959"),
        )
    ]
    bold = Font(bold=True)
    head_fill = PatternFill(fill_type="solid", start_color="D9D9D9", end_color="D9D9D9")
    yield [_text(ws, h, font=bold, fill=head_fill, alignment=Alignment(horizontal="center")) for h in t["headers"]]
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    link_font = Font(color="0563C1", underline="single")
    for i, (f, pos) in enumerate(zip(findings, where, strict=True), 1):
        sev = _severity(f.get("severity"))
        row = _positive_int(f.get("row"))
        row_cell = _plain(ws, row, alignment=top)
        if pos is not None:
            row_cell.hyperlink = Hyperlink(ref="", location=_location(*pos))
            row_cell.value = row if row is not None else "→"
            row_cell.font = link_font
        yield [
            _plain(ws, i, alignment=top),
            _text(ws, f.get("rule") or "", alignment=top),
            _text(ws, t["severity"][sev], fill=_FILLS[sev], alignment=top),
            _text(ws, f.get("sheet") or "", alignment=top),  # row 6 of which sheet: rows repeat per sheet
            row_cell,
            _text(ws, f.get("column") or "", alignment=top),
            _text(ws, "" if f.get("value") is None else f.get("value"), alignment=top),
            _text(ws, f.get("worker") or "", alignment=top),
            _text(ws, f.get("message") or "", alignment=wrap),
        ]


def _fill_findings_sheet(ws, findings, where, readable, lang, filename, failure) -> None:
    """Works on a normal and on a write-only worksheet (cells are appended)."""
    for i, width in enumerate(_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A4"
    last = 3 + len(findings)
    ws.auto_filter.ref = f"A3:{get_column_letter(len(_WIDTHS))}{last}"
    for row in _findings_rows(ws, findings, where, readable, lang, filename, failure):
        ws.append(row)
        for cell in row:  # a cell made before it was placed: point its link at its real place
            if cell is not None and cell.hyperlink is not None:
                cell.hyperlink.ref = cell.coordinate


def _unique_title(wanted: str, taken: Iterable[str]) -> str:
    taken_l = {t.lower() for t in taken}
    title, k = wanted, 2
    while title.lower() in taken_l:
        title, k = f"{wanted} ({k})", k + 1
    return title


def _findings_only(findings, lang, filename, failure) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(FINDINGS_SHEETS[lang])
    _, where = _place(findings, {})
    _fill_findings_sheet(ws, findings, where, False, lang, filename, failure)
    return _save(wb)


def _save(wb) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# annotate


EXCEL_MAX_COLUMNS = 16_384  # XFD: a wider csv cannot become a worksheet at all
_CSV_DELIMITERS = (b",", b";", b"\t", b"|")
# A cell or a formula element in sheet XML, with or without a namespace prefix.
_XML_CELL_OR_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([cf])[\s>/]")


@dataclass(frozen=True)
class Size:
    cells: int  # xlsx: cell elements of every sheet; csv: fields
    columns: int  # csv: fields of its widest line; xlsx: 0 (a sheet cannot pass XFD)
    formulas: int  # formula cells of an xlsx
    complete: bool = True  # False: counting stopped at the budget


def measure(data: bytes, *, stop_at: int | None = None) -> Size:
    """Cells, columns and formulas of an upload, counted in the raw bytes (inflating each
    sheet's XML as a stream, never holding it), stopping once ``stop_at`` cells are seen."""
    data = bytes(data)
    if not data.startswith(_ZIP_MAGIC):
        delim = max(_CSV_DELIMITERS, key=data.count)
        lines = data.splitlines()
        widest = max((line.count(delim) for line in lines), default=-1) + 1
        return Size(data.count(delim) + len(lines), widest, 0)
    cells = formulas = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                    continue
                with zf.open(info) as stream:
                    tail = b""
                    while block := stream.read(1 << 20):
                        buf = tail + block
                        cut = max(0, len(buf) - 64)  # a tag starting later may be cut: next round
                        for m in _XML_CELL_OR_FORMULA.finditer(buf):
                            if m.start() >= cut:
                                break
                            if m.group(1) == b"c":
                                cells += 1
                            else:
                                formulas += 1
                        tail = buf[cut:]
                        if stop_at is not None and cells > stop_at:
                            return Size(cells, 0, formulas, complete=False)
                    for m in _XML_CELL_OR_FORMULA.finditer(tail):
                        cells, formulas = (cells + 1, formulas) if m.group(1) == b"c" else (cells, formulas + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error):
        pass  # a damaged archive: annotate gives the findings sheet only, at no size
    return Size(cells, 0, formulas)


def annotate_workbook(data: bytes, filename: str, findings: list[dict], *, lang: str = "zh") -> bytes:
    """The contractor's own file with each flagged cell filled and commented, behind a first
    sheet listing every finding. ``findings``: dicts with rule, severity, row (Excel row or
    None), column (header as written or None), value, worker, message (already rendered)."""
    lang = _lang(lang)
    findings = [f for f in (findings or []) if isinstance(f, dict)]
    data = bytes(data)
    table = read_table(data, filename, header_hints=header_hints())
    if isinstance(table, ReadFailure):
        return _findings_only(findings, lang, filename, table.reason)
    try:
        if table.sheet is not None and data.startswith(_ZIP_MAGIC):
            return _annotate_xlsx(data, filename, table, findings, lang)
        return _annotate_csv(data, filename, table, findings, lang)
    except MemoryError:
        raise  # over the caller's memory limit: that is the caller's answer, not a broken file
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on odd files
        return _findings_only(findings, lang, filename, f"{type(e).__name__}")


def _first_data_sheet(table: Table) -> Table:
    """Where findings that name no sheet go: the first sheet that holds a table of some kind
    (not 填写说明 before it)."""
    return next((t for t in table.sheets() if detect_kind(t.headers) is not None), table)


def _locator(ws, table: Table) -> _Locator:
    """The header cells of one sheet: its own header row, and the row under it when the data
    start a row later (a merged two-row header: 基本信息 over 姓名 性别 身份证号码)."""
    hr = table.header_row
    first_data = table.frame.get_column(ROW).min() if table.frame.height else None
    two_lines = first_data is None or first_data >= hr + 2
    upper = {c.column: c.value for c in ws[hr] if c.value is not None} if hr <= ws.max_row else {}
    lower = {c.column: c.value for c in ws[hr + 1] if c.value is not None} if two_lines and hr + 1 <= ws.max_row else {}
    return _Locator.build(ws.title, hr, upper, lower)


def _locators(wb, table: Table, findings: list[dict]) -> dict[str | None, _Locator]:
    """A locator for each sheet the findings name, and (key None) for the first data sheet."""
    by_title = {t.sheet: t for t in table.sheets() if t.sheet in wb.sheetnames}
    first = _first_data_sheet(table)
    if first.sheet not in by_title:
        raise KeyError(first.sheet)
    named = by_title.keys() & {f.get("sheet") for f in findings}
    out: dict[str | None, _Locator] = {s: _locator(wb[s], by_title[s]) for s in named}
    out[None] = out.get(first.sheet) or _locator(wb[first.sheet], first)
    return out


def _mark_sheet(ws, marks: dict[tuple[int, int], _Mark]) -> None:
    merged = list(ws.merged_cells.ranges)
    for (row, col), mark in marks.items():
        cell = ws.cell(row=row, column=col)
        if isinstance(cell, MergedCell):  # only a merged range's top-left cell holds anything
            rng = next((r for r in merged if cell.coordinate in r), None)
            if rng is None:
                continue
            cell = ws.cell(row=rng.min_row, column=rng.min_col)
        _mark_cell(cell, mark)


def _annotate_xlsx(data: bytes, filename: str, table: Table, findings: list[dict], lang: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unsupported extensions, data validation extensions...
        # data_only: every formula cell holds its cached value and the formula is not kept.
        wb = openpyxl.load_workbook(io.BytesIO(data), keep_links=False, rich_text=True, data_only=True)
    if formulas := measure(data).formulas:
        findings = [*findings, _formula_finding(formulas, lang)]
    stale = _previous_findings_sheets(wb)
    for sheet in stale:
        wb.remove(sheet)
    if _first_data_sheet(table).sheet in {s.title for s in stale}:
        # A report uploaded again: the reader took our old list for the data; look again without it.
        again = read_table(_save(wb), filename, header_hints=header_hints())
        if isinstance(again, ReadFailure):
            raise ValueError(again.reason)
        table = again
    for ws in wb.worksheets:  # an earlier report's marks may be on any sheet
        _drop_previous_marks(ws)

    marks, where = _place(findings, _locators(wb, table, findings))
    for title, on_sheet in marks.items():
        _mark_sheet(wb[title], on_sheet)

    title = _unique_title(FINDINGS_SHEETS[lang], wb.sheetnames)
    summary = wb.create_sheet(title, 0)
    _fill_findings_sheet(summary, findings, where, True, lang, filename, None)
    _activate_first(wb)
    return _save(wb)


def _formula_finding(n: int, lang: str) -> dict:
    rule = BY_CODE["FORMULA_REMOVED"]
    return {"rule": rule.code, "severity": rule.severity, "row": None, "column": None, "value": None,
            "worker": None, "message": rule.message(lang, n=n)}


def _mark_cell(cell, mark: _Mark) -> None:
    cell.fill = _FILLS[mark.severity]
    text = "\n".join(mark.lines)
    if cell.comment is not None and cell.comment.text:
        text = f"{cell.comment.text}\n\n{text}"  # keep the contractor's own note
    cell.comment = _comment(text)


def _previous_findings_sheets(wb) -> list:
    """Findings sheets of an earlier report (a report uploaded again after fixing)."""
    ours = set(FINDINGS_SHEETS.values())
    heads = {(t["headers"][0], t["headers"][1]) for t in _TEXT.values()}
    return [s for s in wb.worksheets if re.sub(r" \(\d+\)$", "", s.title) in ours and (s["A3"].value, s["B3"].value) in heads]


def _drop_previous_marks(ws) -> None:
    """Our old comments and the fills that came with them; the contractor's own ones stay."""
    ours_fill = {p + c.upper() for c in FILL_COLORS.values() for p in ("00", "FF")}
    for cell in list(ws._cells.values()):  # not iter_rows: it would create every empty cell
        if cell.comment is not None and cell.comment.author == AUTHOR:
            cell.comment = None
            rgb = getattr(cell.fill.fgColor, "rgb", None)
            if isinstance(rgb, str) and rgb.upper() in ours_fill:
                cell.fill = PatternFill(fill_type=None)


def _activate_first(wb) -> None:
    for i, sheet in enumerate(wb.worksheets):
        sheet.sheet_view.tabSelected = i == 0
    wb.active = 0
    for view in wb.views or []:
        view.firstSheet = 0
        view.activeTab = 0


def _sheet_title(filename: str, taken: Iterable[str] = ()) -> str:
    base = posixpath.basename(str(filename or "").replace("\\", "/"))
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    stem = _SHEET_BAD.sub("_", ILLEGAL_CHARACTERS_RE.sub("", stem)).strip().strip("'")
    stem = stem[:31].strip().strip("'") or "Sheet1"
    title = _unique_title(stem, taken)
    return title[:31]


def _csv_preamble(data: bytes, table: Table) -> dict[int, list[str]]:
    """Records above the header row (title, notes), by their row as Excel shows them."""
    if table.header_row <= 1:
        return {}
    enc = {"utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}.get(table.encoding or "", "utf-8")
    try:
        text = data.decode(enc)
    except UnicodeDecodeError:
        return {}
    # only the beginning of the file matters: each reader below stops after the header row
    head = text
    want = {_norm_header(h) for h in table.headers}
    best: tuple[int, dict[int, list[str]]] = (-1, {})
    for delim in (",", ";", "\t", "|"):
        try:
            reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim, strict=False)
            records: dict[int, list[str]] = {}
            score = 0
            start = 1
            for rec in reader:
                if start == table.header_row:
                    score = sum(1 for v in rec if _norm_header(v) in want)
                elif start < table.header_row:
                    records[start] = rec
                start += 1
                if start > table.header_row:
                    break
        except csv.Error:
            continue
        if score > best[0]:
            best = (score, records)
    return best[1]


def _annotate_csv(data: bytes, filename: str, table: Table, findings: list[dict], lang: str) -> bytes:
    findings_title = FINDINGS_SHEETS[lang]
    title = _sheet_title(filename, [findings_title])
    headers = list(table.headers)
    loc = _Locator.build(title, table.header_row, {i: h for i, h in enumerate(headers, 1)}, {})
    by_sheet, where = _place(findings, {None: loc})
    marks = by_sheet.get(title, {})

    wb = openpyxl.Workbook(write_only=True)
    summary = wb.create_sheet(findings_title)
    _fill_findings_sheet(summary, findings, where, True, lang, filename, None)
    summary.sheet_view.tabSelected = True

    ws = wb.create_sheet(title)
    for i, h in enumerate(headers, 1):
        ws.column_dimensions[get_column_letter(i)].width = min(40, max(10, 2 * len(h) + 2))
    ws.freeze_panes = f"A{table.header_row + 1}"

    def cells(row: int, values: Iterable[object], *, bold: bool = False) -> list[WriteOnlyCell]:
        out = []
        for col, value in enumerate(values, 1):
            mark = marks.get((row, col))
            if value is None and mark is None:
                out.append(None)
                continue
            cell = WriteOnlyCell(ws)
            _put_text(cell, "" if value is None else value)
            cell.number_format = "@"
            if bold:
                cell.font = Font(bold=True)
            if mark is not None:
                cell.fill = _FILLS[mark.severity]
                cell.comment = _comment("\n".join(mark.lines))
            out.append(cell)
        return out

    def with_marks(row: int, values: list) -> list:
        # a mark beyond the written values (e.g. a row the file does not have): still shown
        extra = [c for (r, c) in marks if r == row and c > len(values)]
        if extra:
            values = values + [None] * (max(extra) - len(values))
        return values

    rows_by_no: dict[int, list] = dict(_csv_preamble(data, table))
    rows_by_no[table.header_row] = headers
    frame = table.frame.select([ROW, *headers])
    for rec in frame.iter_rows():
        rows_by_no[rec[0]] = list(rec[1:])
    for r, _c in marks:
        rows_by_no.setdefault(r, [])
    current = 1
    for row in sorted(rows_by_no):
        while current < row:
            ws.append([])
            current += 1
        ws.append(cells(row, with_marks(row, rows_by_no[row]), bold=row == table.header_row))
        current += 1
    return _save(wb)


# --------------------------------------------------------------------------------------------
# templates

_DAY_COLS = [f"{d}日" for d in range(1, 32)]
FIRST_ROW = 4  # first data row of a template
LAST_ROW = 1003  # cells formatted for data down to this row
_TEXT_COLUMNS = {"employer_credit_code", "bank_txn_id", "contract_no", "job_type", "period", "worker_no"}
_DATE_COLUMNS = {"entry_date", "exit_date", "start_date", "end_date", "signed_date", "paid_at", "date", "birth_date"}
_MONEY_COLUMNS = {"wage_rate", "amount", "gross", "deductions", "net", "unit_rate"}
_LISTS = {"gender": ("男", "女"), "wage_basis": ("日薪", "月薪", "计件"), "channel": ("银行卡", "社保卡"),
          "direction": ("进场", "退场"), "status": ("成功", "失败")}
# Offered, not enforced: other documents are typed in too (formats.md checks each for its own shape).
_SUGGESTED = {"id_type": ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证")}
_TEMPLATE_SKIP = {"payroll": {"hours", "payer_account"}}  # kept when a file has them; not asked for
_WIDTH = {"id": 22, "card": 24, "phone": 15}
_REQUIRED_FILL = PatternFill(fill_type="solid", start_color="F8CBAD", end_color="F8CBAD")
_OPTIONAL_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_THIN = Side(style="thin", color="A6A6A6")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)

_TEMPLATE_TEXT = {
    "zh": {
        "title": {
            "roster": "建筑工人实名制花名册",
            "contracts": "劳动合同台账",
            "attendance": "建筑工人考勤表（____年__月）",
            "payroll": "农民工工资表（____年__月）",
            "payments": "农民工工资银行代发结果",
            "entry_exit": "建筑工人进退场记录",
        },
        "hint": "（橙色表头为必填项，蓝色为选填；从第 4 行起每行填一条，请勿修改表头）",
        "required": "必填",
        "days": "每天一列：√ = 出勤，空白或“休” = 未出勤，也可填当天工时（如 8）",
        "job_type": "请从列表选择工种名称（也可填工种代码，如 020）",
        "pick": "请从列表中选择",
        "pay_day": "请填 1-31 的整数",
        "bad": "输入有误",
    },
    "en": {
        "title": {
            "roster": "Roster of construction workers",
            "contracts": "Labour contracts",
            "attendance": "Attendance (month: ____-__)",
            "payroll": "Payroll (month: ____-__)",
            "payments": "Wage payments",
            "entry_exit": "Site entry and exit records",
        },
        "hint": " (orange headers are required, blue optional; one record per row from row 4; do not change the headers)",
        "required": "Required",
        "days": "One column per day: √ = present, blank or 休 = absent, or the hours worked (e.g. 8)",
        "job_type": "Pick a work type from the list (a work-type code such as 020 is accepted too)",
        "pick": "Pick a value from the list",
        "pay_day": "A whole number from 1 to 31",
        "bad": "Invalid value",
    },
}


@dataclass(frozen=True)
class _TplCol:
    header: str
    column: Column | None  # None: a day column of the wide attendance form


def _template_columns(kind: str) -> list[_TplCol]:
    if kind == "attendance":
        return [_TplCol(NAME.label, NAME), _TplCol(ID.label, ID)] + [_TplCol(h, None) for h in _DAY_COLS]
    return [_TplCol(c.label, c) for c in SCHEMAS[kind] if c.name not in _TEMPLATE_SKIP.get(kind, ())]


def _number_format(c: Column | None) -> str | None:
    if c is None:
        return None
    if c.sensitive or c.name in _TEXT_COLUMNS:
        return "@"
    if c.name in _DATE_COLUMNS:
        return "yyyy-mm-dd"
    if c.name in _MONEY_COLUMNS:
        return "0.00"
    if c.name == "pay_day":
        return "0"
    return None


def _note(c: Column, t: dict) -> str:
    parts = [t["required"]] if c.required else []
    if c.note:
        parts.append(c.note)
    return "；".join(parts)


def template_workbook(kind: str, *, lang: str = "zh") -> bytes:
    """A blank template of ``kind`` (roster, contracts, attendance, payments): title row 1, notes
    row 2, Chinese headers row 3, formats and drop-downs for rows 4..1003."""
    if kind not in TEMPLATE_SHEETS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(TEMPLATE_SHEETS)}")
    lang = _lang(lang)
    t = _TEMPLATE_TEXT[lang]
    cols = _template_columns(kind)
    n = len(cols)
    last_letter = get_column_letter(n)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = TEMPLATE_SHEETS[kind]

    # row 1: title (merged across the table)
    _put_text(ws.cell(row=1, column=1), t["title"][kind] + t["hint"])
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="left", vertical="center")
    ws.merge_cells(f"A1:{last_letter}1")
    ws.row_dimensions[1].height = 28

    # row 2: notes, row 3: headers
    note_font = Font(size=9, color="595959")
    note_align = Alignment(wrap_text=True, vertical="top")
    for i, tc in enumerate(cols, 1):
        letter = get_column_letter(i)
        c = tc.column
        if c is not None:
            note = _note(c, t)
            if note:
                cell = ws.cell(row=2, column=i)
                _put_text(cell, note)
                cell.font, cell.alignment = note_font, note_align
        head = ws.cell(row=3, column=i)
        _put_text(head, tc.header)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.border = _BOX
        required = c is not None and c.required
        head.fill = _REQUIRED_FILL if required else _OPTIONAL_FILL
        if c is None:
            width = 5
        elif c.sensitive:
            width = _WIDTH[c.sensitive]
        elif c.name in _DATE_COLUMNS:
            width = 13
        else:
            width = max(10, min(30, 2 * len(c.label) + 4))
        ws.column_dimensions[letter].width = width
    if kind == "attendance":
        first_day = 3
        cell = ws.cell(row=2, column=first_day)
        _put_text(cell, t["days"])
        cell.font, cell.alignment = note_font, note_align
        ws.merge_cells(start_row=2, start_column=first_day, end_row=2, end_column=n)
    ws.row_dimensions[2].height = 48
    ws.row_dimensions[3].height = 22

    # rows 4..1003: formats for every cell that needs one
    for i, tc in enumerate(cols, 1):
        fmt = _number_format(tc.column)
        if fmt is None:
            continue
        ws.column_dimensions[get_column_letter(i)].number_format = fmt  # rows typed past 1003
        for r in range(FIRST_ROW, LAST_ROW + 1):
            ws.cell(row=r, column=i).number_format = fmt

    # drop-downs and number checks
    def add(dv: DataValidation, col: int) -> None:
        letter = get_column_letter(col)
        dv.add(f"{letter}{FIRST_ROW}:{letter}{LAST_ROW}")
        ws.add_data_validation(dv)

    def list_dv(formula: str, prompt: str, *, strict: bool = True) -> DataValidation:
        return DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showDropDown=False,
            showInputMessage=True,
            prompt=prompt,
            showErrorMessage=strict,
            errorStyle="stop" if strict else "warning",
            errorTitle=t["bad"],
            error=prompt,
        )

    for i, tc in enumerate(cols, 1):
        c = tc.column
        if c is None:
            continue
        if c.name in _LISTS:
            add(list_dv('"' + ",".join(_LISTS[c.name]) + '"', t["pick"]), i)
        elif c.name in _SUGGESTED:
            add(list_dv('"' + ",".join(_SUGGESTED[c.name]) + '"', t["pick"], strict=False), i)
        elif c.name == "job_type":
            last = 1 + len(WORK_TYPES)
            # a code typed by hand is accepted by the service: warn, do not forbid
            add(list_dv(f"'{CODE_SHEET}'!$A$2:$A${last}", t["job_type"], strict=False), i)
        elif c.name == "pay_day":
            add(
                DataValidation(
                    type="whole",
                    operator="between",
                    formula1="1",
                    formula2="31",
                    allow_blank=True,
                    showInputMessage=True,
                    prompt=t["pay_day"],
                    showErrorMessage=True,
                    errorTitle=t["bad"],
                    error=t["pay_day"],
                ),
                i,
            )
    if kind == "attendance":
        dv = DataValidation(
            type="list",
            formula1='"√,休"',
            allow_blank=True,
            showDropDown=False,
            showInputMessage=True,
            prompt=t["days"],
            showErrorMessage=False,
        )
        dv.add(f"C{FIRST_ROW}:{last_letter}{LAST_ROW}")
        ws.add_data_validation(dv)

    ws.freeze_panes = "C4" if kind == "attendance" else "A4"
    ws.print_title_rows = "3:3"

    if any(tc.column is not None and tc.column.name == "job_type" for tc in cols):
        codes = wb.create_sheet(CODE_SHEET)
        codes.sheet_state = "hidden"
        _put_text(codes.cell(row=1, column=1), "工种名称")
        _put_text(codes.cell(row=1, column=2), "工种代码")
        for r, (code, name) in enumerate(WORK_TYPES.items(), 2):
            _put_text(codes.cell(row=r, column=1), name)
            cell = codes.cell(row=r, column=2)
            _put_text(cell, code)
            cell.number_format = "@"
        codes.column_dimensions["A"].width = 24
        codes.column_dimensions["B"].width = 10
    wb.active = 0
    return _save(wb)


# --------------------------------------------------------------------------------------------
# exports


def export_workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """Tables as an xlsx (first row of each bold, frozen): numbers stay numbers, every text is
    stored as text so that a project name like "=HYPERLINK(...)" can never run as a formula."""
    wb = openpyxl.Workbook(write_only=True)
    for title, rows in sheets.items():
        ws = wb.create_sheet(_unique_title(title[:31], wb.sheetnames))
        ws.freeze_panes = "A2"
        for i, row in enumerate(rows):
            style = {"font": Font(bold=True)} if i == 0 else {}
            ws.append([_plain(ws, v, **style) if v is None or isinstance(v, int | float) and not isinstance(v, bool)
                       else _text(ws, v, **style) for v in row])
    return _save(wb)


def csv_safe(value: object) -> str:
    """A csv cell that spreadsheet programs will not evaluate as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_INJECTION_START) else text
