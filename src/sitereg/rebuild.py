"""``sitereg rebuild-index``: the database rebuilt from the bucket, which stays the record.

For a lost database, or a data directory written before the state moved into the database:
projects, token hashes, receipts (made current in the order they were made), bank batches with
their transaction claims, the audit trail, and then a recheck of every project-period with data,
which rebuilds the worker index and the coverage rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import msgspec
import polars as pl

from sitereg import batches, keys, tables
from sitereg.catalog import Catalog
from sitereg.records import Event, Project, Receipt, TokenRecord
from sitereg.settings import Settings

log = logging.getLogger("sitereg.rebuild")


@dataclass
class Rebuilt:
    projects: int = 0
    tokens: int = 0
    uploads: int = 0
    batches: int = 0
    audit_events: int = 0
    periods: int = 0


class NotEmpty(Exception):
    """The database already holds state; rebuilding into it would mix two histories."""


def _json_objects(store, prefix: str):
    for key in store.list(prefix):
        if key.endswith(".json"):
            yield key, store.get(key)


def rebuild(catalog: Catalog, settings: Settings, today: dt.date) -> Rebuilt:
    store, db = catalog.store, catalog.db
    if db.projects():
        raise NotEmpty("the database already holds projects")
    out = Rebuilt()
    for _, body in _json_objects(store, keys.PROJECTS):
        out.projects += db.create_project(msgspec.json.decode(body, type=Project))
    for key, body in _json_objects(store, keys.TOKENS):
        db.save_token(key.rsplit("/", 1)[1].removesuffix(".json"), msgspec.json.decode(body, type=TokenRecord))
        out.tokens += 1
    receipts = sorted((msgspec.json.decode(body, type=Receipt) for _, body in _json_objects(store, keys.RECEIPTS)),
                      key=lambda r: (r.created_at, r.upload_id))
    touched: set[tuple[str, str]] = set()
    for receipt in receipts:
        kept = db.add_upload(receipt)
        out.uploads += kept.upload_id == receipt.upload_id
        if kept.upload_id == receipt.upload_id and receipt.status == "accepted":
            db.make_current(receipt.upload_id, reason="rebuild")
            touched.add((receipt.project, receipt.period))
    # Earlier uploads made current again, after the receipts, in the order they happened.
    for _, body in _json_objects(store, keys.CURRENT_SWITCHES):
        switch = msgspec.json.decode(body)
        receipt = db.receipt(switch["upload_id"])
        if receipt is not None:
            db.make_current(receipt.upload_id, reason="resent")
            touched.add((receipt.project, receipt.period))
    out.batches = _batches(catalog, touched)
    events = [msgspec.json.decode(body, type=Event) for _, body in _json_objects(store, keys.AUDIT)]
    for event in sorted(events, key=lambda e: e.at):
        db.append_audit(event)
    out.audit_events = len(events)
    from sitereg import period as period_mod

    for code, month in sorted(touched):
        project = db.project(code)
        if project is not None:
            period_mod.recheck(catalog, settings, project, month, today)
            out.periods += 1
    return out


def _batches(catalog: Catalog, touched: set[tuple[str, str]]) -> int:
    store, db = catalog.store, catalog.db
    payer_of: dict[str, str] = {}
    n = 0
    for key, body in _json_objects(store, keys.BANK_ORIGINALS):
        stored = msgspec.json.decode(body)
        payer, batch_id = stored["batch"]["payer_account"], stored["batch"]["batch_id"]
        db.claim_batch(payer, batch_id, stored["sha256"], key)
        payer_of[batch_id] = payer
        n += 1
    for key, body in _json_objects(store, keys.BATCH_RECEIPTS):
        receipt = msgspec.json.decode(body)
        payer = key.split("/")[2].removeprefix("payer=")
        try:
            db.save_batch_receipt(payer, receipt["batch_id"], receipt)
        except KeyError:
            log.warning("batch receipt %s has no original; skipped", key)
    for key in sorted(store.list(keys.BANK_TABLES)):
        parts = keys.hive_parts(key)
        batch_id, project, month = parts["batch"], parts["project"], parts["period"]
        payer = payer_of.get(batch_id)
        if payer is None:
            continue
        db.add_batch_part(payer, batch_id, project, month, key)
        frame = tables.read(store, key).with_columns(project=pl.lit(project))
        db.claim_txns(payer, batch_id, batches.txn_claims(frame))
        touched.add((project, month))
    return n
