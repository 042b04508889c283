"""solver/ stays pure: importing every engine module loads no web, database or app code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SOLVER = Path(__file__).resolve().parents[2] / "solver"


def test_importing_the_whole_solver_package_loads_no_fastapi_sqlmodel_sqlalchemy_or_app() -> None:
    modules = sorted(f"solver.{p.stem}" for p in SOLVER.glob("*.py") if p.stem != "__init__")
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'sqlmodel', 'sqlalchemy', 'app'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=SOLVER.parent
    )
    assert out.stdout.strip() == "", f"solver/ pulled in: {out.stdout.strip()}"
    assert len(modules) >= 10
