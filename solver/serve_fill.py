"""Tight pools: fill the books one at a time, each with the most ARR its room holds.

Which accounts a tight pool serves is a multiple knapsack: every CSM's book is a knapsack of hours, and the
pool's ARR is what the books hold together. Where a book holds a dozen or more accounts, a book filled
from the best accounts left, by an exact 0/1 knapsack over its own hours, wastes almost nothing, and what
the last books cannot take is the least ARR per hour. So each CSM in turn (the roomiest first) takes, from
the accounts no book holds yet, the set of most ARR (then most accounts, then fewest moves)
that fits their hours, book size and ARR cap, beside their pinned and frozen accounts (an exact knapsack
on the hours and book size; a binding ARR cap is met by dropping what loses least, then anything that
still fits is added). It is applied only where it serves more than the plan does.

On the tight 20k book's enterprise / NA (1,289 accounts, 91 CSMs, 101 % of their hours) this takes 0.3 s
and serves $113.95M, within 0.05 % of the pool's bound ($113.999M); the exchanges and the re-cuts of three
books at a time reached $113.43-113.47M in the engine's time, and HiGHS $106.4M in 60 s.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from solver.problem import Pool, Problem, Unit
from solver.serve_knapsack import book_room, free_units, held_units
from solver.state import UNASSIGNED, State, served_figures

# The accounts a book's knapsack looks at: the best by ARR per hour, this many times the accounts the book
# is likely to hold, and at least MIN_CANDIDATES.
CANDIDATES_PER_PLACE = 4
MIN_CANDIDATES = 60
MAX_CANDIDATES = 2_000
# A book's table has at most this many steps of hours, and this many cells (candidates x steps): 0.1-0.2 s
# and 16 MB. Coarser steps count each account's hours rounded up and the room rounded down, so what the
# table says fits does fit.
MAX_STEPS = 20_000
MAX_TABLE_CELLS = 16_000_000
# The table by hours and book size together, where the book size cuts the choice: at most this many cells
# (candidates x steps x sizes), in coarser steps where needed, and at least MIN_SIZE_STEPS steps of hours.
MAX_SIZE_CELLS = 5_000_000
MIN_SIZE_STEPS = 200
VALUE_LIMIT = 1 << 62  # the table adds values in 64-bit integers


@dataclass
class TableWork:
    """The cells of the books' tables filled so far: what deterministic mode limits the step by."""

    cells: int = 0


def serve_more_by_filling(
    problem: Problem,
    state: State,
    pool: Pool,
    should_stop: Callable[[], bool] | None = None,
    work: TableWork | None = None,
) -> float:
    """Fill the pool's books one at a time (the module's rule) and apply the plan where it serves more
    ARR, or as much and more accounts. Returns the ARR served more. `should_stop` is asked between books:
    the step then leaves the plan as it was. `work` counts the tables' cells."""
    if problem.book.policy.max_moves is not None:
        return 0.0  # the fill may move any account
    # Every CSM who stays, those of no hours too (they may hold accounts of no hours).
    csms = [c for c in pool.csms if not problem.csms[c].left]
    held = held_units(problem, state, pool, csms)
    free = free_units(problem, pool, csms)
    if not held or not free:
        return 0.0
    rooms = {c: book_room(problem, c, kept) for c, kept in held.items()}
    in_pool = set(csms)
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
        book = fill_book(problem, c, mine, rooms[c], work)
        taken = {u.index for u in book}
        left = [u for u in left if u.index not in taken]
        split.extend((u, c) for u in book)
    now = [u for u in free if state.assign[u.index] != UNASSIGNED]
    if served_figures([u for u, _ in split]) <= served_figures(now):
        return 0.0
    return state.resplit(free, split)


