"""`bookplan purge --older-than 90d`: delete finished plan jobs older than that (approved plans and the
audit log are kept), with their moves and the book snapshots no job needs any more."""

from __future__ import annotations

import argparse
import sys

from app.commands._service import add_database_argument, fail, open_migrated_database


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("purge", help="delete old plan jobs (approved plans and the audit log stay)")
    parser.add_argument(
        "--older-than",
        default=None,
        help="age such as 90d or 36h (default: BOOKPLAN_RETENTION_DAYS, 90 days)",
    )
    add_database_argument(parser)
    parser.set_defaults(run=run_purge)


def run_purge(args: argparse.Namespace) -> int:
    import datetime as dt

    from app.core.config import get_settings
    from app.errors import BookError
    from app.services.retention import parse_age, purge

    try:
        age = (
            parse_age(args.older_than)
            if args.older_than
            else dt.timedelta(days=get_settings().retention_days)
        )
    except BookError as exc:
        return fail(exc.message, 2)
    db = open_migrated_database(args)
    try:
        result = purge(db, age)
    finally:
        db.dispose()
    print(
        f"bookplan: purged {result.plans} plan jobs older than {age.days} days"
        f"{f' {age.seconds // 3600} h' if age.seconds else ''}, {result.snapshots} book snapshots, "
        f"{result.idempotency_keys} idempotency keys, {result.sessions} sign-in sessions "
        "(approved plans and the audit log kept)",
        file=sys.stderr,
    )
    return 0
