"""Run work on untrusted files in a child process with memory and time limits.

calamine can abort the whole process on a crafted workbook (see field notes), and openpyxl
needs gigabytes for a workbook of a few million cells; the readers' and builders' own guards
refuse the known cases, and this is the net for the unknown ones: a child that crashes, runs
out of its memory allowance or takes too long costs one child process and becomes an answer
(a finding, a coded 413), while the API process and the other requests carry on.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sitereg.validate import readers
from sitereg.validate.readers import FILE_TOO_LARGE, FILE_UNREADABLE, ReadFailure, Table, read_table

_CTX = None
log = logging.getLogger("sitereg.sandbox")


def _context():
    # forkserver: children fork from a small server that has polars, the reader, the workbook
    # builder and the findings renderer imported (a child importing them itself takes ~0.6 s),
    # not from the (threaded) API process.
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(["sitereg.validate.readers", "sitereg.validate.workbook", "sitereg.reports",
                                     "sitereg.api.findings"])
    return _CTX


def _ready() -> bool:
    return True


def warm_up() -> None:
    """Start the fork server now rather than on the first upload, and wait until it has
    imported what the children use: a child forks only after that, so an upload sent right
    after start-up took 5.9 s instead of 0.5 s (measured; readers in the first child)."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()
    run_limited(_ready, limits=Limits(memory_bytes=1 << 30, seconds=120, above_start=True))


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    seconds: float
    nice: int = 0  # >0: the child yields the CPU to the API process (report builds)
    # True: memory_bytes is what the work may add to the address space the child starts with
    # (about 0.5 GB of preloaded libraries, which depends on the platform, not on the file).
    above_start: bool = False


@dataclass(frozen=True)
class Outcome:
    status: str  # "ok", "memory" (over its allowance), "timeout" or "crash"
    value: Any = None  # the function's result when ok
    exitcode: int | None = None  # when crashed


def _few_arenas() -> None:
    # glibc gives each new thread (Polars starts one per core) a malloc arena that reserves
    # 64 MB of address space up front: under an address-space limit those reservations, not
    # the work, would run out first. One arena keeps the limit about memory actually used.
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL(None).mallopt(-8, 1)  # M_ARENA_MAX


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _child(conn, fn: Callable, args: tuple, kwargs: dict, limits: Limits) -> None:
    _few_arenas()
    memory = limits.memory_bytes + (_address_space() if limits.above_start else 0)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if limits.nice:
        os.nice(limits.nice)
    try:
        conn.send(("ok", fn(*args, **kwargs)))
    except MemoryError:  # also while pickling a large result
        conn.send(("memory", None))
    conn.close()


class Started:
    """A limited child at work; ``result()`` waits for its answer, ``kill()`` stops it."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, limits: Limits) -> None:
        ctx = _context()
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(child, fn, args, kwargs, limits), daemon=True)
        self._proc.start()
        child.close()
        self._deadline = time.monotonic() + limits.seconds

    def result(self) -> Outcome:
        proc, conn = self._proc, self._conn
        try:
            if conn.poll(max(0.0, self._deadline - time.monotonic())):
                try:
                    status, value = conn.recv()
                    return Outcome(status, value)
                except (EOFError, OSError):
                    pass  # the child died before it could answer: handled below
            else:
                proc.kill()
                proc.join()
                return Outcome("timeout")
        finally:
            conn.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        return Outcome("crash", exitcode=proc.exitcode)

    def kill(self) -> None:
        self._proc.kill()
        self._proc.join()
        self._conn.close()


def start_limited(fn: Callable, *args: Any, limits: Limits, **kwargs: Any) -> Started:
    """``fn(*args, **kwargs)`` started in a forked child under ``limits``; ``fn`` must be a
    module-level function (it is sent to the fork server by reference)."""
    return Started(fn, args, kwargs, limits)


def run_limited(fn: Callable, *args: Any, limits: Limits, **kwargs: Any) -> Outcome:
    """``fn(*args, **kwargs)`` in a forked child under ``limits``, waited for."""
    return start_limited(fn, *args, limits=limits, **kwargs).result()


def _failure(out: Outcome, limits: Limits) -> ReadFailure:
    if out.status == "memory":
        return ReadFailure(FILE_TOO_LARGE, "reader ran out of its memory allowance")
    if out.status == "timeout":
        return ReadFailure(FILE_TOO_LARGE, f"reading took longer than {limits.seconds:g} s")
    return ReadFailure(FILE_UNREADABLE, f"the reader crashed on this file (exit {out.exitcode})")


def read_isolated(data: bytes, filename: str, *, header_hints: frozenset[str], max_rows: int, max_xml_bytes: int,
                  limits: Limits) -> Table | ReadFailure:
    if data.startswith(b"PK\x03\x04"):
        # A workbook: the XML guard scan and calamine's read each take about as long as the
        # other, so they run at once in two children. The scan decides: what it refuses is
        # refused (and calamine's child killed), whatever calamine made of the file.
        scan = start_limited(readers.scan_xlsx, data, max_rows, max_xml_bytes, limits=limits)
        load = start_limited(readers.load_xlsx, data, max_rows, max_xml_bytes, limits=limits)
        scanned = scan.result()
        if scanned.status != "ok" or isinstance(scanned.value, ReadFailure):
            load.kill()
            return scanned.value if scanned.status == "ok" else _failure(scanned, limits)
        loaded = load.result()
        if loaded.status != "ok":
            return _failure(loaded, limits)
        if isinstance(loaded.value, ReadFailure):
            return loaded.value
        try:
            return readers.finish_xlsx(loaded.value, scanned.value, header_hints)
        except readers.NeedsReader:
            pass  # cells without references, or only hidden sheets with rows: the one-pass read below
        except Exception:
            # A bug in this process's half: logged, and the file read the one-process way,
            # where a failure costs the child and becomes a finding, never a 500.
            log.exception("finishing a workbook read in two children failed; reading it in one")
    out = run_limited(read_table, data, filename, header_hints=header_hints, max_rows=max_rows,
                      max_xml_bytes=max_xml_bytes, limits=limits)
    return out.value if out.status == "ok" else _failure(out, limits)
