"""The solve's time: its passes run until the limit less what follows them (`engine.finishing_seconds`),
counted once from the solve's start, so a slow construction does not cost the search its time twice."""

from __future__ import annotations

import time
from typing import Any

import pytest

import solver.engine
from bench import books
from bench.balance_bench import tighten
from solver.engine import finishing_seconds, solve
from solver.prepare import build_problem
from solver.validation import assert_valid_plan

LIMIT = 6.0
SLOW_CONSTRUCTION = 0.6


def test_a_tight_book_searches_until_the_limit_less_the_finishing_reserve_counting_construction_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tight 1,000-account book: pools that leave accounts unserved keep searching to the last second.
    book = tighten(books.generate_book(1000, seed=3), 3)
    construct = solver.engine.construct
    calls: list[int] = []

    def slow_construct(*args: Any, **kwargs: Any) -> None:
        if not calls:
            time.sleep(SLOW_CONSTRUCTION)
        calls.append(1)
        construct(*args, **kwargs)

    passes_ended: list[float] = []
    last_repair = solver.engine._Run.last_arr_repair

    def mark(self: Any, seconds: float) -> None:
        passes_ended.append(time.monotonic())
        last_repair(self, seconds)

    monkeypatch.setattr(solver.engine, "construct", slow_construct)
    monkeypatch.setattr(solver.engine._Run, "last_arr_repair", mark)
    started = time.monotonic()
    plan = solve(book, time_limit=LIMIT)
    assert_valid_plan(book, plan)
    assert plan.status == "feasible", "the book must leave pools unproven for the search to use the limit"
    reserve = finishing_seconds(build_problem(book), LIMIT)
    assert reserve < 0.5  # no ARR band, 1,000 accounts
    searched = passes_ended[0] - started
    # The old budget (90 % of the limit less 0.3 s, construction counted twice) ended the passes by
    # 6 * 0.9 - 0.3 - 0.6 = 4.5 s; with construction counted once, by 5.1 s.
    assert searched >= LIMIT - reserve - 0.25, f"the passes stopped at {searched:.2f} s of {LIMIT} s"
    assert searched <= LIMIT - reserve + 1.0, f"the passes ran to {searched:.2f} s of {LIMIT} s"


def test_the_reserve_grows_with_the_book_and_with_the_arr_band_repair_held_to_a_tenth_of_the_limit() -> None:
    plain = build_problem(books.generate_book(1000, seed=3))
    larger = build_problem(books.generate_book(3000, seed=3))
    assert finishing_seconds(larger, 30) - finishing_seconds(plain, 30) == pytest.approx(
        2000 * solver.engine.FINISHING_SECONDS_PER_ACCOUNT
    )
    book = books.generate_book(1000, seed=3)
    with_arr = build_problem(
        book.model_copy(update={"policy": book.policy.model_copy(update={"balance_metrics": {"arr": 0.15}})})
    )
    assert finishing_seconds(with_arr, 30) - finishing_seconds(plain, 30) == pytest.approx(1.5)
    # A 5 s solve keeps 0.5 s for the repair, not 1.5 s of its 5.
    assert finishing_seconds(with_arr, 5) - finishing_seconds(plain, 5) == pytest.approx(0.5)
