"""Helpers shared by the service's CLI verbs (serve, demo, migrate, keys, import/export)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.core.paths import DEFAULT_DATABASE_PATH

DATABASE_HELP = f"database URL (default: $DATABASE_URL, else sqlite:///{DEFAULT_DATABASE_PATH})"


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None, help=DATABASE_HELP)


def settings_from(args: argparse.Namespace, **overrides: Any) -> Any:
    """Settings from the environment and the command line; a bad value exits 2 naming the variable."""
    from pydantic import ValidationError

    from app.core.config import Settings

    values = dict(overrides)
    if getattr(args, "database_url", None):
        values["database_url"] = args.database_url
    try:
        return Settings(**values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error.get("loc") else "settings"
        variable = name if name == "DATABASE_URL" else f"BOOKPLAN_{name.upper()}"
        raise SystemExit(fail(f"{variable}: {error['msg']} (got {error.get('input')!r})", 2)) from None


def open_migrated_database(args: argparse.Namespace) -> Any:
    """The database the command line names, for verbs that read or edit it: one not migrated to the
    current schema exits 1 saying so (run `bookplan migrate`), rather than failing later on a table."""
    from app.core.db import Database, DatabaseNotMigrated, check_migrated

    db = Database(settings_from(args).database_url)
    try:
        check_migrated(db.engine)
    except DatabaseNotMigrated as exc:
        db.dispose()
        raise SystemExit(fail(str(exc))) from None
    return db


def fail(message: str, code: int = 1) -> int:
    print(f"bookplan: {message}", file=sys.stderr)
    return code
