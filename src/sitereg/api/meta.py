"""Health and the rule catalogue."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Response

from sitereg.validate.rules import RULES


@get("/health", operation_id="health", tags=["meta"], sync_to_thread=True)
def health(request: Request) -> Response[dict[str, Any]]:
    """Liveness and object-store reachability (503 with Retry-After when the store is down)."""
    request.app.state.store.check()
    return Response({"status": "ok", "store": request.app.state.store.describe()})


@get("/api/v1/rules", operation_id="listRules", tags=["meta"], sync_to_thread=True)
def list_rules() -> dict[str, Any]:
    """Every rule the service applies: stable code, severity, scope, messages, columns."""
    return {"rules": [rule_json(r) for r in RULES]}


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
