"""Tight pools: fill the books one at a time, each with the most ARR its room holds.

Which accounts a tight pool serves is a multiple knapsack: every CSM's book is a knapsack of hours, and the
pool's ARR is what the books hold together. Where a book holds a dozen or more accounts, a book filled
from the best accounts left, by an exact 0/1 knapsack over its own hours, wastes almost nothing, and what
the last books cannot take is the least ARR per hour. So each CSM in turn (the roomiest first) takes, from
the accounts no book holds yet, the set of most ARR (then most accounts, then fewest moves)
that fits their hours, book size and ARR cap, beside their pinned and frozen accounts. It is applied only
where it serves more than the plan does.

On the tight 20k book's enterprise / NA (1,289 accounts, 91 CSMs, 101 % of their hours) this takes 0.3 s
and serves $113.95M, within 0.05 % of the pool's bound ($113.999M); the exchanges and the re-cuts of three
books at a time reached $113.43-113.47M in the engine's time, and HiGHS $106.4M in 60 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from solver.problem import Pool, Problem, Unit
from solver.serve_knapsack import book_room
from solver.state import UNASSIGNED, State, served_figures

# The accounts a book's knapsack looks at: the best by ARR per hour, this many times the accounts the book
# is likely to hold, and at least MIN_CANDIDATES.
CANDIDATES_PER_PLACE = 4
MIN_CANDIDATES = 60
# A book's table has at most this many steps of hours; coarser steps count each account's hours rounded
# up and the room rounded down, so what the table says fits does fit.
MAX_STEPS = 20_000
# A book's table by hours and book size together: at most this many cells (candidates x steps x sizes).
MAX_SIZE_CELLS = 30_000_000
VALUE_LIMIT = 1 << 62  # the table adds values in 64-bit integers


def serve_more_by_filling(
    problem: Problem, state: State, pool: Pool, should_stop: Callable[[], bool] | None = None
) -> float:
    """Fill the pool's books one at a time (the module's rule) and apply the plan where it serves more
    ARR, or as much and more accounts. Returns the ARR served more. `should_stop` is asked between books:
    the step then leaves the plan as it was."""
    if problem.book.policy.max_moves is not None:
        return 0.0  # the fill may move any account
    csms = [c for c in pool.csms if not problem.csms[c].left and problem.csms[c].capacity > 0]
    held: dict[int, list[Unit]] = {c: [] for c in csms}
    for i in pool.units:
        u = problem.units[i]
        if u.fixed is not None and state.assign[i] in held:
            held[state.assign[i]].append(u)
    in_pool = set(csms)
    free = [
        problem.units[i]
        for i in pool.units
        if problem.units[i].fixed is None and problem.units[i].least_hours(in_pool) is not None
    ]
    if not held or not free:
        return 0.0
    rooms = {c: book_room(problem, c, kept) for c, kept in held.items()}
    eligible: dict[int, frozenset[int]] = {}
    for u in free:
        if id(u.eligible) not in eligible:
            eligible[id(u.eligible)] = frozenset(u.eligible) & in_pool
    left = list(free)
    split: list[tuple[Unit, int]] = []
    for c in sorted(csms, key=lambda c: (-rooms[c][0], c)):
        if should_stop is not None and should_stop():
            return 0.0
        mine = [u for u in left if c in eligible[id(u.eligible)]]
        if not mine:
            continue
        book = fill_book(problem, state, c, mine, rooms[c])
        taken = {u.index for u in book}
        left = [u for u in left if u.index not in taken]
        split.extend((u, c) for u in book)
    now = [u for u in free if state.assign[u.index] != UNASSIGNED]
    if served_figures([u for u, _ in split]) <= served_figures(now):
        return 0.0
    return state.resplit(free, split)


def fill_book(
    problem: Problem, state: State, c: int, units: list[Unit], room: tuple[int, int | None, int | None]
) -> list[Unit]:
    """The units of most ARR, then most accounts, then fewest moving to CSM `c`, that fit the CSM's
    (hours, ARR, book-size) room: an exact 0/1 knapsack over the hours of the best candidates by ARR per
    hour, in steps of their hours' greatest common divisor (coarser past MAX_STEPS, each unit rounded up).
    Where the book size or ARR cap cuts the choice, the book size is counted in the table too (while it is
    small) and the least ARR per hour goes first."""
    hours_room, arr_room, size_room = room
    weightless = [u for u in units if u.hours_for(c) <= 0]
    weighted = [u for u in units if u.hours_for(c) > 0]
    weighted.sort(key=lambda u: (-u.arr / u.hours_for(c), u.index))
    if weighted and hours_room > 0:
        hours = sorted(u.hours_for(c) for u in weighted)
        places = hours_room // max(1, hours[len(hours) // 2])
        if size_room is not None:
            places = min(places, size_room)
        weighted = weighted[: max(MIN_CANDIDATES, CANDIDATES_PER_PLACE * (places + 1))]
    else:
        weighted = []
    values = _values(problem, c, weightless + weighted)
    chosen = list(weightless)
    if weighted:
        step = math.gcd(*(u.hours_for(c) for u in weighted))
        step = max(step, math.ceil(hours_room / MAX_STEPS))
        weights = [math.ceil(u.hours_for(c) / step) for u in weighted]
        cells = hours_room // step
        free_size = None if size_room is None else size_room - sum(u.size for u in weightless)
        picks = _knapsack([values[u.index] for u in weighted], weights, cells)
        if (
            free_size is not None
            and sum(weighted[k].size for k in picks) > free_size >= 0
            and len(weighted) * (cells + 1) * (free_size + 1) <= MAX_SIZE_CELLS
        ):
            picks = _knapsack_by_size(
                [values[u.index] for u in weighted], weights, [u.size for u in weighted], cells, free_size
            )
        chosen += [weighted[k] for k in picks]
    return _within_caps(c, chosen, arr_room, size_room)


def _values(problem: Problem, c: int, units: list[Unit]) -> dict[int, int]:
    """Each unit's value in whole numbers ordered as the serve phase orders plans: ARR in cents first, then
    accounts, then accounts that would not move to `c` (new, or with `c` today); the ties dropped, last first, where the sums would pass the
    table's 64-bit integers."""
    total_size = sum(u.size for u in units)
    cents = {u.index: round(u.arr * 100) for u in units}
    stays = {u.index: u.size - u.moves_if(problem.csms[c].id) for u in units}
    weight = 1
    for ties in (2, 1):
        weight = (total_size + 1) ** ties
        if (sum(cents.values()) + 1) * weight < VALUE_LIMIT:
            break
    else:
        return cents  # ARR past 10^14 dollars: ARR alone
    if ties == 2:
        return {u.index: cents[u.index] * weight + u.size * (total_size + 1) + stays[u.index] for u in units}
    return {u.index: cents[u.index] * weight + u.size for u in units}


