"""Deciding a rebalance, timed end to end through the service on the 3,000-account rebalance book.

`python -m bench.frontier_bench [--repeat N] [--accounts 3000] [--frontier-limit 50] [--plan-limit 8]
[--yardstick SECONDS]`

Each run: a fresh migrated SQLite database, the book stored, the service app with its embedded runner
(children from the fork server, as in production). Timed from the request to the job's `succeeded`:
- **frontier**: `POST /v1/plans {"frontier": true}`; every point is re-read as a stored plan and checked by
  the solver-free validator, within its budget and no worse than the smaller budget's;
- **replan of one veto**: a plan, then `POST /v1/plans/{id}/replan {"reject": [one balancing move]}`; the
  re-plan is validated and the rejected account checked to stay with its CSM;
- **yardstick** (with `--yardstick SECONDS`, after the service is closed): at two points (the fewest moves,
  and a middle point with fewer CSMs out of band), `bench.yardstick.least_moves_for_balance` per pool,
  SECONDS per point: is the point's number of moves within 5 % of the least possible for its balance?
Prints JSON; the medians go to bench/README.md by hand ("Deciding a rebalance").
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database, migrate
from app.main import create_app
from app.services.keys import create_key
from bench.books import generate_rebalance_book
from bench.yardstick import least_moves_for_balance
from solver.frontier import with_budget
from solver.plan_figures import csms_out_of_band, rank
from solver.schema import Book, Plan
from solver.validation import validate_plan


def _service(path: Path) -> tuple[TestClient, dict[str, str]]:
    url = f"sqlite:///{path}"
    migrate(url)
    db = Database(url)
    with db.session() as session:
        key = create_key(session, ["ops"], name="bench")[1]
    db.dispose()
    settings = Settings(database_url=url, runner="inprocess", job_hard_deadline_grace_seconds=30)
    client = TestClient(create_app(settings))
    client.__enter__()
    return client, {"Authorization": f"Bearer {key}"}


def _wait(client: TestClient, headers: dict[str, str], plan_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/plans/{plan_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"plan {plan_id} still {job['status']} after {timeout} s")
        time.sleep(0.05)


def check_frontier(
    client: TestClient, headers: dict[str, str], book: Book, points: list[dict[str, Any]]
) -> list[str]:
    """Every point re-read as a stored plan: valid, within budget, no worse than the smaller budget's."""
    problems = []
    ranks = []
    for point in points:
        plan = Plan.model_validate(
            client.get(f"/v1/plans/{point['plan_id']}", headers=headers).json()["plan"]
        )
        violations = validate_plan(with_budget(book, point["max_moves"]), plan)
        problems += [f"point {point['max_moves']}: {v}" for v in violations]
        if point["max_moves"] is not None and len(plan.moves) > point["max_moves"]:
            problems.append(f"point {point['max_moves']}: {len(plan.moves)} moves")
        ranks.append(rank(book, plan))
    problems += [
        f"points {i}→{i + 1} not monotone" for i, (a, b) in enumerate(itertools.pairwise(ranks)) if b > a
    ]
    return problems


