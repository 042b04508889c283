"""Tight pools of many small accounts: choose what to serve as one knapsack, then pack it exactly.

In a pool where each CSM holds dozens of accounts (mid-market, 40-75 a book), the books' boundaries hardly
matter: which accounts are served is a knapsack over the pool's hours, and almost any choice of them packs
into the CSMs. So the knapsack is solved exactly for the pool as a whole (a choice that breaks the pool's
book sizes or ARR caps added up is dropped), and a small CP-SAT model then looks for a split of that choice
among the CSMs under every hard rule (eligibility, each CSM's hours, ARR cap and book size, pinned and
frozen accounts where they are). Where it finds one, the plan serves the knapsack's ARR, which no plan beats
on the pool's hours alone. It is applied only where it serves more than the plan does.

On the tight 3k book's mid_market / EMEA (325 accounts, 7 CSMs, 102 % of their hours) the knapsack takes
0.02 s and the split 0.6 s: $5.7965M served, where the exchanges and re-cuts stop at $5.788M and HiGHS needs
60 s for $5.796M. Pools of few large accounts (strategic: 8 a book) rarely pack: they are left to the re-cuts.
"""

from __future__ import annotations

import math
import time

from ortools.algorithms.python import knapsack_solver
from ortools.sat.python import cp_model

from solver.cpsat import new_solver
from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State, served_figures

# Only pools of many small accounts: at least this many free units a CSM, and at most this many in all.
MIN_UNITS_PER_CSM = 20
MAX_UNITS = 1_000
# The knapsack's limit: a share of the step's time, or in deterministic mode a safety net far past what it
# takes (0.02 s on the pool above); the split gets the step's time.
KNAPSACK_SHARE = 0.25
KNAPSACK_SAFETY_SECONDS = 10.0


def packs_small_accounts(problem: Problem, pool: Pool) -> bool:
    """Is the pool one of many small accounts a CSM, where a knapsack's choice usually packs?"""
    if problem.book.policy.max_moves is not None:
        return False  # the split may move any account
    csms = _csms(problem, pool)
    free = free_units(problem, pool, csms)
    return bool(csms) and MIN_UNITS_PER_CSM * len(csms) <= len(free) <= MAX_UNITS


def serve_more_by_knapsack(
    problem: Problem, state: State, pool: Pool, seconds: float, *, seed: int, deterministic: bool
) -> float:
    """Serve the pool's best knapsack where its split among the CSMs is found in `seconds` (CP-SAT's
    deterministic time in deterministic mode); returns the ARR gained (0 when the plan already serves as
    much, or no split is found)."""
    csms = _csms(problem, pool)
    held = held_units(problem, state, pool, csms)  # pinned and frozen units stay
    free = free_units(problem, pool, csms)
    if not held or not free:
        return 0.0
    weight = sum(u.size for u in free) + 1  # most ARR (in cents) first, then most accounts
    value = {u.index: round(u.arr * 100) * weight + u.size for u in free}
    now = [u for u in free if state.assign[u.index] != UNASSIGNED]
    budget = _Budget(seconds, seed, deterministic)
    knapsack_seconds = KNAPSACK_SAFETY_SECONDS if deterministic else KNAPSACK_SHARE * seconds
    chosen = _best_knapsack(problem, held, free, value, knapsack_seconds, budget)
    # Judged in the plan's own figures (the knapsack weighs ARR in whole cents): more ARR, or as much and
    # more accounts.
    if chosen is None or served_figures(chosen) <= served_figures(now):
        return 0.0
    split = _split(problem, state, held, chosen, budget.solver())
    return 0.0 if split is None else state.resplit(free, split)


def _csms(problem: Problem, pool: Pool) -> list[int]:
    return [c for c in pool.csms if not problem.csms[c].left and problem.csms[c].capacity > 0]


def free_units(problem: Problem, pool: Pool, csms: list[int]) -> list[Unit]:
    """The pool's units that may change CSM and that some CSM of `csms` may take."""
    among = set(csms)
    return [
        problem.units[i]
        for i in pool.units
        if problem.units[i].fixed is None and problem.units[i].least_hours(among) is not None
    ]


