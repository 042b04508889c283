"""The `bookplan` command line. Each verb lives in `app/commands/<verb>.py` and is found automatically.

A command module exposes `register(subparsers)`; heavy imports stay inside the command's run function so
that `bookplan solve` starts fast (its wall time includes Python start-up).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import app.commands

# When the command started, as near to process start as we can see it: `--time-limit` bounds the whole run.
STARTED = time.monotonic()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookplan", description="Plan Customer Success books of business.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(app.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"app.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except KeyboardInterrupt:
        print("bookplan: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
