"""Bank payment batches: pushed from a project's dedicated wage account, stored exactly once.

The money has already moved, so every well-formed record is kept, whatever compliance
findings it raises. The batch as received is a write-once object in the bucket (its create
is the lock on the batch id); each bank transaction id is claimed under a unique constraint in
the database, so two concurrent batches sharing one store it once; the receipt is written
last. A replay of the same content answers the stored receipt; other content under the same
batch_id is a conflict. A crash after the original was stored is finished by the next replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import msgspec
import polars as pl

from sitereg import grammar as g
from sitereg import keys, tables
from sitereg.catalog import Catalog, Project
from sitereg.settings import Settings
from sitereg.storage import AlreadyExists
from sitereg.validate import checks as ck
from sitereg.validate.filecheck import FAILED_STATUS, FINDING_SCHEMA, Context, validate_file
from sitereg.validate.readers import Table

# API field -> header given to the shared payments validation (its English aliases).
FIELDS = ("bank_txn_id", "project", "period", "id_number", "name", "payee_account", "payee_name", "channel",
          "amount", "paid_at")


class Record(msgspec.Struct, forbid_unknown_fields=True):
    bank_txn_id: str
    project: str
    period: str
    id_number: str
    name: str
    payee_account: str
    payee_name: str
    channel: str
    amount: str
    paid_at: str


class CsvRecord(Record, omit_defaults=True):
    """A line of a bank's CSV export, with its 交易状态 (成功 / 失败) when the export has that
    column. Not part of the JSON body (a JSON record has no status); a line without a status
    encodes exactly as a Record, so its batch's content hash is unchanged."""

    status: str = ""


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    batch_id: str
    payer_account: str
    records: list[Record]


class BatchRefused(Exception):
    """The whole batch is refused and nothing is stored (an HTTP 4xx)."""

    def __init__(self, status: int, code: str, zh: str, en: str, extra: dict | None = None) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en, self.extra = status, code, zh, en, extra or {}


@dataclass(frozen=True)
class Outcome:
    receipt: dict[str, Any]
    created: bool


def from_table(table: Table, batch_id: str, payer_account: str) -> tuple[Batch | None, list[str]]:
    """A bank's CSV export (Chinese or English headers) as a batch; or the required columns it lacks."""
    from sitereg.validate.columns import map_headers

    hm = map_headers("payments", table.headers)
    needed = [f for f in FIELDS if f not in hm.columns]
    if needed:
        return None, needed
    if "payer_account" in hm.columns:
        payers = table.frame.get_column(hm.columns["payer_account"]).drop_nulls().str.strip_chars().unique().to_list()
        if any(p != payer_account for p in payers):
            return None, ["payer_account"]
    # A bank's result file marks each line 成功 / 失败: the status is kept with the line, so that a
    # failed one is rejected in the receipt rather than stored as a payout.
    fields = (*FIELDS, "status") if "status" in hm.columns else FIELDS
    frame = table.frame.select(pl.col(hm.columns[f]).fill_null("").str.strip_chars().alias(f) for f in fields)
    records: list[Record] = [CsvRecord(**row) for row in frame.iter_rows(named=True)]
    return Batch(batch_id=batch_id, payer_account=payer_account, records=records), []


def content_hash(batch: Batch) -> str:
    return hashlib.sha256(msgspec.json.encode(batch)).hexdigest()


def get_receipt(catalog: Catalog, payers: tuple[str, ...] | None, batch_id: str) -> dict[str, Any] | None:
    """The receipt of a batch pushed from one of ``payers`` (None: any payer, for admins).
    Batch ids are a bank's own: they are unique per payer account, never across banks."""
    if not g.SAFE_ID.ok(batch_id):
        return None
    return catalog.db.batch_receipt(payers, batch_id)


