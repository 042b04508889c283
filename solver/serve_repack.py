"""Tight pools: serve more ARR by re-cutting the books of a few CSMs at a time, exactly.

The exchange search (solver/serve_swaps.py) trades one or two accounts at a time. A pool of few, large
accounts (strategic: about eight per CSM under a book-size cap) is a multiple knapsack, where a better plan
often needs several books re-cut at once. Here a small CP-SAT model takes the books of `GROUP_SIZE` CSMs
and the unserved accounts of most ARR they could take, and looks for the split that serves more ARR (then
more accounts) within those CSMs' hours, ARR caps and book-size caps. A plan is only ever replaced by a
better one, so what is served never falls.
"""

from __future__ import annotations

import math
import random
import time

from ortools.sat.python import cp_model

from solver.cpsat import new_solver
from solver.problem import Pool, Problem, Unit
from solver.state import UNASSIGNED, State, home_csm, served_figures

# A small model: the books of 3 CSMs (at most 48 of their accounts, drawn at random, the rest staying where
# they are) and the 12 unserved accounts of most ARR they could take. Each gets 0.05 s (deterministic time
# in deterministic mode); most end without a better split, and many small tries beat a few large ones (on
# the tight 20k book's strategic / NA, 6 s: $108.16M served with these sizes, $107.91M with 4 CSMs and 16
# accounts, $107.87M with 3 CSMs, 40 accounts and 0.25 s).
GROUP_SIZE = 3
# Half the groups start from a CSM drawn by spare hours: at 4 s of re-cuts on the tight 20k book's strategic
# / NA (7 seeds), the median served went from $107.91M (all groups uniform) to $108.16M; strategic / APAC
# reached $47.528M in 1 s in 3 of 3 seeds (uniform: 1 of 3).
ROOMY_FIRST_SHARE = 0.5
MAX_HELD = 48
MAX_UNSERVED_OFFERED = 12
REPACK_SECONDS = 0.05


def serve_more_by_repacking(
    problem: Problem,
    state: State,
    pool: Pool,
    deadline: float | None,
    *,
    max_rounds: int,
    seed: int,
    deterministic: bool = False,
) -> float:
    """Re-cut groups of CSMs' books until `deadline` (monotonic seconds) or `max_rounds` small models;
    returns the ARR gained. A book under `max_moves` is left alone: a re-cut may move any account."""
    if problem.book.policy.max_moves is not None:
        return 0.0
    return Repacker(problem, state, pool, seed, deterministic).run(deadline, max_rounds)


