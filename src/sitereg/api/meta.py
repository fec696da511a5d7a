"""Health and the rule catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response

from sitereg.api.auth import Principal, principal_of, require_role
from sitereg.api.errors import ApiError, bad_request
from sitereg.validate.rules import RULES


@get("/health", operation_id="health", tags=["meta"], sync_to_thread=True)
def health(request: Request) -> Response[dict[str, Any]]:
    """Liveness and object-store reachability (503 with Retry-After when the store is down).
    Without a token it says only that the service is up; an admin token also gets which store
    it uses (a data path or an S3 endpoint is a map for an attacker)."""
    request.app.state.store.check()
    request.app.state.db.check()
    body: dict[str, Any] = {"status": "ok"}
    if request.headers.get("authorization"):
        try:
            principal = principal_of(request)
        except ApiError:
            principal = None
        if principal is not None and principal.role == "admin":
            body["store"] = request.app.state.store.describe()
            body["database"] = request.app.state.db.describe()
    return Response(body)


@get("/api/v1/rules", operation_id="listRules", tags=["meta"], sync_to_thread=True)
def list_rules() -> dict[str, Any]:
    """Every rule the service applies: stable code, severity, scope, messages, columns."""
    return {"rules": [rule_json(r) for r in RULES]}


@get("/api/v1/audit", operation_id="readAudit", tags=["meta"], sync_to_thread=True)
def read_audit(request: Request, principal: NamedDependency[Principal], date: FromQuery[str | None] = None,
               limit: FromQuery[int] = 1000) -> dict[str, Any]:
    """The audit trail of one day (admin): every write and every download of personal data."""
    require_role(principal, "admin")
    try:
        day = dt.date.fromisoformat(date) if date else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise bad_request("VALIDATION", "date 应为 YYYY-MM-DD", "date must be YYYY-MM-DD") from None
    return {"date": day.isoformat(), "events": request.app.state.db.audit(day, max(1, min(limit, 10000)))}


def rule_json(rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "severity": rule.severity,
        "scope": rule.scope,
        "title": {"zh": rule.title_zh, "en": rule.title_en},
        "message": {"zh": rule.zh, "en": rule.en},
        "kinds": list(rule.kinds),
        "columns": [c for c in rule.columns if not c.startswith("*")] or (["(required columns)"] if rule.columns else []),
        "rejects_row": rule.rejects,
    }
