"""`bookplan serve` (the HTTP service) and `bookplan demo` (the service on the fixture book, with a key)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.commands._service import add_database_argument, fail, settings_from

DEMO_DATABASE = "sqlite:///var/bookplan-demo.db"
DEMO_BOOK = Path("fixtures/demo_book.json")


def register(sub: Any) -> None:
    serve = sub.add_parser(
        "serve", help="run the HTTP service (SQLite by default, DATABASE_URL for PostgreSQL)"
    )
    _server_arguments(serve, default_host="127.0.0.1")
    add_database_argument(serve)
    serve.set_defaults(run=run_serve)

    demo = sub.add_parser("demo", help="migrate, load the fixture book, create an ops key, and serve")
    _server_arguments(demo, default_host="127.0.0.1")
    demo.add_argument(
        "--database-url", default=DEMO_DATABASE, help=f"database URL (default: {DEMO_DATABASE})"
    )
    demo.add_argument("--book", default=str(DEMO_BOOK), help=f"the book to load (default: {DEMO_BOOK})")
    demo.add_argument(
        "--no-serve", action="store_true", help="prepare the database and print the key, then exit"
    )
    demo.set_defaults(run=run_demo)


def _server_arguments(parser: argparse.ArgumentParser, default_host: str) -> None:
    parser.add_argument(
        "--host", default=default_host, help=f"interface to listen on (default: {default_host})"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )


def run_serve(args: argparse.Namespace) -> int:
    from app.core.config import Settings
    from app.core.db import Database, DatabaseNotMigrated, check_migrated, migrate, sqlite_path

    settings = settings_from(args)
    path = sqlite_path(settings.database_url)
    default_url = Settings.model_fields["database_url"].default
    # With nothing configured, `serve` creates its SQLite file; any other database must be migrated first.
    if (
        settings.database_url == default_url
        and settings.auto_create_default_database
        and path is not None
        and not path.exists()
    ):
        migrate(settings.database_url)
        print(f"bookplan: created {path}", file=sys.stderr)
    db = Database(settings.database_url)
    try:
        check_migrated(db.engine)
    except DatabaseNotMigrated as exc:
        return fail(f"refusing to start: {exc}")
    except Exception as exc:  # unreachable server, bad credentials...
        return fail(f"refusing to start: cannot open the database: {type(exc).__name__}: {exc}")
    finally:
        db.dispose()
    return _serve(settings, args)


def _serve(settings: Any, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    print(f"bookplan: serving on http://{args.host}:{args.port} (docs at /docs)", file=sys.stderr)
    # Forwarded headers are honoured by the app itself, from BOOKPLAN_TRUSTED_PROXIES only.
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level=args.log_level, proxy_headers=False
    )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from app.core.db import Database, migrate
    from app.services.book import replace_book
    from app.services.keys import create_key
    from solver.errors import BookError
    from solver.io import load_book

    settings = settings_from(args)
    try:
        book = load_book(args.book)
    except BookError as exc:
        return fail(f"{exc.message} (the demo book; `make fixtures` or --book FILE)", 2)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.write_session() as session:
            replaced = replace_book(session, book, "demo")
        with db.session() as session:
            _key, secret = create_key(session, ["ops"], name="demo-ops")
    finally:
        db.dispose()
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    print(
        f"bookplan demo: {replaced.accounts} accounts and {replaced.csms} CSMs loaded "
        f"into {settings.database_url}\n"
        f"  open:    {url}/login and sign in with the ops key below: the book page opens\n"
        f"  ops key: {secret}\n"
        f"  API:     {url}/docs\n"
        f"  try:     curl -H 'Authorization: Bearer {secret}' {url}/v1/book/summary\n"
        f"           curl -X POST -H 'Authorization: Bearer {secret}' -H 'Content-Type: application/json' "
        f"-d '{{}}' {url}/v1/plans",
        file=sys.stderr,
    )
    print(secret)
    if args.no_serve:
        return 0
    return _serve(settings, args)
