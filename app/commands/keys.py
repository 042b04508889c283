"""`bookplan keys create|list|revoke`: API keys for the HTTP service (only their hashes are stored)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.commands._service import add_database_argument, fail, open_migrated_database


def register(sub: Any) -> None:
    p = sub.add_parser("keys", help="create, list or revoke API keys")
    verbs = p.add_subparsers(dest="keys_command", metavar="ACTION")
    verbs.required = True
    create = verbs.add_parser("create", help="print a new key (shown once)")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=["ops", "hr", "scheduler"],
        help="ops: edit the book, run and approve plans; hr: book summary and hiring gaps; "
        "scheduler: start plans (repeat for several)",
    )
    create.add_argument("--name", help="who or what uses it (recorded in plans and the audit log)")
    add_database_argument(create)
    create.set_defaults(run=run_create)
    listing = verbs.add_parser("list", help="list keys (never the secrets)")
    add_database_argument(listing)
    listing.set_defaults(run=run_list)
    revoke = verbs.add_parser("revoke", help="revoke a key by id, prefix or name")
    revoke.add_argument("key", help="the key's id, prefix (bp_xxxxxx) or name")
    add_database_argument(revoke)
    revoke.set_defaults(run=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    from app.services.keys import create_key

    db = open_migrated_database(args)
    try:
        with db.session() as session:
            key, secret = create_key(session, args.scope, args.name)
    finally:
        db.dispose()
    print(
        f"bookplan: created key {key.name!r} (id {key.id}, scope {key.scopes}); it is shown only once:",
        file=sys.stderr,
    )
    print(secret)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from app.services.keys import list_keys

    db = open_migrated_database(args)
    try:
        with db.session() as session:
            keys = list_keys(session)
    finally:
        db.dispose()
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        print(f"{key.id}\t{key.prefix}…\t{key.scopes}\t{key.name}\t{state}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from app.errors import Conflict, NotFound
    from app.services.keys import revoke_key

    db = open_migrated_database(args)
    try:
        with db.session() as session:
            key = revoke_key(session, args.key)
    except (NotFound, Conflict) as exc:
        return fail(exc.message, 2)
    finally:
        db.dispose()
    print(f"bookplan: revoked key {key.name!r} (id {key.id})", file=sys.stderr)
    return 0
