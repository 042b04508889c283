"""Solve functions for the worker tests (they run in the solve child, found by `Settings.solve_function`):
`recorded` appends one line per run to $BOOKPLAN_TEST_RUN_LOG (the book's first account name, the worker's
pid when children are spawned) and waits $BOOKPLAN_TEST_SOLVE_SECONDS reporting progress before planning
with the real engine, so a test can count runs and kill a worker mid-solve."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from solver.schema import Book, Plan


def recorded(
    book: Book,
    *,
    time_limit: float | None = None,
    on_progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    from solver.engine import Progress, solve

    log = os.environ.get("BOOKPLAN_TEST_RUN_LOG")
    if log:
        with open(log, "a") as out:
            out.write(f"{book.accounts[0].name} {os.getppid()} {os.getpid()}\n")
    wait = float(os.environ.get("BOOKPLAN_TEST_SOLVE_SECONDS", "0"))
    started = time.monotonic()
    while time.monotonic() - started < wait:
        if on_progress is not None:
            on_progress(Progress(time.monotonic() - started, "waiting", 0, 1, 0.5, 0.4, 0, 0))
        time.sleep(0.05)
    return solve(book, time_limit=time_limit, on_progress=on_progress)
