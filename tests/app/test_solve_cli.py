"""`bookplan solve`: exit 0 with a plan, 3 when infeasible, 2 with one line naming the field for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from solver.schema import Book, Plan
from solver.validation import assert_valid_plan

ROOT = Path(__file__).resolve().parents[2]
GOOD_CSM = {"id": "c-ana", "tiers": ["smb"]}


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *extra: str) -> tuple[int, str, str]:
    book = tmp_path / "book.json"
    book.write_text(text)
    code = main(["solve", str(book), "--time-limit", "5", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def book_text(account: dict[str, object], **top: object) -> str:
    return json.dumps({"accounts": [account], "csms": [GOOD_CSM], **top})


def test_a_plan_comes_out_on_stdout_with_exit_0_and_passes_the_validator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "fixtures" / "demo_book.json").read_text()
    code, out, err = run(tmp_path, capsys, text)
    assert code == 0
    plan = json.loads(out)
    assert plan["status"] in ("optimal", "feasible")
    assert "largest utilization" in err
    from solver.schema import Plan

    assert_valid_plan(Book.model_validate_json(text), Plan.model_validate(plan))


def test_an_infeasible_book_exits_3_with_the_diagnosis_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(tmp_path, capsys, (ROOT / "fixtures" / "infeasible_book.json").read_text())
    assert code == 3
    assert json.loads(out)["status"] == "infeasible"
    assert "1,720 h of 1,560 h" in err and "unpin" in err


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (book_text({"id": "a", "arr": -5, "tier": "smb"}), ["accounts[0].arr", "-5"]),
        (book_text({"id": "a", "arr": "lots", "tier": "smb"}), ["accounts[0].arr", "lots"]),
        (book_text({"id": "a", "arr": True, "tier": "smb"}), ["accounts[0].arr", "true"]),
        (
            book_text({"id": "a", "arr": 5, "tier": "smb", "hours_per_year": -1}),
            ["accounts[0].hours_per_year", "-1"],
        ),
        ('{"accounts": [{"id": "a", "arr": NaN, "tier": "smb"}]}', ["accounts[0].arr", "nan"]),
        ('{"accounts": [{"id": "a", "arr": 1e999, "tier": "smb"}]}', ["accounts[0].arr", "inf"]),
        (book_text({"id": "a", "arr": 5, "tier": "gold"}), ["accounts[0].tier", "gold"]),
        (json.dumps({"accounts": [{"id": "a", "arr": 5, "tier": "smb"}] * 2}), ["accounts[1].id", "'a'"]),
        (book_text({"id": "a", "arr": 5, "tier": "smb", "current_csm": "c-zed"}), ["current_csm", "c-zed"]),
        (
            book_text({"id": "a", "arr": 5, "tier": "smb"}, pairs=[{"account": "b", "csm": "c-ana"}]),
            ["pairs[0].account", "'b'"],
        ),
        (
            book_text({"id": "a", "arr": 5, "tier": "smb"}, pairs=[{"account": "a", "csm": "c-zed"}]),
            ["pairs[0].csm", "c-zed"],
        ),
        (
            book_text({"id": "a", "arr": 5, "tier": "smb", "colour": "red"}),
            ["accounts[0].colour", "unknown field"],
        ),
        ('{"csms": []}', ["accounts", "missing"]),
        ("not json at all", ["not valid JSON"]),
        ("[" * 100_000 + "]" * 100_000, ["not valid JSON", "nested too deeply"]),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field_and_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, names: list[str]
) -> None:
    code, out, err = run(tmp_path, capsys, text)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], lines[0]


def installed_bookplan() -> str:
    """The console script `uv sync` installed beside the interpreter (not `python -m app`)."""
    script = Path(sys.executable).parent / "bookplan"
    assert script.exists(), f"{script} is missing: the project is not installed in this environment"
    return str(script)


def test_the_installed_command_writes_the_plan_to_o_with_the_seed_and_deterministic_mode_it_was_given(
    tmp_path: Path,
) -> None:
    out = tmp_path / "plan.json"
    book = ROOT / "fixtures" / "demo_book.json"
    command = [installed_bookplan(), "solve", str(book), "-o", str(out), "--seed", "7", "--deterministic"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", "with -o the plan goes to the file, not stdout"
    assert "largest utilization" in result.stderr
    plan = Plan.model_validate_json(out.read_text())
    assert (plan.solver.seed, plan.solver.deterministic, plan.solver.workers) == (7, True, 1)
    assert_valid_plan(Book.model_validate_json(book.read_text()), plan)

    again = tmp_path / "again.json"
    command[command.index(str(out))] = str(again)
    assert subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path).returncode == 0
    replay = Plan.model_validate_json(again.read_text())
    assert (replay.assignments, replay.moves) == (plan.assignments, plan.moves)


def test_the_installed_command_exits_2_naming_the_field_of_a_bad_book(tmp_path: Path) -> None:
    book = tmp_path / "book.json"
    book.write_text(book_text({"id": "a", "arr": -5, "tier": "smb"}))
    result = subprocess.run(
        [installed_bookplan(), "solve", str(book), "-o", str(tmp_path / "plan.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "accounts[0].arr" in result.stderr
    assert not (tmp_path / "plan.json").exists()
