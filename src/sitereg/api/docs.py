"""The OpenAPI document, finished: one summary per operation, the error responses each can really
give in their real shape, patterns and enums on ``period``/``kind``/``region``, the upload form
with its required fields, and the bank batch body (``batches.Batch``) with an example.

Litestar builds the document from the handlers (descriptions are their docstrings); this module
completes it once, when the app is created, so that a bank's developer can integrate from
``/schema`` alone.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import Components, Example, OpenAPIResponse, Parameter, Reference, RequestBody, Schema
from litestar.openapi.spec import OpenAPIMediaType as MediaType

from sitereg import batches

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
REGION_PATTERN = r"^[1-8][0-9]{0,5}$"
KINDS = ["roster", "contracts", "attendance", "payroll", "payments", "entry_exit"]
KIND_NAMES_ZH = ["花名册", "劳动合同", "考勤表", "工资表", "工资发放表", "进退场"]

ERRORS: dict[int, tuple[str, str, str]] = {  # status -> (description, example code, example detail)
    400: ("Bad request: a parameter or field is malformed (code says which: PERIOD_INVALID, KIND_INVALID, "
          "REGION_INVALID, VALIDATION, FILE_MISSING, ...)", "PERIOD_INVALID", "period 应为 YYYY-MM 格式，如 2026-10"),
    401: ("No token, or a token that is unknown or revoked (Authorization: Bearer <token>)", "UNAUTHORIZED",
          "缺少或无效的访问令牌（Authorization: Bearer <token>）"),
    403: ("The token's role or scope may not do this (writes outside scope answer 403)", "FORBIDDEN", "该令牌无权执行此操作"),
    404: ("Not found, or not visible to this token (reads outside scope answer 404: no existence oracle)", "NOT_FOUND",
          "项目不存在或无权查看"),
    409: ("Conflict: the code or batch_id already exists with other content; nothing was changed", "CONFLICT",
          "批次号已用于不同内容"),
    413: ("The request body is over SITEREG_MAX_UPLOAD_BYTES (50 MB by default), or a report.xlsx would be too large "
          "(REPORT_TOO_LARGE)",
          "FILE_TOO_LARGE", "请求体超过上传大小上限"),
    422: ("The file could not be read at all; it is kept as an original and the findings say why", "FILE_UNREADABLE",
          "文件无法读取。请用 Excel 另存为 .xlsx 或 UTF-8 / GBK 编码的 .csv 后重新上传。"),
    503: ("Object store or database unavailable; nothing was saved. Retry after the Retry-After header", "STORE_UNAVAILABLE",
          "存储服务暂不可用，本次请求未保存，请稍后重试"),
}
READ = [400, 401, 404, 503]
OPS: dict[str, tuple[str, list[int]]] = {  # operation id -> (summary, error statuses)
    "health": ("Liveness and storage check (no token)", [503]),
    "listRules": ("List every validation rule: code, severity, messages", [401, 503]),
    "getColumnMap": ("Read a project's column map for one kind (header as written -> canonical column)", READ),
    "putColumnMap": ("Save a project's column map for one kind (the project's contractor, admin)",
                     [400, 401, 403, 404, 413, 503]),
    "readAudit": ("Read one day of the audit trail (admin)", [400, 401, 403, 503]),
    "getWorkerLedger": ("One worker's months across projects in scope (bureau, admin; audited)", [400, 401, 403, 404, 503]),
    "createProject": ("Register a project (admin)", [400, 401, 403, 409, 413, 503]),
    "listProjects": ("List the projects this token may see", [401, 503]),
    "getProject": ("Read one project", READ),
    "uploadFile": ("Upload a monthly file (roster, contracts, attendance, payroll, payments, entry/exit)",
                   [400, 401, 403, 404, 413, 422, 503]),
    "listUploads": ("List a project's uploads, refused ones too, with which is current", READ),
    "getUpload": ("Read an upload's receipt", READ),
    "getUploadOriginal": ("Download an upload's original bytes", READ),
    "getUploadReport": ("Read the findings of one uploaded file", READ),
    "getUploadReportXlsx": ("Download the contractor's file with each bad cell marked", [*READ, 413]),
    "getTemplate": ("Download a blank template (Chinese headers)", [400, 401, 404]),
    "getPeriodFindings": ("Every current finding of a project-month, across files and projects", READ),
    "exportPeriodFindingsXlsx": ("Download a project-month's findings as Excel (Chinese, masked)", READ),
    "exportPeriodFindingsCsv": ("Download a project-month's findings as CSV (Chinese, masked)", READ),
    "pushPaymentBatch": ("Push a bank payment batch (JSON or CSV; idempotent by batch_id)", [400, 401, 403, 409, 413, 503]),
    "getPaymentBatch": ("Read a payment batch's receipt", READ),
    "getRegionCoverage": ("Coverage rates of a region: totals, government-funded split, every project, trend",
                          [400, 401, 403, 503]),
    "exportRegionCoverage": ("Download the region's coverage report as Excel (Chinese, named by region and month)",
                             [400, 401, 403, 503]),
    "getRisks": ("Projects ordered by estimated wage arrears, with the errors that drive it", [400, 401, 403, 503]),
    "getProjectCoverage": ("Coverage of one project-month, with each rate's numerator and denominator", [*READ, 403]),
    "getBulletin": ("Download the monthly 通报 of a region and month (Word; bureau, admin)", [400, 401, 403, 404, 503]),
}

BATCH_EXAMPLE = {
    "batch_id": "B20261110-0001",
    "payer_account": "4425010020239361300",
    "records": [{
        "bank_txn_id": "T202611100000001", "project": "XM-440305-2026-001", "period": "2026-10",
        "id_number": "110101199003071234", "name": "张三", "payee_account": "6222020200112233445",
        "payee_name": "张三", "channel": "bank_card", "amount": "8800.00", "paid_at": "2026-11-10",
    }],
}
RECEIPT_EXAMPLE = {
    "upload_id": "U20261112093000123456abcdef", "project": "XM-440305-2026-001", "period": "2026-10", "kind": "roster",
    "filename": "花名册.xlsx", "sha256": "2a90…", "rows_total": 41, "rows_accepted": 37, "rows_rejected": 4, "errors": 4,
    "warnings": 1, "infos": 0, "report": "/api/v1/uploads/U20261112093000123456abcdef/report", "status": "accepted",
    "created_at": "2026-11-12T09:30:00Z", "size": 18211,
}


def _error_schema() -> Schema:
    return Schema(
        type="object", required=["status", "code", "detail", "extra"],
        description="Every error: the HTTP status, a stable code, detail in the request's language (zh-CN by default, "
                    "Accept-Language: en), extra facts (e.g. the field, a limit, a refused upload's receipt and findings).",
        properties={
            "status": Schema(type="integer", examples=[400]),
            "code": Schema(type="string", examples=["PERIOD_INVALID"]),
            "detail": Schema(type="string", examples=["period 应为 YYYY-MM 格式，如 2026-10"]),
            "extra": Schema(type="object", additional_properties=True),
        },
    )


def _error(status: int) -> OpenAPIResponse:
    description, code, detail = ERRORS[status]
    example = {"status": status, "code": code, "detail": detail, "extra": {}}
    return OpenAPIResponse(description=description, content={"application/json": MediaType(
        schema=Reference(ref="#/components/schemas/Error"), examples={code: Example(value=example)})})


def _schema_from_msgspec(struct: type) -> tuple[dict[str, Any], dict[str, Any]]:
    (ref,), components = msgspec.json.schema_components([struct], ref_template="#/components/schemas/{name}")
    return ref, components


def _patch_parameter(p: Any) -> None:
    if p.name in ("period", "period_from", "period_to", "from", "to"):
        p.schema = Schema(type="string", pattern=PERIOD_PATTERN, examples=["2026-10"])
        p.description = p.description or "A month, YYYY-MM"
    elif p.name == "region":
        p.schema = Schema(type="string", pattern=REGION_PATTERN, examples=["4403"])
        p.description = p.description or "A region-code prefix (1-6 ASCII digits), e.g. 4403"
    elif p.name == "investment_type":
        p.schema = Schema(one_of=[Schema(type="string", enum=["government", "state_owned", "other"]), Schema(type="null")])
    elif p.name == "name" and p.param_in == "path":
        p.schema = Schema(type="string", enum=[f"{k}.xlsx" for k in KINDS if k != "entry_exit"] + ["entry_exit.xlsx"])
        p.description = "The template's kind and .xlsx"
    elif p.name == "document":
        p.schema = Schema(type="string", pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])\.docx$", examples=["2026-10.docx"])
        p.description = "The month and .docx, e.g. 2026-10.docx"


def document(app: Litestar) -> None:
    """Complete the app's OpenAPI document in place (called once by ``create_app``)."""
    openapi = app.plugins.get(OpenAPIPlugin).provide_openapi()
    comps = openapi.components if isinstance(openapi.components, Components) else Components()
    openapi.components = comps
    comps.schemas = dict(comps.schemas or {})
    comps.schemas["Error"] = _error_schema()
    batch_ref, batch_components = _schema_from_msgspec(batches.Batch)
    for name, schema in batch_components.items():
        comps.schemas[name] = Schema(**_to_schema_kwargs(schema))
    for item in (openapi.paths or {}).values():
        for method in ("get", "post", "put", "patch", "delete"):
            op = getattr(item, method, None)
            if op is None:
                continue
            summary, statuses = OPS.get(op.operation_id or "", (op.summary, READ))
            op.summary = summary
            for p in op.parameters or []:
                if not isinstance(p, Reference):
                    _patch_parameter(p)
            responses = {k: v for k, v in (op.responses or {}).items() if not k.startswith(("4", "5"))}
            for status in statuses:
                responses[str(status)] = _error(status)
            if op.operation_id == "uploadFile":
                responses["200"] = OpenAPIResponse(description="The same bytes were uploaded before: the existing receipt",
                                                   content={"application/json": MediaType(examples={"receipt": Example(value=RECEIPT_EXAMPLE)})})
                if "201" in responses and isinstance(responses["201"], OpenAPIResponse):
                    responses["201"].description = "Stored and checked: the receipt"
                    for media in (responses["201"].content or {}).values():
                        media.examples = {"receipt": Example(value=RECEIPT_EXAMPLE)}
                op.request_body = _upload_body()
            if op.operation_id == "pushPaymentBatch":
                op.request_body = RequestBody(required=True, description=(
                    "A payment batch. JSON as below, with header Idempotency-Key equal to batch_id; or the bank's CSV export "
                    "(Content-Type: text/csv) with ?batch_id=&payer_account= in the query."), content={
                    "application/json": MediaType(schema=Reference(ref=batch_ref["$ref"]),
                                                  examples={"batch": Example(value=BATCH_EXAMPLE)}),
                    "text/csv": MediaType(schema=Schema(type="string"), examples={"csv": Example(value=(
                        "银行流水号,项目编码,工资所属期,身份证号码,姓名,收款账号,收款人,发放渠道,实发金额,发放日期\n"
                        "T202611100000001,XM-440305-2026-001,2026-10,110101199003071234,张三,6222020200112233445,张三,"
                        "银行卡,8800.00,2026-11-10\n"))}),
                })
                responses["200"] = OpenAPIResponse(description="The same batch again: the same receipt")
                op.parameters = [*(op.parameters or []),
                                 Parameter(name="Idempotency-Key", param_in="header", required=True,
                                           description="Equal to the body's batch_id (for CSV: to the batch_id query value)",
                                           schema=Schema(type="string", examples=["B20261110-0001"])),
                                 Parameter(name="batch_id", param_in="query", required=False,
                                           description="CSV pushes only: the batch id", schema=Schema(type="string")),
                                 Parameter(name="payer_account", param_in="query", required=False,
                                           description="CSV pushes only: the dedicated account paid from",
                                           schema=Schema(type="string", pattern=r"^[0-9]{6,32}$"))]
            op.responses = responses


