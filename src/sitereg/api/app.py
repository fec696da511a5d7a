"""The Litestar application factory: no import-time side effects, settings passed in."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable

import openpyxl
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.exc import OperationalError

from sitereg.api import coverage, errors
from sitereg.api.auth import authenticate, current_principal
from sitereg.api.batches import BatchController
from sitereg.api.column_maps import ColumnMapController
from sitereg.api.coverage import CoverageController, ProjectCoverageController
from sitereg.api.docs import document
from sitereg.api.edge import check_input
from sitereg.api.exports import BulletinController, FindingsExportController
from sitereg.api.meta import health, list_rules, read_audit
from sitereg.api.periods import PeriodController
from sitereg.api.projects import ProjectController
from sitereg.api.uploads import UploadController
from sitereg.api.web import docs_routes, swagger_plugin, web_routes
from sitereg.api.workers import ledger
from sitereg.catalog import Catalog
from sitereg.db import Database, DatabaseUnavailable, open_database
from sitereg.period import BoundedCache, CoverageCache
from sitereg.settings import Settings, today_in
from sitereg.storage import ObjectStore, StoreUnavailable
from sitereg.storage_factory import open_store


async def _warm_views(app: Litestar) -> None:
    import anyio

    try:
        await anyio.to_thread.run_sync(coverage.warm_up, app.state.catalog, app.state.today())
    except (DatabaseUnavailable, OperationalError) as exc:
        # Not a reason to stay down: requests answer 503 until the database is back.
        logging.getLogger("sitereg.app").warning("region views not warmed up at start: %s", exc)


def _freeze_heap() -> None:
    # Everything built at start-up lives as long as the process. Frozen, the collector stops
    # walking it on every full collection: a region view allocates ~10^5 row tuples, and the
    # full collections they set off cost ~0.1 s each over an unfrozen heap (measured). Once per
    # process: a process that builds several apps (the tests) would never free the earlier ones.
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


async def _warm_reader() -> None:
    import anyio

    from sitereg.sandbox import warm_up

    await anyio.to_thread.run_sync(warm_up)


def create_app(settings: Settings, store: ObjectStore | None = None,
               today: Callable[[], dt.date] | None = None, db: Database | None = None) -> Litestar:
    """Build the app. ``store`` defaults to the one the settings describe; ``today`` is the clock
    that pay deadlines and dates in the future are judged by: by default today's date in
    SITEREG_TIMEZONE (tests pass a fixed one)."""
    if today is None:
        def today() -> dt.date:
            return today_in(settings)
    # openpyxl parses workbooks we build reports from; it must not resolve XML entities.
    if not openpyxl.DEFUSEDXML:
        raise RuntimeError("defusedxml is not active for openpyxl; install defusedxml")
    store = store if store is not None else open_store(settings)
    db = db if db is not None else open_database(settings)
    api = Router(
        path="/",
        route_handlers=[ProjectController, UploadController, PeriodController, BatchController, CoverageController,
                        ProjectCoverageController, FindingsExportController, BulletinController, list_rules, read_audit, ledger,
                        ColumnMapController],
        guards=[authenticate],
        dependencies={"principal": Provide(current_principal, sync_to_thread=False)},
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[health, api, *web_routes(), *docs_routes()],
        guards=[check_input],  # the input grammar, before authentication and every handler
        exception_handlers={
            HTTPException: errors.handle_http,
            StoreUnavailable: errors.handle_store_down,
            DatabaseUnavailable: errors.handle_store_down,
            OperationalError: errors.handle_store_down,
            UnicodeDecodeError: errors.handle_undecodable,
            Exception: errors.handle_bug,
        },
        request_max_body_size=settings.max_upload_bytes,
        openapi_config=OpenAPIConfig(
            title="sitereg",
            version="1",
            description="Real-name and wage records of construction projects: uploads, validation, coverage.",
            path="/schema",
            render_plugins=[swagger_plugin()],
            use_handler_docstrings=True,
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        logging_config=None,  # the process configures logging (see cli.serve), not the app
        debug=False,
        on_startup=[_warm_reader, _warm_views, _freeze_heap] if settings.reader_isolation else [_warm_views, _freeze_heap],
    )
    document(app)  # summaries, error responses, patterns, the upload form and the batch body
    app.state.settings = settings
    app.state.store = store
    app.state.today = today
    app.state.db = db
    app.state.catalog = Catalog(store, db)
    app.state.coverage_cache = CoverageCache()
    app.state.response_cache = BoundedCache()  # encoded region responses
    return app
