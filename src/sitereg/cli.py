"""The ``sitereg`` command: serve the API, issue tokens, check the store, ingest a file."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from sitereg.settings import SettingsError, load_settings, today_in


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sitereg", description="Real-name and wage records of construction projects.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    token = sub.add_parser("token", help="manage access tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="print one new token; only its hash is kept")
    create.add_argument("--role", required=True, choices=["admin", "contractor", "bank", "bureau"])
    create.add_argument("--scope", action="append", default=[],
                        help="credit code (contractor), region prefix (bureau) or dedicated account (bank); repeat or comma-separate")
    create.add_argument("--label", help="who the token is for (kept with it)")

    sub.add_parser("check", help="check the settings and that the object store and the database are reachable")
    sub.add_parser("rebuild-index", help="rebuild an empty database from the bucket (a lost database, or an older data directory)")

    docs = sub.add_parser("docs", help="write docs/rules.md from the rule registry")
    docs.add_argument("--out", type=Path, default=Path("docs/rules.md"))

    ingest = sub.add_parser("ingest", help="upload a local file as a contractor would, and print the receipt")
    ingest.add_argument("project")
    ingest.add_argument("kind", choices=["roster", "contracts", "attendance", "payroll", "payments", "entry_exit"])
    ingest.add_argument("period")
    ingest.add_argument("file", type=Path)

    args = parser.parse_args(argv)
    if args.command == "docs":
        from sitereg.rulesdoc import render

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render() + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"sitereg: configuration error: {exc}", file=sys.stderr)
        return 2

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up lines are noise at every start
    from sitereg.db import DatabaseUnavailable
    from sitereg.storage import StoreError
    try:
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.workers)
        if args.command == "token":
            return _token(settings, args.role, args.scope, args.label)
        if args.command == "check":
            return _check(settings)
        if args.command == "ingest":
            return _ingest(settings, args.project, args.kind, args.period, args.file)
        if args.command == "rebuild-index":
            return _rebuild(settings)
    except StoreError as exc:
        print(f"sitereg: object store unavailable: {exc}", file=sys.stderr)
        return 3
    except DatabaseUnavailable as exc:
        print(f"sitereg: database unavailable: {exc}", file=sys.stderr)
        return 3
    return 1


def _store(settings):
    from sitereg.storage_factory import open_store

    store = open_store(settings)
    store.check()
    return store


def _catalog(settings):
    """The bucket and the database, both checked: fail at start, with a clear message, when
    either is unreachable."""
    from sitereg.catalog import Catalog
    from sitereg.db import open_database

    store = _store(settings)
    db = open_database(settings)
    db.check()
    return Catalog(store, db)


def _serve(settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    from sitereg import keys
    from sitereg.api import create_app

    catalog = _catalog(settings)
    store = catalog.store
    if not catalog.db.projects() and catalog.store.list(keys.PROJECTS):
        # A data directory (or bucket) written before the state moved into the database.
        print("sitereg: the database is empty but the store holds projects; rebuilding it from the store", file=sys.stderr)
        _rebuild(settings, catalog)
    from sitereg import period as period_mod

    # Changes whose recheck a previous process did not finish (killed mid-upload).
    period_mod.settle(catalog, settings, today_in(settings), limit=None)
    print(f"sitereg: serving on http://{host}:{port} (store: {store.describe()}); API docs at /schema", file=sys.stderr)
    from sitereg.server import protocol

    options = dict(host=host, port=port, log_level=settings.log_level.lower(), access_log=False,
                   http=protocol(settings.header_timeout_seconds, settings.body_idle_seconds),
                   timeout_keep_alive=max(1, round(settings.keepalive_seconds)))
    if workers > 1:
        # Several worker processes need an import string; each builds its app from SITEREG_*.
        uvicorn.run("sitereg.cli:app_from_environment", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings, store, db=catalog.db), **options)
    return 0


def app_from_environment():
    """The app for one uvicorn worker process (``sitereg serve --workers N``)."""
    from sitereg.api import create_app

    return create_app(load_settings(os.environ))


def _token(settings, role: str, scopes: list[str], label: str | None) -> int:

    scope = tuple(s.strip() for item in scopes for s in item.split(",") if s.strip())
    if role != "admin" and not scope:
        print(f"sitereg: --scope is required for role {role}", file=sys.stderr)
        return 2
    bad = [s for s in scope if not _scope_ok(role, s)]
    if bad:
        print(f"sitereg: not a valid scope for role {role}: {', '.join(bad)} ({_SCOPE_HELP[role]})", file=sys.stderr)
        return 2
    from sitereg import audit

    catalog = _catalog(settings)
    token = catalog.issue_token(role, scope, label)
    # A bank's scope is account numbers: the audit trail keeps them masked like every account.
    shown = [("****" + s[-4:]) if role == "bank" else s for s in scope]
    catalog.record(audit.Event(at=dt.datetime.now(dt.UTC), actor="cli", role="operator", scope=(), action="create_token",
                                    target=role, detail={"scope": shown, "label": label}))
    print(f"role={role} scope={','.join(shown) or '-'} (shown once; only its hash is stored)")
    print(f"token: {token}")
    return 0


_SCOPE_HELP = {
    "contractor": "an 18-character unified social credit code with a valid check character",
    "bureau": "a region-code prefix of 1-6 ASCII digits, e.g. 4403",
    "bank": "a dedicated account number of 6-32 digits",
}


def _scope_ok(role: str, value: str) -> bool:
    from sitereg import grammar as g

    if role == "contractor":
        from sitereg.catalog import credit_code_ok

        return g.CREDIT_CODE.ok(value) and credit_code_ok(value)
    if role == "bureau":
        return g.REGION_PREFIX.ok(value)
    return g.ACCOUNT.ok(value)


def _check(settings) -> int:
    catalog = _catalog(settings)
    print(f"ok: {catalog.store.describe()}; database {catalog.db.describe()}")
    return 0


def _rebuild(settings, catalog=None) -> int:
    from sitereg.rebuild import NotEmpty, rebuild

    catalog = catalog or _catalog(settings)
    try:
        done = rebuild(catalog, settings, today_in(settings))
    except NotEmpty as exc:
        print(f"sitereg: {exc}; rebuild-index fills an empty database only", file=sys.stderr)
        return 2
    print(f"rebuilt: {done.projects} projects, {done.tokens} tokens, {done.uploads} uploads, {done.batches} bank batches, "
          f"{done.audit_events} audit events; {done.periods} project-periods rechecked")
    return 0


def _ingest(settings, code: str, kind: str, period: str, path: Path) -> int:
    import msgspec

    from sitereg import pipeline

    catalog = _catalog(settings)
    project = catalog.project(code)
    if project is None:
        print(f"sitereg: no project {code}", file=sys.stderr)
        return 2
    outcome = pipeline.ingest(catalog, settings, project, kind, period, path.name, path.read_bytes(), actor="cli",
                              today=today_in(settings))
    print(msgspec.json.format(msgspec.json.encode(outcome.receipt)).decode())
    return 0 if outcome.readable else 1


if __name__ == "__main__":
    raise SystemExit(main())
