"""The frontier benchmark times real work: a frontier and a re-plan through the service, every point
re-checked, and a broken curve reported as a problem."""

from __future__ import annotations

import json

import pytest

from bench import frontier_bench
from solver.schema import Assignment, Book, CSMLoad, Move, Plan, SolverInfo


def test_a_small_run_plans_a_frontier_and_a_replan_with_no_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = frontier_bench.main(["--accounts", "900", "--frontier-limit", "12", "--plan-limit", "3"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["runs"][0]["problems"]
    run = out["runs"][0]
    assert run["frontier_points"] >= 2 and run["frontier_seconds"] > 0 and run["replan_seconds"] > 0
    moves = [p["moves"] for p in run["frontier"]]
    assert moves == sorted(moves)


def test_the_yardstick_takes_the_fewest_moves_and_a_middle_point_with_fewer_out_of_band() -> None:
    def points(out: list[int]) -> list[dict[str, int]]:
        return [{"csms_out_of_band": n} for n in out]

    assert frontier_bench.pick_points(points([7, 5, 5, 5, 2, 0])) == [0, 3]
    assert frontier_bench.pick_points(points([7, 7, 2])) == [0, 2]
    assert frontier_bench.pick_points(points([3, 3, 3])) == [0, 2]
    assert frontier_bench.pick_points(points([3])) == [0]


def _point_plan(moved: dict[str, str]) -> tuple[Book, Plan]:
    """A holds a0-a3 and B b0-b1, 200 h each of 1000 h; `moved` (account -> CSM) as a plan."""
    current = {"a0": "A", "a1": "A", "a2": "A", "a3": "A", "b0": "B", "b1": "B"}
    book = Book.model_validate(
        {
            "accounts": [
                {
                    "id": a,
                    "arr": 1000,
                    "tier": "enterprise",
                    "region": "NA",
                    "hours_per_year": 200,
                    "current_csm": c,
                }
                for a, c in current.items()
            ],
            "csms": [
                {"id": c, "tiers": ["enterprise"], "regions": ["NA"], "capacity_hours": 1000} for c in "AB"
            ],
            "policy": {"as_of": "2026-11-22"},
        }
    )
    held = {**current, **moved}
    loads = [
        CSMLoad(
            csm=c,
            hours=200.0 * n,
            capacity_hours=1000,
            utilization=0.2 * n,
            arr=1000.0 * n,
            arr_cap=None,
            accounts=n,
            pool="enterprise NA",
        )
        for c in "AB"
        for n in [sum(1 for x in held.values() if x == c)]
    ]
    plan = Plan(
        status="feasible",
        assignments=[Assignment(account=a, csm=c) for a, c in held.items()],
        moves=[Move(account=a, from_=current[a], to=c, reason="test") for a, c in moved.items()],
        csm_loads=loads,
        max_utilization=max(load.utilization for load in loads),
        solver=SolverInfo(version="test", seconds=0.0, seed=0, input_sha256="test"),
    )
    return book, plan


def test_a_point_is_held_against_the_least_moves_for_its_balance() -> None:
    # A at 80 %, B at 40 %: the pool at 60 %, its band 50-70 %. One move puts both at 60 %.
    book, plan = _point_plan({"a0": "B"})
    point = {"max_moves": 1, "max_utilization": 0.6, "csms_out_of_band": 0}
    out = frontier_bench.yardstick_point(book, point, plan, time_limit=20)
    assert (out["moves"], out["least_moves"], out["least_moves_bound"]) == (1, 1, 1)
    assert out["within_5pct_proven"] and out["within_5pct_of_incumbent"] and out["problems"] == []
    assert out["pools"] == [
        {
            "pool": "enterprise NA",
            "moves": 1,
            "max_utilization": 0.6,
            "out_of_band": 0,
            "served": "6/6",
            "status": "optimal",
            "least_moves": 1,
            "bound": 1,
        }
    ]
    # A swap leaves the balance as it was (both out of band, 80 % at most): two moves where none are needed.
    book, plan = _point_plan({"a0": "B", "b0": "A"})
    out = frontier_bench.yardstick_point(book, point, plan, time_limit=20)
    assert (out["moves"], out["least_moves"], out["least_moves_bound"]) == (2, 0, 0)
    assert not out["within_5pct_proven"] and not out["within_5pct_of_incumbent"]
