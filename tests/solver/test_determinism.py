"""Deterministic mode never reads the wall clock to decide: a machine that runs slowly gives the same plan.

The engine's modules see a clock that jumps 0.4 s at every reading, as a solve on a busy machine would;
the plan must be the very one a normal run gives. (CP-SAT itself runs on its deterministic time.)
"""

from __future__ import annotations

import itertools
import time

import pytest

from bench.books import generate_book
from solver import construct, engine, model
from solver.engine import solve
from solver.schema import Book
from solver.validation import assert_valid_plan


def deterministic_book() -> Book:
    book = generate_book(1000, seed=3)
    policy = book.policy.model_copy(update={"deterministic": True, "time_limit_seconds": 2.0})
    return book.model_copy(update={"policy": policy})


def assignments(book: Book) -> list[tuple[str, str]]:
    plan = solve(book)
    assert_valid_plan(book, plan)
    return [(a.account, a.csm) for a in plan.assignments]


def test_a_slow_clock_changes_nothing_in_deterministic_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    book = deterministic_book()
    normal = assignments(book)
    ticks = itertools.count()
    start = time.monotonic()

    class SlowClock:
        @staticmethod
        def monotonic() -> float:
            return start + 0.4 * next(ticks)

    for module in (engine, model, construct):
        monkeypatch.setattr(module, "time", SlowClock, raising=False)
    slow = assignments(book)
    assert next(ticks) > 10  # the engine did read the clock
    assert slow == normal
