"""What a peer's run is, and running one peer in a fresh interpreter (lower than both the peers and the
`bench.peer` entry point, which each use it)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solver.schema import Book

ROOT = Path(__file__).resolve().parents[1]
Assignment = dict[str, str | None]


@dataclass
class Run:
    """One peer's answer: the assignment, how long it took and what the solver could prove."""

    name: str
    assignment: Assignment
    seconds: float
    status: str = "feasible"
    build_seconds: float = 0.0
    objective: float | None = None
    bound: float | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "assignment": self.assignment,
            "seconds": self.seconds,
            "status": self.status,
            "build_seconds": self.build_seconds,
            "objective": self.objective,
            "bound": self.bound,
            "note": self.note,
        }


def run_in_subprocess(name: str, book: Book, time_limit: float | None) -> Run:
    """The same peer in a fresh interpreter (for highspy once OR-Tools is loaded here)."""
    with tempfile.TemporaryDirectory(prefix="bookplan-peer-") as tmp:
        book_path, out_path = Path(tmp) / "book.json", Path(tmp) / "run.json"
        book_path.write_text(book.model_dump_json(exclude_none=True))
        cmd = [sys.executable, "-m", "bench.peer", name, str(book_path), str(out_path)]
        if time_limit is not None:
            cmd += ["--time-limit", str(time_limit)]
        subprocess.run(cmd, cwd=ROOT, check=True)
        data = json.loads(out_path.read_text())
    return Run(**data)
