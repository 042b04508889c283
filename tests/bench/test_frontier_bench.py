"""The frontier benchmark times real work: a frontier and a re-plan through the service, every point
re-checked, and a broken curve reported as a problem."""

from __future__ import annotations

import json

import pytest

from bench import frontier_bench


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