def _knapsack(values: Sequence[int], weights: Sequence[int], cells: int) -> list[int]:
    """The items of most value within `cells` (0/1, exact by dynamic programming over the room)."""
    best = np.zeros(cells + 1, dtype=np.int64)  # best[h]: the most value within h cells
    took = np.zeros((len(values), cells + 1), dtype=bool)
    for k, (v, w) in enumerate(zip(values, weights, strict=True)):
        if w > cells:
            continue
        with_it = best[: cells + 1 - w] + v
        better = with_it > best[w:]
        took[k, w:] = better
        best[w:] = np.where(better, with_it, best[w:])
    picks: list[int] = []
    h = cells
    for k in range(len(values) - 1, -1, -1):
        if took[k, h]:
            picks.append(k)
            h -= weights[k]
    return picks


def _knapsack_by_size(
    values: Sequence[int], weights: Sequence[int], sizes: Sequence[int], cells: int, size_room: int
) -> list[int]:
    """As `_knapsack`, with at most `size_room` accounts in all."""
    best = np.full((size_room + 1, cells + 1), -1, dtype=np.int64)  # -1: no choice of exactly s accounts
    best[0, :] = 0
    took = np.zeros((len(values), size_room + 1, cells + 1), dtype=bool)
    for k, (v, w, s) in enumerate(zip(values, weights, sizes, strict=True)):
        if w > cells or s > size_room:
            continue
        before = best[: size_room + 1 - s, : cells + 1 - w]
        with_it = np.where(before >= 0, before + v, -1)
        better = with_it > best[s:, w:]
        took[k, s:, w:] = better
        best[s:, w:] = np.where(better, with_it, best[s:, w:])
    at = np.unravel_index(int(np.argmax(best)), best.shape)
    size, h = int(at[0]), int(at[1])
    picks: list[int] = []
    for k in range(len(values) - 1, -1, -1):
        if took[k, size, h]:
            picks.append(k)
            size -= sizes[k]
            h -= weights[k]
    return picks


def _within_caps(c: int, chosen: list[Unit], arr_room: int | None, size_room: int | None) -> list[Unit]:
    """The chosen units less those of least ARR per hour, until the book keeps its ARR cap and book size
    (ARR counted in whole dollars rounded up, as the serve steps count it)."""
    kept = sorted(
        chosen, key=lambda u: (-u.arr / u.hours_for(c) if u.hours_for(c) > 0 else -math.inf, u.index)
    )
    while kept and (
        (arr_room is not None and sum(math.ceil(u.arr - 1e-9) for u in kept) > arr_room)
        or (size_room is not None and sum(u.size for u in kept) > size_room)
    ):
        kept.pop()
    return kept
