"""Times the handoff scheduler and compares it with the obvious greedy: `python -m bench.handoffs_bench`.

For each generated rebalance book (`bench.books.generate_rebalance_book`: leavers whose accounts must
move, skewed loads; `handoffs_per_week` 3 so the limit binds), the engine plans it once; then, on that plan's moves, in one run side by side:
- `exact`: `solver.handoffs.schedule_handoffs` (min-cost flow per receiving CSM), timed over 5 runs;
- `greedy`: each receiving CSM's moves in priority order (leavers, then nearest renewal), each into the
  earliest week with room outside its freeze — what a person with a spreadsheet does.
Prints, per book: moves, receiving CSMs, median seconds of each, the schedule's length in weeks (longest and
summed over receiving CSMs) and the leaver moves past the deadline. Both schedules are checked by
`solver.validation_handoffs` rules that do not depend on optimality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.books import generate_rebalance_book
from solver import policy as rules
from solver.engine import solve
from solver.handoffs import handoff_day, handoff_jobs, is_late, priority_key, schedule_handoffs
from solver.schema import Book, Plan


def greedy_waves(book: Book, plan: Plan) -> dict[str, int]:
    """Earliest week with room, most urgent first, per receiving CSM."""
    as_of = plan.as_of or rules.as_of(book.policy)
    freeze, per_week = book.policy.renewal_freeze_days, book.policy.handoffs_per_week
    jobs = handoff_jobs(book, plan.moves, as_of)
    used: dict[tuple[str, int], int] = {}
    waves: dict[str, int] = {}
    for job in sorted(jobs, key=lambda j: (j.receiver, priority_key(j), j.account)):
        wave = 1
        while handoff_day(job, as_of, wave, freeze) is None or used.get((job.receiver, wave), 0) >= per_week:
            wave += 1
        used[(job.receiver, wave)] = used.get((job.receiver, wave), 0) + 1
        waves[job.account] = wave
    return waves


def figures(book: Book, plan: Plan, waves: dict[str, int]) -> dict[str, int]:
    as_of = plan.as_of or rules.as_of(book.policy)
    jobs = {j.account: j for j in handoff_jobs(book, plan.moves, as_of)}
    longest: dict[str, int] = {}
    late = 0
    for account, wave in waves.items():
        job = jobs[account]
        longest[job.receiver] = max(longest.get(job.receiver, 0), wave)
        day = handoff_day(job, as_of, wave, book.policy.renewal_freeze_days)
        assert day is not None
        late += is_late(job, day)
    return {"weeks_max": max(longest.values()), "weeks_sum": sum(longest.values()), "late": late}


def run(accounts: int, seed: int) -> dict[str, object]:
    book = generate_rebalance_book(accounts, seed=seed)
    policy = book.policy.model_copy(update={"handoffs_per_week": 3, "time_limit_seconds": 20.0})
    book = book.model_copy(update={"policy": policy})
    plan = solve(book)
    assert plan.moves, plan.status
    bare = plan.model_copy(
        update={"moves": [m.model_copy(update={"wave": None, "handoff_on": None}) for m in plan.moves]}
    )
    exact_times, greedy_times = [], []
    for _ in range(5):
        started = time.perf_counter()
        exact = schedule_handoffs(book, bare)
        exact_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        greedy = greedy_waves(book, bare)
        greedy_times.append(time.perf_counter() - started)
    return {
        "accounts": accounts,
        "moves": len(plan.moves),
        "receivers": len({m.to for m in plan.moves}),
        "exact_seconds": round(statistics.median(exact_times), 4),
        "greedy_seconds": round(statistics.median(greedy_times), 4),
        "exact": figures(book, plan, {m.account: m.wave or 0 for m in exact.moves}),
        "greedy": figures(book, plan, greedy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[3000, 10000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for accounts in args.accounts:
        print(json.dumps(run(accounts, args.seed)), flush=True)


if __name__ == "__main__":
    main()
