"""The upload pipeline: store the original -> read -> validate -> write tables -> publish.

The HTTP layer and the CLI both call ``ingest``. Write order is what makes a crash safe:
the original first (kept whatever happens next), then the derived tables, then the receipt,
and last the index marker that makes the upload current. A failure part-way leaves the
original and nothing half-visible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import PurePath

import polars as pl

from sitereg import keys, tables
from sitereg.catalog import Catalog, Project, Receipt, new_upload_id
from sitereg.sandbox import Limits, read_isolated
from sitereg.settings import Settings, today_in
from sitereg.storage import ObjectStore
from sitereg.validate.codes import work_type_lookup
from sitereg.validate.columns import header_hints
from sitereg.validate.filecheck import Context, file_finding, validate_file
from sitereg.validate.readers import ReadFailure, Table, read_table

log = logging.getLogger("sitereg.pipeline")

_HINTS = header_hints()
_JOBS = work_type_lookup()


@dataclass(frozen=True)
class Outcome:
    receipt: Receipt
    created: bool  # False: a byte-identical file was already uploaded; this is its receipt
    readable: bool


def age_limits(settings: Settings, region_code: str, on: dt.date) -> tuple[int, int]:
    """(men, women): the most specific region prefix whose limit is in effect on that date."""
    best = None
    for limit in settings.age_limits:
        if region_code.startswith(limit.region_prefix) and limit.effective <= on:
            key = (len(limit.region_prefix), limit.effective)
            if best is None or key > best[0]:
                best = (key, limit)
    if best is None:
        return 60, 50
    return best[1].men, best[1].women


def ingest(
    catalog: Catalog,
    settings: Settings,
    project: Project,
    kind: str,
    period: str,
    filename: str,
    data: bytes,
    *,
    actor: str,
    today: dt.date | None = None,
) -> Outcome:
    store = catalog.store
    sha = hashlib.sha256(data).hexdigest()
    existing = catalog.find_duplicate(project.code, kind, period, sha)
    if existing is not None:
        return Outcome(existing, created=False, readable=existing.status == "accepted")

    upload_id = new_upload_id()
    original_key = keys.original(project.code, period, kind, upload_id, PurePath(filename).suffix)
    store.create(original_key, data, content_type="application/octet-stream")

    today = today or today_in(settings)
    result = read(settings, data, filename)
    table_key = None
    if isinstance(result, ReadFailure):
        findings = file_finding(result.code, args={"reason": result.reason})
        total = accepted = rejected = 0
    else:
        men, women = age_limits(settings, project.region_code, dt.date(int(period[:4]), int(period[5:7]), 1))
        ctx = Context(period=period, today=today, age_limit_men=men, age_limit_women=women, job_types=_JOBS)
        checked = validate_file(result, kind, ctx)
        findings = checked.findings
        total, rejected = checked.rows_total, checked.rows_rejected
        accepted = total - rejected
        if total == 0:
            findings = pl.concat([findings, file_finding("FILE_EMPTY")])
        table_key = keys.table(kind, project.code, period, upload_id)
        tables.write(store, table_key, checked.rows.with_columns(upload_id=pl.lit(upload_id)))

    readable = table_key is not None and total > 0
    findings_key = keys.findings(upload_id)
    tables.write(store, findings_key, findings)
    severities = _severity_counts(findings)
    receipt = Receipt(
        upload_id=upload_id, project=project.code, period=period, kind=kind, filename=filename, sha256=sha,
        rows_total=total, rows_accepted=accepted, rows_rejected=rejected,
        errors=severities["error"], warnings=severities["warning"], infos=severities["info"],
        report=f"/api/v1/uploads/{upload_id}/report",
        status="accepted" if readable else "unreadable",
        created_at=dt.datetime.now(dt.UTC), size=len(data), uploaded_by=actor,
        original_key=original_key, table_key=table_key if readable else None, findings_key=findings_key,
    )
    kept = catalog.save_receipt(receipt)
    if kept.upload_id != receipt.upload_id:
        # The same bytes raced in on another request, which the database kept: its receipt is the answer.
        return Outcome(kept, created=False, readable=kept.status == "accepted")
    catalog.publish(receipt)
    if readable:
        recheck(catalog, settings, project, period, today)
    log.info("upload %s project=%s period=%s kind=%s rows=%d accepted=%d errors=%d warnings=%d",
             upload_id, project.code, period, kind, total, accepted, receipt.errors, receipt.warnings)
    return Outcome(receipt, created=True, readable=readable)


def read(settings: Settings, data: bytes, filename: str) -> Table | ReadFailure:
    """Read an untrusted file, in a limited child process unless the settings say otherwise."""
    # calamine is the reader that can abort the process; csv goes through Polars' own parser.
    if settings.reader_isolation and data[:4] == b"PK\x03\x04":
        limits = Limits(settings.reader_memory_mb * 1024 * 1024, settings.reader_seconds)
        return read_isolated(data, filename, header_hints=_HINTS, max_rows=settings.max_rows,
                             max_xml_bytes=settings.max_xml_bytes, limits=limits)
    return read_table(data, filename, header_hints=_HINTS, max_rows=settings.max_rows, max_xml_bytes=settings.max_xml_bytes)


def _severity_counts(findings: pl.DataFrame) -> dict[str, int]:
    from sitereg.validate.rules import BY_CODE

    counts = {"error": 0, "warning": 0, "info": 0}
    for code, n in findings.group_by("rule").len().iter_rows():
        counts[BY_CODE[code].severity] += n
    return counts


def upload_findings(store: ObjectStore, receipt: Receipt) -> pl.DataFrame:
    return tables.read(store, receipt.findings_key)


def recheck(catalog: Catalog, settings: Settings, project: Project, period: str, today: dt.date) -> pl.DataFrame:
    """Bring every view of the project-period up to date after one of its inputs changed."""
    from sitereg import period as period_mod

    return period_mod.recheck(catalog, settings, project, period, today)
