"""Contractor uploads: the file in, the receipt and the report out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Response

from sitereg import grammar as g
from sitereg import pipeline, reports
from sitereg.api.auth import Principal, audit
from sitereg.api.errors import ApiError, bad_request, lang_of, not_found
from sitereg.api.findings import render
from sitereg.api.periods import checked_period, visible_project, writable_project
from sitereg.catalog import Catalog, Receipt
from sitereg.validate.columns import KIND_LABELS, KINDS
from sitereg.validate.workbook import template_workbook

log = logging.getLogger("sitereg.api")

# Chinese names of the kinds, as a clerk would type them in a form.
KIND_NAMES = {"花名册": "roster", "人员": "roster", "劳动合同": "contracts", "合同": "contracts", "考勤": "attendance",
              "考勤表": "attendance", "工资表": "payroll", "工资单": "payroll", "工资发放表": "payroll", "工资": "payroll",
              "代发结果": "payments", "银行回单": "payments", "交易明细": "payments", "发放记录": "payments",
              "进退场": "entry_exit", "进退场记录": "entry_exit"}
AUTO = {"", "auto", "自动识别", "自动"}  # kind left to the header
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PUBLIC = ("upload_id", "project", "period", "kind", "filename", "sha256", "rows_total", "rows_accepted",
           "rows_rejected", "errors", "warnings", "infos", "report", "status", "created_at", "size")


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    data = msgspec.to_builtins(receipt)
    return {k: data[k] for k in _PUBLIC}


@dataclass
class UploadForm:
    """The multipart form of an upload (fields are checked in the handler, with coded errors)."""

    kind: str | None = None  # roster | contracts | attendance | payroll | payments | entry_exit (or 花名册, 劳动合同,
    # 考勤表, 工资表, 代发结果, 进退场); left out or 自动识别: detected from the header, named in the receipt
    period: str | None = None  # YYYY-MM
    file: UploadFile | None = None  # xlsx or csv as the site has it


class UploadController(Controller):
    path = "/api/v1"
    tags = ["uploads"]

    @post("/projects/{code:str}/uploads", operation_id="uploadFile", status_code=201)
    async def upload(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
                     data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[dict[str, Any]]:
        """Upload one monthly file (multipart: kind, period, file). 201 with the receipt; 200 with the
        existing receipt for byte-identical content; 422 with findings when the file cannot be read."""
        catalog: Catalog = request.app.state.catalog
        project = await anyio.to_thread.run_sync(writable_project, request, principal, code,
                                                 "该令牌无权向此项目上传", "This token may not upload to this project")
        kind, period, file = data.kind, data.period, data.file
        kind = KIND_NAMES.get(kind.strip(), kind.strip()) if isinstance(kind, str) else kind
        if kind is None or (isinstance(kind, str) and kind.lower() in AUTO):
            kind = None
        elif kind not in KINDS:
            raise bad_request("KIND_INVALID", f"kind 应为 {' / '.join(KINDS)} 之一", f"kind must be one of {', '.join(KINDS)}",
                              {"field": "kind"})
        if not g.PERIOD.ok(period):
            raise bad_request("PERIOD_INVALID", "period 应为 YYYY-MM 格式，如 2026-10", "period must be YYYY-MM, e.g. 2026-10",
                              {"field": "period"})
        if not isinstance(file, UploadFile):
            raise bad_request("FILE_MISSING", "缺少文件字段 file", "The multipart field 'file' is missing", {"field": "file"})
        content = await file.read()
        await file.close()
        outcome = await anyio.to_thread.run_sync(
            lambda: pipeline.ingest(catalog, request.app.state.settings, project, kind, period,
                                    g.clean_filename(file.filename), content, actor=principal.label,
                                    today=request.app.state.today())
        )
        body = receipt_json(outcome.receipt)
        kind = outcome.receipt.kind
        await anyio.to_thread.run_sync(lambda: audit(request, principal, "upload", body["upload_id"], project=code, kind=kind,
                                                     period=period, created=outcome.created, sha256=body["sha256"]))
        if not outcome.readable:
            findings = await anyio.to_thread.run_sync(pipeline.upload_findings, request.app.state.store, outcome.receipt)
            rendered = render(findings, kind, lang_of(request), request.app.state.settings.report_limit)
            first = rendered["findings"][0] if rendered["findings"] else {"rule": "FILE_UNREADABLE", "message": ""}
            return Response({"status": 422, "code": first["rule"], "detail": first["message"],
                             "extra": {"receipt": body}, "upload_id": body["upload_id"], "findings": rendered["findings"]},
                            status_code=422)
        return Response(body, status_code=201 if outcome.created else 200)

    def _visible_receipt(self, request: Request, principal: Principal, upload_id: str) -> Receipt:
        catalog: Catalog = request.app.state.catalog
        receipt = catalog.receipt(upload_id)
        project = catalog.project(receipt.project) if receipt else None
        if receipt is None or project is None or not principal.sees(project) or principal.role == "bank":
            raise not_found("上传记录", "Upload")
        return receipt

    @staticmethod
    def _reason(principal: Principal, reason: str | None) -> str | None:
        """The stated reason for full personal data: a bureau sees masked data by default and
        gets an original or its workbook only with a reason, which goes into the audit trail."""
        if reason is None:
            if principal.role == "bureau":
                raise ApiError(403, "REASON_REQUIRED", "主管部门下载原始文件或标注工作簿须说明理由：请加参数 ?reason=（4-200 字）",
                               "A bureau must state why it downloads an original or its workbook: add ?reason= (4-200 characters)")
            return None
        reason = reason.strip()
        if not g.text_ok(reason, max_len=200, min_len=4):
            raise bad_request("REASON_INVALID", "reason 应为 4-200 字的说明，不含控制字符",
                              "reason must be 4-200 characters without control characters", {"field": "reason"})
        return reason

    @get("/projects/{code:str}/uploads", operation_id="listUploads", sync_to_thread=True)
    def list_uploads(self, request: Request, principal: NamedDependency[Principal], code: FromPath[str],
                     period: FromQuery[str | None] = None, kind: FromQuery[str | None] = None) -> dict[str, Any]:
        """Every upload of the project (of a period, of a kind), refused ones too, in order of
        arrival: each receipt with ``current`` (whether it is the current upload of its period
        and kind). A refused file is kept as an original: this is where it is found."""
        if principal.role == "bank":
            raise not_found("项目", "Project")
        visible_project(request, principal, code)
        if period is not None:
            checked_period(period)
        if kind is not None:
            kind = KIND_NAMES.get(kind.strip(), kind.strip())
            if kind not in KINDS:
                raise bad_request("KIND_INVALID", f"kind 应为 {' / '.join(KINDS)} 之一",
                                  f"kind must be one of {', '.join(KINDS)}", {"field": "kind"})
        catalog: Catalog = request.app.state.catalog
        current = catalog.db.current_ids(code, period)
        uploads = [{**receipt_json(r), "current": r.upload_id in current}
                   for r in catalog.db.uploads(code, period=period, kind=kind)]
        return {"project": code, "period": period, "kind": kind, "uploads": uploads}

    @get("/uploads/{upload_id:str}", operation_id="getUpload", sync_to_thread=True)
    def get_receipt(self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[str]) -> dict[str, Any]:
        """The receipt of an upload."""
        return receipt_json(self._visible_receipt(request, principal, upload_id))

    @get("/uploads/{upload_id:str}/original", operation_id="getUploadOriginal", sync_to_thread=True,
         media_type="application/octet-stream")
    def original(self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[str],
                 reason: FromQuery[str | None] = None) -> Response[bytes]:
        """The file exactly as it was sent: for the uploader and admin; a bureau must state a
        ``reason`` (4-200 characters, recorded in the audit trail), else 403 REASON_REQUIRED."""
        receipt = self._visible_receipt(request, principal, upload_id)
        why = self._reason(principal, reason)
        data = request.app.state.store.get(receipt.original_key)
        audit(request, principal, "download_original", upload_id, project=receipt.project, reason=why)
        log.info("original %s downloaded by %s", upload_id, principal.label)
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(receipt.filename)}",
            "X-Content-SHA256": receipt.sha256,
        })

    @get("/uploads/{upload_id:str}/report.xlsx", operation_id="getUploadReportXlsx", sync_to_thread=True,
         media_type=XLSX)
    def report_xlsx(self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[str],
                    reason: FromQuery[str | None] = None) -> Response[bytes]:
        """The contractor's own workbook (csv converted) with each flagged cell filled and commented,
        formulas replaced by their values, and a first sheet listing every finding. Fix the marked
        cells and upload this file again. For the uploader and admin; a bureau must state a
        ``reason`` (recorded in the audit trail), else 403 REASON_REQUIRED.

        Built once per language, then served from the store (header ``X-Report-Cache: hit`` or
        ``miss``); requests for a report being built wait for that build. A file over the cell
        limit, or a build over its memory or time limit, answers 413 REPORT_TOO_LARGE (the
        findings stay at ``/report``); 503 REPORT_BUSY with Retry-After when no build slot frees."""
        receipt = self._visible_receipt(request, principal, upload_id)
        why = self._reason(principal, reason)
        try:
            data, cached = reports.report_xlsx(request.app.state.store, request.app.state.settings, receipt,
                                               lang_of(request))
        except reports.ReportError as e:
            raise ApiError(e.status, e.code, e.zh, e.en, e.extra, headers=e.headers or None) from None
        audit(request, principal, "download_report_xlsx", upload_id, project=receipt.project, reason=why)
        log.info("annotated report %s downloaded by %s", upload_id, principal.label)
        stem = receipt.filename.rsplit(".", 1)[0]
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem + '-问题标注.xlsx')}",
            "X-Report-Cache": "hit" if cached else "miss"})

    @get("/templates/{name:str}", operation_id="getTemplate", sync_to_thread=True, media_type=XLSX)
    def template(self, request: Request, name: FromPath[str]) -> Response[bytes]:
        """A blank template of a kind, by its name or its Chinese name: roster.xlsx, 花名册.xlsx, …"""
        kind = name.removesuffix(".xlsx")
        kind = KIND_NAMES.get(kind, kind)
        if not name.endswith(".xlsx") or kind not in KINDS:
            raise ApiError(404, "NOT_FOUND", f"模板不存在；可用的模板：{'、'.join(f'{k}.xlsx' for k in KINDS)}",
                           f"No such template; the templates are: {', '.join(f'{k}.xlsx' for k in KINDS)}",
                           {"templates": [f"{k}.xlsx" for k in KINDS]})
        from sitereg.exports import content_disposition

        data = template_workbook(kind, lang=lang_of(request))
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": content_disposition(f"{KIND_LABELS[kind]}模板.xlsx", f"{kind}-template.xlsx")})

    @get("/uploads/{upload_id:str}/report", operation_id="getUploadReport", sync_to_thread=True)
    def report(self, request: Request, principal: NamedDependency[Principal], upload_id: FromPath[str]) -> dict[str, Any]:
        """Findings of that file, in the request's language; counts are complete even when the list is capped."""
        receipt = self._visible_receipt(request, principal, upload_id)
        findings = pipeline.upload_findings(request.app.state.store, receipt)
        rendered = render(findings, receipt.kind, lang_of(request), request.app.state.settings.report_limit)
        return {"upload_id": upload_id, "receipt": receipt_json(receipt), **rendered}


