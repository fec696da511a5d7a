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
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePath

import msgspec
import polars as pl

from sitereg import keys, tables
from sitereg.catalog import Catalog, Project, Receipt, new_upload_id
from sitereg.sandbox import Limits, read_isolated
from sitereg.settings import Settings, today_in
from sitereg.storage import ObjectStore
from sitereg.validate.codes import work_type_lookup
from sitereg.validate.columns import (
    KINDS,
    column,
    detect_kind,
    header_hints,
    map_headers,
    match_score,
    nearest_header,
    normalise_header,
)
from sitereg.validate.filecheck import KIND_LABELS, Context, FileResult, file_finding, validate_file
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


UNDETECTED = "unknown"  # the kind a file is kept under when it is no table of any kind


def ingest(
    catalog: Catalog,
    settings: Settings,
    project: Project,
    kind: str | None,
    period: str,
    filename: str,
    data: bytes,
    *,
    actor: str,
    today: dt.date | None = None,
) -> Outcome:
    """Store, read, validate and publish one file. ``kind`` None: taken from the header (the
    receipt names it). Only an upload that was read as its kind and kept at least one row
    becomes current; the bytes of an earlier accepted upload make that upload current again."""
    store = catalog.store
    sha = hashlib.sha256(data).hexdigest()
    today = today or today_in(settings)
    mapped = None  # the digest of the column map these bytes are read again under, if any
    if kind is not None:
        existing, mapped = _earlier(catalog, project.code, kind, period, sha, catalog.db.column_map(project.code, kind))
        if existing is not None:
            return _resent(catalog, settings, project, existing, today)

    result = read(settings, data, filename)
    # The contractor's saved column maps (header as written -> column): a site's own headers go
    # in unrenamed. A kind left out is detected with all of them.
    maps = catalog.db.column_maps(project.code)
    every_map = {h: col for m in maps.values() for h, col in m.items()}
    if kind is None:
        kind = _detect(result, every_map)
        existing, mapped = _earlier(catalog, project.code, kind, period, sha, maps.get(kind, {}))
        if existing is not None:
            return _resent(catalog, settings, project, existing, today)

    upload_id = new_upload_id()
    original_key = keys.original(project.code, period, kind, upload_id, PurePath(filename).suffix)
    store.create(original_key, data, content_type="application/octet-stream")

    table_key = None
    readable = False
    if isinstance(result, ReadFailure):
        findings = file_finding(result.code, args={"reason": result.reason})
        total = accepted = rejected = 0
    elif kind == UNDETECTED:
        findings = _undetected(result, every_map)
        total = rejected = result.frame.height
        accepted = 0
    else:
        men, women = age_limits(settings, project.region_code, dt.date(int(period[:4]), int(period[5:7]), 1))
        roster = _current_roster(catalog, project.code, period) if kind != "roster" else None
        entry_log = kind == "roster" and any(
            r.status == "accepted" and r.period <= period for r in catalog.db.uploads(project.code, kind="entry_exit"))
        ctx = Context(period=period, today=today, age_limit_men=men, age_limit_women=women, job_types=_JOBS,
                      roster=roster, column_map=maps.get(kind), entry_log=entry_log, project=project.code)
        checked = validate_file(result, kind, ctx)
        if kind == "payments":
            checked = _refuse_bank_held(catalog, project.code, period, checked)
        findings = checked.findings
        total, rejected = checked.rows_total, checked.rows_rejected
        accepted = total - rejected
        if total == 0:
            findings = pl.concat([findings, file_finding("FILE_EMPTY")], how="diagonal_relaxed")
        readable = accepted > 0 and checked.rows.height > 0
        if readable:
            table_key = keys.table(kind, project.code, period, upload_id)
            tables.write(store, table_key, checked.rows.with_columns(upload_id=pl.lit(upload_id)))

    findings_key = keys.findings(upload_id)
    tables.write(store, findings_key, findings)
    severities = _severity_counts(findings)
    receipt = Receipt(
        upload_id=upload_id, project=project.code, period=period, kind=kind, filename=filename, sha256=sha,
        rows_total=total, rows_accepted=accepted if readable else 0, rows_rejected=rejected if readable else total,
        errors=severities["error"], warnings=severities["warning"], infos=severities["info"],
        report=f"/api/v1/uploads/{upload_id}/report",
        status="accepted" if readable else "unreadable",
        created_at=dt.datetime.now(dt.UTC), size=len(data), uploaded_by=actor,
        original_key=original_key, table_key=table_key, findings_key=findings_key, read_with_map=mapped,
    )
    kept = catalog.save_receipt(receipt)
    if kept.upload_id != receipt.upload_id:
        # The same bytes raced in on another request, which the database kept: its receipt is the answer.
        return Outcome(kept, created=False, readable=kept.status == "accepted")
    if readable:  # a refused upload is kept as an original and changes nothing else
        _switch(catalog, settings, project, kind, period, today, lambda: catalog.publish(receipt))
    log.info("upload %s project=%s period=%s kind=%s rows=%d accepted=%d errors=%d warnings=%d",
             upload_id, project.code, period, kind, total, accepted, receipt.errors, receipt.warnings)
    return Outcome(receipt, created=True, readable=readable)


