"""The records the service keeps: msgspec Structs stored as JSON, in the bucket (the record)
and in the database (the state). No I/O here, so every layer may import them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec


class Guarantee(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    form: Literal["cash", "bank_guarantee", "insurance", "exempt"]
    amount: str | None = None


class Project(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    name: str
    region_code: str
    investment_type: Literal["government", "state_owned", "other"]
    contractor_credit_code: str
    dedicated_account: str | None = None
    account_bank: str | None = None
    guarantee: Guarantee | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    status: Literal["active", "completed"] = "active"
    notice_board: bool = False


class TokenRecord(msgspec.Struct, frozen=True):
    role: str
    scope: tuple[str, ...]
    created_at: dt.datetime
    label: str | None = None


class Receipt(msgspec.Struct, frozen=True):
    upload_id: str
    project: str
    period: str
    kind: str
    filename: str
    sha256: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    errors: int
    warnings: int
    infos: int
    report: str
    status: Literal["accepted", "unreadable"]
    created_at: dt.datetime
    size: int
    uploaded_by: str
    original_key: str
    table_key: str | None
    findings_key: str
    # Bytes sent again after the contractor saved a column map naming one of their unknown
    # headers are read anew under it: that map's digest (part of the dedupe key), else None.
    read_with_map: str | None = None


class Event(msgspec.Struct, frozen=True):
    at: dt.datetime
    actor: str  # role:token-id, never the token
    role: str
    scope: tuple[str, ...]
    action: str  # e.g. upload, download_original, download_report_xlsx, push_batch, create_project
    target: str  # what it concerned: an upload id, a batch id, a project code
    client: str | None = None  # remote address
    detail: dict[str, Any] = {}
