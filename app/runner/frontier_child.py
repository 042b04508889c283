"""The child side of a frontier job: plan every budget, sending each point to the parent as it is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.runner.child import plan_summary

if TYPE_CHECKING:  # the service imports this module for the target's name: OR-Tools stays in the child
    from solver.frontier import FrontierPoint
    from solver.schema import Book, Plan

FRONTIER_TARGET = "app.runner.frontier_child:solve_frontier"


def solve_frontier(
    book: Book,
    *,
    time_limit: float,
    on_progress: Callable[[Any], None],
    send: Callable[[Any], None],
) -> Plan:
    """Run the frontier; each point goes to the parent as ("point", budget, plan JSON, summary, figures).
    The job's own plan is the last (unconstrained) point's, with the frontier's notes (out of time, plans
    kept to stay monotone) among its warnings, or the infeasible plan with its diagnosis."""
    from solver.frontier import frontier

    def on_point(point: FrontierPoint) -> None:
        send(
            (
                "point",
                point.max_moves,
                point.plan.model_dump_json(by_alias=True),
                plan_summary(point.plan),
                point.figures(book),
            )
        )

    result = frontier(book, time_limit=time_limit, on_point=on_point, on_progress=on_progress)
    if result.infeasible is not None:
        return result.infeasible
    top = result.points[-1].plan
    notes = [n for n in result.notes if n not in top.warnings]
    return top.model_copy(update={"warnings": [*top.warnings, *notes]}) if notes else top


solve_frontier.sends_messages = True  # type: ignore[attr-defined]
