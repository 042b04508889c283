"""The peers bookplan is measured against, and the one scoring function every plan is judged by.

- `round_robin`, `least_loaded`: what CS platforms ship. They route the accounts that need a CSM (all of
  them in a fresh book; new accounts and those of a CSM who left in a historical one) and leave every other
  relationship where it is, skipping a CSM whose hours, ARR cap or book-size cap would be exceeded.
- `naive_cpsat`, `highs_mip`: the one-shot model a developer writes first: one Boolean per eligible
  account-CSM pair, every hard rule, minimise the largest utilization (or the total cost), solved whole.
- `score`: largest utilization per pool against the pool's lower bound, the ±tolerance band, moves against
  a lower bound on moves, unassigned accounts and broken caps, recomputed from the assignment alone.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.runs import Assignment, Run, run_in_subprocess
from solver import policy as rules
from solver.schema import CSM, Account, Book

# CP-SAT and the MIP work in integers: hours in hundredths, utilization in ten-thousandths.
HOURS_SCALE = 100
UTIL_SCALE = 10_000


@dataclass
class Instance:
    """A book read once through `solver.policy`: eligibility, hours per pair, capacities, caps, freezes."""

    book: Book
    today: dt.date
    accounts: list[Account]
    csms: list[CSM]
    csm_index: dict[str, int]
    eligible: list[list[int]]  # per account: indices of the CSMs that may serve it (lists shared)
    eligible_set: list[frozenset[int]]
    base_hours: list[float]  # per account: hours a year under its service model
    pair_hours: dict[tuple[int, int], float]  # (account, CSM) overrides from `pairs`
    capacity: list[float]
    arr_cap: list[float | None]
    max_accounts: list[int | None]
    left: list[bool]
    frozen_to: list[int | None]  # per account: the CSM it must stay with (pin or freeze), if any
    current: list[int | None]
    groups: list[list[int]]  # parent companies (accounts that go to one CSM), and singletons
    cost: dict[tuple[int, int], float] = field(default_factory=dict)

    def hours(self, a: int, c: int) -> float:
        """Hours account `a` needs a year when CSM `c` serves it."""
        return self.pair_hours.get((a, c), self.base_hours[a])


def build_instance(book: Book) -> Instance:
    policy = book.policy
    today = rules.as_of(policy)
    pairs = rules.pairs_index(book)
    csms = list(book.csms)
    csm_index = {c.id: i for i, c in enumerate(csms)}
    # Eligibility depends on the pair only through tier, region, language, the current CSM (accepting_new)
    # and pair bans: decide it once per (tier, region, language) and patch the exceptions per account.
    by_profile: dict[tuple[str, str | None, str | None], tuple[list[int], frozenset[int]]] = {}
    eligible: list[list[int]] = []
    eligible_set: list[frozenset[int]] = []
    base_hours: list[float] = []
    pair_hours: dict[tuple[int, int], float] = {}
    cost: dict[tuple[int, int], float] = {}
    pairs_of: dict[str, list[int]] = defaultdict(list)
    for p in book.pairs:
        pairs_of[p.account].append(csm_index[p.csm])
    for a, account in enumerate(book.accounts):
        profile = (account.tier, account.region, account.language)
        if profile not in by_profile:
            probe = account.model_copy(update={"current_csm": None})
            base = [
                i
                for i, c in enumerate(csms)
                if rules.eligibility_problem(probe, c, None, policy, today=today) is None
            ]
            by_profile[profile] = (base, frozenset(base))
        chosen, chosen_set = by_profile[profile]
        cur = csm_index.get(account.current_csm) if account.current_csm else None
        special = set(pairs_of.get(account.id, ()))
        if cur is not None:
            special.add(cur)
        if special:
            keep = set(chosen_set)
            for i in special:
                pair = pairs.get((account.id, csms[i].id))
                if rules.eligibility_problem(account, csms[i], pair, policy, today=today) is None:
                    keep.add(i)
                    if pair is not None and pair.hours is not None:
                        pair_hours[a, i] = pair.hours
                    if pair is not None and pair.cost is not None:
                        cost[a, i] = pair.cost
                else:
                    keep.discard(i)
            if keep != chosen_set:
                chosen, chosen_set = sorted(keep), frozenset(keep)
        eligible.append(chosen)
        eligible_set.append(chosen_set)
        base_hours.append(rules.account_hours(account, policy))
    left = [rules.csm_has_left(c, today) for c in csms]
    current = [csm_index.get(a.current_csm) if a.current_csm else None for a in book.accounts]
    frozen_to: list[int | None] = []
    for account, cur in zip(book.accounts, current, strict=True):
        # A freeze keeps the relationship; it cannot keep an account with a CSM who has left.
        frozen = cur is not None and not left[cur] and rules.freeze_reason(account, policy) is not None
        frozen_to.append(cur if frozen else None)
    by_parent: dict[str, list[int]] = defaultdict(list)
    groups: list[list[int]] = []
    for i, account in enumerate(book.accounts):
        if account.parent_id is None:
            groups.append([i])
        else:
            if account.parent_id not in by_parent:
                groups.append(by_parent[account.parent_id])
            by_parent[account.parent_id].append(i)
    return Instance(
        book=book,
        today=today,
        accounts=list(book.accounts),
        csms=csms,
        csm_index=csm_index,
        eligible=eligible,
        eligible_set=eligible_set,
        base_hours=base_hours,
        pair_hours=pair_hours,
        capacity=[rules.capacity_hours(c, policy) for c in csms],
        arr_cap=[rules.csm_arr_cap(c, policy) for c in csms],
        max_accounts=[rules.csm_max_accounts(c, policy) for c in csms],
        left=left,
        frozen_to=frozen_to,
        current=current,
        groups=groups,
        cost=cost,
    )


# ---------------------------------------------------------------- greedy peers


class _Loads:
    def __init__(self, inst: Instance) -> None:
        n = len(inst.csms)
        self.inst = inst
        self.hours = [0.0] * n
        self.arr = [0.0] * n
        self.count = [0] * n

    def fits(self, csm: int, group: list[int]) -> bool:
        inst = self.inst
        if any(csm not in inst.eligible_set[a] for a in group):
            return False
        h = sum(inst.hours(a, csm) for a in group)
        arr = sum(inst.accounts[a].arr for a in group)
        cap, max_n = inst.arr_cap[csm], inst.max_accounts[csm]
        return (
            self.hours[csm] + h <= inst.capacity[csm] + 1e-9
            and (cap is None or self.arr[csm] + arr <= cap)
            and (max_n is None or self.count[csm] + len(group) <= max_n)
        )

    def add(self, csm: int, group: list[int], assignment: Assignment) -> None:
        inst = self.inst
        for a in group:
            self.hours[csm] += inst.hours(a, csm)
            self.arr[csm] += inst.accounts[a].arr
            self.count[csm] += 1
            assignment[inst.accounts[a].id] = inst.csms[csm].id


def _kept_csm(inst: Instance, group: list[int]) -> int | None:
    """The active CSM a relationship stays with when a platform only routes what needs routing."""
    for a in group:
        cur = inst.current[a]
        if cur is not None and not inst.left[cur]:
            return cur
    return None


def _route(inst: Instance, pick: Callable[[_Loads, list[int], list[int]], int | None]) -> Assignment:
    assignment: Assignment = {a.id: None for a in inst.accounts}
    loads = _Loads(inst)
    to_route: list[list[int]] = []
    for group in inst.groups:
        kept = _kept_csm(inst, group)
        if kept is None:
            to_route.append(group)
        else:  # existing relationships stay as they are, even over capacity
            loads.add(kept, group, assignment)
    for group in to_route:
        candidates = (
            inst.eligible[group[0]]
            if len(group) == 1
            else sorted(frozenset.intersection(*(inst.eligible_set[a] for a in group)))
        )
        chosen = pick(loads, group, candidates)
        if chosen is not None:
            loads.add(chosen, group, assignment)
    return assignment


def round_robin(book: Book) -> Run:
    """Accounts in input order, each to the next eligible CSM in turn that still has room."""
    start = time.perf_counter()
    inst = build_instance(book)
    cursors: dict[tuple[int, ...], int] = defaultdict(int)

    def pick(loads: _Loads, group: list[int], candidates: list[int]) -> int | None:
        key = tuple(candidates)
        for step in range(len(candidates)):
            csm = candidates[(cursors[key] + step) % len(candidates)]
            if loads.fits(csm, group):
                cursors[key] = (cursors[key] + step + 1) % len(candidates)
                return csm
        return None

    assignment = _route(inst, pick)
    return Run("round_robin", assignment, time.perf_counter() - start)


def least_loaded(book: Book) -> Run:
    """Each account to the eligible CSM with the fewest hours booked who still has room."""
    start = time.perf_counter()
    inst = build_instance(book)

    def pick(loads: _Loads, group: list[int], candidates: list[int]) -> int | None:
        for csm in sorted(candidates, key=lambda c: loads.hours[c]):
            if loads.fits(csm, group):
                return csm
        return None

    assignment = _route(inst, pick)
    return Run("least_loaded", assignment, time.perf_counter() - start)


# ---------------------------------------------------------------- one-shot models


def _is_min_cost(book: Book) -> bool:
    return book.policy.objective == "min_cost"


def _has_history(inst: Instance) -> bool:
    return any(c is not None for c in inst.current)


def _int_hours(h: float) -> int:
    return round(h * HOURS_SCALE)


def naive_cpsat(book: Book, time_limit: float, *, workers: int = 2) -> Run:
    """Every eligible pair a Boolean, every hard rule a constraint, the whole book in one CP-SAT model."""
    from ortools.sat.python import cp_model

    start = time.perf_counter()
    inst = build_instance(book)
    model = cp_model.CpModel()
    x: dict[tuple[int, int], Any] = {}
    for a, csms in enumerate(inst.eligible):
        for c in csms:
            x[a, c] = model.new_bool_var(f"x[{a},{c}]")
    by_csm: dict[int, list[int]] = defaultdict(list)
    for a, c in x:
        by_csm[c].append(a)

    # Every account is served by exactly one eligible CSM.
    for a, csms in enumerate(inst.eligible):
        model.add_exactly_one(x[a, c] for c in csms)
    # Pinned and frozen accounts stay with their CSM.
    for a, keeper in enumerate(inst.frozen_to):
        if keeper is not None and (a, keeper) in x:
            model.add(x[a, keeper] == 1)
        elif keeper is not None:  # frozen to a CSM who may not serve it: the book is infeasible as given
            model.add_bool_or([])
    # Accounts of one parent company share one CSM.
    for group in inst.groups:
        for a in group[1:]:
            for c in set(inst.eligible[a]) | set(inst.eligible[group[0]]):
                if (a, c) in x and (group[0], c) in x:
                    model.add(x[a, c] == x[group[0], c])
                elif (a, c) in x:
                    model.add(x[a, c] == 0)
                else:
                    model.add(x[group[0], c] == 0)
    # Hours, ARR and book size stay within each CSM's caps.
    top = model.new_int_var(0, 100 * UTIL_SCALE, "max_utilization")
    for c, accounts in by_csm.items():
        load = sum(_int_hours(inst.hours(a, c)) * x[a, c] for a in accounts)
        cap_hours = math.floor(inst.capacity[c] * HOURS_SCALE)
        model.add(load <= cap_hours)
        if not _is_min_cost(book) and cap_hours > 0:
            model.add(UTIL_SCALE * load <= top * cap_hours)
        arr_cap = inst.arr_cap[c]
        if arr_cap is not None:
            model.add(sum(round(inst.accounts[a].arr) * x[a, c] for a in accounts) <= math.floor(arr_cap))
        max_n = inst.max_accounts[c]
        if max_n is not None:
            model.add(sum(x[a, c] for a in accounts) <= max_n)

    moves = [1 - x[a, cur] if (a, cur) in x else 1 for a, cur in enumerate(inst.current) if cur is not None]
    if _is_min_cost(book):
        model.minimize(sum(round(inst.cost.get((a, c), 0.0)) * var for (a, c), var in x.items()))
    elif _has_history(inst):  # the largest utilization first, then the fewest moves
        model.minimize(top * (len(moves) + 1) + sum(moves))
    else:
        model.minimize(top)
    build = time.perf_counter() - start

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit - build)
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    assignment: Assignment = {a.id: None for a in inst.accounts}
    objective = bound = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for (a, c), var in x.items():
            if solver.value(var):
                assignment[inst.accounts[a].id] = inst.csms[c].id
        objective, bound = solver.objective_value, solver.best_objective_bound
        if not _is_min_cost(book):
            # Back from the integer objective (utilization x (moves + 1) + moves) to a utilization.
            weight = (len(moves) + 1) if _has_history(inst) else 1
            objective, bound = solver.value(top) / UTIL_SCALE, math.floor(bound / weight) / UTIL_SCALE
    return Run(
        "naive_cpsat",
        assignment,
        time.perf_counter() - start,
        status=_cp_status(solver.status_name(status)),
        build_seconds=build,
        objective=objective,
        bound=bound,
    )


def _cp_status(name: str) -> str:
    return {"OPTIMAL": "optimal", "FEASIBLE": "feasible", "INFEASIBLE": "infeasible"}.get(
        name, "no_solution_in_time"
    )


def highs_mip(book: Book, time_limit: float) -> Run:
    """The same one-shot model as a MIP for HiGHS (the largest utilization as a continuous variable)."""
    if "ortools" in sys.modules:
        # OR-Tools bundles its own HiGHS; the two libraries cannot be loaded into one process.
        return run_in_subprocess("highs_mip", book, time_limit)
    import highspy
    import numpy as np

    start = time.perf_counter()
    inst = build_instance(book)
    keys = [(a, c) for a, csms in enumerate(inst.eligible) for c in csms]
    col = {k: j for j, k in enumerate(keys)}
    n_x = len(keys)
    top_col = n_x  # the largest utilization
    n_cols = n_x + 1
    min_cost = _is_min_cost(book)
    history = _has_history(inst)

    costs = np.zeros(n_cols)
    if min_cost:
        for j, (a, c) in enumerate(keys):
            costs[j] = inst.cost.get((a, c), 0.0)
    else:
        costs[top_col] = 1.0
        if history:  # a move is worth less than any visible change of the largest utilization
            tie = 1.0 / (UTIL_SCALE * (len(inst.accounts) + 1))
            for j, (a, c) in enumerate(keys):
                if inst.current[a] is not None and inst.current[a] != c:
                    costs[j] = tie
    lower = np.zeros(n_cols)
    upper = np.ones(n_cols)
    upper[top_col] = 100.0
    for a, keeper in enumerate(inst.frozen_to):
        if keeper is not None and (a, keeper) in col:
            lower[col[a, keeper]] = 1.0

    rows_lo: list[float] = []
    rows_hi: list[float] = []
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []

    def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        starts.append(len(index))
        for j, v in entries:
            index.append(j)
            value.append(v)
        rows_lo.append(lo)
        rows_hi.append(hi)

    inf = highspy.kHighsInf
    for a, csms in enumerate(inst.eligible):
        row([(col[a, c], 1.0) for c in csms], 1.0, 1.0)
    for group in inst.groups:
        for a in group[1:]:
            for c in set(inst.eligible[a]) | set(inst.eligible[group[0]]):
                pair = [(col[k], s) for k, s in (((a, c), 1.0), ((group[0], c), -1.0)) if k in col]
                row(pair, 0.0, 0.0)
    by_csm: dict[int, list[int]] = defaultdict(list)
    for a, c in keys:
        by_csm[c].append(a)
    for c, accounts in by_csm.items():
        load = [(col[a, c], inst.hours(a, c)) for a in accounts]
        row(load, -inf, inst.capacity[c])
        if not min_cost and inst.capacity[c] > 0:
            row([*load, (top_col, -inst.capacity[c])], -inf, 0.0)
        arr_cap = inst.arr_cap[c]
        if arr_cap is not None:
            row([(col[a, c], inst.accounts[a].arr) for a in accounts], -inf, arr_cap)
        max_n = inst.max_accounts[c]
        if max_n is not None:
            row([(col[a, c], 1.0) for a in accounts], -inf, float(max_n))

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 2)
    h.addCols(
        n_cols,
        costs,
        lower,
        upper,
        0,
        np.array([], dtype=np.int32),
        np.array([], dtype=np.int32),
        np.array([]),
    )
    h.addRows(
        len(rows_lo),
        np.array(rows_lo),
        np.array(rows_hi),
        len(index),
        np.array(starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(value),
    )
    integrality = np.array([highspy.HighsVarType.kInteger] * n_x + [highspy.HighsVarType.kContinuous])
    h.changeColsIntegrality(n_cols, np.arange(n_cols, dtype=np.int32), integrality)
    build = time.perf_counter() - start
    h.setOptionValue("time_limit", max(0.1, time_limit - build))
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    assignment: Assignment = {a.id: None for a in inst.accounts}
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    objective = bound = None
    if has_solution:
        values = h.getSolution().col_value
        for j, (a, c) in enumerate(keys):
            if values[j] > 0.5:
                assignment[inst.accounts[a].id] = inst.csms[c].id
        objective = values[top_col] if not min_cost else info.objective_function_value
        bound = info.mip_dual_bound
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    else:
        status = "feasible" if has_solution else "no_solution_in_time"
    return Run(
        "highs_mip",
        assignment,
        time.perf_counter() - start,
        status=status,
        build_seconds=build,
        objective=objective,
        bound=bound,
    )


PEERS: dict[str, Callable[..., Run]] = {
    "round_robin": round_robin,
    "least_loaded": least_loaded,
    "naive_cpsat": naive_cpsat,
    "highs_mip": highs_mip,
}


# ---------------------------------------------------------------- scoring


def pool_of_csm(inst: Instance) -> list[int]:
    """Pool id per CSM: CSMs joined by an account both may serve (connected components)."""
    parent = list(range(len(inst.csms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: set[frozenset[int]] = set()
    for csms, key in zip(inst.eligible, inst.eligible_set, strict=True):
        if len(csms) < 2 or key in seen:
            continue
        seen.add(key)
        root = find(csms[0])
        for c in csms[1:]:
            other = find(c)
            if other != root:
                parent[other] = root
    return [find(i) for i in range(len(inst.csms))]


def _least_removals(loads: list[float], limit: float) -> int:
    """Fewest of these accounts that must leave so the rest fit under `limit` (largest first)."""
    total = sum(loads)
    n = 0
    for h in sorted(loads, reverse=True):
        if total <= limit + 1e-9:
            break
        total -= h
        n += 1
    return n


def score(book: Book, assignment: Assignment, inst: Instance | None = None) -> dict[str, Any]:
    """Judge an assignment by the book's rules alone: utilization against bounds, moves, broken caps."""
    inst = inst or build_instance(book)
    tolerance = book.policy.balance_tolerance
    n = len(inst.csms)
    hours = [0.0] * n
    arr = [0.0] * n
    count = [0] * n
    ineligible = unassigned = frozen_moved = 0
    moved = 0
    moved_arr = 0.0
    total_cost = 0.0
    chosen: list[int | None] = []
    for a, account in enumerate(inst.accounts):
        csm_id = assignment.get(account.id)
        c = inst.csm_index.get(csm_id) if csm_id is not None else None
        chosen.append(c)
        if c is None:
            unassigned += 1
        elif c not in inst.eligible_set[a]:
            ineligible += 1
        if c is not None:
            hours[c] += inst.hours(a, c)
            arr[c] += account.arr
            count[c] += 1
            total_cost += inst.cost.get((a, c), 0.0)
        cur = inst.current[a]
        if cur is not None and c != cur:
            moved += 1
            moved_arr += account.arr
        if inst.frozen_to[a] is not None and c != inst.frozen_to[a]:
            frozen_moved += 1
    parents_split = sum(1 for g in inst.groups if len(g) > 1 and len({chosen[a] for a in g}) > 1)
    over_hours = sum(1 for c in range(n) if hours[c] > inst.capacity[c] + 1e-6)
    over_arr = sum(1 for c in range(n) if (cap := inst.arr_cap[c]) is not None and arr[c] > cap + 1e-6)
    over_count = sum(1 for c in range(n) if (m := inst.max_accounts[c]) is not None and count[c] > m)

    pool_of = pool_of_csm(inst)
    members: dict[int, list[int]] = defaultdict(list)
    for c in range(n):
        if not inst.left[c]:
            members[pool_of[c]].append(c)
    demand: dict[int, float] = defaultdict(float)
    accounts_in: dict[int, list[int]] = defaultdict(list)
    for a, csms in enumerate(inst.eligible):
        if csms:
            pool = pool_of[csms[0]]
            demand[pool] += min(inst.hours(a, c) for c in csms) if inst.pair_hours else inst.base_hours[a]
            accounts_in[pool].append(a)
    pools: list[dict[str, Any]] = []
    moves_bound = 0
    for pool, csms in members.items():
        capacity = sum(inst.capacity[c] for c in csms)
        if not accounts_in[pool] or capacity <= 0:
            continue
        frozen_load: dict[int, float] = defaultdict(float)
        movable: dict[int, list[float]] = defaultdict(list)
        for a in accounts_in[pool]:
            if (f := inst.frozen_to[a]) is not None:
                frozen_load[f] += inst.hours(a, f)
            elif (cur := inst.current[a]) is not None and not inst.left[cur]:
                movable[cur].append(inst.hours(a, cur))
        mean_bound = demand[pool] / capacity
        bound = max([mean_bound] + [frozen_load[c] / inst.capacity[c] for c in csms if inst.capacity[c] > 0])
        utils = [hours[c] / inst.capacity[c] if inst.capacity[c] > 0 else math.inf for c in csms]
        mean = sum(hours[c] for c in csms) / capacity
        out_of_band = sum(1 for u in utils if abs(u - mean) > tolerance + 1e-9)
        # Moves no plan can avoid: a leaver's accounts, and from every CSM above the band the fewest
        # accounts that bring them back into it (each move empties one seat by one account).
        must_move = sum(
            1 for a in accounts_in[pool] if (cur := inst.current[a]) is not None and inst.left[cur]
        )
        for c in csms:
            limit = (mean_bound + tolerance) * inst.capacity[c] - frozen_load[c]
            by_hours = _least_removals(movable[c], max(0.0, limit))
            max_n = inst.max_accounts[c]
            by_count = 0
            if max_n is not None:
                frozen_n = sum(1 for a in accounts_in[pool] if inst.frozen_to[a] == c)
                by_count = max(0, len(movable[c]) + frozen_n - max_n)
            must_move += max(by_hours, by_count)
        moves_bound += must_move
        top = max(utils)
        pools.append(
            {
                "pool": f"{inst.csms[csms[0]].tiers[0]}/{(inst.csms[csms[0]].regions or ['*'])[0]}",
                "csms": len(csms),
                "accounts": len(accounts_in[pool]),
                "max_utilization": round(top, 4),
                "bound": round(bound, 4),
                "gap_points": round(100 * (top - bound), 2),
                "mean_utilization": round(mean, 4),
                "out_of_band": out_of_band,
                "moves_bound": must_move,
            }
        )
    pools.sort(key=lambda p: -p["gap_points"])
    finite_utils = [p["max_utilization"] for p in pools]
    return {
        "max_utilization": max(finite_utils, default=0.0),
        "worst_gap_points": max((p["gap_points"] for p in pools), default=0.0),
        "out_of_band": sum(p["out_of_band"] for p in pools),
        "moves": moved,
        "moved_arr": moved_arr,
        "moves_bound": moves_bound,
        "unassigned": unassigned,
        "violations": {
            "capacity": over_hours,
            "arr_cap": over_arr,
            "max_accounts": over_count,
            "ineligible": ineligible,
            "frozen_moved": frozen_moved,
            "parents_split": parents_split,
        },
        "cap_violations": over_hours + over_arr + over_count + ineligible + frozen_moved + parents_split,
        "total_cost": total_cost,
        "pools": pools,
    }
