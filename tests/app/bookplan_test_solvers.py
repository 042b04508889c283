"""Solve functions with the engine's signature that misbehave on purpose, for the runner's tests:
one that overruns its time limit (as CP-SAT sometimes does), one that crashes its process, one that is
slow but well behaved, one that raises. They run in the child process, found by `Settings.solve_function`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from solver.schema import Book, Plan


def overrun(
    book: Book,
    *,
    time_limit: float | None = None,
    on_progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Ignores its time limit entirely."""
    time.sleep(3600)
    raise AssertionError("unreachable")


def crash(
    book: Book,
    *,
    time_limit: float | None = None,
    on_progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Dies the way a native crash does: no exception, no message, just gone."""
    os._exit(70)


def slow(
    book: Book,
    *,
    time_limit: float | None = None,
    on_progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Reports progress for a while, then plans with the real engine."""
    from solver.engine import Progress, solve

    started = time.monotonic()
    while time.monotonic() - started < 60:
        if on_progress is not None:
            on_progress(
                Progress(time.monotonic() - started, "waiting", 0, 1, 0.5, 0.4, 0, len(book.accounts))
            )
        time.sleep(0.1)
    return solve(book, time_limit=time_limit, on_progress=on_progress)


def raises(
    book: Book,
    *,
    time_limit: float | None = None,
    on_progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Fails the way a bug in the engine does: an exception with a message."""
    raise RuntimeError(f"model of {len(book.accounts)} accounts has no variable for c-lee")
