"""The web pages: a static Chinese UI for contractors and bureaus, served by sitereg itself.

Plain HTML, CSS and JavaScript under ``src/sitereg/web/`` (no build step, nothing from a CDN).
The page and its assets carry no data and need no token; every figure the page shows comes from
``/api/v1`` calls the browser makes with ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from sitereg.api.auth import Principal, authenticate

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# The page loads only its own files and talks only to its own origin; data is never parsed as HTML.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@get("/", include_in_schema=False, sync_to_thread=False, cache_control=CacheControlHeader(no_cache=True))
def index() -> Response[bytes]:
    """The single page (sign-in, bureau dashboard, contractor uploads)."""
    return Response((WEB_DIR / "index.html").read_bytes(), media_type="text/html",
                    headers=SECURITY_HEADERS)


@get("/ui/session", include_in_schema=False, sync_to_thread=False, guards=[authenticate])
def session(request: Request) -> dict[str, Any]:
    """Who the token is, for the page to choose its view, and the server's date (the default period
    is the month before it). Guarded like /api/v1: 401 without a valid token."""
    principal: Principal = request.state.principal
    if principal.role in ("admin", "bureau"):
        _warm_bulletin()  # the dashboard offers the 通报: load its chart library before the first click
    # A bank's scope is account numbers: masked like every account that leaves the service.
    scope = ["****" + s[-4:] for s in principal.scope] if principal.role == "bank" else list(principal.scope)
    return {"role": principal.role, "scope": scope, "today": request.app.state.today().isoformat(),
            # The page states the upload limit before sending a file that is over it.
            "max_upload_bytes": request.app.state.settings.max_upload_bytes}


@functools.cache
def _warm_bulletin() -> None:
    """Import matplotlib (a second or more, cold) in the background, once per process."""
    from sitereg import bulletin

    threading.Thread(target=bulletin.warm_up, name="bulletin-warm-up", daemon=True).start()


# Swagger UI from the swagger-ui-bundle-v2 package (PyPI), served by sitereg itself: /schema
# works on an intranet with no way out (no CDN, not even for the favicon).
DOCS_ASSETS = "/schema-assets"


def swagger_plugin() -> Any:
    """The OpenAPI page at /schema and /schema/swagger, its scripts and styles served locally."""
    from litestar.openapi.plugins import SwaggerRenderPlugin

    return SwaggerRenderPlugin(
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
        path=["/", "/swagger"],
    )


def docs_routes() -> list[Any]:
    """The Swagger UI files of the installed package, outside the /api/v1 auth guard."""
    from swagger_ui_bundle import swagger_ui_path

    return [create_static_files_router(
        path=DOCS_ASSETS, directories=[Path(str(swagger_ui_path))], name="docs-static", include_in_schema=False,
        cache_control=CacheControlHeader(max_age=86400),
    )]


def web_routes() -> list[Any]:
    """Route handlers of the web UI, for the top-level app (outside the /api/v1 auth guard).
    A new static router each call, so several apps (tests) never share one router instance."""
    static = create_static_files_router(
        path="/static", directories=[WEB_DIR], name="web-static", include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True), after_request=_secure,
    )
    return [index, session, static]