def _upload_body() -> RequestBody:
    return RequestBody(required=True, description="multipart/form-data: period and file are required; kind may be left out "
                                                  "(the service recognises the file) or given in English or Chinese.",
                       content={"multipart/form-data": MediaType(schema=Schema(
                           type="object", required=["period", "file"],
                           properties={
                               "kind": Schema(type="string", enum=KINDS + KIND_NAMES_ZH,
                                              description="What the file is; left out: recognised from its headers"),
                               "period": Schema(type="string", pattern=PERIOD_PATTERN, examples=["2026-10"],
                                                description="The month the file belongs to"),
                               "file": Schema(type="string", format="binary",  # type: ignore[arg-type]
                                              description="xlsx or csv (UTF-8 with or without BOM, GBK, GB18030)"),
                           }))})


_KEYS = {"additionalProperties": "additional_properties", "$ref": "ref", "anyOf": "any_of", "oneOf": "one_of"}


def _to_schema_kwargs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON-schema dict from msgspec as the keyword arguments of litestar's Schema."""
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k == "$ref":
            continue
        key = _KEYS.get(k, k)
        if k == "properties":
            v = {name: _sub(s) for name, s in v.items()}
        elif k == "items":
            v = _sub(v)
        elif k in ("anyOf", "oneOf"):
            v = [_sub(s) for s in v]
        elif k == "additionalProperties" and isinstance(v, dict):
            v = _sub(v)
        out[key] = v
    return out


def _sub(schema: dict[str, Any]) -> Schema | Reference:
    if "$ref" in schema:
        return Reference(ref=schema["$ref"])
    return Schema(**_to_schema_kwargs(schema))
