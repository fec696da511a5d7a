"""The input grammar applied at the edge: every path parameter and query parameter is checked
against ``sitereg.grammar`` before a handler, a store key or a loop ever sees it, and a JSON body
is checked for depth before any decoder recurses into it. Each refusal is a coded 400."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from sitereg import grammar as g
from sitereg.api.errors import ApiError

# Parameter name (path or query) -> the term its values must match.
TERMS: dict[str, g.Term] = {
    "code": g.PROJECT_CODE,
    "period": g.PERIOD,
    "period_from": g.PERIOD,
    "period_to": g.PERIOD,
    "from": g.PERIOD,
    "to": g.PERIOD,
    "region": g.REGION_PREFIX,
    "upload_id": g.UPLOAD_ID,
    "batch_id": g.SAFE_ID,
    "payer_account": g.ACCOUNT,
    "date": g.DATE,
    "id_number": g.ID_NUMBER,
}


def refuse(name: str, term: g.Term | None) -> ApiError:
    if term is None:
        return ApiError(400, "PARAMETER_INVALID", f"参数 {name} 含控制字符或超过 {g.MAX_PARAM} 个字符",
                        f"Parameter {name} holds a control character or is over {g.MAX_PARAM} characters",
                        {"field": name})
    return ApiError(400, term.code, f"参数 {name} 应为{term.zh}", f"Parameter {name} must be {term.en}", {"field": name})


def check_value(name: str, value: str) -> None:
    term = TERMS.get(name)
    if term is not None:
        if not term.ok(value):
            raise refuse(name, term)
    elif not g.text_ok(value, g.MAX_PARAM, min_len=0):
        raise refuse(name, None)


async def check_input(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """App-wide guard: the grammar of path and query parameters, and the depth of a JSON body."""
    for name, value in connection.path_params.items():
        if isinstance(value, str):
            check_value(name, value)
    for name, values in connection.query_params.dict().items():
        if len(name) > 64:
            raise refuse(name[:64], None)
        for value in values:
            check_value(name, value)
    if connection.scope["type"] == "http" and connection.scope.get("method") in ("POST", "PUT", "PATCH"):
        content_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type.endswith("json"):
            body = await connection.body()  # type: ignore[attr-defined]  # cached for the handler
            if not g.json_depth_ok(body):
                raise ApiError(400, "JSON_TOO_DEEP", f"JSON 嵌套超过 {g.MAX_JSON_DEPTH} 层",
                               f"The JSON body nests deeper than {g.MAX_JSON_DEPTH} levels")