def authorise(catalog: Catalog, batch: Batch, scope: tuple[str, ...] | None) -> dict[str, Project]:
    """Refuse the batch unless the token holds the payer account. Returns the projects whose
    dedicated account is the payer account (records naming any other project are rejected)."""
    if not g.SAFE_ID.ok(batch.batch_id):
        raise BatchRefused(400, "BATCH_ID_INVALID", "batch_id 只能包含字母、数字、点、下划线和连字符（最多 128 位）",
                           "batch_id may hold letters, digits, '.', '_' and '-' (at most 128)")
    if not g.ACCOUNT.ok(batch.payer_account):
        raise BatchRefused(400, "VALIDATION", f"payer_account 应为{g.ACCOUNT.zh}", f"payer_account must be {g.ACCOUNT.en}")
    if not batch.records:
        raise BatchRefused(400, "VALIDATION", "records 不能为空", "records must not be empty")
    if scope is not None and batch.payer_account not in scope:
        raise BatchRefused(403, "FORBIDDEN", "该令牌无权以此付款账户推送代发批次",
                           "This token may not push batches for that payer account")
    projects: dict[str, Project] = {}
    for code in sorted({r.project for r in batch.records}):
        project = catalog.project(code)
        # A project that is not registered and one whose dedicated account is another are the
        # same to a bank (PROJECT_UNKNOWN on those records): answering differently would tell
        # it which project codes exist. Either way the record is rejected, not the batch.
        if project is not None and project.dedicated_account == batch.payer_account:
            projects[code] = project
    return projects


def ingest(catalog: Catalog, settings: Settings, batch: Batch, *, scope: tuple[str, ...] | None, actor: str,
           today: dt.date) -> Outcome:
    store = catalog.store
    projects = authorise(catalog, batch, scope)
    original_key = keys.bank_original(batch.payer_account, batch.batch_id)
    digest = content_hash(batch)
    body = msgspec.json.encode({"sha256": digest, "received_by": actor, "batch": batch})
    try:
        store.create(original_key, body, content_type="application/json")
        created = True
    except AlreadyExists:
        stored = msgspec.json.decode(store.get(original_key))
        if stored["sha256"] != digest:
            raise BatchRefused(409, "BATCH_CONFLICT", f"批次 {batch.batch_id} 已以不同内容提交过，本次未做任何更改",
                               f"Batch {batch.batch_id} was already received with other content; nothing was changed",
                               {"batch_id": batch.batch_id}) from None
        receipt = _await_receipt(catalog, batch.payer_account, batch.batch_id)
        if receipt is not None:
            return Outcome(receipt, created=False)
        created = False  # received before but never finished (a crash): finish it now, idempotently
    # The bucket decided who owns the batch id; the database row carries its state from here.
    catalog.db.claim_batch(batch.payer_account, batch.batch_id, digest, original_key)
    receipt = _process(catalog, batch, projects, today)
    store.put(keys.batch_receipt(batch.payer_account, batch.batch_id), msgspec.json.encode(receipt),
              content_type="application/json")
    catalog.db.save_batch_receipt(batch.payer_account, batch.batch_id, receipt)
    for project, period in sorted({(r.project, r.period) for r in batch.records if r.project in projects
                                   and g.PERIOD.ok(r.period)}):
        from sitereg.pipeline import recheck

        recheck(catalog, settings, projects[project], period, today)
    return Outcome(receipt, created=created)


def _await_receipt(catalog: Catalog, payer: str, batch_id: str, seconds: float = 10.0) -> dict[str, Any] | None:
    """A concurrent first request may still be writing; wait briefly for its receipt."""
    deadline = time.monotonic() + seconds
    while True:
        receipt = get_receipt(catalog, (payer,), batch_id)
        if receipt is not None or time.monotonic() > deadline:
            return receipt
        time.sleep(0.05)


