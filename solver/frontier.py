"""The moves–balance frontier: the best plan at each move budget, from the fewest moves the hard rules
force to the unconstrained plan, with budgets chosen where the curve bends.

Each point is a whole `Plan` of the book with `policy.max_moves` set to the point's budget (the last point
keeps the book's own budget, usually none). A point is never worse than a smaller budget's: when the solver
returns a worse plan at a larger budget, the smaller budget's plan (valid under the larger budget too) is
kept, and the plan's `warnings` say so. "Worse" follows CONTRACT.md's `balance` priorities: less ARR then
fewer accounts served, then more CSMs outside the hours band, then a higher largest utilization.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solver.engine import solve
from solver.fairness import fairness_of
from solver.plan_figures import csms_out_of_band, rank
from solver.schema import Book, Plan

DEFAULT_POINTS = 6
# The frontier aims to finish by this share of its time limit: a solve can overrun its own limit (building a
# large book's first plan is not interruptible), and a plan job is killed at its hard deadline.
TIME_SHARE = 0.92
MIN_SOLVE_SECONDS = 1.0
# The tolerance that makes (almost) nobody out of band, so the engine's next priority, the fewest moves,
# decides: the plan that only makes the moves the hard rules force.
LEAST_MOVES_TOLERANCE = 1.0

Solve = Callable[..., Plan]


@dataclass
class FrontierPoint:
    """One budget of the frontier and the plan chosen for it."""

    max_moves: int | None
    plan: Plan
    kept_from: int | None = None  # the smaller budget whose plan was kept (the solver's was worse)

    @property
    def moves(self) -> int:
        return len(self.plan.moves)

    def figures(self, book: Book) -> dict[str, Any]:
        """The point as CONTRACT.md lists it (without `plan_id`, which the service gives)."""
        return {
            "max_moves": self.max_moves,
            "moves": self.moves,
            "max_utilization": self.plan.max_utilization,
            "max_utilization_bound": self.plan.max_utilization_bound,
            "csms_out_of_band": csms_out_of_band(book, self.plan),
            "unassigned": len(self.plan.unassigned),
            "status": self.plan.status,
            "fairness": [f.model_dump(mode="json") for f in self.plan.fairness],
            "kept_from": self.kept_from,
        }


@dataclass
class Frontier:
    points: list[FrontierPoint] = field(default_factory=list)
    infeasible: Plan | None = None  # the diagnosis, when the hard rules contradict each other
    notes: list[str] = field(default_factory=list)


def with_budget(book: Book, max_moves: int | None, **policy: Any) -> Book:
    """The book with `policy.max_moves` (and any other policy field given) replaced."""
    return book.model_copy(
        update={"policy": book.policy.model_copy(update={"max_moves": max_moves, **policy})}
    )


def choose_budget(points: list[FrontierPoint], book: Book) -> int | None:
    """The next budget to solve: the middle of the neighbouring pair whose figures change most (largest
    utilization and out-of-band count, each relative to its range over the curve), a wide gap helping."""
    ordered = sorted(points, key=lambda p: _budget_key(p.max_moves, p.moves))
    utils = [p.plan.max_utilization or 0.0 for p in ordered]
    bands = [csms_out_of_band(book, p.plan) for p in ordered]
    util_range = (max(utils) - min(utils)) or 1.0
    band_range = (max(bands) - min(bands)) or 1
    span = max(1, ordered[-1].moves - ordered[0].moves)
    best: tuple[float, int] | None = None
    for i in range(len(ordered) - 1):
        low, high = _budget_of(ordered[i]), _budget_of(ordered[i + 1])
        if high - low < 2:
            continue
        change = abs(utils[i + 1] - utils[i]) / util_range + abs(bands[i + 1] - bands[i]) / band_range
        score = change + 0.5 * (high - low) / span
        if best is None or score > best[0]:
            best = (score, (low + high) // 2)
    return None if best is None else best[1]


def _budget_of(point: FrontierPoint) -> int:
    """The point's budget; the unconstrained point's is the moves it made."""
    return point.max_moves if point.max_moves is not None else point.moves


def _budget_key(max_moves: int | None, moves: int) -> float:
    return float("inf") if max_moves is None else float(max_moves)


def make_monotone(book: Book, points: list[FrontierPoint]) -> list[FrontierPoint]:
    """Order by budget and replace any point worse than a smaller budget's by that plan (it is valid
    under the larger budget too), saying so in the plan's warnings. Returns the points it replaced."""
    points.sort(key=lambda p: _budget_key(p.max_moves, p.moves))
    replaced: list[FrontierPoint] = []
    best: FrontierPoint | None = None
    for i, point in enumerate(points):
        if best is not None and rank(book, point.plan) > rank(book, best.plan):
            note = (
                f"frontier: the solver's plan at a budget of {_budget_text(point.max_moves)} was worse "
                f"than the plan at {_budget_text(best.max_moves)} moves; that plan is kept (it is valid "
                "under this budget too)"
            )
            plan = best.plan.model_copy(update={"warnings": [*best.plan.warnings, note]})
            points[i] = FrontierPoint(point.max_moves, plan, kept_from=best.max_moves)
            replaced.append(points[i])
            continue
        best = point
    return replaced


