"""Alembic environment: run by ``sitereg.db.migrate`` on a connection it already holds inside
a transaction (and a lock), so concurrent starters migrate one at a time."""

from alembic import context

from sitereg.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("sitereg migrations run through sitereg.db.open_database, not the alembic command line")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
