"""The benchmark: bookplan and its peers side by side on seeded books, each run in its own process.

    uv run python -m bench.run [--quick] [--only NAME] [--repeat N] [--write-readme]

Every run is a child process timed from the outside (wall time including Python start-up) with its peak
resident memory read from `os.wait4`. Every assignment, bookplan's included, is scored by the same
solver-free `bench.baselines.score`. Raw results go to `bench/results/<date>.json`; a markdown table is
printed and, with `--write-readme`, placed between the results markers of `bench/README.md`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import books
from bench.baselines import Instance, build_instance, score
from solver.schema import Book

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
START_MARK, END_MARK = "<!-- results:start -->", "<!-- results:end -->"
# A child that overruns its own time limit by this much (model building included) is stopped.
GRACE_SECONDS = 90.0


@dataclass
class PeerSpec:
    name: str
    time_limit: float | None = None
    label: str = ""
    skip: str = ""  # why the peer does not run on this scenario

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass
class Scenario:
    name: str
    description: str
    target: str
    make_book: Callable[[], Book]
    time_limit: float  # passed to `bookplan solve --time-limit`
    repeat: int
    peers: list[PeerSpec] = field(default_factory=list)
    kind: str = "balance"  # "balance", "rebalance" or "min_cost"
    # The engine issue's targets, checked on bookplan's median run: wall_seconds, peak_rss_mib,
    # gap_points (every pool within), optimal, band (no CSM out of it), moves_ratio, cost_gap_pct.
    limits: dict[str, float] = field(default_factory=dict)


def scenarios(quick: bool) -> list[Scenario]:
    def naive(limit: float, label: str = "") -> list[PeerSpec]:
        return [
            PeerSpec("naive_cpsat", limit, label and f"naive CP-SAT {label}"),
            PeerSpec("highs_mip", limit, label and f"HiGHS MIP {label}"),
        ]

    greedy = [PeerSpec("round_robin"), PeerSpec("least_loaded")]
    out = [
        Scenario(
            "fresh-1k",
            "1,000 accounts, ~27 CSMs, nobody assigned yet",
            "optimal, ≤ 5 s",
            lambda: books.generate_book(1000, seed=1),
            time_limit=4.8,  # the whole command: bookplan solve counts its start-up against it
            repeat=1 if quick else 3,
            peers=greedy + naive(20),
            limits={"optimal": 1, "wall_seconds": 5},
        ),
    ]
    if not quick:
        out += [
            Scenario(
                "fresh-20k",
                "20,000 accounts, ~420 CSMs, nobody assigned yet",
                "every pool within 1 point of its bound, ≤ 30 s, ≤ 2 GiB",
                lambda: books.generate_book(20_000, seed=2),
                time_limit=27.0,
                repeat=3,
                peers=greedy + naive(30),
                limits={"gap_points": 1, "wall_seconds": 30, "peak_rss_mib": 2048},
            ),
            Scenario(
                "fresh-100k",
                "100,000 accounts, ~2,100 CSMs, nobody assigned yet",
                "every pool within 2 points of its bound, ≤ 120 s, ≤ 6 GiB",
                lambda: books.generate_book(100_000, seed=3),
                time_limit=110.0,
                repeat=1,
                limits={"gap_points": 2, "wall_seconds": 120, "peak_rss_mib": 6144},
                peers=[
                    *greedy,
                    PeerSpec(
                        "naive_cpsat",
                        skip="not run: ~19 M pair variables, the model does not fit in memory or time",
                    ),
                    PeerSpec("highs_mip", skip="not run: ~19 M binary columns, as above"),
                ],
            ),
            Scenario(
                "rebalance-3k",
                "3,000-account historical book: skewed loads, a leaver per large pool, ramping hires, "
                "5 % new accounts, pins and renewal/onboarding freezes",
                "every CSM within ±10 points of the pool mean, moves within 5 % of the least possible",
                lambda: books.generate_rebalance_book(3000, seed=4),
                time_limit=20.0,
                repeat=3,
                peers=greedy + naive(20),
                kind="rebalance",
                limits={"band": 1, "moves_ratio": 1.05},
            ),
        ]
    gap_sizes = [(10, 200)] if quick else [(10, 200), (20, 400)]
    reference = 20.0 if quick else 60.0
    for n_csms, n_accounts in gap_sizes:
        out.append(
            Scenario(
                f"gap-{n_csms}x{n_accounts}",
                f"min_cost generalized assignment: {n_csms} CSMs x {n_accounts} accounts, pair-dependent "
                "hours and costs, capacity 80-90 % used by the cheapest fit",
                "within 0.5 % of the optimum, ≤ 30 s",
                functools.partial(books.generate_gap_book, n_csms, n_accounts, seed=5),
                time_limit=28.0 if not quick else 10.0,
                repeat=1 if quick else 3,
                peers=naive(reference, f"({reference:.0f} s)"),
                kind="min_cost",
                limits={"cost_gap_pct": 0.5, "wall_seconds": 30},
            )
        )
    return out


# ---------------------------------------------------------------- measuring one child


@dataclass
class Measured:
    returncode: int | None
    wall_seconds: float
    peak_rss_mib: float
    timed_out: bool
    stderr_tail: str


def measure(cmd: list[str], timeout: float, log: Path) -> Measured:
    """Run `cmd` to completion through `bench/launch.py`: its own wall time and peak RSS (see there)."""
    launcher = [sys.executable, "-S", str(ROOT / "bench" / "launch.py")]
    with log.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*launcher, *cmd], cwd=ROOT, stdout=subprocess.PIPE, stderr=err, start_new_session=True
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the command share the group
            out, _ = proc.communicate()
            timed_out = True
        wall = time.perf_counter() - started
    tail = log.read_text(errors="replace")[-600:]
    try:
        report = json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Measured(None, wall, 0.0, timed_out, tail)
    return Measured(
        report["returncode"], report["wall_seconds"], report["peak_rss_kib"] / 1024, timed_out, tail
    )


def bookplan_command() -> list[str]:
    local = ROOT / ".venv" / "bin" / "bookplan"
    if local.exists():
        return [str(local)]
    uv = shutil.which("uv")
    return [uv, "run", "--frozen", "bookplan"] if uv else [sys.executable, "-m", "app.cli"]


# ---------------------------------------------------------------- running a scenario


def _plan_assignment(plan: dict[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {a["account"]: a["csm"] for a in plan.get("assignments", [])}
    for u in plan.get("unassigned", []):
        out[u["account"]] = None
    return out


def run_bookplan(
    scn: Scenario, book: Book, inst: Instance, book_path: Path, work: Path, i: int
) -> dict[str, Any]:
    plan_path = work / f"{scn.name}-plan-{i}.json"
    cmd = [
        *bookplan_command(),
        "solve",
        str(book_path),
        "-o",
        str(plan_path),
        "--time-limit",
        str(scn.time_limit),
    ]
    m = measure(cmd, scn.time_limit + GRACE_SECONDS, work / f"{scn.name}-bookplan-{i}.log")
    row: dict[str, Any] = {
        "tool": "bookplan",
        "wall_seconds": round(m.wall_seconds, 3),
        "peak_rss_mib": round(m.peak_rss_mib, 1),
        "returncode": m.returncode,
    }
    if m.timed_out or m.returncode not in (0, 3) or not plan_path.exists():
        row.update(
            status="error", note=f"exit {m.returncode}{' (killed)' if m.timed_out else ''}: {m.stderr_tail}"
        )
        return row
    plan = json.loads(plan_path.read_text())
    row["status"] = plan["status"]
    row["solver_seconds"] = plan.get("solver", {}).get("seconds")
    row["reported"] = {
        "max_utilization": plan.get("max_utilization"),
        "max_utilization_bound": plan.get("max_utilization_bound"),
        "total_cost": plan.get("total_cost"),
        "cost_bound": plan.get("cost_bound"),
        "moves_bound": sum(p.get("moves_bound") or 0 for p in plan.get("pools", [])) or None,
        "pools": [
            {
                k: p.get(k)
                for k in (
                    "pool",
                    "max_utilization",
                    "max_utilization_bound",
                    "status",
                    "moves",
                    "moves_bound",
                )
            }
            for p in plan.get("pools", [])
        ],
    }
    row["score"] = score(book, _plan_assignment(plan), inst)
    return row


def run_peer(spec: PeerSpec, book: Book, inst: Instance, book_path: Path, work: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"tool": spec.title, "peer": spec.name, "time_limit": spec.time_limit}
    if spec.skip:
        row.update(status="skipped", note=spec.skip)
        return row
    out = work / f"{book_path.stem}-{spec.name}.json"
    cmd = [sys.executable, "-m", "bench.peer", spec.name, str(book_path), str(out)]
    if spec.time_limit is not None:
        cmd += ["--time-limit", str(spec.time_limit)]
    m = measure(cmd, (spec.time_limit or 60.0) + GRACE_SECONDS, work / f"{book_path.stem}-{spec.name}.log")
    row.update(
        wall_seconds=round(m.wall_seconds, 3), peak_rss_mib=round(m.peak_rss_mib, 1), returncode=m.returncode
    )
    if m.timed_out or m.returncode != 0 or not out.exists():
        why = f"killed after {m.wall_seconds:.0f} s" if m.timed_out else f"exit {m.returncode}"
        row.update(
            status="no_solution_in_time" if m.timed_out else "error", note=f"{why}: {m.stderr_tail[-300:]}"
        )
        return row
    run = json.loads(out.read_text())
    row.update(
        status=run["status"],
        solver_seconds=round(run["seconds"], 3),
        build_seconds=round(run["build_seconds"], 3),
        objective=run["objective"],
        bound=run["bound"],
    )
    if run["status"] in ("no_solution_in_time", "infeasible"):
        row["note"] = (
            f"no solution in {spec.time_limit:.0f} s" if run["status"] == "no_solution_in_time" else ""
        )
        return row
    row["score"] = score(book, run["assignment"], inst)
    return row


def book_stats(book: Book, inst: Instance) -> dict[str, Any]:
    return {
        "accounts": len(book.accounts),
        "csms": len(book.csms),
        "pairs": len(book.pairs),
        "eligible_pairs": sum(len(e) for e in inst.eligible),
        "assigned_before": sum(1 for a in book.accounts if a.current_csm is not None),
        "pinned": sum(1 for a in book.accounts if a.pinned),
        "frozen": sum(1 for f in inst.frozen_to if f is not None),
        "left_csms": sum(inst.left),
    }


def run_scenario(scn: Scenario, work: Path, repeat: int | None, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.perf_counter()
    book = scn.make_book()
    generated = time.perf_counter() - started
    inst = build_instance(book)
    book_path = work / f"{scn.name}.json"
    book_path.write_text(book.model_dump_json(exclude_none=True))
    size = f"{len(book.accounts):,} accounts, {len(book.csms):,} CSMs"
    log(f"{scn.name}: {size} (generated in {generated:.2f} s)")
    runs: list[dict[str, Any]] = []
    for i in range(repeat or scn.repeat):
        row = run_bookplan(scn, book, inst, book_path, work, i)
        took = f"{row['wall_seconds']:.1f} s, {row['peak_rss_mib']:.0f} MiB"
        log(f"  bookplan #{i + 1}: {row['status']} in {took}")
        runs.append(row)
    peers = []
    for spec in scn.peers:
        row = run_peer(spec, book, inst, book_path, work)
        log(
            f"  {spec.title}: {row['status']}"
            + (f" in {row['wall_seconds']:.1f} s" if "wall_seconds" in row else "")
        )
        peers.append(row)
    result = {
        "name": scn.name,
        "description": scn.description,
        "target": scn.target,
        "limits": scn.limits,
        "kind": scn.kind,
        "time_limit": scn.time_limit,
        "generate_seconds": round(generated, 3),
        "book": book_stats(book, inst),
        "bookplan": runs,
        "peers": peers,
    }
    if scn.kind == "min_cost":
        result["reference"] = _cost_reference(result)
    return result


def _valid(row: dict[str, Any]) -> bool:
    s = row.get("score")
    return s is not None and s["unassigned"] == 0 and s["cap_violations"] == 0


def _cost_reference(result: dict[str, Any]) -> dict[str, Any]:
    """Best known cost (lowest valid plan of any run) and best proven lower bound (highest of any solver)."""
    rows = result["bookplan"] + result["peers"]
    costs = [r["score"]["total_cost"] for r in rows if _valid(r)]
    bounds = [r["bound"] for r in result["peers"] if r.get("bound") is not None]
    bounds += [
        r["reported"]["cost_bound"] for r in result["bookplan"] if (r.get("reported") or {}).get("cost_bound")
    ]
    best = min(costs) if costs else None
    bound = max(bounds) if bounds else None
    return {
        "best_known": best,
        "best_bound": bound,
        "proven_optimal": best is not None and bound is not None and best - bound < 0.5,
    }


# ---------------------------------------------------------------- reporting


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if "score" in r] or rows
    ordered = sorted(ok, key=lambda r: r.get("wall_seconds", 0.0))
    row = dict(ordered[(len(ordered) - 1) // 2])
    walls = [r["wall_seconds"] for r in rows if "wall_seconds" in r]
    rss = [r["peak_rss_mib"] for r in rows if "peak_rss_mib" in r]
    if walls:
        row["wall_seconds"] = statistics.median(walls)
    if rss:
        row["peak_rss_mib"] = statistics.median(rss)
    row["runs"] = len(rows)
    return row


def _fmt_row(result: dict[str, Any], row: dict[str, Any]) -> list[str]:
    s = row.get("score")
    runs = row.get("runs", 1)
    wall = (
        f"{row['wall_seconds']:.1f}" + (f" (median of {runs})" if runs > 1 else "")
        if "wall_seconds" in row
        else "–"
    )
    rss = f"{row['peak_rss_mib']:,.0f}" if "peak_rss_mib" in row else "–"
    status = row.get("status", "?")
    if not s:
        note = row.get("note", "")
        return [
            result["name"],
            row["tool"],
            status,
            wall,
            rss,
            "–",
            "–",
            "–",
            "–",
            note.split(":")[0] if note else "–",
        ]
    util = f"{s['max_utilization']:.1%}"
    worst = f"{s['worst_gap_points']:.2f}"
    if result["kind"] == "min_cost":
        ref = result.get("reference") or {}
        best = ref.get("best_known")
        util = f"cost {s['total_cost']:,.0f}"
        if not _valid(row):  # a cheaper plan that leaves accounts out is no plan to compare
            worst = "not comparable"
        else:
            worst = f"{100 * (s['total_cost'] - best) / best:.2f} %" if best else "–"
    moves = f"{s['moves']} (≥ {s['moves_bound']})" if result["kind"] == "rebalance" else str(s["moves"])
    band = str(s["out_of_band"]) if result["kind"] != "min_cost" else "–"
    broken = ", ".join(f"{k} {v}" for k, v in s["violations"].items() if v) or "0"
    return [
        result["name"],
        row["tool"],
        status,
        wall,
        rss,
        util,
        worst,
        band,
        moves,
        f"{s['unassigned']} / {broken}",
    ]


def verdict(result: dict[str, Any]) -> str:
    """Whether bookplan's median run met the scenario's targets, and if not, which and by how much."""
    if not result["bookplan"]:
        return "not run"
    row = _median_row(result["bookplan"])
    s = row.get("score")
    if not s:
        return f"missed: {row.get('status')} ({row.get('note', '')[:80]})"
    limits = result.get("limits", {})
    missed = []
    if s["unassigned"] or s["cap_violations"]:
        missed.append(f"{s['unassigned']} unassigned, {s['cap_violations']} broken rules")
    if "wall_seconds" in limits and row["wall_seconds"] > limits["wall_seconds"]:
        missed.append(f"wall {row['wall_seconds']:.1f} s > {limits['wall_seconds']:.0f} s")
    if "peak_rss_mib" in limits and row["peak_rss_mib"] > limits["peak_rss_mib"]:
        missed.append(f"memory {row['peak_rss_mib']:,.0f} MiB > {limits['peak_rss_mib']:,.0f} MiB")
    if limits.get("optimal") and row.get("status") != "optimal":
        missed.append(f"status {row.get('status')}, not optimal")
    if "gap_points" in limits and s["worst_gap_points"] > limits["gap_points"]:
        missed.append(
            f"worst pool {s['worst_gap_points']:.2f} points above its bound > {limits['gap_points']:g}"
        )
    if limits.get("band") and s["out_of_band"]:
        missed.append(f"{s['out_of_band']} CSMs outside the band")
    if "moves_ratio" in limits and s["moves"] > limits["moves_ratio"] * s["moves_bound"]:
        missed.append(f"{s['moves']} moves > {limits['moves_ratio']:.2f} x bound {s['moves_bound']}")
    if "cost_gap_pct" in limits:
        best = (result.get("reference") or {}).get("best_known")
        if best and _valid(row):
            gap = 100 * (s["total_cost"] - best) / best
            if gap > limits["cost_gap_pct"]:
                missed.append(f"cost {gap:.2f} % above the best known > {limits['cost_gap_pct']:g} %")
    return "met" if not missed else "missed: " + "; ".join(missed)


HEADER = [
    "scenario",
    "tool",
    "status",
    "wall s",
    "peak MiB",
    "largest util. / cost",
    "worst pool gap (pts) / cost gap",
    "CSMs out of ±10 band",
    "moves (≥ bound)",
    "unassigned / broken rules",
]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Run {results['date']} on {results['machine']['cpus']} CPUs ({results['machine']['platform']}), "
        f"OR-Tools {results['machine']['ortools']}, HiGHS {results['machine']['highspy']}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    for result in results["scenarios"]:
        rows = [_median_row(result["bookplan"])] if result["bookplan"] else []
        rows += result["peers"]
        for row in rows:
            lines.append("| " + " | ".join(_fmt_row(result, row)) + " |")
    lines += ["", "Targets (bookplan, median run):", ""]
    for result in results["scenarios"]:
        lines.append(f"- {result['name']} ({result['target']}): {verdict(result)}")
    refs = [r for r in results["scenarios"] if r.get("reference")]
    if refs:
        lines.append("")
        for r in refs:
            ref = r["reference"]
            best, bound = ref["best_known"], ref["best_bound"]
            if best is None:
                lines.append(f"- {r['name']}: no valid plan from any tool.")
                continue
            if ref["proven_optimal"]:
                proof = "proven optimal"
            elif bound:
                within = 100 * (best - bound) / bound
                proof = f"at most {within:.2f} % above the optimum: best proven bound {bound:,.0f}"
            else:
                proof = "no proven bound"
            lines.append(f"- {r['name']}: best known cost {best:,.0f} ({proof}).")
    return "\n".join(lines)


def write_readme(table: str, path: Path = README) -> None:
    """Replace what lies between the results markers of the README, and nothing else."""
    text = path.read_text()
    start, end = text.index(START_MARK), text.index(END_MARK)
    path.write_text(text[: start + len(START_MARK)] + "\n" + table + "\n" + text[end:])


def _machine() -> dict[str, Any]:
    def version(module: str) -> str:
        try:
            from importlib.metadata import version as v

            return v(module)
        except Exception:
            return "?"

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "ortools": version("ortools"),
        "highspy": version("highspy"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark bookplan against its peers."
    )
    parser.add_argument("--quick", action="store_true", help="1k fresh and one small GAP book (~2 minutes)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this scenario (repeatable)")
    parser.add_argument("--repeat", type=int, default=None, help="bookplan runs per scenario (median quoted)")
    parser.add_argument("--write-readme", action="store_true", help="put the table into bench/README.md")
    parser.add_argument(
        "--out", type=Path, default=None, help="raw results file (default bench/results/<date>.json)"
    )
    parser.add_argument(
        "--from-json", type=Path, metavar="RESULTS", help="only re-render the table of a saved run"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        try:
            saved = json.loads(args.from_json.read_text())
        except (OSError, ValueError) as exc:
            parser.error(f"--from-json: cannot read {args.from_json} ({exc})")
        known = {s.name: s for s in scenarios(True)} | {s.name: s for s in scenarios(False)}
        for result in saved["scenarios"]:
            if "limits" not in result and result["name"] in known:
                result["limits"] = known[result["name"]].limits
        table = markdown(saved)
        print(table)
        if args.write_readme:
            write_readme(table)
        return 0

    chosen = scenarios(args.quick)
    if args.only:
        # A scenario outside the quick set still runs in full when named with --quick.
        pool = {s.name: s for s in scenarios(False)} | {s.name: s for s in chosen}
        unknown = [n for n in args.only if n not in pool]
        if unknown:
            parser.error(f"--only: unknown scenario {unknown[0]!r} (known: {', '.join(sorted(pool))})")
        chosen = [pool[n] for n in dict.fromkeys(args.only)]
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat: must be at least 1 (got {args.repeat})")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "scenarios": [],
    }
    with tempfile.TemporaryDirectory(prefix="bookplan-bench-") as tmp:
        for scn in chosen:
            results["scenarios"].append(run_scenario(scn, Path(tmp), args.repeat, log))
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    out = args.out or RESULTS / f"{now:%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    print(table)
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    log(f"raw results: {where} ({results['total_seconds']} s)")
    if args.write_readme:
        write_readme(table)
        log(f"table written to {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