def held_units(problem: Problem, state: State, pool: Pool, csms: list[int]) -> dict[int, list[Unit]]:
    """Each CSM of `csms` and the pool's pinned and frozen units the plan keeps with them."""
    held: dict[int, list[Unit]] = {c: [] for c in csms}
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None and state.assign[i] in held:
            held[state.assign[i]].append(u)
    return held


class _Budget:
    """The step's time for its CP-SAT models: a share of what is left (in deterministic mode, of CP-SAT's
    deterministic time, counted as given out)."""

    def __init__(self, seconds: float, seed: int, deterministic: bool) -> None:
        self.seconds, self.seed, self.deterministic = seconds, seed, deterministic
        self.started = time.monotonic()
        self.given = 0.0

    def solver(self, share: float = 1.0) -> cp_model.CpSolver:
        solver = new_solver(1 if self.deterministic else 2, self.seed)
        if self.deterministic:
            seconds = max(0.01, (self.seconds - self.given) * share)
            self.given += seconds
            solver.parameters.max_deterministic_time = seconds
        else:
            left = self.seconds - (time.monotonic() - self.started)
            solver.parameters.max_time_in_seconds = max(0.05, left * share)
        return solver


def _best_knapsack(
    problem: Problem,
    held: dict[int, list[Unit]],
    free: list[Unit],
    value: dict[int, int],
    seconds: float,
    budget: _Budget,
) -> list[Unit] | None:
    """The free units of most value within the room the CSMs have beside their pinned and frozen units:
    their hours (each unit at its lightest CSM), and their book sizes and ARR room added up where every CSM
    has a cap. On the hours alone, OR-Tools' branch and bound (hundredths of a second; None if not proven
    in `seconds`, a safety net); where that choice breaks the book-size or ARR room, CP-SAT on every row
    (branch and bound can stall on an ARR row for many seconds, the value being almost that row's)."""
    infos = [problem.csms[c] for c in held]
    kept = [(u, c) for c, units in held.items() for u in units]
    rows = [
        (
            [u.least_hours(held.keys()) or 0 for u in free],
            sum(info.capacity for info in infos) - sum(u.hours_for(c) for u, c in kept),
        )
    ]
    if all(info.max_accounts is not None for info in infos):
        count_room = sum(info.max_accounts or 0 for info in infos) - sum(u.size for u, _ in kept)
        rows.append(([u.size for u in free], count_room))
    if all(info.arr_cap is not None for info in infos):
        arr_room = math.floor(sum(info.arr_cap or 0.0 for info in infos) - sum(u.arr for u, _ in kept) + 1e-6)
        rows.append(([u.whole_arr for u in free], arr_room))
    if min(room for _, room in rows) < 0:
        return None
    weights, room = rows[0]
    if sum(weights) <= room:
        picked = [True] * len(free)
    else:
        solver = knapsack_solver.KnapsackSolver(
            knapsack_solver.SolverType.KNAPSACK_MULTIDIMENSION_BRANCH_AND_BOUND_SOLVER, "served"
        )
        solver.set_time_limit(seconds)
        solver.init([value[u.index] for u in free], [weights], [room])
        solver.solve()
        if not solver.is_solution_optimal():
            return None
        picked = [solver.best_solution_contains(k) for k in range(len(free))]
    if all(sum(w for w, on in zip(ws, picked, strict=True) if on) <= r for ws, r in rows[1:]):
        return [u for u, on in zip(free, picked, strict=True) if on]
    return _knapsack_on_every_row(free, value, rows, budget.solver(KNAPSACK_SHARE))


def _knapsack_on_every_row(
    free: list[Unit], value: dict[int, int], rows: list[tuple[list[int], int]], solver: cp_model.CpSolver
) -> list[Unit] | None:
    """The best choice CP-SAT finds within every room (None: none in its time)."""
    model = cp_model.CpModel()
    take = [model.new_bool_var("") for _ in free]
    for weights, room in rows:
        if sum(weights) > room:
            model.add(sum(w * t for w, t in zip(weights, take, strict=True)) <= room)
    model.maximize(sum(value[u.index] * t for u, t in zip(free, take, strict=True)))
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return [u for u, t in zip(free, take, strict=True) if solver.value(t)]


