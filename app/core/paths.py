"""Where the service keeps its files by default (no settings machinery: the CLI reads it at start-up)."""

from pathlib import Path

DEFAULT_DATABASE_PATH = Path("var/bookplan.db")