def pick_points(points: list[dict[str, Any]]) -> list[int]:
    """Two points to hold against the yardstick: the fewest moves, and the middle one of the points with
    fewer CSMs out of band than it (the last point when none has fewer; nothing more when there is one)."""
    if len(points) < 2:
        return list(range(len(points)))
    fewer = [i for i, p in enumerate(points) if p["csms_out_of_band"] < points[0]["csms_out_of_band"]]
    return [0, fewer[(len(fewer) - 1) // 2] if fewer else len(points) - 1]


def yardstick_point(book: Book, point: dict[str, Any], plan: Plan, time_limit: float) -> dict[str, Any]:
    """A point's moves against the least possible for its balance, per pool and in total: within 5 % when
    its moves are at most 1.05 times HiGHS's proven bound (proven), or 1.05 times the MIP's best plan."""
    yard = least_moves_for_balance(book, plan, time_limit=time_limit)
    pool_name = {load.csm: load.pool for load in plan.csm_loads}
    moves = len(plan.moves)
    pools = []
    for p, mine in sorted(yard.plan.items(), key=lambda kv: -kv[1].moves):
        status, least, bound = yard.pools.get(p, ("empty", 0, 0))
        if mine.moves or least:
            pools.append(
                {
                    "pool": next((pool_name[c] for c in mine.csms if pool_name.get(c)), mine.csms[0]),
                    "moves": mine.moves,
                    "max_utilization": round(float(mine.max_utilization), 4),
                    "out_of_band": mine.out_of_band,
                    "served": f"{mine.served}/{mine.accounts}",
                    "status": status,
                    "least_moves": least,
                    "bound": bound,
                }
            )
    problems = []
    if sum(p.moves for p in yard.plan.values()) != moves:
        problems.append(
            f"yardstick: the pools' moves add to {sum(p.moves for p in yard.plan.values())}, not {moves}"
        )
    out_of_band = sum(p.out_of_band for p in yard.plan.values())
    if out_of_band != csms_out_of_band(book, plan):
        problems.append(
            f"yardstick: {out_of_band} CSMs out of band by pool, {csms_out_of_band(book, plan)} in all"
        )
    if yard.moves is not None and yard.moves > moves:
        problems.append(f"yardstick: least moves {yard.moves} above the point's own {moves}")
    if yard.status in ("infeasible", "unknown"):
        problems.append(f"yardstick: {yard.status} in some pool")
    return {
        "max_moves": point["max_moves"],
        "moves": moves,
        "max_utilization": point["max_utilization"],
        "csms_out_of_band": point["csms_out_of_band"],
        "yardstick_status": yard.status,
        "least_moves": yard.moves,
        "least_moves_bound": yard.bound,
        "yardstick_seconds": round(yard.seconds, 1),
        "within_5pct_proven": moves <= 1.05 * yard.bound,
        "within_5pct_of_incumbent": yard.moves is not None and moves <= 1.05 * yard.moves,
        "pools": pools,
        "problems": problems,
    }


def one_run(
    n_accounts: int, frontier_limit: float, plan_limit: float, seed: int, yardstick: float = 0.0
) -> dict[str, Any]:
    book = generate_rebalance_book(n_accounts, seed=seed)
    data = book.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["policy"]["time_limit_seconds"] = plan_limit
    stored = Book.model_validate(data)
    with tempfile.TemporaryDirectory() as tmp:
        client, headers = _service(Path(tmp) / "bench.db")
        try:
            assert client.put("/v1/book", json=data, headers=headers).status_code == 200
            started = time.perf_counter()
            created = client.post(
                "/v1/plans",
                json={"frontier": True, "policy": {"time_limit_seconds": frontier_limit}},
                headers=headers,
            )
            job = _wait(client, headers, created.json()["id"])
            frontier_seconds = time.perf_counter() - started
            points = job.get("frontier") or []
            problems = (
                check_frontier(client, headers, stored, points)
                if job["status"] == "succeeded"
                else [job["error"]]
            )
            picked = {
                i: Plan.model_validate(
                    client.get(f"/v1/plans/{points[i]['plan_id']}", headers=headers).json()["plan"]
                )
                for i in (pick_points(points) if yardstick > 0 else [])
            }

            parent = _wait(client, headers, client.post("/v1/plans", json={}, headers=headers).json()["id"])
            left = {
                c.id
                for c in stored.csms
                if c.end_date is not None and stored.policy.as_of and c.end_date <= stored.policy.as_of
            }
            candidates = [m["account"] for m in parent["plan"]["moves"] if m["from"] not in left]
            replan_seconds, plan, veto, created = None, None, None, None
            for candidate in candidates[:20]:  # the first balancing move whose CSM may keep the account
                started = time.perf_counter()
                created = client.post(
                    f"/v1/plans/{parent['id']}/replan", json={"reject": [candidate]}, headers=headers
                )
                if created.status_code == 202:
                    veto = candidate
                    break
            if veto is None or created is None:
                problems.append("replan: the plan makes no balancing move that can be vetoed")
            else:
                child = _wait(client, headers, created.json()["id"])
                replan_seconds = time.perf_counter() - started
                plan = Plan.model_validate(child["plan"])
                problems += [f"replan: {v}" for v in validate_plan(stored, plan)]
                stays = {a.account: a.csm for a in plan.assignments}.get(veto)
                current = {a.id: a.current_csm for a in stored.accounts}[veto]
                if stays != current:
                    problems.append(f"replan: vetoed {veto} went to {stays}, not {current}")
        finally:
            client.__exit__(None, None, None)
    yardsticks = [yardstick_point(stored, points[i], plan, yardstick) for i, plan in picked.items()]
    problems += [f"point {y['max_moves']}: {p}" for y in yardsticks for p in y.pop("problems")]
    return {
        "accounts": n_accounts,
        "csms": len(stored.csms),
        "frontier_seconds": round(frontier_seconds, 2),
        "frontier_points": len(points),
        "frontier": [
            {
                k: p[k]
                for k in (
                    "max_moves",
                    "moves",
                    "max_utilization",
                    "max_utilization_bound",
                    "csms_out_of_band",
                    "unassigned",
                    "kept_from",
                )
            }
            for p in points
        ],
        "parent_moves": len(parent["plan"]["moves"]),
        "replan_seconds": None if replan_seconds is None else round(replan_seconds, 2),
        "replan_moves": None if plan is None else len(plan.moves),
        "replan_status": None if plan is None else plan.status,
        "yardstick": yardsticks,
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--frontier-limit", type=float, default=50.0)
    parser.add_argument("--plan-limit", type=float, default=8.0)
    parser.add_argument(
        "--yardstick", type=float, default=0.0, help="seconds of the exact MIP at each of two points (0: off)"
    )
    args = parser.parse_args(argv)
    runs = [
        one_run(args.accounts, args.frontier_limit, args.plan_limit, seed=0, yardstick=args.yardstick)
        for _ in range(args.repeat)
    ]
    summary = {
        "frontier_seconds_median": statistics.median(r["frontier_seconds"] for r in runs),
        "frontier_points_min": min(r["frontier_points"] for r in runs),
        "replan_seconds_median": statistics.median(
            r["replan_seconds"] for r in runs if r["replan_seconds"] is not None
        )
        if any(r["replan_seconds"] is not None for r in runs)
        else None,
        "yardstick": [
            {k: y[k] for k in ("moves", "least_moves", "least_moves_bound", "within_5pct_proven")}
            for r in runs
            for y in r["yardstick"]
        ],
        "problems": sum(len(r["problems"]) for r in runs),
    }
    print(json.dumps({"summary": summary, "runs": runs}, indent=1))
    return 0 if summary["problems"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