def _split(
    problem: Problem, state: State, held: dict[int, list[Unit]], chosen: list[Unit], solver: cp_model.CpSolver
) -> list[tuple[Unit, int]] | None:
    """The chosen units split among the CSMs under every hard rule, keeping as many with the CSM they have
    today as it finds; None when no split is found in time.

    Units alike for the split share one integer a CSM (how many of them go there): the same hours at each
    CSM they may go to and the same accounts staying with each, and the same ARR and size where some CSM's
    ARR or book-size room could bind. On the pool above, 318 units in 40 such classes: split in 0.1 s, where a Boolean per
    unit and CSM took 0.1-2.7 s."""
    rooms = {c: book_room(problem, c, kept) for c, kept in held.items()}
    arr_binds = any(
        arr is not None and sum(u.whole_arr for u in chosen if c in u.eligible) > arr
        for c, (_, arr, _) in rooms.items()
    )
    size_binds = any(
        size is not None and sum(u.size for u in chosen if c in u.eligible) > size
        for c, (_, _, size) in rooms.items()
    )
    Key = tuple[tuple[tuple[int, int, int], ...], float, int]  # (CSM, hours, accounts staying), ARR, size
    classes: dict[Key, list[Unit]] = {}
    for u in chosen:
        options = tuple(
            (c, u.hours_for(c), u.size - u.moves_if(problem.csms[c].id)) for c in u.eligible if c in held
        )
        if not options:
            return None
        key = (options, u.arr if arr_binds else 0, u.size if size_binds else 0)
        classes.setdefault(key, []).append(u)
    model = cp_model.CpModel()
    n: dict[tuple[int, int], cp_model.IntVar] = {}
    for k, (key, units) in enumerate(classes.items()):
        options = key[0]
        for c, _, _ in options:
            n[k, c] = model.new_int_var(0, len(units), "")
            model.add_hint(n[k, c], sum(1 for u in units if state.assign[u.index] == c))
        model.add(sum(n[k, c] for c, _, _ in options) == len(units))
    members = list(classes.values())
    for c, (hours, arr, size) in rooms.items():
        mine = [(members[k], v) for (k, cc), v in n.items() if cc == c]
        model.add(sum(us[0].hours_for(c) * v for us, v in mine) <= hours)
        if arr is not None and arr_binds:
            model.add(sum(us[0].whole_arr * v for us, v in mine) <= arr)
        if size is not None and size_binds:
            model.add(sum(us[0].size * v for us, v in mine) <= size)
    stays = [staying * n[k, c] for k, key in enumerate(classes) for c, _, staying in key[0] if staying]
    if stays:
        model.maximize(sum(stays))
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    split: list[tuple[Unit, int]] = []
    for k, units in enumerate(members):
        # The class's units to its CSMs, those already with one of them first.
        want = {c: solver.value(v) for (kk, c), v in n.items() if kk == k}
        rest: list[Unit] = []
        for u in units:
            c = state.assign[u.index]
            if want.get(c, 0) > 0:
                want[c] -= 1
                split.append((u, c))
            else:
                rest.append(u)
        for c, count in want.items():
            split.extend((rest.pop(), c) for _ in range(count))
    return split


def book_room(problem: Problem, c: int, kept: list[Unit]) -> tuple[int, int | None, int | None]:
    """The CSM's hours, ARR room and book-size room beside the units kept with them (None: no cap)."""
    info = problem.csms[c]
    arr = None if info.arr_cap is None else math.floor(info.arr_cap - sum(u.arr for u in kept) + 1e-6)
    size = None if info.max_accounts is None else info.max_accounts - sum(u.size for u in kept)
    return info.capacity - sum(u.hours_for(c) for u in kept), arr, size
