"""The state database: projects, tokens, receipts and current uploads, bank batch and
transaction claims, the audit trail, column maps, the cross-project worker index and coverage.

SQLite in the data directory by default; PostgreSQL through SITEREG_DATABASE_URL for several
processes or hosts. The schema is SQLAlchemy Core (``schema``), created and upgraded by the
Alembic revisions in ``migrations`` whenever the database is opened.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from sitereg.db.engine import DatabaseUnavailable, create, database_url, migrate
from sitereg.db.queries import Database

__all__ = ["Database", "DatabaseUnavailable", "database_url", "open_database"]


def open_database(settings) -> Database:
    """Connect, bring the schema to the newest revision and return the database."""
    engine = create(database_url(settings))
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"the {engine.dialect.name} database cannot be opened: {exc.orig}") from exc
    except BaseException:
        engine.dispose()
        raise
    return Database(engine)