def _process(catalog: Catalog, batch: Batch, projects: dict[str, Project], today: dt.date) -> dict[str, Any]:
    n = len(batch.records)
    statuses = [getattr(r, "status", "") for r in batch.records]  # a CSV line's 交易状态; JSON has none
    raw = pl.DataFrame({f: [getattr(r, f) for r in batch.records] for f in FIELDS}, schema={f: pl.String for f in FIELDS})
    raw = raw.with_columns(__row__=pl.int_range(1, n + 1, dtype=pl.Int64), status=pl.Series(statuses, dtype=pl.String))
    raw = raw.with_columns(_failed=pl.col("status").str.contains(FAILED_STATUS).fill_null(False))
    findings: list[pl.DataFrame] = []

    # A line the bank marks failed (交易状态 失败, 退回…) is not a payment: rejected with the
    # reason, never stored nor counted, and its transaction id claims nothing in the batch.
    findings.append(_record_findings(raw.filter(pl.col("_failed")), "PAYMENT_FAILED", "status", None))
    live = raw.filter(~pl.col("_failed"))

    # Checks only the API shape needs; the rest is the same validation as an uploaded wage sheet.
    pre = live.with_columns(
        # A transaction id twice in one batch is one payout at most, whatever period it names.
        _repeat=~pl.col("bank_txn_id").is_first_distinct(),
        _first=pl.col("__row__").first().over("bank_txn_id"),
        _unknown=~pl.col("project").is_in(list(projects)),
        _bad_amount=~pl.col("amount").str.contains(g.anchored(g.AMOUNT)),
        _bad_period=~pl.col("period").str.contains(g.anchored(g.PERIOD)),
        _bad_txn=~pl.col("bank_txn_id").str.contains(g.anchored(g.SAFE_ID)),
    )
    findings.append(_record_findings(pre.filter(pl.col("_repeat")), "TXN_CONFLICT", "bank_txn_id", None,
                                     first=pl.col("_first").cast(pl.String)))
    for flag, rule, col in (("_unknown", "PROJECT_UNKNOWN", "project"), ("_bad_amount", "AMOUNT_INVALID", "amount"),
                            ("_bad_period", "VALUE_INVALID", "period"), ("_bad_txn", "VALUE_INVALID", "bank_txn_id")):
        args = {"allowed": "YYYY-MM" if col == "period" else "A-Z a-z 0-9 . _ -"} if rule == "VALUE_INVALID" else None
        findings.append(_record_findings(pre.filter(pl.col(flag)), rule, col, args))
    pre_rejected = set(pre.filter(pl.col("_repeat") | pl.col("_unknown") | pl.col("_bad_amount") | pl.col("_bad_period")
                                  | pl.col("_bad_txn"))
                       .get_column("__row__").to_list())

    accepted_parts: list[pl.DataFrame] = []
    usable = pre.filter(~pl.col("__row__").is_in(list(pre_rejected)))
    for (period,), group in usable.group_by("period", maintain_order=True):
        frame = group.select("__row__", *FIELDS, payer_account=pl.lit(batch.payer_account))
        table = Table(frame=frame, headers=[c for c in frame.columns if c != "__row__"], header_row=0)
        result = validate_file(table, "payments", Context(period=period, today=today, fill_period=False))
        findings.append(result.findings.filter(pl.col("rule") != "COLUMN_UNKNOWN"))
        accepted_parts.append(result.rows.join(frame.select("__row__", "project"), on="__row__"))
    accepted = pl.concat(accepted_parts) if accepted_parts else None
    found = pl.concat(findings)

    # A transaction already stored by this bank: the same content is the same payout (kept once),
    # other content is a conflict.
    duplicates: set[int] = set()
    if accepted is not None and accepted.height:
        duplicates, conflicts = _claim_transactions(catalog, batch, accepted)
        if conflicts:
            held_by = pl.col("__row__").replace_strict(conflicts, default=None, return_dtype=pl.String)
            found = pl.concat([found, _record_findings(raw.filter(pl.col("__row__").is_in(list(conflicts))), "TXN_CONFLICT",
                                                       "bank_txn_id", None, first=held_by)])
        drop = duplicates | set(conflicts)
        accepted = accepted.filter(~pl.col("__row__").is_in(list(drop)))
        for (project, period), part in accepted.group_by("project", "period", maintain_order=True):
            key = keys.bank_table(project, period, batch.batch_id)
            tables.write(catalog.store, key,
                         part.drop("project").with_columns(upload_id=pl.lit(batch.batch_id), source=pl.lit("bank")))
            catalog.db.mark_pending(project, period)
            catalog.db.add_batch_part(batch.payer_account, batch.batch_id, project, period, key)
    kept = set(accepted.get_column("__row__").to_list()) | duplicates if accepted is not None else set()
    return _receipt(batch, raw, found, kept, duplicates)


