"""Bank payroll systems push payment batches from dedicated wage accounts."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response

from sitereg import batches
from sitereg.api.auth import Principal, audit, require_role
from sitereg.api.errors import ApiError, bad_request, lang_of, not_found
from sitereg.api.findings import finding_json
from sitereg.validate.columns import header_hints
from sitereg.validate.readers import ReadFailure, read_table
from sitereg.validate.rules import reason_zh

log = logging.getLogger("sitereg.api")
_HINTS = header_hints()


def receipt_json(receipt: dict[str, Any], lang: str) -> dict[str, Any]:
    return {
        "batch_id": receipt["batch_id"],
        "accepted": receipt["accepted"],
        "rejected": receipt["rejected"],
        "records": [
            {**{k: v for k, v in r.items() if k != "findings"},
             "findings": [finding_json(f, "payments", lang) for f in r["findings"]]}
            for r in receipt["records"]
        ],
    }


class BatchController(Controller):
    path = "/api/v1/payment-batches"
    tags = ["payment batches"]

    @post("/", operation_id="pushPaymentBatch", status_code=201)
    async def push(self, request: Request, principal: NamedDependency[Principal]) -> Response[dict[str, Any]]:
        """Push a batch (JSON, or CSV with ?batch_id=&payer_account=). Header Idempotency-Key must equal
        batch_id. 201 with the receipt; 200 with the same receipt on a replay; 409 if the batch_id was
        used for other content. Well-formed records are stored whatever findings they raise."""
        require_role(principal, "bank", "admin")
        body = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/csv":
            batch = self._from_csv(request, body)
        else:
            try:
                batch = msgspec.json.decode(body, type=batches.Batch)
            except msgspec.DecodeError as exc:
                raise bad_request("VALIDATION", f"批次 JSON 无效：{exc}", f"Invalid batch JSON: {exc}") from None
        key = request.headers.get("idempotency-key")
        if key != batch.batch_id:
            raise bad_request("IDEMPOTENCY_KEY_MISMATCH", "请求头 Idempotency-Key 必须与 batch_id 相同",
                              "The Idempotency-Key header must equal batch_id", {"batch_id": batch.batch_id})
        scope = None if principal.role == "admin" else principal.scope
        state = request.app.state
        try:
            outcome = await anyio.to_thread.run_sync(lambda: batches.ingest(
                state.catalog, state.settings, batch, scope=scope, actor=principal.label, today=state.today()))
        except batches.BatchRefused as exc:
            raise ApiError(exc.status, exc.code, exc.zh, exc.en, exc.extra) from None
        await anyio.to_thread.run_sync(lambda: audit(request, principal, "push_batch", batch.batch_id,
                                                     created=outcome.created, accepted=outcome.receipt["accepted"]))
        log.info("batch %s from %s: accepted=%d rejected=%d created=%s", batch.batch_id, principal.label,
                 outcome.receipt["accepted"], outcome.receipt["rejected"], outcome.created)
        return Response(receipt_json(outcome.receipt, lang_of(request)), status_code=201 if outcome.created else 200)

    def _from_csv(self, request: Request, body: bytes) -> batches.Batch:
        batch_id = request.query_params.get("batch_id") or ""
        payer = request.query_params.get("payer_account") or ""
        if not batch_id or not payer:
            raise bad_request("VALIDATION", "CSV 批次需要查询参数 batch_id 和 payer_account",
                              "A CSV batch needs the query parameters batch_id and payer_account")
        if body.startswith(b"PK\x03\x04"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "以 text/csv 提交的内容是 xlsx 工作簿，请提交 CSV",
                           "The text/csv body is an xlsx workbook; send CSV")
        settings = request.app.state.settings
        table = read_table(body, "batch.csv", header_hints=_HINTS, max_rows=settings.max_rows,
                           max_xml_bytes=settings.max_xml_bytes)
        if isinstance(table, ReadFailure):
            raise ApiError(422, table.code, f"CSV 无法读取：{reason_zh(table.reason)}", f"The CSV cannot be read: {table.reason}")
        batch, missing = batches.from_table(table, batch_id, payer)
        if missing == ["payer_account"]:
            raise bad_request("VALIDATION", "CSV 中的付款账号与查询参数 payer_account 不一致",
                              "The CSV's payer account column differs from the payer_account query parameter")
        if batch is None:
            raise ApiError(422, "COLUMN_MISSING", f"CSV 缺少列：{', '.join(missing)}", f"The CSV lacks columns: {', '.join(missing)}",
                           {"missing": missing})
        return batch

    @get("/{batch_id:str}", operation_id="getPaymentBatch", sync_to_thread=True)
    def get_one(self, request: Request, principal: NamedDependency[Principal], batch_id: FromPath[str]) -> dict[str, Any]:
        """The receipt of a batch (a bank sees its own batches only)."""
        if principal.role not in ("bank", "admin"):
            raise not_found("代发批次", "Payment batch")
        payers = principal.scope if principal.role == "bank" else None
        receipt = batches.get_receipt(request.app.state.catalog, payers, batch_id)
        if receipt is None:
            raise not_found("代发批次", "Payment batch")
        return receipt_json(receipt, lang_of(request))
