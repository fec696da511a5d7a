"""Append-only audit trail: who did what, when, from where.

Each event is a write-once object in the bucket (the record) and a row in the database's
append-only table (what ``GET /api/v1/audit`` reads); see ``Catalog.record``.
"""

from __future__ import annotations

from sitereg.records import Event

__all__ = ["Event"]
