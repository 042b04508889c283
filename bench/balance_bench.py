"""Balance beyond hours, tight books and the peers, side by side in one run (issue 11's targets).

    uv run python -m bench.balance_bench [--only NAME] [--quick]

Each bookplan solve is `bookplan solve BOOK --time-limit S` in a child process, timed from the outside
(start-up included) with its peak memory from `os.wait4` (through `bench/launch.py`); every plan is re-checked by the solver-free
validator. Peers run in this process. Results: printed as markdown and saved to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import books
from bench.balance_peers import book_making, greedy_least_arr, highs_served_arr, judge
from bench.run import measure
from bench.yardstick import least_moves_with_all_bands
from solver import policy as rules
from solver.schema import Book, Plan
from solver.validation import validate_plan

ROOT = Path(__file__).resolve().parents[1]
BOOKPLAN = ROOT / ".venv" / "bin" / "bookplan"
MAX_MIPS = 4


def with_metrics(book: Book, metrics: dict[str, float], *, health_seed: int | None = None) -> Book:
    """The book with `balance_metrics`, and (for red_accounts) a seeded health per account: 15 % red."""
    accounts = book.accounts
    if health_seed is not None:
        rng = random.Random(health_seed)
        accounts = [
            a.model_copy(update={"health": rng.choices(["green", "yellow", "red"], [0.6, 0.25, 0.15])[0]})
            for a in accounts
        ]
    policy = book.policy.model_copy(update={"balance_metrics": metrics})
    return book.model_copy(update={"accounts": accounts, "policy": policy})


def run_bookplan(book: Book, time_limit: float) -> tuple[Plan, float, float]:
    """(plan, wall seconds end to end, peak RSS MiB) of `bookplan solve` in a child process, started
    through `bench/launch.py`: a child forked straight from this process would count the bench's own
    memory (its books, plans and MIPs, 800+ MiB late in a run) as its peak."""
    with tempfile.TemporaryDirectory(prefix="bookplan-bal-") as tmp:
        src, out = Path(tmp) / "book.json", Path(tmp) / "plan.json"
        src.write_text(book.model_dump_json(by_alias=True, exclude_none=True))
        cmd = [str(BOOKPLAN), "solve", str(src), "-o", str(out), "--time-limit", str(time_limit)]
        report = measure(cmd, time_limit + 120.0, Path(tmp) / "solve.log")
        if report.returncode != 0 and not out.exists():
            raise RuntimeError(f"bookplan solve exited {report.returncode}: {report.stderr_tail}")
        plan = Plan.model_validate_json(out.read_text())
    return plan, report.wall_seconds, report.peak_rss_mib


def _plan_figures(book: Book, plan: Plan, wall: float, rss: float) -> dict[str, Any]:
    assignment = {a.account: a.csm for a in plan.assignments} | {u.account: None for u in plan.unassigned}
    figures = judge(book, assignment, book.policy.balance_metrics.get("arr", 0.15))
    out_of_any: dict[str, int] = {}
    for f in plan.fairness:
        out_of_any[f.metric] = out_of_any.get(f.metric, 0) + f.after.out_of_band
    return {
        "status": plan.status,
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(rss),
        "violations": len(validate_plan(book, plan)),
        "max_gap_points": round(
            100 * max((p.max_utilization - p.max_utilization_bound for p in plan.pools), default=0), 2
        ),
        "moves": len(plan.moves),
        "out_of_band": out_of_any,
        **figures,
    }


def fresh(n: int, seed: int, time_limit: float, peers: bool) -> dict[str, Any]:
    book = with_metrics(books.generate_book(n, seed=seed), {"arr": 0.15})
    plan, wall, rss = run_bookplan(book, time_limit)
    rows = {"bookplan": _plan_figures(book, plan, wall, rss)}
    if peers:
        runs = [greedy_least_arr(book)] + ([book_making(book, time_limit)] if n <= 5000 else [])
        for run in runs:
            rows[run.name] = {
                "wall_seconds": round(run.seconds, 1),
                "note": run.note,
                **judge(book, run.assignment),
            }
    return rows


def rebalance(n: int, seed: int, time_limit: float) -> dict[str, Any]:
    book = with_metrics(
        books.generate_rebalance_book(n, seed=seed), {"arr": 0.15, "red_accounts": 0.5}, health_seed=seed
    )
    plan, wall, rss = run_bookplan(book, time_limit)
    rows: dict[str, Any] = {"bookplan": _plan_figures(book, plan, wall, rss)}
    yard = least_moves_with_all_bands(book, time_limit=120)
    rows["yardstick (least moves, all bands)"] = {
        "status": yard.status,
        "moves": yard.moves,
        "moves_bound": yard.bound,
        "wall_seconds": round(yard.seconds, 1),
        "pools": {str(k): v for k, v in yard.pools.items()},
    }
    for run in (greedy_least_arr(book), book_making(book, time_limit)):
        rows[run.name] = {
            "wall_seconds": round(run.seconds, 1),
            "note": run.note,
            **judge(book, run.assignment),
        }
    return rows


def tighten(book: Book, seed: int) -> Book:
    """Each pool (tier x region) at 97-103 % of its CSMs' capacity: every account's hours scaled by one
    seeded factor per pool (parents and caps as generated)."""
    rng = random.Random(seed)
    pol = book.policy
    demand: dict[tuple[str, str | None], float] = {}
    capacity: dict[tuple[str, str | None], float] = {}
    for a in book.accounts:
        demand[a.tier, a.region] = demand.get((a.tier, a.region), 0.0) + rules.account_hours(a, pol)
    for c in book.csms:
        for t in c.tiers:
            for r in c.regions or [None]:
                capacity[t, r] = capacity.get((t, r), 0.0) + rules.capacity_hours(c, pol) / len(c.tiers)
    factor = {k: capacity.get(k, 0.0) / d * rng.uniform(0.97, 1.03) for k, d in demand.items() if d > 0}
    accounts = [
        a.model_copy(
            update={
                "hours_per_year": round(rules.account_hours(a, pol) * factor.get((a.tier, a.region), 1.0), 1)
            }
        )
        for a in book.accounts
    ]
    return book.model_copy(update={"accounts": accounts})


def tight(n: int, seed: int, time_limit: float, mip_seconds: float) -> dict[str, Any]:
    """The book at its usual limit, and again with the time the MIPs get in all (MAX_MIPS x mip_seconds, for
    every pool of the book): per pool, served ARR and bound beside HiGHS's on the pools it is run on."""
    book = tighten(books.generate_book(n, seed=seed), seed)
    plan, wall, rss = run_bookplan(book, time_limit)
    rows: dict[str, Any] = {"bookplan": _plan_figures(book, plan, wall, rss), "pools": []}
    long_plan, long_wall, long_rss = run_bookplan(book, MAX_MIPS * mip_seconds)
    rows["bookplan_equal_time"] = _plan_figures(book, long_plan, long_wall, long_rss)
    long_pools = {p.pool: p for p in long_plan.pools}
    mips = 0
    for pool in sorted(plan.pools, key=lambda p: -(p.served_arr_bound or 0) + (p.served_arr or 0)):
        entry: dict[str, Any] = {
            "pool": pool.pool,
            "utilization_demand": round(pool.demand_hours / pool.capacity_hours, 3)
            if pool.capacity_hours
            else None,
            "served_arr": pool.served_arr,
            "served_arr_bound": pool.served_arr_bound,
            "equal_time": {
                "served_arr": long_pools[pool.pool].served_arr,
                "served_arr_bound": long_pools[pool.pool].served_arr_bound,
            },
        }
        if (
            pool.served_arr_bound is not None
            and pool.served_arr is not None
            and pool.served_arr >= pool.served_arr_bound - 0.5
        ):
            entry["mip"] = "not needed: bookplan's served ARR meets its own proven bound"
        elif mips >= MAX_MIPS:
            entry["mip"] = f"not run: at most {MAX_MIPS} pools per book get the 60 s MIP (machine time)"
        else:
            mips += 1
            served, bound, status = highs_served_arr(book, pool.csms, mip_seconds)
            entry["mip"] = {
                "served_arr": round(served),
                "bound": bound if bound != bound or abs(bound) == float("inf") else round(bound),
                "status": status,
            }
        rows["pools"].append(entry)
    return rows


SCENARIOS = {
    "fresh-20k-arr": lambda quick: fresh(20_000, 2, 27.0, peers=True),
    "fresh-3k-arr": lambda quick: fresh(3000, 7, 10.0, peers=True),
    "fresh-100k-arr": lambda quick: fresh(100_000, 3, 85.0, peers=False),
    "rebalance-3k-arr-red": lambda quick: rebalance(3000, 4, 20.0),
    "tight-3k": lambda quick: tight(3000, 5, 20.0, 60.0),
    "tight-20k": lambda quick: tight(20_000, 6, 27.0, 60.0),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.balance_bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "machine": "2 cores shared with ~7 engineers' builds and tests",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    for name in args.only or list(SCENARIOS):
        print(f"== {name}", file=sys.stderr, flush=True)
        results[name] = SCENARIOS[name](False)
        print(json.dumps(results[name], indent=1), flush=True)
    out = ROOT / "bench" / "results" / f"balance-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps(existing | results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
