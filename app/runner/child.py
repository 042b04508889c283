"""A solve in a child process: progress and the plan come back over a pipe, and the parent can kill it.

CP-SAT can overrun its own time limit and a crash in native code takes its process down; running each
solve in its own process keeps both away from the service. Children are never forked from the service
itself (it has threads and open connections): they come from a fork server, a clean single-threaded
process started once that has already imported the engine, so a child starts in milliseconds instead of
the 1.5-3 s a spawned interpreter needs to import OR-Tools. `spawn` remains available (Settings).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

START_METHODS = ("forkserver", "spawn")
PRELOAD = ["solver.engine", "solver.gaps", "app.services.gaps", "solver.frontier"]
_method = "forkserver"


_nice = 0


def use_start_method(method: str, nice: int = 0) -> None:
    """Choose how children start and their scheduling niceness (the service calls this once, from its
    settings). A positive niceness lets request handling win the CPU from background solves."""
    global _method, _nice
    if method not in START_METHODS:
        raise ValueError(f"child_start_method: expected one of {START_METHODS} (got {method!r})")
    _method = method
    _nice = nice


def _lower_priority(nice: int) -> None:
    if nice > 0:
        with contextlib.suppress(OSError):
            os.nice(nice)


def _context() -> Any:
    ctx = multiprocessing.get_context(_method)
    if _method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


# Progress is sent at most this often: the parent writes it to the database.
PROGRESS_INTERVAL_SECONDS = 0.25


def load_solve_function(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), attr or "solve")
    return function


def child_main(
    target: str, book_json: str, time_limit: float, workers: int | None, out: Connection, nice: int = 0
) -> None:
    """Entry point of the child: solve, streaming progress, and send ("plan", json) or ("error", message)."""
    # The parent handles Ctrl-C for the whole service; the child stops when told to (SIGTERM/SIGKILL).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority(nice)
    try:
        from solver.schema import Book

        solve = load_solve_function(target)
        book = Book.model_validate_json(book_json)
        if workers is not None and book.policy.workers is None:
            book = book.model_copy(update={"policy": book.policy.model_copy(update={"workers": workers})})
        last = 0.0

        def on_progress(progress: Any) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL_SECONDS:
                last = now
                data = dataclasses.asdict(progress) if not isinstance(progress, dict) else dict(progress)
                out.send(("progress", data))

        if getattr(solve, "sends_messages", False):  # a frontier: it sends each point as it is done
            plan = solve(book, time_limit=time_limit, on_progress=on_progress, send=out.send)
        else:
            plan = solve(book, time_limit=time_limit, on_progress=on_progress)
        summary = plan_summary(plan)
        out.send(("plan", plan.model_dump_json(by_alias=True), summary))
    except BaseException as exc:  # the parent must hear about any failure, not a bare exit code
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        kind = _kind(exc)
        with contextlib.suppress(OSError):
            out.send(("error", str(message), kind, traceback.format_exc(limit=5)))
    finally:
        out.close()


def plan_summary(plan: Any) -> dict[str, Any]:
    """The figures the parent stores beside the plan text, extracted here so the service never parses a
    20,000-assignment plan (a tenth of a second of its GIL) just to file it."""
    return {
        "status": plan.status,
        "seconds": plan.solver.seconds,
        "max_utilization": plan.max_utilization,
        "max_utilization_bound": plan.max_utilization_bound,
        "unassigned": len(plan.unassigned),
        "moves": [
            {
                "account": m.account,
                "from_csm": m.from_,
                "to_csm": m.to,
                "reason": m.reason,
                "arr": m.arr,
                "hours": m.hours,
                "handoff_on": m.handoff_on,
                "wave": m.wave,
            }
            for m in plan.moves
        ],
    }


def _kind(exc: BaseException) -> str:
    """ "book" when the input is to blame: a BookError, or arithmetic overflow on absurd figures (1e308
    hours...) that the schema lets through; anything else is the solver's failure ("crash")."""
    from solver.errors import BookError

    return "book" if isinstance(exc, BookError | OverflowError) else "crash"


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "the solver process did not exit"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the solver process was killed by {name}"
    return f"the solver process exited with code {exitcode} without a plan"


