"""Vectorised value checks and parsers, as Polars expressions over text columns.

Each function takes an expression of (stripped) text and returns an expression; none loops
over rows. Run them in a lazy frame: the repeated sub-expressions are then computed once.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def clean_text(e: pl.Expr) -> pl.Expr:
    """Trim spaces (incl. full-width and NBSP); an empty cell becomes null."""
    s = e.str.strip_chars(" \t\r\n\u3000\u00a0")
    return pl.when(s == "").then(None).otherwise(s)


# Full-width forms (U+FF01..U+FF5E) of the printable ASCII characters: what Chinese input
# methods type for digits, letters and punctuation (４４０３０５…, Ｘ, ８４００．００).
_FULL_WIDTH = [chr(0xFF01 + i) for i in range(94)]
_HALF_WIDTH = [chr(0x21 + i) for i in range(94)]


def half_width(e: pl.Expr) -> pl.Expr:
    """Full-width digits, letters and punctuation as their ASCII forms."""
    return e.str.replace_many(_FULL_WIDTH, _HALF_WIDTH)


def clean_code(e: pl.Expr) -> pl.Expr:
    """IDs, cards, accounts: drop inner spaces and dashes, a leading apostrophe; upper-case."""
    return clean_text(e.str.replace_all(r"[\s\-\u3000']", "")).str.to_uppercase()


def _digit(e: pl.Expr, i: int) -> pl.Expr:
    return e.str.slice(i, 1).cast(pl.Int64, strict=False)


def id_check_char(e: pl.Expr) -> pl.Expr:
    """Expected GB 11643 check character for an 18-character ID (null when not 17 digits)."""
    total = pl.sum_horizontal([_digit(e, i) * w for i, w in enumerate(_ID_WEIGHTS)])
    return pl.lit(_ID_CHECK).str.slice(total % 11, 1)


def id_birth_date(e: pl.Expr) -> pl.Expr:
    return e.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def id_status(id_text: pl.Expr, numeric_cell: pl.Expr, today: dt.date) -> pl.Expr:
    """One code per ID cell: the first problem found, or null when the ID is valid.

    Order matters: Excel damage explains a bad checksum, so it is reported instead of it.
    """
    d17 = id_text.str.contains(r"^\d{17}[\dX]$")
    check_ok = id_check_char(id_text) == id_text.str.slice(17, 1)
    birth = id_birth_date(id_text)
    sci = id_text.str.contains(r"^\d(\.\d+)?E\+?\d+$")
    return (
        pl.when(id_text.is_null()).then(None)
        .when(numeric_cell | sci | (d17 & id_text.str.ends_with("000") & ~check_ok))
        .then(pl.lit("ID_EXCEL_PRECISION"))
        .when(id_text.str.contains(r"^\d{15}$")).then(pl.lit("ID_LEGACY_15"))
        .when(~d17 | ~id_text.str.slice(0, 1).is_in(list("12345678"))).then(pl.lit("ID_FORMAT"))
        .when(birth.is_null() | (birth > today) | (birth < dt.date(1900, 1, 1))).then(pl.lit("ID_BIRTHDATE"))
        .when(~check_ok).then(pl.lit("ID_CHECKSUM"))
        .otherwise(None)
    )


def id_gender(e: pl.Expr) -> pl.Expr:
    return pl.when(_digit(e, 16) % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女"))


def credit_code_valid(e: pl.Expr) -> pl.Expr:
    """GB 32100-2015: 18 chars of the code alphabet and a matching check character."""
    value = {c: i for i, c in enumerate(CREDIT_CHARS)}
    char = lambda i: e.str.slice(i, 1).replace_strict(value, default=None, return_dtype=pl.Int64)  # noqa: E731
    total = pl.sum_horizontal([char(i) * w for i, w in enumerate(_CREDIT_WEIGHTS)])
    check = (31 - total % 31) % 31
    shape = e.str.contains(f"^[{CREDIT_CHARS}]{{18}}$")
    return shape & (check == char(17)).fill_null(False)


def card_shape_valid(e: pl.Expr) -> pl.Expr:
    return e.str.contains(r"^\d{16,19}$")


def luhn_valid(e: pl.Expr) -> pl.Expr:
    # Zero-padded to 19 digits every position has a fixed parity (leading zeros add nothing),
    # so there is no reversing; a doubled digit d >= 5 contributes 2d - 9.
    s = e.str.zfill(19)
    parts = []
    for j in range(19):
        d = s.str.slice(j, 1).str.to_integer(strict=False).fill_null(0)
        parts.append(d * 2 - 9 * (d >= 5).cast(pl.Int64) if (18 - j) % 2 == 1 else d)
    return pl.sum_horizontal(parts) % 10 == 0


def phone_valid(e: pl.Expr) -> pl.Expr:
    return e.str.replace(r"^(\+?86)", "").str.contains(r"^1[3-9]\d{9}$")


# A weekday after the date, as attendance systems print it: "2026-10-01 星期四", "2026/10/1（四）", "10-01 周四".
_WEEKDAY_SUFFIX = r"\s*(?:[（(]\s*(?:星期|周|礼拜)?[一二三四五六日天]\s*[)）]|(?:星期|周|礼拜)[一二三四五六日天])\s*$"


def parse_date(e: pl.Expr) -> pl.Expr:
    """Dates as sites write them: 2026-10-08, 2026/10/8, 2026.10.8, 2026年10月8日, 20261008,
    '2026-10-08 00:00:00', with a weekday after it ('2026-10-01 星期四'), or an Excel serial
    number. Null when not a real date."""
    s = e.str.replace(_WEEKDAY_SUFFIX, "").str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")
    s = s.str.replace_all(r"[年月/.]", "-").str.replace(r"日$", "")
    eight = s.str.contains(r"^\d{8}$")
    s = pl.when(eight).then(s.str.slice(0, 4) + "-" + s.str.slice(4, 2) + "-" + s.str.slice(6, 2)).otherwise(s)
    parts = s.str.extract_groups(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
    padded = (
        parts.struct.field("1") + "-" + parts.struct.field("2").str.zfill(2) + "-" + parts.struct.field("3").str.zfill(2)
    )
    by_text = padded.str.to_date("%Y-%m-%d", strict=False)
    serial = e.str.contains(r"^\d{5}(\.0+)?$")
    by_serial = pl.lit(dt.date(1899, 12, 30)) + pl.duration(days=e.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False))
    return pl.when(serial).then(by_serial.cast(pl.Date)).otherwise(by_text)


def parse_period(e: pl.Expr) -> pl.Expr:
    """'2026-10', '2026/10', '2026年10月', '202610' or a date in the month -> '2026-10' (null if not)."""
    s = e.str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2})?$", "").str.replace_all(r"[年/.]", "-").str.replace(r"月.*$", "")
    s = pl.when(s.str.contains(r"^\d{6}$")).then(s.str.slice(0, 4) + "-" + s.str.slice(4, 2)).otherwise(s)
    parts = s.str.extract_groups(r"^(\d{4})-(\d{1,2})(-\d{1,2})?$")
    month = parts.struct.field("2").cast(pl.Int64, strict=False)
    text = parts.struct.field("1") + "-" + parts.struct.field("2").str.zfill(2)
    return pl.when(month.is_between(1, 12)).then(text).otherwise(None)


def parse_fen(e: pl.Expr) -> pl.Expr:
    """Yuan text ('1,234.5', '¥1234.50', '1234.50元') -> integer fen; null if not a plain amount.

    Amounts are kept as integer fen so sums are exact; JSON shows them as '1234.50'.
    """
    s = e.str.replace_all(r"[,，¥￥元\s]", "")
    parts = s.str.extract_groups(r"^(-?)(\d+)(?:\.(\d{1,2}))?$")
    sign = pl.when(parts.struct.field("1") == "-").then(-1).otherwise(1)
    whole = parts.struct.field("2").cast(pl.Int64, strict=False)
    frac = parts.struct.field("3").fill_null("0").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    return sign * (whole * 100 + frac)


def clock_minutes(e: pl.Expr) -> pl.Expr:
    """Minutes after midnight of a clock time ``07:30``, ``7:30:00`` or ``2026-10-08 07:30``."""
    parts = e.str.extract_groups(r"(\d{1,2})[:：](\d{2})(?:[:：]\d{2})?\s*$")
    h = parts.struct.field("1").cast(pl.Int64, strict=False)
    m = parts.struct.field("2").cast(pl.Int64, strict=False)
    return pl.when(h.is_between(0, 24) & m.is_between(0, 59)).then(h * 60 + m)


def clock_span_hours(e: pl.Expr) -> pl.Expr:
    """Hours of a ``07:30-17:30`` cell (an overnight span wraps past midnight)."""
    parts = e.str.extract_groups(r"^(\d{1,2})[:：](\d{2})\s*[-~～—至]+\s*(\d{1,2})[:：](\d{2})$")
    f = [parts.struct.field(str(i)).cast(pl.Int64, strict=False) for i in range(1, 5)]
    start, end = f[0] * 60 + f[1], f[2] * 60 + f[3]
    return ((end - start + 1440) % 1440) / 60


def parse_datetime(e: pl.Expr) -> pl.Expr:
    """A punch time ``2026-10-08 07:31:05``, ``2026/10/8 7:31`` -> Datetime (null if not)."""
    s = e.str.replace_all(r"[/.年月]", "-").str.replace(r"日", " ").str.replace("T", " ").str.strip_chars()
    parts = s.str.extract_groups(r"^(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?")
    f = [parts.struct.field(str(i)).cast(pl.Int64, strict=False) for i in range(1, 7)]
    ok = f[0].is_not_null() & f[1].is_between(1, 12) & f[2].is_between(1, 31) & f[3].is_between(0, 23) & f[4].is_between(0, 59)
    return pl.when(ok).then(pl.datetime(f[0], f[1], f[2], f[3], f[4], f[5].fill_null(0)))


def parse_number(e: pl.Expr) -> pl.Expr:
    return e.str.replace_all(r"[,，\s]", "").cast(pl.Float64, strict=False)


def fen_to_text(fen: int | None) -> str | None:
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def fen_text_expr(e: pl.Expr) -> pl.Expr:
    a = e.abs()
    return pl.when(e < 0).then(pl.lit("-")).otherwise(pl.lit("")) + (a // 100).cast(pl.String) + "." + (a % 100).cast(pl.String).str.zfill(2)


# Masking exactly as domain.md says; applied to every value that leaves the service.
def mask_id(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() >= 10).then(e.str.slice(0, 6) + "********" + e.str.slice(-4, 4)).otherwise(pl.lit("****"))


def mask_card(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() >= 4).then("****" + e.str.slice(-4, 4)).otherwise(pl.lit("****"))


def mask_phone(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() >= 7).then(e.str.slice(0, 3) + "****" + e.str.slice(-4, 4)).otherwise(pl.lit("****"))


# An ID or card typed into any other column (a date, a job type) is echoed back in findings:
# every run of 15 or more digits (ASCII, or full-width as a Chinese input method types them)
# is masked wherever it stands. Rust's regex has no lookaround, so a run is delimited by
# consuming its neighbours; an ID that shares its delimiter with the previous one is missed
# by the first pass and taken by the second.
_D = "0-9０-９"
_ID_RUN = rf"(^|[^{_D}])([{_D}]{{6}})[{_D}]{{8}}([{_D}]{{3}}[{_D}XxＸｘ])([^{_D}]|$)"
_LONG_RUN = rf"[{_D}]{{11,}}([{_D}]{{4}}[XxＸｘ]?)"  # greedy from the run's first digit: the whole run


def mask_digit_runs(e: pl.Expr) -> pl.Expr:
    """18-character ID-like runs as 110101********123X, other runs of 15+ digits as ****1234."""
    ids = e.str.replace_all(_ID_RUN, "${1}${2}********${3}${4}").str.replace_all(_ID_RUN, "${1}${2}********${3}${4}")
    return ids.str.replace_all(_LONG_RUN, "****${1}")


def mask(e: pl.Expr, sensitive: str | None) -> pl.Expr:
    if sensitive == "id":
        return mask_id(e)
    if sensitive == "card":
        return mask_card(e)
    if sensitive == "phone":
        return mask_phone(e)
    return mask_digit_runs(e)
