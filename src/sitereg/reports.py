"""report.xlsx: an upload's own workbook with its findings marked, built once, outside the API
process, within bounds.

    cache in the store → (refused before?) → a build slot → a limited child builds → cache → bytes

- The workbook is kept at ``keys.report(upload, lang)``: a file's findings never change,
  so neither does its report, and every later request is served from the store.
- At most ``report_workers`` builds run at a time in this process, each in a child process
  whose address space may grow by ``report_memory_mb`` over what it starts with (its
  libraries, ~0.5 GB) and which gets ``report_seconds`` of time at a lower CPU priority, so
  that a heavy workbook costs one child and never the API process or ``/health``.
- A request for a report that is being built waits for that build instead of starting another.
  A request that finds every slot taken waits up to ``report_seconds`` for one, then gets
  ``ReportBusy`` (503 with Retry-After).
- An original with more cells than ``report_max_cells`` (or, as csv, wider than Excel's 16,384
  columns) is refused before anything is built, and a build over its memory or time is
  stopped: ``ReportTooLarge`` (413). The refusal is remembered beside the cache, so a
  repeated request answers at once instead of costing another build (until the limits are
  raised).
"""

from __future__ import annotations

import io
import logging
import math
import signal
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import msgspec
import polars as pl

from sitereg import keys
from sitereg.catalog import Receipt
from sitereg.sandbox import Limits, run_limited
from sitereg.settings import Settings
from sitereg.storage import NotFound, ObjectStore
from sitereg.validate.workbook import EXCEL_MAX_COLUMNS, Size, annotate_workbook, measure

