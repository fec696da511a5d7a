"""Error bodies of api.md: {"status", "code", "detail", "extra"}, detail in the caller's language."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("sitereg.api")


def lang_of(request: Request) -> str:
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


class ApiError(HTTPException):
    """An error the caller can act on, with a stable code and zh/en detail."""

    def __init__(self, status: int, code: str, zh: str, en: str, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=en, extra=extra or {}, headers=headers)
        self.code = code
        self.zh = zh
        self.en = en


def not_found(what_zh: str, what_en: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what_zh}不存在或无权查看", f"{what_en} not found or not visible to this token")


def forbidden(zh: str, en: str) -> ApiError:
    return ApiError(403, "FORBIDDEN", zh, en)


def bad_request(code: str, zh: str, en: str, extra: dict[str, Any] | None = None) -> ApiError:
    return ApiError(400, code, zh, en, extra)


def _body(request: Request, status: int, code: str, zh: str, en: str, extra: Any, headers: dict[str, str] | None = None) -> Response:
    lang = lang_of(request)
    return Response(
        {"status": status, "code": code, "detail": en if lang == "en" else zh, "extra": extra or {}},
        status_code=status, headers=headers or None,
    )


_GENERIC = {
    400: ("BAD_REQUEST", "请求格式错误", "Malformed request"),
    401: ("UNAUTHORIZED", "缺少或无效的访问令牌（Authorization: Bearer <token>）", "Missing or invalid token (Authorization: Bearer <token>)"),
    403: ("FORBIDDEN", "该令牌无权执行此操作", "This token may not do that"),
    404: ("NOT_FOUND", "资源不存在", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法", "Method not allowed"),
    413: ("FILE_TOO_LARGE", "请求体超过上传大小上限", "Request body is over the upload size limit"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的请求内容类型", "Unsupported content type"),
}


def handle_http(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ApiError):
        return _body(request, exc.status_code, exc.code, exc.zh, exc.en, exc.extra, exc.headers)
    status = exc.status_code
    code, zh, en = _GENERIC.get(status, ("ERROR", "请求失败", "Request failed"))
    extra: Any = exc.extra if isinstance(exc, ValidationException) else {}
    if isinstance(extra, list):  # Litestar's list of {message, key, source}: api.md's extra is an object
        extra = {"errors": extra}
    if status == 413:
        # The route's own limit where it has one (a project body: 64 KB), else the upload limit.
        limit = getattr(request.scope.get("route_handler"), "request_max_body_size", None)
        if not isinstance(limit, int):  # unset on the route (Litestar's Empty): the app's
            limit = request.app.state.settings.max_upload_bytes
        size = f"{limit / 1e6:g} MB" if limit >= 1_000_000 else f"{limit / 1024:g} KB"
        zh, en = f"请求体超过大小上限 {size}", f"The request body is over the limit of {size}"
        extra = {"max_bytes": limit}
    # Litestar's own detail is English: it goes to the English message only (the Chinese one
    # names the problem; ``extra`` carries the fields Litestar found wrong).
    if isinstance(exc, ValidationException):
        code, zh, en = "VALIDATION", "请求参数无效，请对照接口文档检查参数与请求体", "Invalid request: " + str(exc.detail)
        fields = _fields(extra.get("errors") if isinstance(extra, dict) else None, str(exc.detail))
        if fields:
            zh = f"请求参数无效：{'、'.join(fields)} 缺失或取值不对，请对照接口文档检查"
    elif status == 400 and exc.detail and exc.detail != "Bad Request":
        en = f"{en}: {exc.detail}"  # e.g. an upload sent without multipart/form-data
        if "multipart" in str(exc.detail):
            zh = "请求格式错误：上传文件须以 multipart/form-data 发送"
        elif "json" in request.headers.get("content-type", "").lower():  # the body did not decode
            zh = "请求体不是有效的 JSON，请检查括号、引号与逗号"
    return _body(request, status, code, zh, en, extra, exc.headers)


def _fields(errors: Any, detail: str) -> list[str]:
    """The parameter or body fields Litestar found wrong, for the Chinese message: each error's
    key, or the field msgspec names in backticks (`name`)."""
    found: list[str] = []
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict):
            key = e.get("key")
            # A body's error is keyed "data": the field is the one msgspec names in its message.
            names = _named(str(e.get("message", ""))) or ([key] if isinstance(key, str) and key and key != "data" else [])
            found += [n for n in names if n not in found]
    if not found:
        found = list(dict.fromkeys(_named(detail)))
    return [f[:40] for f in found[:5]]


def _named(message: str) -> list[str]:
    # msgspec: "Object missing required field `name`", "Expected `str`, got `int` - at `$.code`".
    return re.findall(r"field `([^`]+)`", message) + re.findall(r"`\$\.([^`]+)`", message)


def handle_store_down(request: Request, exc: Exception) -> Response:
    # The object store or the database: either way nothing was acknowledged, so retrying is safe.
    log.warning("storage unavailable: %s", exc)
    return _body(request, 503, "STORE_UNAVAILABLE", "存储服务暂不可用，本次请求未保存，请稍后重试",
                 "Object storage is unavailable; nothing was saved. Retry later.", {}, {"Retry-After": "30"})


def handle_undecodable(request: Request, exc: UnicodeDecodeError) -> Response:
    # Litestar decodes multipart text fields as UTF-8 and raises on anything else (e.g. a GBK
    # "kind" field); that is the caller's request, not our bug.
    return _body(request, 400, "BAD_REQUEST", "表单字段不是 UTF-8 文本（文件请放在 file 字段中上传）",
                 "A form field is not UTF-8 text (send the file itself in the 'file' field)", {})


def handle_bug(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _body(request, HTTP_500_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "服务内部错误，已记录", "Internal error; it has been logged", {})