def least_moves_point(book: Book, budget: int, plan: Plan, fewest: Plan) -> FrontierPoint:
    """The fewest-moves point: the plan at that budget, unless it serves less than the plan that found the
    budget (planned with the band opened wide), which is then kept and says so."""
    if rank(book, plan)[:2] <= rank(book, fewest)[:2]:
        return FrontierPoint(budget, plan)
    note = (
        f"frontier: at {budget} moves the solver served less than the plan that found this least number of "
        f"moves (planned with balance_tolerance {LEAST_MOVES_TOLERANCE}); that plan is kept"
    )
    # Its fairness figures are recounted under the book's own bands, and it claims no optimality: it was
    # the best plan for the wide band, not for the book's priorities.
    kept = fewest.model_copy(
        update={
            "warnings": [*fewest.warnings, note],
            "fairness": fairness_of(book, fewest),
            "status": "feasible",
            "pools": [p.model_copy(update={"status": "feasible"}) for p in fewest.pools],
        }
    )
    return FrontierPoint(budget, kept)


def _budget_text(max_moves: int | None) -> str:
    return "no limit" if max_moves is None else str(max_moves)


def frontier(
    book: Book,
    *,
    time_limit: float | None = None,
    points: int = DEFAULT_POINTS,
    on_point: Callable[[FrontierPoint], None] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    solve_function: Solve = solve,
) -> Frontier:
    """Plan the book at several move budgets, from the fewest moves to the unconstrained plan.

    `time_limit` is shared by the solves (`points` + 1 of them at most), each getting an equal share of what
    is left; `on_point` hears each point as it is finished (and again, for a point replaced to keep the curve
    monotone)."""
    started = time.monotonic()
    limit = time_limit if time_limit is not None else book.policy.time_limit_seconds
    deadline = started + limit * TIME_SHARE
    solves_left = points + 1
    result = Frontier()
    solved: list[FrontierPoint] = []

    def report(phase: str) -> None:
        if on_progress is not None:
            on_progress(
                {
                    "elapsed_seconds": round(time.monotonic() - started, 3),
                    "phase": phase,
                    "points_done": len(solved),
                    "points_total": len(solved) if phase == "done" else max(points, len(solved)),
                }
            )

    def run(max_moves: int | None, **policy: Any) -> Plan:
        nonlocal solves_left
        share = max(MIN_SOLVE_SECONDS, (deadline - time.monotonic()) / max(1, solves_left))
        solves_left -= 1
        return solve_function(with_budget(book, max_moves, **policy), time_limit=share)

    def add(point: FrontierPoint) -> None:
        solved.append(point)
        if on_point is not None:
            on_point(point)
        report(f"point at {_budget_text(point.max_moves)} moves")

    report("the unconstrained plan")
    top = FrontierPoint(book.policy.max_moves, run(book.policy.max_moves))
    if top.plan.status == "infeasible":
        result.infeasible = top.plan
        report("done")
        return result
    add(top)
    if top.moves == 0 or _stopped(should_stop):
        result.points = solved
        report("done")
        return result

    report("the fewest moves")
    fewest = run(top.moves, balance_tolerance=LEAST_MOVES_TOLERANCE)
    least_moves = len(fewest.moves)
    wanted = 1
    if least_moves < top.moves:
        add(least_moves_point(book, least_moves, run(least_moves), fewest))
        wanted = min(points, top.moves - least_moves + 1)
    solves_left = wanted - len(solved)
    while len(solved) < wanted and not _stopped(should_stop):
        if deadline - time.monotonic() < MIN_SOLVE_SECONDS:
            result.notes.append(f"frontier: stopped at {len(solved)} points, out of time")
            break
        budget = choose_budget(solved, book)
        if budget is None:
            break
        add(FrontierPoint(budget, run(budget)))
    for point in make_monotone(book, solved):
        result.notes.append(point.plan.warnings[-1])
        if on_point is not None:
            on_point(point)
    result.points = solved
    report("done")
    return result


def _stopped(should_stop: Callable[[], bool] | None) -> bool:
    return should_stop is not None and should_stop()
