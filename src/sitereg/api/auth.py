"""Bearer tokens: who is calling, and which projects that caller may see or change."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request

from sitereg.api.errors import ApiError, forbidden
from sitereg.catalog import Catalog, Project, hash_token


@dataclass(frozen=True)
class Principal:
    role: str
    scope: tuple[str, ...]
    token_id: str  # first hex digits of the token's hash: names the caller in logs, reveals nothing

    @property
    def label(self) -> str:
        return f"{self.role}:{self.token_id}"

    def sees(self, project: Project) -> bool:
        if self.role == "admin":
            return True
        if self.role == "contractor":
            return project.contractor_credit_code in self.scope
        if self.role == "bureau":
            return any(project.region_code.startswith(prefix) for prefix in self.scope)
        # A bank pushes batches and reads its own receipts (api.md); projects are not its to read.
        return False

    def may_upload(self, project: Project) -> bool:
        return self.role == "admin" or (self.role == "contractor" and project.contractor_credit_code in self.scope)


def principal_of(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "缺少访问令牌：请在请求头加入 Authorization: Bearer <token>",
                       "Missing token: send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
    catalog: Catalog = request.app.state.catalog
    record = catalog.token(token.strip())
    if record is None:
        raise ApiError(401, "UNAUTHORIZED", "访问令牌无效", "Invalid token", headers={"WWW-Authenticate": "Bearer"})
    return Principal(record.role, tuple(record.scope), hash_token(token.strip())[:12])


def authenticate(connection, _handler) -> None:
    """Guard on every /api/v1 route: resolve the token before the body is even parsed."""
    connection.state.principal = principal_of(connection)


def current_principal(request: Request) -> Principal:
    return request.state.principal


def audit(request: Request, principal: Principal, action: str, target: str, **detail) -> None:
    """Record a write or a download of personal data in the append-only audit trail."""
    import datetime as dt

    from sitereg import audit as audit_log

    client = request.client.host if request.client else None
    # A bank's scope is account numbers: masked like every account that leaves the service.
    scope = tuple("****" + s[-4:] for s in principal.scope) if principal.role == "bank" else principal.scope
    request.app.state.catalog.record(audit_log.Event(
        at=dt.datetime.now(dt.UTC), actor=principal.label, role=principal.role, scope=scope,
        action=action, target=target, client=client, detail=detail))


ROLE_ZH = {"admin": "管理员", "bureau": "监管部门", "contractor": "施工总承包单位", "bank": "银行代发系统"}


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise forbidden(f"{ROLE_ZH.get(principal.role, principal.role)}的令牌无权执行此操作", f"Role {principal.role} may not do this")
