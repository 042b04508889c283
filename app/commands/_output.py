"""Writing a command's JSON answer: to a file with -o, else to stdout."""

from __future__ import annotations

import sys
from pathlib import Path


def write_json_text(text: str, output: str | None) -> str | None:
    """Write `text` to `output` (or stdout); return an error message naming the file, or None."""
    if not output:
        sys.stdout.write(text + "\n")
        return None
    try:
        Path(output).write_text(text + "\n")
    except OSError as exc:
        return f"-o {output}: cannot write ({exc.strerror})"
    return None
