"""How often a 1,000-account book is proven optimal within its time limit, on a quiet and on a busy machine.

    uv run python -m bench.proof_1k                         # seeds 1-20, 0 / 2 / 4 busy processes
    uv run python -m bench.proof_1k --compare dae9cb6       # the same, side by side with an older engine
    uv run python -m bench.proof_1k --seeds 1-40 --busy 2 --time-limit 4.3

The fresh-1k target is "optimal, ≤ 5 s", and whether a plan is *proven* optimal depends on how much CPU the
solve gets: a shared machine makes the proof the first thing to go. This bench solves
`generate_book(1000, seed=s)` for many seeds while `--busy` processes spin on the cores, each solve in a
child process with `solve(book, time_limit=…)` timed inside it (Python start-up excluded; the end-to-end
figure is `bench.run`'s fresh-1k row). With `--compare REV` every seed is also solved by the engine of that
git revision (checked out once into a temporary worktree), alternating with this one, so both see the
same load. Every plan is re-checked by the solver-free validator.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Process
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from bench.books import generate_book
from solver.engine import solve
from solver.validation import validate_plan
book = generate_book(1000, seed=int(sys.argv[2]))
started = time.monotonic()
plan = solve(book, time_limit=float(sys.argv[3]))
seconds = time.monotonic() - started
problems = validate_plan(book, plan)
print(json.dumps({"status": plan.status, "seconds": seconds, "violations": len(problems),
                  "unproven": [p.pool for p in plan.pools if p.status != "optimal"]}))
"""


def _spin() -> None:
    while True:
        pass


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _solve(root: Path, seed: int, time_limit: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(seed), str(time_limit)],
        capture_output=True,
        text=True,
        timeout=time_limit + 120,
        check=False,
    )
    if done.returncode != 0:
        return {"status": "error", "seconds": float("nan"), "violations": 0, "error": done.stderr[-300:]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _worktree(rev: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"bookplan-bench-{rev}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proof_1k", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1-20", help="book seeds, e.g. 1-20 or 1,5,9 (default 1-20)")
    parser.add_argument("--busy", default="0,2,4", help="busy processes per round (default 0,2,4)")
    parser.add_argument("--time-limit", type=float, default=4.3, help="solve() limit (default 4.3 s)")
    parser.add_argument("--compare", metavar="REV", help="also run the engine of this git revision")
    args = parser.parse_args(argv)
    engines = {"this": ROOT}
    if args.compare:
        engines[args.compare] = _worktree(args.compare)
    seeds = _seeds(args.seeds)
    print(f"{len(seeds)} books, time limit {args.time_limit:g} s, engines: {', '.join(engines)}", flush=True)
    rows = []
    for busy in [int(b) for b in args.busy.split(",")]:
        spinners = [Process(target=_spin, daemon=True) for _ in range(busy)]
        for p in spinners:
            p.start()
        time.sleep(0.5)
        try:
            results: dict[str, list[dict[str, object]]] = {name: [] for name in engines}
            for seed in seeds:
                for name, root in engines.items():
                    r = _solve(root, seed, args.time_limit)
                    results[name].append(r)
                    if r["status"] != "optimal" or r.get("violations"):
                        print(f"  busy {busy}, seed {seed}, {name}: {r}", flush=True)
        finally:
            for p in spinners:
                p.terminate()
        for name, rs in results.items():
            times = [float(str(r["seconds"])) for r in rs if r["status"] != "error"]
            row = {
                "busy": busy,
                "engine": name,
                "optimal": sum(r["status"] == "optimal" for r in rs),
                "books": len(rs),
                "median_s": statistics.median(times) if times else float("nan"),
                "max_s": max(times) if times else float("nan"),
                "violations": sum(int(str(r.get("violations", 0))) for r in rs),
            }
            rows.append(row)
            print(
                f"busy {busy} | {name} | optimal {row['optimal']} of {row['books']} | "
                f"median {row['median_s']:.2f} s | max {row['max_s']:.2f} s | violations {row['violations']}",
                flush=True,
            )
    print("\n| busy processes | engine | proven optimal | median s | max s |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['busy']} | {row['engine']} | {row['optimal']} of {row['books']} | "
            f"{row['median_s']:.2f} | {row['max_s']:.2f} |"
        )
    return 1 if any(row["violations"] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
