"""Findings as JSON: messages rendered in the caller's language, counts complete when capped."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import polars as pl

from sitereg.validate.checks import fen_to_text, mask_digit_runs, parse_fen
from sitereg.validate.rules import BY_CODE, reason_zh

_LONG_DIGITS = re.compile(r"[0-9０-９]{15}")
# Findings stored before the amount of the cell was an argument of its own: their message showed
# the cell's text as ``{value}``; the argument is now that amount as yuan with two places.
_AMOUNT_WAS_VALUE = {"PAYROLL_ARITHMETIC": "net", "DEDUCTION_HIGH": "deductions"}


def render(findings: pl.DataFrame, kind: str | None, lang: str, limit: int) -> dict[str, Any]:
    severity = pl.col("rule").replace_strict({c: r.severity for c, r in BY_CODE.items()}, default="error")
    ordered = findings.with_columns(_sev=severity).with_columns(
        _rank=pl.col("_sev").replace_strict({"error": 0, "warning": 1, "info": 2}, return_dtype=pl.Int8)
    ).sort("_rank", "row", nulls_last=False, maintain_order=True)
    counts = {s: 0 for s in ("error", "warning", "info")}
    for sev, n in ordered.group_by("_sev").len().iter_rows():
        counts[sev] = n
    by_rule = dict(sorted(ordered.group_by("rule").len().iter_rows()))
    shown = ordered.head(limit)
    items = [finding_json(row, kind, lang) for row in shown.iter_rows(named=True)]
    return {"counts": {**counts, "total": findings.height, "by_rule": by_rule},
            "truncated": findings.height > shown.height, "findings": items}


def finding_json(row: dict[str, Any], kind: str | None, lang: str) -> dict[str, Any]:
    """One finding as api.md shapes it, its message rendered in ``lang``."""
    rule = BY_CODE[row["rule"]]
    args = msgspec.json.decode(row["args"]) if row.get("args") else {}
    value = _masked(row["value"])
    params = {"column": row["column"] or "", "value": value or "", "worker": row["worker"] or "", **args}
    if lang == "zh" and "reason" in args:
        params["reason"] = reason_zh(str(args["reason"]))
    amount = _AMOUNT_WAS_VALUE.get(rule.code)
    if amount and amount not in args and value:
        params[amount] = _yuan(str(value))
    if lang == "en":  # words the system wrote in Chinese (the ID's gender, a kind's name) in English
        for name, words in rule.en_words.items():
            if name in args:
                params[name] = words.get(str(args[name]), args[name])
    # "-" is stored where no kind fits or no header is near: words for it in the reader's language.
    if params.get("looks") == "-":
        params["looks"] = "无法判断" if lang == "zh" else "none of the kinds"
    if params.get("nearest") == "-":
        params["nearest"] = "无" if lang == "zh" else "none"
    if "first_row" in args:  # a row of this file (of another sheet with first_sheet)
        params["first"] = _first_at(str(args["first_row"]), args.get("first_sheet"), lang)
    elif rule.code == "DUPLICATE_WORKER" and "first" in args:  # findings stored before first_row
        params["first"] = _first_at(str(args["first"]), None, lang)
    if rule.code == "PERIOD_MISMATCH":  # a row's month column, or the file's own month
        in_row = row["row"] is not None and row["column"]
        if lang == "zh":
            params.setdefault("where", f"「{row['column']}」为" if in_row else "文件中写明的月份是")
            params.setdefault("stored", "本行未入库" if in_row else "本文件未入库")
        else:
            params.setdefault("where", f"'{row['column']}' says" if in_row else "The file's own month is")
            params.setdefault("stored", "this row was not stored" if in_row else "nothing of this file was stored")
    if lang == "en":
        for name in ("looks_en", "kind_en"):  # kind codes as nouns: "an attendance file"
            if name in params:
                kind = str(params[name])
                params[name] = f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} file"
        if "columns" in params and rule.code == "COLUMNS_NOT_STORED":
            params["columns"] = str(params["columns"]).replace("、", ", ")
    if rule.code == "VALUE_MISSING":
        params.setdefault("rejected", "（本行未入库）" if lang == "zh" else " (this row was not stored)")
    out = {
        "rule": rule.code,
        "severity": rule.severity,
        "kind": row.get("kind") or kind,
        "row": row["row"],
        "column": row["column"],
        "value": value,
        "worker": row["worker"],
        "message": rule.message(lang, **params),
    }
    if row.get("sheet"):  # a workbook of several sheets: which one the row is on
        out["sheet"] = row["sheet"]
    if row.get("upload_id"):
        out["upload_id"] = row["upload_id"]
    return out


def _first_at(row: str, sheet: str | None, lang: str) -> str:
    """Where a repeated key was first seen: a row of this sheet or of another sheet."""
    if lang == "zh":
        return f"工作表「{sheet}」第 {row} 行" if sheet else f"第 {row} 行"
    return f"row {row} of sheet '{sheet}'" if sheet else f"row {row}"


def _yuan(text: str) -> str:
    """An amount cell's text as yuan with two places ("3000.0" -> "3000.00"); as written when it
    is not a plain amount."""
    fen = pl.select(parse_fen(pl.lit(text, pl.String))).item()
    return fen_to_text(fen) if fen is not None else text


def _masked(value: Any) -> Any:
    """Last line of defence: findings stored before every echoed value was masked (and cross-file
    values built outside ``checks.mask``) may still carry a full ID or card number."""
    if isinstance(value, str) and _LONG_DIGITS.search(value):
        return pl.select(mask_digit_runs(pl.lit(value, pl.String))).item()
    return value