def _record_findings(frame: pl.DataFrame, rule: str, column: str, args: dict | None,
                     first: pl.Expr | None = None) -> pl.DataFrame:
    sensitive = {"id_number": "id", "payee_account": "card"}.get(column)
    if first is not None:
        encoded = pl.struct(first=first).struct.json_encode()
    else:
        encoded = pl.lit(msgspec.json.encode(args).decode() if args else None, pl.String)
    return frame.select(
        rule=pl.lit(rule), row=pl.col("__row__"), column=pl.lit(column),
        value=ck.mask(pl.col(column), sensitive), worker=ck.mask_id(pl.col("id_number")), args=encoded,
    ).cast(FINDING_SCHEMA)


TXN_CONTENT = ("period", "id_number", "payee_account", "amount_fen", "paid_at")


def txn_claims(records: pl.DataFrame) -> list[tuple[str, str]]:
    """(bank_txn_id, digest of what the transaction says) of accepted records (with their
    project). The database keeps a digest, not the content (IDs and cards), and it must be the
    same in every version of the service: SHA-256, not Polars' hash."""
    content = records.select("bank_txn_id", text=pl.concat_str(
        [pl.col(c).cast(pl.String) for c in ("bank_txn_id", "project", *TXN_CONTENT)], separator="|"))
    return [(txn, hashlib.sha256(text.encode()).hexdigest()) for txn, text in content.iter_rows()]


def _claim_transactions(catalog: Catalog, batch: Batch, accepted: pl.DataFrame) -> tuple[set[int], dict[int, str]]:
    """Claim the batch's transactions for its payer account in the database (a unique
    constraint): rows whose id another batch already stored with the same content are the same
    payout (duplicates, kept once); with other content they are conflicts (row -> the batch
    that holds the id)."""
    mine = accepted.select("__row__", "bank_txn_id", "project", *TXN_CONTENT)
    held_same, held_other = catalog.db.claim_txns(batch.payer_account, batch.batch_id, txn_claims(mine))
    duplicates = set(mine.filter(pl.col("bank_txn_id").is_in(list(held_same))).get_column("__row__").to_list())
    conflicts = {row: held_other[txn] for row, txn in mine.filter(pl.col("bank_txn_id").is_in(list(held_other)))
                 .select("__row__", "bank_txn_id").iter_rows()}
    return duplicates, conflicts


def _receipt(batch: Batch, raw: pl.DataFrame, findings: pl.DataFrame, kept: set[int], duplicates: set[int]) -> dict[str, Any]:
    """The receipt as stored: findings stay raw (masked values, message arguments) so that each
    reader gets the messages in its own language."""
    by_row: dict[int, list[dict[str, Any]]] = {}
    for f in findings.sort("row").iter_rows(named=True):
        by_row.setdefault(f["row"], []).append(f)
    records = []
    for i, txn in enumerate(raw.get_column("bank_txn_id").to_list(), 1):
        entry = {"bank_txn_id": txn, "status": "accepted" if i in kept else "rejected",
                 "findings": by_row.get(i, [])}
        if i in duplicates:
            entry["duplicate_of_stored"] = True
        records.append(entry)
    accepted = sum(1 for r in records if r["status"] == "accepted")
    return {"batch_id": batch.batch_id, "payer_account": batch.payer_account, "accepted": accepted,
            "rejected": len(records) - accepted, "records": records}
