"""`bookplan frontier`: the table (or JSON) of the frontier, exit 3 with the diagnosis when infeasible,
exit 2 naming the problem for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_the_frontier_prints_a_table_from_the_fewest_moves_to_no_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["frontier", str(ROOT / "fixtures" / "rebalance_book.json"), "--time-limit", "12"])
    out, _err = capsys.readouterr()
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["budget", "moves"]
    rows = [line.split() for line in lines[1:] if not line.startswith("note:")]
    assert len(rows) >= 6
    assert rows[-1][0] == "none"
    moves = [int(r[1]) for r in rows]
    assert moves == sorted(moves) and moves[0] < moves[-1]


def test_the_frontier_as_json_lists_points_with_their_moves(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["frontier", str(ROOT / "fixtures" / "demo_book.json"), "--time-limit", "6", "--json"])
    out, _err = capsys.readouterr()
    assert code == 0
    points = json.loads(out)["frontier"]
    assert points and all(len(p["plan_moves"]) == p["moves"] for p in points)
    assert all(p["max_moves"] is None or p["moves"] <= p["max_moves"] for p in points)


def test_an_infeasible_book_exits_3_with_the_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["frontier", str(ROOT / "fixtures" / "infeasible_book.json"), "--time-limit", "4"])
    _out, err = capsys.readouterr()
    assert code == 3
    assert "infeasible" in err and "c-dana" in err


def test_bad_input_exits_2_naming_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "book.json"
    bad.write_text(json.dumps({"accounts": [{"id": "a", "arr": -5, "tier": "smb"}], "csms": []}))
    assert main(["frontier", str(bad)]) == 2
    assert "arr" in capsys.readouterr().err
    assert main(["frontier", str(bad), "--points", "1"]) == 2
    assert "--points" in capsys.readouterr().err
