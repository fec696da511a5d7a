"""Downloads for people: a project-month's findings (xlsx, csv) and the monthly 通报 (docx).

Thin handlers: the files are built by ``sitereg.exports`` and ``sitereg.bulletin`` from the same
functions the JSON endpoints call.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response

from sitereg import exports
from sitereg import period as period_mod
from sitereg.api.auth import Principal, require_role
from sitereg.api.errors import bad_request, not_found
from sitereg.api.findings import render
from sitereg.api.periods import checked_period, visible_project

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _finding_lines(request: Request, principal: Principal, code: str, period: str) -> tuple[Any, list[list[Any]], dict]:
    project = visible_project(request, principal, code)
    checked_period(period)
    state = request.app.state
    frame = period_mod.findings(state.catalog, state.settings, project, period, state.today())
    # Every finding (no report limit: this is the file the page points to for "the full list").
    rendered = render(frame, None, "zh", max(frame.height, 1))
    ids = {f["upload_id"] for f in rendered["findings"] if f.get("upload_id")}
    receipts = {i: r for i in ids if (r := state.catalog.receipt(i)) is not None}
    return project, exports.finding_lines(rendered["findings"], receipts, period), rendered["counts"]


class FindingsExportController(Controller):
    path = "/api/v1/projects/{code:str}/periods/{period:str}"
    tags = ["findings"]

    @get("/findings.xlsx", operation_id="exportPeriodFindingsXlsx", sync_to_thread=True, media_type=XLSX,
         summary="Download a project-month's findings as Excel (Chinese, masked)")
    def findings_xlsx(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
                      period: FromPath[str]) -> Response[bytes]:
        """Every current finding of the project-period (the same list as ``GET .../findings``, without
        its report limit) as an xlsx with Chinese headers: the month and file each finding comes from
        (a roster carried over from an earlier month says so), rule, row, column, masked value and
        worker, and the message. Named 核查问题清单-{code}-{period}.xlsx."""
        project, lines, counts = _finding_lines(request, principal, code, period)
        uploaded = bool(request.app.state.catalog.db.current_ids(project.code, period))
        data = exports.findings_workbook(project.code, project.name, period, lines, counts, uploaded)
        name, fallback = exports.findings_filename(project.code, period, "xlsx")
        return Response(data, media_type=XLSX, headers={"Content-Disposition": exports.content_disposition(name, fallback)})

    # Litestar appends "; charset=utf-8" to a text/* media type itself: give it the bare type, or
    # the header says the charset twice.
    @get("/findings.csv", operation_id="exportPeriodFindingsCsv", sync_to_thread=True, media_type="text/csv",
         summary="Download a project-month's findings as CSV (Chinese, masked)")
    def findings_csv(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
                     period: FromPath[str]) -> Response[str]:
        """The same lines as ``findings.xlsx`` as UTF-8 CSV with a BOM (Excel opens it with the Chinese
        text intact); cells that a spreadsheet would run as a formula are prefixed with '."""
        project, lines, _ = _finding_lines(request, principal, code, period)
        name, fallback = exports.findings_filename(project.code, period, "csv")
        return Response(exports.findings_csv(lines), media_type="text/csv",
                        headers={"Content-Disposition": exports.content_disposition(name, fallback)})


class BulletinController(Controller):
    path = "/api/v1/bulletins"
    tags = ["coverage"]

    @get("/{region:str}/{document:str}", operation_id="getBulletin", sync_to_thread=True, media_type=DOCX,
         summary="The monthly 通报 of a region (Word)")
    def bulletin(self, request: Request, principal: NamedDependency[Principal], region: FromPath[str],
                 document: FromPath[str]) -> Response[bytes]:
        """The bureau's monthly bulletin (通报) on real-name and wage payment for a region and month, as a
        Word document: totals and the government-funded split, the change against the previous
        month, the projects not uploaded, the projects at risk with their main problems, and the
        12-month trend as a chart (a PNG with ASCII text only, its Chinese caption and key as
        Word paragraphs) and a table. Built from the same figures as ``GET /api/v1/coverage``
        (the chart: its ``trend`` for ``period_from`` = 11 months earlier) and ``GET /api/v1/risks``.
        Bureau (its region) and admin only."""
        from sitereg import bulletin as bulletin_mod
        from sitereg.api.coverage import stored_rows

        require_role(principal, "admin", "bureau")
        period = document.removesuffix(".docx")
        if period == document:
            raise not_found("文件", "Document")  # only {period}.docx exists
        checked_period(period)
        if not bulletin_mod.region_ok(region):
            raise bad_request("REGION_INVALID", "区划代码应为 1-6 位数字，如 4403", "region must be 1-6 digits, e.g. 4403")
        if principal.role == "bureau" and not any(region.startswith(s) for s in principal.scope):
            raise not_found("区划", "Region")  # a read outside the token's scope: 404, as for projects
        data = bulletin_mod.build(stored_rows, request, principal, region, period)
        name, fallback = bulletin_mod.filename(region, period)
        return Response(data, media_type=DOCX, headers={"Content-Disposition": exports.content_disposition(name, fallback)})