class SolveProcess:
    """One solve in a spawned child; `events()` yields what it sends until it ends."""

    def __init__(self, target: str, book_json: str, time_limit: float, workers: int | None) -> None:
        ctx = _context()
        self._recv, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=child_main,
            args=(target, book_json, time_limit, workers, send, _nice),
            daemon=True,
            name="bookplan-solve",
        )
        self.process.start()
        send.close()  # the child holds the only writer: EOF on our end means it has gone
        self.started = time.monotonic()
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def receive(self, timeout: float) -> tuple[Any, ...] | None:
        """The next message, None when nothing came within `timeout`; ("exit",) once the child is gone."""
        try:
            if not self._recv.poll(timeout):
                return None
            return tuple(self._recv.recv())
        except (EOFError, OSError):
            self.process.join(timeout=5)
            return ("exit",)

    def stop(self, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL if it is still there after the grace period."""
        if self._closed:
            return
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=grace_seconds)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._recv.close()
        self.process.join(timeout=5)
        if not self.process.is_alive():
            self.process.close()
            self._closed = True

    def exit_reason(self) -> str:
        self.process.join(timeout=5)
        return describe_exit(self.process.exitcode)

    def kill_now(self) -> None:
        """SIGKILL without grace (the hard deadline has passed: CP-SAT is not listening)."""
        if not self._closed and self.process.is_alive():
            self.process.kill()


def run_to_completion(
    target: str,
    book_json: str,
    time_limit: float,
    workers: int | None,
    hard_deadline: float,
    grace_seconds: float = 1.0,
) -> tuple[str | None, str | None, str]:
    """Solve in a child and wait: (plan JSON, None, "") or (None, why it failed, kind), kind being
    "book" (bad input), "crash" or "overrun".
    Used by synchronous solves."""
    child = SolveProcess(target, book_json, time_limit, workers)
    try:
        while True:
            remaining = hard_deadline - (time.monotonic() - child.started)
            if remaining <= 0:
                child.stop(grace_seconds)
                return (
                    None,
                    f"the solve overran its hard deadline of {hard_deadline:g} s and was stopped",
                    "overrun",
                )
            message = child.receive(min(remaining, 0.5))
            if message is None or message[0] == "progress":
                continue
            if message[0] == "plan":
                return str(message[1]), None, ""
            if message[0] == "error":
                return None, str(message[1]), str(message[2])
            return None, child.exit_reason(), "crash"
    finally:
        child.stop(grace_seconds)


def call_main(target: str, payload: str, out: Connection, nice: int = 0) -> None:
    """Entry point of a child that runs `target(payload: str) -> str` once (e.g. the hiring-gap report)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority(nice)
    try:
        out.send(("result", load_solve_function(target)(payload)))
    except BaseException as exc:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            out.send(("error", str(message), _kind(exc)))
    finally:
        out.close()


def call_in_child(target: str, payload: str, hard_deadline: float) -> tuple[str | None, str | None, str]:
    """Run `target(payload)` in a spawned child: (result, None, "") or (None, why, "book" | "crash" | "overrun")."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=call_main, args=(target, payload, send, _nice), daemon=True, name="bookplan-call"
    )
    process.start()
    send.close()
    try:
        if not receive.poll(hard_deadline):
            return None, f"did not finish within its hard deadline of {hard_deadline:g} s", "overrun"
        try:
            message = receive.recv()
        except (EOFError, OSError):
            process.join(timeout=5)
            return None, describe_exit(process.exitcode), "crash"
        if message[0] == "result":
            return str(message[1]), None, ""
        return None, str(message[1]), str(message[2])
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
