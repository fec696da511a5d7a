"""docs/rules.md, generated from the rule registry (``sitereg docs`` writes it; a test checks it)."""

from __future__ import annotations

from sitereg.validate.rules import RULES

_SCOPES = {
    "file": "File 文件", "identity": "Identity 身份", "age": "Age 年龄", "codes": "Codes and contacts 代码与联系方式",
    "values": "Dates and values 日期与数值", "bank": "Bank payment batches 银行代发批次", "cross_file": "Across a project's files 跨文件",
    "cross_project": "Across projects 跨项目",
}
_REJECTS = {"never": "no", "always": "yes", "if_required": "when the column is required"}


def render() -> str:
    lines = [
        "# Rules",
        "",
        "Generated from `src/sitereg/validate/rules.py` by `uv run sitereg docs`; do not edit by hand.",
        "The same catalogue is served at `GET /api/v1/rules`. Codes are stable; messages may improve.",
        "`{column}` is the header as written in the file, `{value}` the cell (masked where personal),",
        "`{worker}` the masked ID number. \"Rejects row\" says whether a hit keeps the row out of the tables",
        "(only unusable data does; compliance findings never reject).",
        "",
    ]
    for scope, title in _SCOPES.items():
        rules = [r for r in RULES if r.scope == scope]
        if not rules:
            continue
        lines += [f"## {title}", "", "| code | severity | kinds | columns | rejects row | message (zh) | message (en) |",
                  "|---|---|---|---|---|---|---|"]
        for r in rules:
            cols = ", ".join(c for c in r.columns if not c.startswith("*")) or ("required columns" if r.columns else "")
            lines.append(
                f"| `{r.code}` | {r.severity} | {', '.join(r.kinds)} | {cols} | {_REJECTS[r.rejects]} | "
                f"{_cell(r.zh)} | {_cell(r.en)} |"
            )
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
