"""Findings as JSON: messages rendered in the caller's language, counts complete when capped."""

from __future__ import annotations

from typing import Any

import msgspec
import polars as pl

from sitereg.validate.rules import BY_CODE, reason_zh


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
    params = {"column": row["column"] or "", "value": row["value"] or "", "worker": row["worker"] or "", **args}
    if lang == "zh" and "reason" in args:
        params["reason"] = reason_zh(str(args["reason"]))
    if rule.code == "VALUE_MISSING":
        params.setdefault("rejected", "（本行未入库）" if lang == "zh" else " (this row was not stored)")
    out = {
        "rule": rule.code,
        "severity": rule.severity,
        "kind": row.get("kind") or kind,
        "row": row["row"],
        "column": row["column"],
        "value": row["value"],
        "worker": row["worker"],
        "message": rule.message(lang, **params),
    }
    if row.get("upload_id"):
        out["upload_id"] = row["upload_id"]
    return out
