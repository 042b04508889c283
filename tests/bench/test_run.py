"""The benchmark runner: it times and measures real child processes and reports what they produced."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import books, run


def test_measure_reads_the_childs_peak_memory_and_wall_time(tmp_path: Path) -> None:
    # The child holds ~200 MiB for a moment: the measured peak must see it.
    code = "import time; block = bytearray(200 * 1024 * 1024); time.sleep(0.3)"
    m = run.measure([sys.executable, "-c", code], timeout=30, log=tmp_path / "child.log")
    assert m.returncode == 0 and not m.timed_out
    assert m.wall_seconds >= 0.3
    assert 190 < m.peak_rss_mib < 400


def test_measure_stops_a_child_that_overruns(tmp_path: Path) -> None:
    m = run.measure(
        [sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5, log=tmp_path / "c.log"
    )
    assert m.timed_out
    assert m.wall_seconds < 10


def test_a_tiny_scenario_runs_bookplan_and_the_greedy_peers_end_to_end(tmp_path: Path) -> None:
    scenario = run.Scenario(
        "tiny",
        "60 accounts",
        "none",
        lambda: books.generate_rebalance_book(60, seed=31),
        time_limit=3.0,
        repeat=1,
        peers=[run.PeerSpec("round_robin"), run.PeerSpec("naive_cpsat", skip="not run: a test")],
        kind="rebalance",
    )
    result = run.run_scenario(scenario, tmp_path, None, lambda message: None)
    (plan,) = result["bookplan"]
    assert plan["status"] in ("optimal", "feasible"), plan.get("note")
    assert plan["score"]["cap_violations"] == 0
    assert plan["score"]["unassigned"] == 0
    assert plan["peak_rss_mib"] > 20
    robin, skipped = result["peers"]
    assert robin["status"] == "feasible" and robin["peak_rss_mib"] > 20
    assert robin["score"]["violations"]["ineligible"] == 0
    assert skipped["status"] == "skipped"
    table = run.markdown({"date": "today", "machine": run._machine(), "scenarios": [result]})
    assert "| tiny | bookplan |" in table
    assert "| tiny | naive_cpsat | skipped |" in table


def test_write_readme_replaces_only_the_results_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{run.START_MARK}\nold table\n{run.END_MARK}\noutro\n")
    run.write_readme("| new | table |", readme)
    assert readme.read_text() == f"intro\n{run.START_MARK}\n| new | table |\n{run.END_MARK}\noutro\n"


def test_the_bench_readme_has_the_results_markers() -> None:
    text = run.README.read_text()
    assert text.index(run.START_MARK) < text.index(run.END_MARK)


def test_an_unknown_scenario_name_is_refused_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run.main(["--only", "fresh-2k"])
    assert exc.value.code == 2
    assert "--only: unknown scenario 'fresh-2k'" in capsys.readouterr().err


def _result(wall: float, status: str, gap_points: float) -> dict[str, object]:
    score = {
        "unassigned": 0,
        "cap_violations": 0,
        "worst_gap_points": gap_points,
        "out_of_band": 0,
        "moves": 0,
    }
    return {
        "name": "fresh-1k",
        "kind": "balance",
        "limits": {"optimal": 1, "wall_seconds": 5, "gap_points": 1},
        "bookplan": [{"wall_seconds": wall, "peak_rss_mib": 100.0, "status": status, "score": score}],
    }


def test_the_verdict_says_which_target_was_missed_and_by_how_much() -> None:
    assert run.verdict(_result(3.0, "optimal", 0.0)) == "met"
    missed = run.verdict(_result(7.04, "feasible", 1.5))
    assert "wall 7.0 s > 5 s" in missed
    assert "status feasible, not optimal" in missed
    assert "worst pool 1.50 points above its bound > 1" in missed