log = logging.getLogger("sitereg.reports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NICE = 10  # builds yield the CPU to the API process's own threads


@dataclass
class ReportError(Exception):
    """A coded answer for the HTTP layer: status, code, zh/en detail."""

    status: int
    code: str
    zh: str
    en: str
    extra: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class ReportTooLarge(ReportError):
    pass


class _Refusal(msgspec.Struct, frozen=True):
    zh: str
    en: str
    extra: dict
    # the limits it was refused under: a build is tried again once any of them is raised
    max_cells: int
    memory_mb: int
    seconds: float


_lock = threading.Lock()
_running: dict[str, Future] = {}
_slots: dict[int, threading.BoundedSemaphore] = {}


def report_xlsx(store: ObjectStore, settings: Settings, receipt: Receipt, lang: str) -> tuple[bytes, bool]:
    """The annotated workbook of ``receipt`` in ``lang`` and whether it came from the cache.
    Raises ``ReportError``."""
    key = keys.report(receipt.upload_id, lang)
    try:
        return store.get(key), True
    except NotFound:
        pass
    _raise_if_refused(store, key, settings)
    with _lock:
        future = _running.get(key)
        mine = future is None
        if mine:
            future = _running[key] = Future()
    if not mine:
        return future.result(), False  # the running build's workbook, or its error
    try:
        data = _build(store, settings, receipt, lang, key)
        future.set_result(data)
        return data, False
    except BaseException as exc:
        future.set_exception(exc)
        raise
    finally:
        with _lock:
            _running.pop(key, None)


def _build(store: ObjectStore, settings: Settings, receipt: Receipt, lang: str, key: str) -> bytes:
    with _lock:
        slot = _slots.setdefault(settings.report_workers, threading.BoundedSemaphore(settings.report_workers))
    if not slot.acquire(timeout=settings.report_seconds):
        wait = str(math.ceil(settings.report_seconds))
        raise ReportError(503, "REPORT_BUSY", f"标注工作簿正在排队生成，请 {wait} 秒后重试",
                          f"Annotated workbooks are being built; try again in {wait} s", headers={"Retry-After": wait})
    try:
        # read inside the slot: at most report_workers originals are held at once
        original, findings = store.get(receipt.original_key), store.get(receipt.findings_key)
        limits = Limits(settings.report_memory_mb * 1024 * 1024, settings.report_seconds, nice=_NICE, above_start=True)
        out = run_limited(build_in_child, original, receipt.filename, findings, receipt.kind, lang,
                          settings.report_max_cells, limits=limits)
    finally:
        slot.release()
    if out.status == "ok" and out.value[0] == "ok":
        store.put(key, out.value[1], content_type=XLSX)
        return out.value[1]
    if out.status == "ok":
        refusal = _refusal(settings, size=out.value[1])
    elif out.status == "crash":
        # Under an address-space limit an allocation that fails in Rust aborts, and Python may
        # die while reporting its MemoryError: a crash is the limit as far as the caller knows.
        log.warning("report build for %s stopped with exit %s", receipt.upload_id, out.exitcode)
        refusal = _refusal(settings, stopped="memory")
    else:
        refusal = _refusal(settings, stopped=out.status)
    if out.exitcode != -signal.SIGKILL:  # killed from outside (the host's OOM killer): not the file's doing
        store.put(_refusal_key(key), msgspec.json.encode(refusal), content_type="application/json")
    raise ReportTooLarge(413, "REPORT_TOO_LARGE", refusal.zh, refusal.en, refusal.extra)


def build_in_child(original: bytes, filename: str, findings: bytes, kind: str, lang: str,
                   max_cells: int) -> tuple[str, object]:
    """Runs in the limited child: ("ok", workbook) or ("too_large", Size), measured first so that
    an oversized file costs a count, not a build."""
    size = measure(original, stop_at=max_cells)
    if size.cells > max_cells or size.columns > EXCEL_MAX_COLUMNS:
        return "too_large", size
    from sitereg.api.findings import render  # preloaded in the fork server; no litestar in this module

    rendered = render(pl.read_parquet(io.BytesIO(findings)), kind, lang, limit=1_000_000)["findings"]
    return "ok", annotate_workbook(original, filename, rendered, lang=lang)


def _refusal(s: Settings, *, size: Size | None = None, stopped: str = "") -> _Refusal:
    hint_zh, hint_en = "问题清单仍可在 /report 查看；请删除空白行列或拆分后分别上传", \
        "the findings are still at /report; delete blank rows and columns or split the file"
    if size is not None and size.columns > EXCEL_MAX_COLUMNS:
        n = size.columns
        zh = f"文件有 {n:,} 列，超过 Excel 工作表的上限 {EXCEL_MAX_COLUMNS:,} 列，无法生成标注工作簿；{hint_zh}"
        en = f"The file has {n:,} columns, over Excel's limit of {EXCEL_MAX_COLUMNS:,}: no annotated workbook; {hint_en}"
        extra = {"limit": "columns", "max_columns": EXCEL_MAX_COLUMNS, "columns": n}
    elif size is not None:
        more, n = ("" if size.complete else "+"), size.cells
        zh = f"文件有 {n:,}{more} 个单元格，超过生成标注工作簿的上限 {s.report_max_cells:,} 个；{hint_zh}"
        en = f"The file has {n:,}{more} cells, over the limit of {s.report_max_cells:,} for an annotated workbook; {hint_en}"
        extra = {"limit": "cells", "max_cells": s.report_max_cells, "cells": n}
    elif stopped == "memory":
        zh = f"生成标注工作簿超出内存上限 {s.report_memory_mb} MB；{hint_zh}"
        en = f"Building the annotated workbook went over its memory limit of {s.report_memory_mb} MB; {hint_en}"
        extra = {"limit": "memory", "memory_mb": s.report_memory_mb}
    else:
        zh = f"生成标注工作簿超过时间上限 {s.report_seconds:g} 秒；{hint_zh}"
        en = f"Building the annotated workbook took longer than its limit of {s.report_seconds:g} s; {hint_en}"
        extra = {"limit": "time", "seconds": s.report_seconds}
    return _Refusal(zh, en, extra, s.report_max_cells, s.report_memory_mb, s.report_seconds)


def _refusal_key(key: str) -> str:
    return key.removesuffix(".xlsx") + ".refused.json"


def _raise_if_refused(store: ObjectStore, key: str, s: Settings) -> None:
    try:
        r = msgspec.json.decode(store.get(_refusal_key(key)), type=_Refusal)
    except NotFound:
        return
    if s.report_max_cells <= r.max_cells and s.report_memory_mb <= r.memory_mb and s.report_seconds <= r.seconds:
        raise ReportTooLarge(413, "REPORT_TOO_LARGE", r.zh, r.en, r.extra)