class Repacker:
    """The pool's CSMs with hours to give and its units that may change CSM (not frozen)."""

    def __init__(self, problem: Problem, state: State, pool: Pool, seed: int, deterministic: bool) -> None:
        self.problem, self.state, self.deterministic = problem, state, deterministic
        self.csms = [c for c in pool.csms if problem.csms[c].capacity > 0 and not problem.csms[c].left]
        self.units = [problem.units[i] for i in pool.units if problem.units[i].fixed is None]
        self.rng = random.Random(seed)
        self.proven_none_better = False  # the last re-cut proved its group has no better split
        # Groups proven to have no better split since the last gain; `settled` once every group is, or
        # everyone is served (a later run on the same plan has nothing to find).
        self.settled_groups: set[frozenset[int]] = set()
        self.settled = False

    def unserved(self) -> list[Unit]:
        return [u for u in self.units if self.state.assign[u.index] == UNASSIGNED and u.eligible]

    def run(self, deadline: float | None, max_rounds: int) -> float:
        gained = 0.0
        if len(self.csms) < 2:
            self.settled = True  # no two books to re-cut
            return gained
        k = min(GROUP_SIZE, len(self.csms))
        groups = math.comb(len(self.csms), k)
        settled = self.settled_groups
        for _ in range(max_rounds):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not self.unserved() or len(settled) >= groups:
                self.settled = True
                break
            group = self.draw_group(k)
            gain = self.recut(group)
            if gain > 0:
                gained += gain
                settled.clear()
            elif self.proven_none_better:
                settled.add(frozenset(group))
        return gained

    def draw_group(self, k: int) -> list[int]:
        """`k` CSMs at random; half the time the first is drawn by their spare hours, so that the groups
        holding the room an unserved account needs come up more often."""
        if self.rng.random() >= ROOMY_FIRST_SHARE:
            return self.rng.sample(self.csms, k)
        spare = [max(1, self.problem.csms[c].capacity - self.state.load[c]) for c in self.csms]
        first = self.rng.choices(self.csms, weights=spare)[0]
        return [first, *self.rng.sample([c for c in self.csms if c != first], k - 1)]

    def recut(self, group: list[int]) -> float:
        """A better split of `group`'s books and the unserved accounts they could take, applied if found
        (most ARR, then most accounts). Returns the ARR gained."""
        state = self.state
        members = set(group)
        self.proven_none_better = False
        offered = sorted(
            (u for u in self.unserved() if members.intersection(u.eligible)), key=lambda u: -u.arr
        )
        if not offered:
            self.proven_none_better = True  # nothing they could take
            return 0.0
        held = [u for u in self.units if state.assign[u.index] in members]
        whole = len(held) <= MAX_HELD and len(offered) <= MAX_UNSERVED_OFFERED
        if len(held) > MAX_HELD:
            held = self.rng.sample(held, MAX_HELD)
        candidates = held + offered[:MAX_UNSERVED_OFFERED]
        split = self._best_split(group, held, candidates)
        # A proof about part of the group's books and offers says nothing about the whole group.
        self.proven_none_better &= whole
        # The model weighs ARR in whole cents: the split must serve more in the plan's own figures.
        if split is None or served_figures([u for u, _ in split]) <= served_figures(held):
            return 0.0
        return state.resplit(held, split)

    def _best_split(
        self, group: list[int], held: list[Unit], candidates: list[Unit]
    ) -> list[tuple[Unit, int]] | None:
        """The candidates' CSMs in a split serving more than `held` does (most ARR, then most accounts),
        or None when none is found in time."""
        problem, state = self.problem, self.state
        members = set(group)
        model = cp_model.CpModel()
        x: dict[tuple[int, int], cp_model.IntVar] = {}
        where: dict[int, list[int]] = {}
        for u in candidates:
            where[u.index] = [c for c in group if c in u.eligible]
            for c in where[u.index]:
                x[u.index, c] = model.new_bool_var("")
            model.add_at_most_one(x[u.index, c] for c in where[u.index])
        for c in group:
            info = problem.csms[c]
            mine = [(u, x[u.index, c]) for u in candidates if (u.index, c) in x]
            # What the CSM keeps outside the model stays; their share of the candidates is re-cut.
            out = [u for u in held if state.assign[u.index] == c]
            model.add(
                sum(u.hours_for(c) * v for u, v in mine)
                <= info.capacity - state.load[c] + sum(u.hours_for(c) for u in out)
            )
            if info.arr_cap is not None:
                # ARR rounded up, the room down: a split the model allows keeps the cap.
                room = math.floor(info.arr_cap - state.arr[c] + sum(u.arr for u in out) + 1e-6)
                model.add(sum(u.whole_arr * v for u, v in mine) <= room)
            if info.max_accounts is not None:
                model.add(
                    sum(u.size * v for u, v in mine)
                    <= info.max_accounts - state.count[c] + sum(u.size for u in out)
                )
        # Most ARR first (in cents), then most accounts: the count never outweighs a cent of ARR. Among
        # the better splits, the one keeping the most accounts with the CSM they have today (the moves
        # phase comes next).
        weight = sum(u.size for u in candidates) + 1
        value = {u.index: round(u.arr * 100) * weight + u.size for u in candidates}
        served = sum(value[i] * v for (i, _), v in x.items())
        model.add(served >= sum(value[u.index] for u in held) + 1)
        home = {u.index: home_csm(problem, u) for u in candidates}
        stays = [v for (i, c), v in x.items() if home[i] == c]
        model.maximize(served * (len(stays) + 1) + sum(stays))
        for (i, c), v in x.items():
            model.add_hint(v, state.assign[i] == c)
        solver = new_solver(1, self.rng.randrange(1 << 30))
        solver.parameters.max_deterministic_time = REPACK_SECONDS
        # Deterministic mode: the wall clock only as a safety net, far past the deterministic limit.
        solver.parameters.max_time_in_seconds = REPACK_SECONDS * (40 if self.deterministic else 1)
        status = solver.solve(model)
        # No better split at all, or this one the best there is: either way nothing more to find here.
        self.proven_none_better = status in (cp_model.INFEASIBLE, cp_model.OPTIMAL)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return [
            (u, c) for u in candidates for c in where[u.index] if solver.value(x[u.index, c]) and c in members
        ]
