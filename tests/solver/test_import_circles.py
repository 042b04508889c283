"""No import circles in the engine or the benchmarks: what two modules both need lives in a lower one."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path, package: str) -> set[str]:
    """Modules of `package` this file imports anywhere (functions included), except for type checking."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package + "."):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith(package + "."))
    return out


@pytest.mark.parametrize("package", ["solver", "bench"])
def test_no_two_modules_import_each_other_directly_or_round_about(package: str) -> None:
    graph = {
        f"{package}.{p.stem}": imports_of(p, package)
        for p in (ROOT / package).glob("*.py")
        if p.stem != "__init__"
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, "import circle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_cli_starts_without_the_libraries_only_some_plans_need() -> None:
    # MathOpt (the tight pools' and bands' MIPs, min_cost), the min-cost flow (handoff schedules) and the
    # service's settings load on first need: together ~0.5 s of every `bookplan solve` start.
    code = (
        "import sys, app.cli, app.commands._service, solver.engine; "
        "print(sorted(m for m in ('ortools.math_opt.python.mathopt', 'ortools.graph.python.min_cost_flow', "
        "'pydantic_settings') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
