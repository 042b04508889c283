"""`bookplan migrate`: apply the database migrations (SQLite file or PostgreSQL)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.commands._service import add_database_argument, fail, settings_from


def register(sub: Any) -> None:
    p = sub.add_parser("migrate", help="create or upgrade the service's database tables")
    add_database_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.core.db import migrate

    settings = settings_from(args)
    try:
        before, after = migrate(settings.database_url)
    except SQLAlchemyError as exc:
        return fail(
            f"cannot migrate {settings.database_url}: {exc.__class__.__name__}: "
            f"{exc.args[0] if exc.args else ''}"
        )
    state = "already at" if before == after else f"migrated from {before or 'empty'} to"
    print(f"bookplan: database {state} migration {after}", file=sys.stderr)
    return 0
