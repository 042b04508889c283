"""Peers for balance beyond hours, and the one judge every assignment is scored by.

- `book_making`: the territory tools' objective: per pool, minimise a weighted sum of each CSM's ARR and
  account-count deviations from the pool's total ÷ number of CSMs, with capacity soft (hours over capacity
  cost a penalty instead of being forbidden). CP-SAT, one model per pool, a share of the time limit each.
- `greedy_least_arr`: accounts by ARR, largest first, each to the eligible CSM managing the least ARR so far
  (what a spreadsheet "least ARR first" round does); no capacity check.
- `judge`: cap breaches (hours, ARR cap, book size), CSMs outside the ARR band, the ARR spread per capacity
  hour and the largest utilization per pool, recomputed from the assignment alone.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from ortools.sat.python import cp_model

from bench.baselines import Instance, build_instance, pool_of_csm
from bench.runs import Assignment, Run
from solver.schema import Book


def _pools(inst: Instance) -> dict[int, tuple[list[int], list[int]]]:
    """Per pool: its accounts and its CSMs (those who have not left)."""
    pool = pool_of_csm(inst)
    out: dict[int, tuple[list[int], list[int]]] = {}
    for c, p in enumerate(pool):
        if not inst.left[c]:
            out.setdefault(p, ([], []))[1].append(c)
    for a, elig in enumerate(inst.eligible):
        if elig:
            out.setdefault(pool[elig[0]], ([], []))[0].append(a)
    return out


def book_making(book: Book, time_limit: float) -> Run:
    """Weighted ARR and count deviations from total ÷ #CSMs, soft capacity; CP-SAT per pool."""
    start = time.perf_counter()
    inst = build_instance(book)
    assignment: Assignment = {a.id: None for a in inst.accounts}
    pools = sorted(_pools(inst).values(), key=lambda ac: -len(ac[0]))
    total_accounts = sum(len(a) for a, _ in pools) or 1
    statuses = []
    for accounts, csms in pools:
        if not accounts or not csms:
            continue
        model = cp_model.CpModel()
        x = {(a, c): model.new_bool_var("") for a in accounts for c in inst.eligible[a] if c in csms}
        for a in accounts:
            opts = [x[a, c] for c in inst.eligible[a] if (a, c) in x]
            model.add_exactly_one(opts) if opts else None
        arr_target = sum(inst.accounts[a].arr for a in accounts) / len(csms) / 1000
        count_target = len(accounts) / len(csms)
        terms = []
        for c in csms:
            mine = [(a, x[a, c]) for a in accounts if (a, c) in x]
            arr_k = sum(round(inst.accounts[a].arr / 1000) * v for a, v in mine)
            count = sum(v for _, v in mine)
            dev_arr = model.new_int_var(0, 10**9, "")
            dev_n = model.new_int_var(0, 10**6, "")
            model.add_abs_equality(dev_arr, arr_k - round(arr_target))
            model.add_abs_equality(dev_n, count - round(count_target))
            over = model.new_int_var(0, 10**9, "")
            load = sum(round(inst.hours(a, c)) * v for a, v in mine)
            model.add(over >= load - round(inst.capacity[c]))  # soft capacity
            terms += [dev_arr, 100 * dev_n, 1000 * over]
        model.minimize(sum(terms))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 2
        left = time_limit - (time.perf_counter() - start)
        solver.parameters.max_time_in_seconds = max(0.5, left * len(accounts) / total_accounts)
        status = solver.solve(model)
        statuses.append(solver.status_name(status))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            for (a, c), v in x.items():
                if solver.value(v):
                    assignment[inst.accounts[a].id] = inst.csms[c].id
    ok = [s for s in statuses if s in ("OPTIMAL", "FEASIBLE")]
    note = f"{len(ok)} of {len(statuses)} pools solved"
    return Run("book_making", assignment, time.perf_counter() - start, status="feasible", note=note)


def greedy_least_arr(book: Book) -> Run:
    """Largest ARR first, each account to the eligible CSM with the least ARR so far (no capacity check)."""
    start = time.perf_counter()
    inst = build_instance(book)
    arr = [0.0] * len(inst.csms)
    assignment: Assignment = {a.id: None for a in inst.accounts}
    for a in sorted(range(len(inst.accounts)), key=lambda i: -inst.accounts[i].arr):
        options = [c for c in inst.eligible[a] if not inst.left[c]]
        if options:
            c = min(options, key=lambda c: (arr[c], c))
            arr[c] += inst.accounts[a].arr
            assignment[inst.accounts[a].id] = inst.csms[c].id
    return Run("greedy_least_arr", assignment, time.perf_counter() - start)


