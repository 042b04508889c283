"""`bookplan openapi`: write the HTTP service's OpenAPI document (checked in as openapi/openapi.json)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("openapi", help="export the HTTP API's OpenAPI document")
    p.add_argument("-o", "--output", help="write here instead of stdout (e.g. openapi/openapi.json)")
    p.add_argument("--check", action="store_true", help="exit 1 if the file differs from the app's document")
    p.set_defaults(run=run)


def openapi_text() -> str:
    from app.core.config import Settings
    from app.main import create_app

    # The document does not depend on the database: a placeholder URL keeps the export offline.
    app = create_app(Settings(database_url="sqlite://"))
    return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    text = openapi_text()
    if args.check:
        if not args.output:
            print("bookplan: --check needs -o FILE", file=sys.stderr)
            return 2
        path = Path(args.output)
        current = path.read_text() if path.exists() else ""
        if current != text:
            print(f"bookplan: {path} is out of date: run `bookplan openapi -o {path}`", file=sys.stderr)
            return 1
        return 0
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
        print(f"bookplan: wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
