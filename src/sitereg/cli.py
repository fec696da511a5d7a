"""The ``sitereg`` command: serve the API, issue tokens, check the store, ingest a file."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from sitereg.settings import SettingsError, load_settings


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

    sub.add_parser("check", help="check the settings and that the object store is reachable")

    docs = sub.add_parser("docs", help="write docs/rules.md from the rule registry")
    docs.add_argument("--out", type=Path, default=Path("docs/rules.md"))

    ingest = sub.add_parser("ingest", help="upload a local file as a contractor would, and print the receipt")
    ingest.add_argument("project")
    ingest.add_argument("kind", choices=["roster", "contracts", "attendance", "payments"])
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
    except StoreError as exc:
        print(f"sitereg: object store unavailable: {exc}", file=sys.stderr)
        return 3
    return 1


def _store(settings):
    from sitereg.storage_factory import open_store

    store = open_store(settings)
    store.check()
    return store


def _serve(settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    from sitereg.api import create_app

    store = _store(settings)  # fail at start, with a clear message, when the store is unreachable
    print(f"sitereg: serving on http://{host}:{port} (store: {store.describe()}); API docs at /schema", file=sys.stderr)
    if workers > 1:
        # Several worker processes need an import string; each builds its app from SITEREG_*.
        uvicorn.run("sitereg.cli:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level.lower(), access_log=False)
    else:
        uvicorn.run(create_app(settings, store), host=host, port=port, log_level=settings.log_level.lower(),
                    access_log=False)
    return 0


def app_from_environment():
    """The app for one uvicorn worker process (``sitereg serve --workers N``)."""
    from sitereg.api import create_app

    return create_app(load_settings(os.environ))


def _token(settings, role: str, scopes: list[str], label: str | None) -> int:
    from sitereg.catalog import Catalog

    scope = tuple(s.strip() for item in scopes for s in item.split(",") if s.strip())
    if role != "admin" and not scope:
        print(f"sitereg: --scope is required for role {role}", file=sys.stderr)
        return 2
    from sitereg import audit

    store = _store(settings)
    token = Catalog(store).issue_token(role, scope, label)
    audit.record(store, audit.Event(at=dt.datetime.now(dt.UTC), actor="cli", role="operator", scope=(), action="create_token",
                                    target=role, detail={"scope": list(scope), "label": label}))
    print(f"role={role} scope={','.join(scope) or '-'} (shown once; only its hash is stored)")
    print(f"token: {token}")
    return 0


def _check(settings) -> int:
    store = _store(settings)
    print(f"ok: {store.describe()}")
    return 0


def _ingest(settings, code: str, kind: str, period: str, path: Path) -> int:
    import msgspec

    from sitereg import pipeline
    from sitereg.catalog import Catalog

    store = _store(settings)
    project = Catalog(store).project(code)
    if project is None:
        print(f"sitereg: no project {code}", file=sys.stderr)
        return 2
    outcome = pipeline.ingest(store, settings, project, kind, period, path.name, path.read_bytes(), actor="cli",
                              today=dt.date.today())
    print(msgspec.json.format(msgspec.json.encode(outcome.receipt)).decode())
    return 0 if outcome.readable else 1


if __name__ == "__main__":
    raise SystemExit(main())