def fill_book(
    problem: Problem,
    c: int,
    units: list[Unit],
    room: tuple[int, int | None, int | None],
    work: TableWork | None = None,
) -> list[Unit]:
    """The units of most ARR, then most accounts, then fewest moving to CSM `c`, that fit the CSM's
    (hours, ARR, book-size) room. On the hours (and the book size, while that table is small) it is an
    exact 0/1 knapsack over the candidates (`_candidates`), in steps of their hours' greatest common
    divisor (coarser past MAX_STEPS or MAX_TABLE_CELLS, each unit rounded up); an ARR cap that cuts the choice drops what
    brings the book under it losing least, and anything that still fits is added last, most ARR first."""
    hours_room, arr_room, size_room = room
    # Each unit that fits the book alone (none where pinned or frozen accounts pass its hours already).
    fitting = [
        u
        for u in units
        if u.hours_for(c) <= hours_room
        and (size_room is None or u.size <= size_room)
        and (arr_room is None or u.whole_arr <= arr_room)
    ]
    candidates = _candidates(c, fitting, hours_room, size_room)
    values = _values(problem, c, candidates)
    if not candidates or values is None:
        return []
    worth = [values[u.index] for u in candidates]
    hours = [u.hours_for(c) for u in candidates]
    step = _step(hours, hours_room, min(MAX_STEPS, MAX_TABLE_CELLS // len(candidates)))
    weights = [math.ceil(h / step) for h in hours]
    picks = _knapsack(worth, weights, hours_room // step)
    if work is not None:
        work.cells += len(candidates) * (hours_room // step + 1)
    if size_room is not None and sum(candidates[k].size for k in picks) > size_room:
        steps = MAX_SIZE_CELLS // (len(candidates) * (size_room + 1))
        if steps >= MIN_SIZE_STEPS:
            step = _step(hours, hours_room, steps)
            weights = [math.ceil(h / step) for h in hours]
            picks = _knapsack_by_size(
                worth, weights, [u.size for u in candidates], hours_room // step, size_room
            )
            if work is not None:
                work.cells += len(candidates) * (hours_room // step + 1) * (size_room + 1)
    chosen = _within_caps([candidates[k] for k in picks], arr_room, size_room)
    return _add_what_fits(c, chosen, fitting, room)


def _step(hours: list[int], room: int, most_steps: int) -> int:
    """The table's step of hours: the hours' greatest common divisor, or coarser so that the room is at
    most `most_steps` steps."""
    return max(math.gcd(*hours) or 1, math.ceil(room / max(1, most_steps)))


def _candidates(c: int, fitting: list[Unit], hours_room: int, size_room: int | None) -> list[Unit]:
    """The units the book's table looks at: the most ARR per hour (accounts of no hours first), as many as
    CANDIDATES_PER_PLACE times the accounts the book is likely to hold (at least MIN_CANDIDATES, at most
    MAX_CANDIDATES); where the book size holds fewer accounts than the hours would, the most ARR per
    account as well."""

    def per_hour(u: Unit) -> tuple[float, int]:
        h = u.hours_for(c)
        return (-u.arr / h if h > 0 else -math.inf, u.index)

    by_hour = sorted(fitting, key=per_hour)
    hours = sorted(h for u in fitting if (h := u.hours_for(c)) > 0)
    places = hours_room // hours[len(hours) // 2] if hours else len(fitting)
    size_binds = size_room is not None and size_room < places
    if size_room is not None:
        places = min(places, size_room)
    count = min(MAX_CANDIDATES, max(MIN_CANDIDATES, CANDIDATES_PER_PLACE * (places + 1)))
    chosen = by_hour[:count]
    if size_binds:
        taken = {u.index for u in chosen}
        by_account = sorted(fitting, key=lambda u: (-u.arr / u.size, u.index))
        chosen += [u for u in by_account[:count] if u.index not in taken]
    return chosen


def _values(problem: Problem, c: int, units: list[Unit]) -> dict[int, int] | None:
    """Each unit's value in whole numbers ordered as the serve phase orders plans: ARR in cents first, then
    accounts, then accounts that would not move to `c` (new, or with `c` today); the ties dropped, last
    first, where the sums would pass the table's 64-bit integers (None: ARR alone would)."""
    total_size = sum(u.size for u in units)
    cents = {u.index: round(u.arr * 100) for u in units}
    stays = {u.index: u.size - u.moves_if(problem.csms[c].id) for u in units}
    for ties in (2, 1, 0):
        weight = (total_size + 1) ** ties
        if (sum(cents.values()) + 1) * weight < VALUE_LIMIT:
            break
    else:
        return None  # ARR past 10^16 dollars on one book's candidates
    if ties == 2:
        return {u.index: cents[u.index] * weight + u.size * (total_size + 1) + stays[u.index] for u in units}
    if ties == 1:
        return {u.index: cents[u.index] * weight + u.size for u in units}
    return cents


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


def _within_caps(chosen: list[Unit], arr_room: int | None, size_room: int | None) -> list[Unit]:
    """The chosen units less what brings the book within its ARR cap losing least (of the unit of least
    ARR that covers the excess alone and the fewest units of least ARR that cover it together, the one
    losing less; again while the book is over), then within its book size (the least ARR per account
    first)."""
    kept = sorted(chosen, key=lambda u: (u.whole_arr, u.arr, u.index))
    if arr_room is not None:
        arrs = [u.whole_arr for u in kept]
        total = sum(arrs)
        while kept and total > arr_room:
            excess = total - arr_room
            smallest, lost = 0, 0
            while lost < excess and smallest < len(arrs):
                lost += arrs[smallest]
                smallest += 1
            at = bisect.bisect_left(arrs, excess)
            if at < len(arrs) and arrs[at] < lost:
                total -= arrs.pop(at)
                kept.pop(at)
            else:
                total -= lost
                del arrs[:smallest], kept[:smallest]
    if size_room is not None:
        kept.sort(key=lambda u: (u.arr / u.size, u.index))
        size = sum(u.size for u in kept)
        drop = 0
        while drop < len(kept) and size > size_room:
            size -= kept[drop].size
            drop += 1
        kept = kept[drop:]
    return kept


def _add_what_fits(
    c: int, chosen: list[Unit], fitting: list[Unit], room: tuple[int, int | None, int | None]
) -> list[Unit]:
    """The chosen units and, most ARR first, every other unit that still fits the book."""
    hours_room, arr_room, size_room = room
    hours = sum(u.hours_for(c) for u in chosen)
    arr = sum(u.whole_arr for u in chosen)
    size = sum(u.size for u in chosen)
    taken = {u.index for u in chosen}
    book = list(chosen)
    rest = [u for u in fitting if u.index not in taken and hours + u.hours_for(c) <= hours_room]
    for u in sorted(rest, key=lambda u: (-u.arr, -u.size, u.index)):
        if (
            hours + u.hours_for(c) <= hours_room
            and (arr_room is None or arr + u.whole_arr <= arr_room)
            and (size_room is None or size + u.size <= size_room)
        ):
            book.append(u)
            hours += u.hours_for(c)
            arr += u.whole_arr
            size += u.size
    return book