def _refuse_bank_held(catalog: Catalog, project: str, period: str, checked: FileResult) -> FileResult:
    """A wage-sheet row whose 银行流水号 a bank batch already holds with other content is not
    the payout the bank recorded: refused here with TXN_CONFLICT, as the period would not count it."""
    from sitereg import period as period_mod

    found = period_mod.bank_held(catalog, project, period, checked.rows)
    if found.height == 0:
        return checked
    found = found.with_columns(column=pl.lit(checked.header_map.columns.get("bank_txn_id"), pl.String))
    rows = checked.rows.join(found.select(__row__="row"), on="__row__", how="anti")
    return replace(checked, rows=rows, findings=pl.concat([checked.findings, found], how="diagonal_relaxed"),
                   rows_rejected=checked.rows_rejected + found.get_column("row").n_unique())


def _resent(catalog: Catalog, settings: Settings, project: Project, existing: Receipt, today: dt.date) -> Outcome:
    """The bytes of an earlier upload again: that upload's receipt, and, when it was accepted
    but another has since become current, it becomes current again."""
    readable = existing.status == "accepted"
    if readable and catalog.current_upload(existing.kind, existing.project, existing.period) != existing.upload_id:
        _switch(catalog, settings, project, existing.kind, existing.period, today,
                lambda: catalog.make_current_again(existing))
    return Outcome(existing, created=False, readable=readable)


def _switch(catalog: Catalog, settings: Settings, project: Project, kind: str, period: str, today: dt.date,
            make_current: Callable[[], None]) -> None:
    """Make an upload current and bring every view it changes up to date: its own month, and
    the later months a roster, contracts or entry/exit log carries into. Those are marked
    pending before the switch, so a view shows them "updating", never stale."""
    later = later_affected(catalog, project.code, kind, period)
    for month in later:
        catalog.db.mark_pending(project.code, month)
    make_current()
    for month in [period, *later]:
        recheck(catalog, settings, project, month, today)


def _earlier(catalog: Catalog, project: str, kind: str, period: str, sha: str,
             column_map: dict[str, str]) -> tuple[Receipt | None, str | None]:
    """The earlier upload these bytes are (answered with its receipt), or None and, when the
    project's saved column map now names a header that upload reported as unknown, the map's
    digest: README's 列名对应 flow (save the map, send the same file again) reads them anew, once
    per map (the new upload's dedupe key carries the digest)."""
    existing = catalog.find_duplicate(project, kind, period, sha)
    if existing is None or not column_map or not existing.findings_key:
        return existing, None
    found = tables.read(catalog.store, existing.findings_key)
    unknown = found.filter(pl.col("rule") == "COLUMN_UNKNOWN").get_column("column").drop_nulls().to_list()
    names = {normalise_header(h) for h in column_map}
    if not any(normalise_header(h) in names for h in unknown):
        return existing, None
    digest = hashlib.sha256(msgspec.json.encode(dict(sorted(column_map.items())))).hexdigest()[:16]
    return catalog.find_duplicate(project, kind, period, f"{sha}:map:{digest}"), digest


def _detect(result: Table | ReadFailure, column_map: dict[str, str]) -> str:
    if isinstance(result, ReadFailure):
        return UNDETECTED
    found = [k for k in (detect_kind(t.headers, column_map) for t in result.sheets()) if k is not None]
    return found[0] if found else UNDETECTED


def _undetected(table: Table, column_map: dict[str, str]) -> pl.DataFrame:
    """A table of no kind: say so, with what its header looks like."""
    best = max(KINDS, key=lambda k: match_score(k, table.headers, column_map))
    hm = map_headers(best, table.headers, column_map)
    parts = [file_finding("COLUMN_MISSING", args={
        "name": name, "label": column(best, name).label,
        "nearest": nearest_header(best, name, [h for h in table.headers if h not in hm.columns.values()]) or "-",
        "looks": KIND_LABELS[best] if hm.columns else "-"}) for name in hm.missing]
    if parts and len(hm.columns) >= 2:
        # It looks like that kind but for a header or two: those are offered for a column map (README).
        parts += [file_finding("COLUMN_UNKNOWN", column=h) for h in hm.unknown]
    return pl.concat(parts) if parts else file_finding("FILE_EMPTY")


def _current_roster(catalog: Catalog, project: str, period: str) -> pl.DataFrame | None:
    """The roster in force for the period: resolves workers named by card or 人员编号."""
    upload_id = catalog.current_upload("roster", project, period)
    receipt = catalog.receipt(upload_id) if upload_id else None
    if receipt is None or not receipt.table_key:
        return None
    return tables.read(catalog.store, receipt.table_key)


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


def later_affected(catalog: Catalog, project: str, kind: str, period: str) -> list[str]:
    """Later months of the project whose views a change of this kind in this period also changes."""
    from sitereg import period as period_mod

    return period_mod.later_affected(catalog, project, kind, period)
