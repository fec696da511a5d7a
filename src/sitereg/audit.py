"""Append-only audit trail in the object store: who did what, when, from where.

Each event is its own write-once object (``audit/date=YYYY-MM-DD/{time}-{random}.json``), so
entries cannot be rewritten through the service and concurrent writers never collide.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import msgspec

from sitereg.storage import ObjectStore


class Event(msgspec.Struct, frozen=True):
    at: dt.datetime
    actor: str  # role:token-id, never the token
    role: str
    scope: tuple[str, ...]
    action: str  # e.g. upload, download_original, download_report_xlsx, push_batch, create_project
    target: str  # what it concerned: an upload id, a batch id, a project code
    client: str | None = None  # remote address
    detail: dict[str, Any] = {}


def record(store: ObjectStore, event: Event) -> None:
    key = f"audit/date={event.at.date().isoformat()}/{event.at.strftime('%H%M%S%f')}-{secrets.token_hex(4)}.json"
    store.create(key, msgspec.json.encode(event), content_type="application/json")


def read(store: ObjectStore, day: dt.date, limit: int = 1000) -> list[dict[str, Any]]:
    keys = store.list(f"audit/date={day.isoformat()}/")[-limit:]
    return [msgspec.json.decode(store.get(k)) for k in keys]
