"""The child side of a frontier job: each point is sent as it is done, and the job's plan carries the
frontier's notes."""

from __future__ import annotations

from typing import Any

from app.runner.frontier_child import solve_frontier
from solver.schema import Book


def test_each_point_is_sent_and_the_jobs_plan_says_when_the_frontier_ran_out_of_time() -> None:
    book = Book.model_validate(
        {
            "accounts": [
                {
                    "id": f"a{i:02d}",
                    "arr": 100_000,
                    "tier": "enterprise",
                    "hours_per_year": 50,
                    "current_csm": "c-lee",
                }
                for i in range(16)
            ],
            "csms": [
                {"id": "c-lee", "tiers": ["enterprise"], "capacity_hours": 1000},
                {"id": "c-dana", "tiers": ["enterprise"], "capacity_hours": 1000},
            ],
            "policy": {"as_of": "2026-11-22", "workers": 1},
        }
    )
    sent: list[Any] = []
    plan = solve_frontier(book, time_limit=0.5, on_progress=lambda _p: None, send=sent.append)
    points = [m for m in sent if m[0] == "point"]
    assert len(points) >= 2
    assert points[0][1] is None  # the unconstrained plan comes first
    assert {len(m[3]["moves"]) for m in points} == {m[4]["moves"] for m in points}
    assert any("out of time" in w for w in plan.warnings)
