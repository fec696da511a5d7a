"""Read untrusted files in a child process with memory and time limits.

calamine can abort the whole process on a crafted workbook (see field notes); the reader's own
guards refuse the known cases, and this is the net for the unknown ones: a reader that
crashes, runs out of its memory allowance or takes too long costs one child process and
becomes a finding, while the API process and the other uploads carry on.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import resource
from dataclasses import dataclass

from sitereg.validate.readers import FILE_TOO_LARGE, FILE_UNREADABLE, ReadFailure, Table, read_table

_CTX = None


def _context():
    # forkserver: children fork from a small server that has polars and the reader imported,
    # not from the (threaded) API process.
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(["sitereg.validate.readers"])
    return _CTX


def warm_up() -> None:
    """Start the fork server now rather than on the first upload (it takes about a second)."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _child(conn, data: bytes, filename: str, hints: frozenset[str], max_rows: int, max_xml_bytes: int,
           memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        result = read_table(data, filename, header_hints=hints, max_rows=max_rows, max_xml_bytes=max_xml_bytes)
    except MemoryError:
        result = ReadFailure(FILE_TOO_LARGE, "reader ran out of its memory allowance")
    conn.send(result)
    conn.close()


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    seconds: float


def read_isolated(data: bytes, filename: str, *, header_hints: frozenset[str], max_rows: int, max_xml_bytes: int,
                  limits: Limits) -> Table | ReadFailure:
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, data, filename, header_hints, max_rows, max_xml_bytes,
                                            limits.memory_bytes), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(limits.seconds):
            try:
                return parent.recv()
            except (EOFError, OSError):
                pass  # the child died before it could answer: handled below
        else:
            proc.kill()
            proc.join()
            return ReadFailure(FILE_TOO_LARGE, f"reading took longer than {limits.seconds:g} s")
    finally:
        parent.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    code = proc.exitcode
    return ReadFailure(FILE_UNREADABLE, f"the reader crashed on this file (exit {code})")
