"""Engines for the two databases, and running the migrations.

SQLite is the embedded default: one file in the data directory, shared by several processes.
WAL lets readers go on while one process writes; busy_timeout makes a writer wait for the
lock instead of failing; and write transactions start with BEGIN IMMEDIATE, taking the write
lock up front, because two deferred transactions that both upgrade to writing deadlock and
one fails at once whatever the timeout.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

BUSY_TIMEOUT_S = 30
WRITE = "sitereg_write"  # execution option marking a write transaction
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x5173_7265  # any constant: the advisory lock that serialises migrations on PostgreSQL


class DatabaseUnavailable(Exception):
    """The state database cannot be reached (or opened)."""


def database_url(settings) -> str:
    """The SQLAlchemy URL: a plain ``postgresql://`` URL, as PostgreSQL tools write it, is given
    the psycopg 3 driver; without one, ``sitereg.db`` in the data directory."""
    url = settings.database_url
    if url is None:
        data_dir = Path(settings.data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / 'sitereg.db'}"
    return re.sub(r"^(postgres|postgresql)://", "postgresql+psycopg://", url)


def create(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Connections are pooled and each is used by one thread at a time, so any thread may take one.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pre_ping: after a server restart a pooled connection is dead; find out at checkout.
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # SQLAlchemy's recipe: stop the sqlite3 module's own BEGIN handling, emit BEGIN in _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")  # first: switching to WAL may wait for a lock
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys = ON")
    # Reads through the OS page cache instead of copying every page into each connection's own
    # small cache: a fresh process's first region view reads tens of MB of index pages.
    cursor.execute("PRAGMA mmap_size = 268435456")
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """WAL is a property of the file, set by whichever connection comes first. When processes
    open a new database together, SQLite answers "database is locked" at once, without its busy
    handler, to the one whose wait could deadlock; so the switch is retried here until the deadline."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


@contextlib.contextmanager
def transaction(engine: Engine, write: bool = False) -> Iterator[Connection]:
    """One transaction, committed on leaving the block; DatabaseUnavailable when no connection can be had."""
    try:
        conn = engine.connect()
    except OperationalError as exc:
        raise DatabaseUnavailable(f"the {engine.dialect.name} database cannot be reached: {exc.orig}") from exc
    with conn:
        if write:
            conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


def migrate(engine: Engine) -> None:
    """Upgrade to the newest revision. Several processes may start at once: the first migrates
    while the others wait (SQLite's write lock, PostgreSQL's advisory lock), then find nothing to do."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