def judge(book: Book, assignment: Assignment, tolerance: float = 0.15) -> dict[str, Any]:
    """Cap breaches, CSMs outside the ARR band (capacity share of the pool's ARR ± tolerance), the widest
    ARR spread per capacity hour of any pool, the largest utilization, unassigned accounts."""
    inst = build_instance(book)
    hours: defaultdict[int, float] = defaultdict(float)
    arr: defaultdict[int, float] = defaultdict(float)
    count: defaultdict[int, int] = defaultdict(int)
    index = {a.id: i for i, a in enumerate(inst.accounts)}
    unassigned = moves = 0
    for account_id, csm_id in assignment.items():
        if csm_id is None:
            unassigned += 1
            continue
        a, c = index[account_id], inst.csm_index[csm_id]
        moves += inst.current[a] is not None and inst.current[a] != c
        hours[c] += inst.hours(a, c)
        arr[c] += inst.accounts[a].arr
        count[c] += 1
    breaches = 0
    for c in range(len(inst.csms)):
        breaches += hours[c] > inst.capacity[c] + 1e-6
        cap = inst.arr_cap[c]
        breaches += cap is not None and arr[c] > cap + 1e-6
        most = inst.max_accounts[c]
        breaches += most is not None and count[c] > most
    out_of_band, spread, top = 0, 0.0, 0.0
    for _, csms in _pools(inst).values():
        caps = {c: inst.capacity[c] for c in csms if inst.capacity[c] > 0}
        if not caps:
            continue
        per_hour = sum(arr[c] for c in caps) / sum(caps.values())
        for c, cap in caps.items():
            out_of_band += abs(arr[c] - per_hour * cap) > tolerance * per_hour * cap + 1e-6
        values = [arr[c] / cap for c, cap in caps.items()]
        spread = max(spread, max(values) - min(values))
        top = max(top, max(hours[c] / cap for c, cap in caps.items()))
    return {
        "cap_breaches": breaches,
        "arr_out_of_band": out_of_band,
        "arr_spread_per_hour": round(spread, 1),
        "max_utilization": round(top, 4),
        "unassigned": unassigned,
        "moves": moves,
    }


def highs_served_arr(book: Book, pool_csms: list[str], time_limit: float) -> tuple[float, float, str]:
    """A plain MIP of one pool (HiGHS via MathOpt): the most ARR served under every hard rule (capacity,
    ARR cap, book size, eligibility, pins and freezes, parents together). Returns (served ARR, HiGHS's
    proven upper bound, status)."""
    import datetime as dt

    from ortools.math_opt.python import mathopt

    from solver.serve_mip import stdout_to_stderr

    inst = build_instance(book)
    csms = {inst.csm_index[c] for c in pool_csms if not inst.left[inst.csm_index[c]]}
    accounts = [a for a, elig in enumerate(inst.eligible) if any(c in csms for c in elig)]
    model = mathopt.Model(name="served_arr")
    x = {(a, c): model.add_binary_variable() for a in accounts for c in inst.eligible[a] if c in csms}
    for a in accounts:
        model.add_linear_constraint(sum(x[a, c] for c in inst.eligible[a] if (a, c) in x) <= 1)
        keeper = inst.frozen_to[a]
        if keeper is not None and (a, keeper) in x:
            model.add_linear_constraint(x[a, keeper] == 1)
    for group in inst.groups:
        for a in group[1:]:
            for c in csms:
                if (a, c) in x or (group[0], c) in x:
                    model.add_linear_constraint(x.get((a, c), 0) - x.get((group[0], c), 0) == 0)
    for c in csms:
        mine = [(a, x[a, c]) for a in accounts if (a, c) in x]
        model.add_linear_constraint(sum(inst.hours(a, c) * v for a, v in mine) <= inst.capacity[c])
        if inst.arr_cap[c] is not None:
            model.add_linear_constraint(sum(inst.accounts[a].arr * v for a, v in mine) <= inst.arr_cap[c])
        if inst.max_accounts[c] is not None:
            model.add_linear_constraint(sum(v for _, v in mine) <= inst.max_accounts[c])
    model.maximize(sum(inst.accounts[a].arr * v for (a, _), v in x.items()))
    with stdout_to_stderr():  # HiGHS prints diagnostics to descriptor 1, where the bench writes its JSON
        result = mathopt.solve(
            model,
            mathopt.SolverType.HIGHS,
            params=mathopt.SolveParameters(time_limit=dt.timedelta(seconds=time_limit)),
        )
    served = result.objective_value() if result.has_primal_feasible_solution() else 0.0
    bound = result.termination.objective_bounds.dual_bound
    return served, bound, result.termination.reason.name
