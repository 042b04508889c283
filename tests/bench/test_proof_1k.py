"""bench.proof_1k: it solves real books in child processes, validates them and counts the proofs."""

from __future__ import annotations

import pytest

from bench import proof_1k


def test_seed_lists_and_ranges_are_read() -> None:
    assert proof_1k._seeds("1-3,7") == [1, 2, 3, 7]


def test_one_book_is_solved_in_a_child_and_reported(capsys: pytest.CaptureFixture[str]) -> None:
    # Exit 0: the validator found nothing wrong with the plan. (Whether it is proven optimal depends on
    # the CPU the solve gets, which is what the bench measures and no test should.)
    assert proof_1k.main(["--seeds", "4", "--busy", "0", "--time-limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "| 0 | this | " in out and " of 1 | " in out
