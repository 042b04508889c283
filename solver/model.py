"""The CP-SAT model of one pool (or one neighbourhood of a pool), solved in priority phases.

Interchangeable units (single accounts with the same hours, the same eligible CSMs, the same home CSM and
no pair overrides) are aggregated into a *class*; the model decides how many accounts of each class each
CSM takes (an integer, a Boolean for classes of one). A 1,700-account pool thus becomes a few hundred
classes, which keeps Python model-building out of the hot path.

Phases, each hinted with the best plan so far and then frozen at its optimum (or at the value found):
  serve  maximise accounts served;
  band   minimise hours outside the ±tolerance band around the pool mean; then moves (accounts, then ARR);
  level  minimise the largest utilization (balance) — or the total pair cost (min_cost).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import cast

from ortools.sat.python import cp_model

from solver.construct import UNASSIGNED, State, home_csm
from solver.prepare import Problem, Unit

UTIL_SCALE = 100_000  # utilization resolution when capacities differ (0.001 point)
ARR_UNIT = 1_000  # ARR moved is minimised in thousands (a tie-break after the number of moves)
MAX_INT_ARR = 2**40
# A model of at most this many account x CSM pairs keeps ARR exact when an ARR cap can bind (one class per
# ARR value); larger ones price accounts in 5 % ARR buckets.
EXACT_ARR_PAIRS = 5_000


@dataclass
class Params:
    workers: int
    seed: int
    deterministic: bool
    should_stop: Callable[[], bool] | None = None


@dataclass
class SubResult:
    proven: bool = True  # every phase that ran was proven optimal on an exact model
    exact: bool = True  # no conservative rounding (ARR buckets) was needed
    level_bound: float | None = None  # lower bound on the largest utilization (phase level)
    moves_bound: int | None = None
    cost_bound: float | None = None
    phases: list[str] = field(default_factory=list)


@dataclass
class _Class:
    units: list[Unit]
    csms: list[int]
    hours: dict[int, int]
    arr: int  # ARR used in the cap constraint (the class maximum, rounded up)
    size: int  # accounts per unit
    home: int | None
    cost: dict[int, float]
    soft: dict[int, int]


def _classes(
    problem: Problem, units: list[Unit], csm_set: set[int], arr_binding: bool, exact_arr: bool = False
) -> list[_Class]:
    groups: dict[tuple[tuple[int, ...], int, int | None, int], list[Unit]] = {}  # noqa: RUF100
    singles: list[_Class] = []
    restricted: dict[int, tuple[int, ...]] = {}
    for u in units:
        elig = restricted.get(id(u.eligible))
        if elig is None:
            elig = restricted[id(u.eligible)] = tuple(c for c in u.eligible if c in csm_set)
        if not elig:
            continue
        home = home_csm(problem, u)
        special = u.size > 1 or u.hours_by_csm or u.cost_by_csm or u.soft_by_csm
        if special:
            singles.append(
                _Class(
                    units=[u],
                    csms=list(elig),
                    hours={c: u.hours_for(c) for c in elig},
                    arr=math.ceil(u.arr),
                    size=u.size,
                    home=home,
                    cost={c: u.cost_by_csm.get(c, 0.0) for c in elig},
                    soft={c: u.soft_by_csm.get(c, 0) for c in elig},
                )
            )
            continue
        # ARR only splits classes when some CSM's ARR cap can bind: then accounts of the same ARR form a
        # class (small models), or the class is priced at its bucket's upper edge (5 % buckets), a
        # conservative rounding that never breaks the cap (large ones).
        if not arr_binding:
            arr_key = 0
        elif exact_arr:
            arr_key = math.ceil(u.arr)
        else:
            arr_key = math.ceil(math.log(u.arr + 1.0, 1.05))
        groups.setdefault((elig, u.hours, home, arr_key), []).append(u)
    out = []
    for (elig, hours, home, _), members in groups.items():
        out.append(
            _Class(
                units=members,
                csms=list(elig),
                hours=dict.fromkeys(elig, hours),
                arr=math.ceil(max(u.arr for u in members)),
                size=1,
                home=home,
                cost={},
                soft={},
            )
        )
    return out + singles


def _moved(problem: Problem, cl: _Class, c: int) -> tuple[int, float]:
    if cl.size == 1:
        return (1, float(cl.arr)) if cl.home is not None and c != cl.home else (0, 0.0)
    u, csm_id = cl.units[0], problem.csms[c].id
    moving = [i for i, cur in zip(u.accounts, u.current, strict=True) if cur is not None and cur != csm_id]
    return len(moving), sum(problem.account(i).arr for i in moving)


def _arr_binding(problem: Problem, state: State, units: list[Unit], csms: list[int]) -> bool:
    """Can any CSM's ARR cap bind? (If not, ARR leaves the model and classes stay coarse.)"""
    arrs = sorted((u.arr for u in units), reverse=True)
    # The fewest hours any unit takes on any CSM (pair overrides included): more units fit, so more ARR.
    min_hours = (
        min((min((u.hours_for(c) for c in u.eligible), default=u.hours) for u in units), default=1) or 1
    )
    prefix = [0.0]
    for a in arrs:
        prefix.append(prefix[-1] + a)
    for c in csms:
        info = problem.csms[c]
        if info.arr_cap is None:
            continue
        k = len(arrs)
        k = min(k, max(0, (info.capacity - state.load[c]) // min_hours))
        if info.max_accounts is not None:
            k = min(k, max(0, info.max_accounts - state.count[c]))
        if state.arr[c] + prefix[k] > info.arr_cap + 1e-6:
            return True
    return False


def optimize(
    problem: Problem,
    state: State,
    csms: list[int],
    unit_ids: list[int],
    *,
    min_cost: bool,
    band: tuple[float, float] | None,
    max_moves: int | None,
    time_limit: float,
    params: Params,
    level_floor: float | None = None,
    level_share: float = 0.6,
    whole_pool: bool = False,
) -> SubResult:
    """Re-plan `unit_ids` over `csms` (everything else stays as `state` has it) and write the result back."""
    result = SubResult()
    units = [problem.units[i] for i in unit_ids if problem.units[i].fixed is None]
    hint = {u.index: state.assign[u.index] for u in units}
    for u in units:
        state.remove(u)
    csm_set = set(csms)
    arr_binding = _arr_binding(problem, state, units, csms)
    # With few enough accounts the ARR cap is modelled exactly (a class per ARR value); it is then exact
    # when every amount is whole (a cent more is rounded up: conservative, never over the cap).
    exact_arr = arr_binding and len(units) * len(csms) <= EXACT_ARR_PAIRS
    whole = all(
        float(x).is_integer()
        for x in (
            *(u.arr for u in units),
            *(state.arr[c] for c in csms),
            *(problem.csms[c].arr_cap or 0.0 for c in csms),
        )
    )
    result.exact = not arr_binding or (exact_arr and whole)
    classes = _classes(problem, units, csm_set, arr_binding, exact_arr)

    model = cp_model.CpModel()
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    for k, cl in enumerate(classes):
        n = len(cl.units)
        for c in cl.csms:
            y[k, c] = model.new_bool_var(f"x{k}_{c}") if n == 1 else model.new_int_var(0, n, f"y{k}_{c}")
        # Each account is served at most once (phase serve pushes towards exactly once).
        model.add(sum(y[k, c] for c in cl.csms) <= n)

    load: dict[int, cp_model.LinearExprT] = {}
    for c in csms:
        info = problem.csms[c]
        terms = [(k, cl) for k, cl in enumerate(classes) if (k, c) in y]
        hours_expr = sum(cl.hours[c] * y[k, c] for k, cl in terms)
        load[c] = state.load[c] + hours_expr
        # Capacity: a CSM's hours stay within the hours they can give this year.
        model.add(hours_expr <= info.capacity - state.load[c])
        # ARR cap: the ARR under management stays under the segment's ceiling.
        if arr_binding and info.arr_cap is not None:
            model.add(sum(cl.arr * y[k, c] for k, cl in terms) <= math.floor(info.arr_cap - state.arr[c]))
        # Book-size cap.
        if info.max_accounts is not None:
            model.add(sum(cl.size * y[k, c] for k, cl in terms) <= info.max_accounts - state.count[c])

    # Symmetry: CSMs with the same capacity, caps, frozen load and eligible classes, holding no one's
    # existing accounts, are interchangeable; ordering their loads removes copies of every plan.
    twins: dict[tuple[object, ...], list[int]] = {}
    # Soft-match and cost terms tell CSMs apart, and so does every existing relationship (a parent's
    # minority CSM too: moving its accounts counts differently).
    distinguished = {
        problem.csm_index[cur] for cl in classes for u in cl.units for cur in u.current if cur is not None
    } | {c for cl in classes for c in (*cl.soft, *cl.cost) if cl.soft.get(c) or cl.cost.get(c)}
    for c in csms:
        info = problem.csms[c]
        if c in distinguished:
            continue
        # Pair overrides give a class different hours on different CSMs: the hours are part of the key.
        members = tuple((k, cl.hours[c]) for k, cl in enumerate(classes) if (k, c) in y)
        key = (
            info.capacity,
            info.arr_cap,
            info.max_accounts,
            state.load[c],
            state.arr[c],
            state.count[c],
            members,
        )
        twins.setdefault(key, []).append(c)
    # Ordering helps CP-SAT find perfect splits and hurts it proving none exists: it is switched by one
    # literal (on for the objective phases, tried off first in the decision loop).
    symmetry_on = model.new_bool_var("symmetry_on")
    for group in twins.values():
        for a, b in itertools.pairwise(group):
            model.add(load[a] >= load[b]).only_enforce_if(symmetry_on)

    def set_symmetry(on: bool) -> None:
        proto = model.proto.variables[symmetry_on.index]
        proto.domain.clear()
        proto.domain.extend([int(on), int(on)])

    set_symmetry(True)
    served = sum(cl.size * y[k, c] for (k, c) in y for cl in [classes[k]])
    moved = {(k, c): _moved(problem, classes[k], c) for (k, c) in y}
    moves = sum(moved[k, c][0] * v for (k, c), v in y.items())
    arr_moved = sum(math.ceil(moved[k, c][1] / ARR_UNIT) * v for (k, c), v in y.items())
    if max_moves is not None:
        # max_moves: the plan changes at most this many relationships.
        model.add(moves <= max_moves)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    deadline = time.monotonic() + time_limit
    # In deterministic mode the budget is counted in CP-SAT's deterministic time, never the wall clock, so
    # the same book and seed take the same steps however busy the machine is.
    deterministic_used = [0.0]

    def time_left() -> float:
        if params.deterministic:
            return time_limit - deterministic_used[0]
        return deadline - time.monotonic()

    def hint_values() -> dict[tuple[int, int], int]:
        vals: dict[tuple[int, int], int] = {}
        for k, cl in enumerate(classes):
            for u in cl.units:
                c = hint.get(u.index, UNASSIGNED)
                if (k, c) in y:
                    vals[k, c] = vals.get((k, c), 0) + 1
        return vals

    def hint_loads() -> dict[int, int]:
        loads = {c: state.load[c] for c in csms}
        for cl in classes:
            for u in cl.units:
                c = hint.get(u.index, UNASSIGNED)
                if c in loads:
                    loads[c] += cl.hours[c]
        return loads

    extra_hints: list[tuple[cp_model.IntVar, Callable[[dict[int, int]], int]]] = []

    def run(
        objective: cp_model.LinearExprT | None, share: float, *, maximize: bool = False
    ) -> tuple[bool, float | None]:
        """Solve one phase; returns (proven optimal, best bound) and updates the hint.

        With no objective it is a feasibility question: (True, None) means proven infeasible.
        """
        model.clear_hints()
        vals = hint_values()
        for key, var in y.items():
            model.add_hint(var, vals.get(key, 0))
        # A complete hint (objective and auxiliary variables too) lets CP-SAT start from the plan we have.
        loads_now = hint_loads()
        for var, value_of in extra_hints:
            model.add_hint(var, value_of(loads_now))
        if objective is None:
            model.clear_objective()
        elif maximize:
            model.maximize(objective)
        else:
            model.minimize(objective)
        remaining = max(0.05, time_left())
        budget = max(0.05, remaining * share)
        if params.deterministic:
            solver.parameters.max_deterministic_time = budget
            solver.parameters.max_time_in_seconds = budget * 20 + 5
        else:
            solver.parameters.max_time_in_seconds = budget
        if params.should_stop is not None and params.should_stop():
            return False, None
        status = solver.solve(model)
        deterministic_used[0] += solver.response_proto.deterministic_time
        if objective is None and status == cp_model.INFEASIBLE:
            return True, None
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False, None
        _read(classes, y, solver, hint)
        if objective is None:
            return False, None
        return status == cp_model.OPTIMAL, solver.best_objective_bound

    def freeze(expr: cp_model.LinearExprT, value: float, *, maximize: bool = False) -> None:
        if maximize:
            model.add(expr >= round(value))
        else:
            model.add(expr <= round(value))

    def evaluate(expr_kind: str) -> int:
        vals = hint_values()
        if expr_kind == "served":
            return sum(classes[k].size * n for (k, _), n in vals.items())
        return 0

    max_served = sum(cl.size * len(cl.units) for cl in classes)
    fixed_total: int | None = None  # the pool's total load, when serving everyone makes it a constant
    band_as_given = False  # the band's mean taken as given (a neighbourhood, or too large to model exactly)
    if min_cost:
        # One weighted objective (every account served outweighs any cost) suits tight generalized
        # assignment far better than two phases; CP-SAT's full LP relaxation is what bounds the cost.
        solver.parameters.linearization_level = 2
        cost_scale = 1000
        cost = sum(round(classes[k].cost.get(c, 0.0) * cost_scale) * v for (k, c), v in y.items())
        if evaluate("served") == max_served:
            model.add(served == max_served)
            weight = 0
        else:
            weight = (
                sum(round(max(cl.cost.values(), default=0.0) * cost_scale) * len(cl.units) for cl in classes)
                + 1
            )
        ok, bound = run(cost - weight * served, 1.0)
        result.phases.append("serve+cost")
        served_now = evaluate("served")
        result.proven &= ok and served_now == max_served
        if bound is not None and served_now == max_served:
            result.cost_bound = (bound + weight * max_served) / cost_scale
    elif evaluate("served") < max_served:
        ok, bound = run(served, 0.25, maximize=True)
        result.phases.append("serve")
        result.proven &= ok
        freeze(served, float(evaluate("served")), maximize=True)
    elif not min_cost:
        freeze(served, float(max_served), maximize=True)
    all_served = not min_cost and evaluate("served") == max_served
    if all_served:
        # Everyone is served: say so class by class, and (hours not depending on the CSM) say that the
        # total load is a constant. Both are implied, but stated they let CP-SAT prove in milliseconds
        # what it otherwise cannot, e.g. that no perfect split of a pool's accounts exists.
        for k, cl in enumerate(classes):
            model.add(sum(y[k, c] for c in cl.csms) == len(cl.units))
        if all(len(set(cl.hours.values())) <= 1 for cl in classes):
            fixed_total = sum(state.load[c] for c in csms) + sum(
                next(iter(cl.hours.values())) * len(cl.units) for cl in classes if cl.hours
            )
            model.add(sum(load[c] for c in csms) == fixed_total)

    cap_csms = [c for c in csms if problem.csms[c].capacity > 0]
    load_vars: dict[int, cp_model.IntVar] = {}

    def load_variables() -> dict[int, cp_model.IntVar]:
        """Each capacity CSM's load as a variable of its own (made once, on first need): the band's exact
        mean multiplies it, and the decision loop narrows its domain."""
        if not load_vars:
            for c in cap_csms:
                cap = problem.csms[c].capacity
                load_vars[c] = model.new_int_var(0, cap, f"load{c}")
                model.add(load[c] == load_vars[c])
                extra_hints.append((load_vars[c], functools.partial(_capped, c=c, cap=cap)))
        return load_vars

    if band is not None and not min_cost and cap_csms:
        mean, tol = band
        # The band is around the pool's mean, total hours / total capacity. A whole-pool model computes it
        # exactly (in fractions, not from the plan it was handed, which may serve fewer accounts): a
        # constant when everyone is served with fixed hours; otherwise it moves with the accounts chosen,
        # mean = S / CAP with S the served hours, and the band's edges are multiplied out by CAP x tol's
        # denominator. A neighbourhood of a pool (LNS) takes the pool's mean as given.
        variable_mean = whole_pool and fixed_total is None
        tol_q = Fraction(tol).limit_denominator(10_000)
        cap_total = sum(problem.csms[c].capacity for c in csms)

        def band_edges(exact: Fraction, cap: int) -> tuple[int, int]:
            """The band's upper and lower edge in hours for a CSM of this capacity, around an exact mean."""
            return math.floor((exact + tol_q) * cap), math.ceil((exact - tol_q) * cap)

        if variable_mean:
            # Keep the multiplied-out band inside 64-bit integers (CP-SAT refuses a model that could
            # overflow); past that, the mean of the plan as given, and no proof claimed.
            biggest = max(problem.csms[c].capacity for c in cap_csms)
            if 8 * cap_total * tol_q.denominator * biggest >= 2**62:
                variable_mean = False
                band_as_given = True
        if variable_mean:
            # The served hours and each load as variables of their own (bounded by capacity), so the
            # band's large coefficients multiply a few bounded variables, not every account count.
            served_var = model.new_int_var(0, cap_total, "served_hours")
            model.add(served_var == cp_model.LinearExpr.sum([_expr(load[c]) for c in csms]))
            extra_hints.append((served_var, lambda loads: sum(loads.values())))
            load_var = load_variables()
        if whole_pool and fixed_total is not None and cap_total > 0:
            exact_mean: Fraction | None = Fraction(fixed_total, cap_total)
        else:
            exact_mean = None
        edges: dict[int, tuple[int, int]] = {}
        devs = []
        for c in cap_csms:
            cap = problem.csms[c].capacity
            # No CSM is further outside the band than their whole capacity (the mean is at most 100 %).
            dev = model.new_int_var(0, 2 * cap, f"dev{c}")
            if variable_mean:
                tn, td = tol_q.numerator, tol_q.denominator
                # dev >= load - (S / CAP + tol) cap   and   dev >= (S / CAP - tol) cap - load
                model.add(
                    cap * td * served_var + cap_total * td * dev
                    >= cap_total * td * load_var[c] - tn * cap_total * cap
                )
                model.add(
                    cap_total * td * load_var[c] + cap_total * td * dev
                    >= cap * td * served_var - tn * cap_total * cap
                )
            else:
                if exact_mean is not None:
                    up, lo = band_edges(exact_mean, cap)
                else:
                    up, lo = math.floor((mean + tol) * cap), math.ceil((mean - tol) * cap)
                edges[c] = (up, lo)
                model.add(dev >= load[c] - up)
                model.add(dev >= lo - load[c])
            devs.append(dev)

        def deviation(loads: dict[int, int], c: int) -> int:
            """Hours of CSM c outside the band, for a plan with these loads."""
            if variable_mean:
                up, lo = band_edges(Fraction(sum(loads.values()), cap_total), problem.csms[c].capacity)
            else:
                up, lo = edges[c]
            return max(0, loads[c] - up, lo - loads[c])

        for c, dev in zip(cap_csms, devs, strict=True):
            extra_hints.append((dev, functools.partial(deviation, c=c)))
        outside = sum(devs)

        def hint_outside() -> int:
            loads_now = hint_loads()
            return sum(deviation(loads_now, c) for c in cap_csms)

        if hint_outside() > 0:
            ok, _ = run(outside, 0.3)
            result.phases.append("band")
            result.proven &= ok
        freeze(outside, float(hint_outside()))
        movable = any(m[0] for m in moved.values())
        if movable:
            weight = sum(math.ceil(cl.arr / ARR_UNIT) * cl.size * len(cl.units) for cl in classes) + 1
            ok, bound = run(moves * weight + arr_moved, 0.4)
            result.phases.append("moves")
            result.proven &= ok
            if bound is not None:
                result.moves_bound = int(bound // weight)
            vals = hint_values()
            found_moves = sum(moved[k, c][0] * n for (k, c), n in vals.items())
            model.add(moves <= found_moves)

    if min_cost:
        pass  # solved above, together with serving
    elif cap_csms:
        # Per-CSM load windows, loose for now; the decision loop below narrows them.
        limits = load_variables()
        # A CSM without capacity keeps exactly what is frozen on them; the others share the rest.
        shared_total = (
            None if fixed_total is None else fixed_total - sum(state.load[c] for c in csms if c not in limits)
        )
        granule = 0
        for c in cap_csms:
            granule = math.gcd(granule, state.load[c])
        for cl in classes:
            for h in cl.hours.values():
                granule = math.gcd(granule, h)
        granule = max(1, granule)
        # A plan within a few load steps of the proven lower bound goes straight to the decision loop below:
        # its narrow windows settle such plans in milliseconds where the objective form can take seconds.
        loads_start = hint_loads()
        worst_start = max(cap_csms, key=lambda c: loads_start[c] / problem.csms[c].capacity)
        near_floor = (
            level_floor is not None
            and loads_start[worst_start] - math.floor(level_floor * problem.csms[worst_start].capacity + 1e-6)
            <= 3 * granule
        )
        ok, bound = False, None
        caps = {problem.csms[c].capacity for c in cap_csms}
        if len(caps) == 1:
            # Equal capacities: minimise the largest load itself, exactly.
            (cap,) = caps
            top = model.new_int_var(0, cap, "max_load")
            for c in cap_csms:
                model.add(load[c] <= top)
                if shared_total is not None:
                    # The others hold at most top each, so this CSM holds the rest. Implied, but stated it
                    # lets CP-SAT rule out near-perfect splits without enumerating them.
                    model.add((len(cap_csms) - 1) * top + _expr(load[c]) >= shared_total)
            start = max(hint_loads()[c] for c in cap_csms)
            model.add(top <= start)
            if level_floor is not None:
                # A proven lower bound (engine.pool_level_bound) lets CP-SAT stop as soon as it reaches it.
                model.add(top >= min(start, math.ceil(level_floor * cap - 1e-6)))
            extra_hints.append((top, lambda loads: max(loads[c] for c in cap_csms)))
            if not near_floor:
                ok, bound = run(top, level_share)
            if bound is not None:
                result.level_bound = math.ceil(bound - 1e-9) / cap
        else:
            top = model.new_int_var(0, UTIL_SCALE, "max_util")
            cap_sum = sum(problem.csms[c].capacity for c in cap_csms)
            for c in cap_csms:
                cap_c = problem.csms[c].capacity
                model.add(load[c] * UTIL_SCALE <= top * cap_c)
                if shared_total is not None:
                    # As above: the others hold at most top x their capacity.
                    model.add(
                        top * (cap_sum - cap_c) + UTIL_SCALE * _expr(load[c]) >= shared_total * UTIL_SCALE
                    )

            def top_of(loads: dict[int, int]) -> int:
                return max(math.ceil(loads[c] * UTIL_SCALE / problem.csms[c].capacity) for c in cap_csms)

            model.add(top <= top_of(hint_loads()))
            if level_floor is not None:
                model.add(top >= min(top_of(hint_loads()), math.floor(level_floor * UTIL_SCALE)))
            extra_hints.append((top, top_of))
            if not near_floor:
                ok, bound = run(top, level_share)
            if bound is not None:
                # No plan reaches bound - 1 in UTIL_SCALE units, so the optimum is above that.
                result.level_bound = max(0.0, (math.ceil(bound - 1e-9) - 1) / UTIL_SCALE)
        # Decision loop, exact by integer cross-multiplication. Two questions, each with every CSM's load
        # limited: at the lower bound ("is there a plan with no CSM above the bound?": yes is optimal, no
        # raises the bound by one step) and just below the incumbent ("is there a plan with every CSM
        # strictly below the largest utilization?": yes improves the plan, no proves it optimal).
        reachable = _ReachableLoads(state, classes, granule)
        top_proto = model.proto.variables[top.index]
        top_proto.domain.clear()
        top_proto.domain.extend([0, UTIL_SCALE if len(caps) > 1 else max(caps)])

        def decide(upper: dict[int, int], share: float, *, both_forms: bool) -> str:
            """Is there a plan with load_c <= upper[c] for every CSM? "found" (the hint is now one),
            "none" (proven impossible) or "unknown" (no answer in time)."""
            # Every load is a multiple of the hours' GCD; with everyone served, what the others can hold
            # sets a floor under each load; and a load must be a sum the CSM's eligible accounts can make.
            # Said as the domain of each load, this lets CP-SAT see at once when the limits leave no room.
            room = sum(upper.values())
            windows = {
                c: reachable.window(
                    c, 0 if shared_total is None else shared_total - (room - upper[c]), upper[c]
                )
                for c in cap_csms
            }
            if any(not w for w in windows.values()):
                return "none"  # some CSM's load has no possible value: proven without a search
            for c in cap_csms:
                proto = model.proto.variables[limits[c].index]
                proto.domain.clear()
                proto.domain.extend(windows[c])
            before = hint_loads()
            set_symmetry(False)
            proven_none, _ = run(None, share)
            if not proven_none and both_forms and hint_loads() == before:
                set_symmetry(True)  # no answer in time: try the form that finds perfect splits
                proven_none, _ = run(None, 1.0)
            if proven_none:
                return "none"
            return "unknown" if hint_loads() == before else "found"

        # The best proven lower bound, exactly: a fraction num / den of some CSM's capacity.
        floor_candidates = [result.level_bound, level_floor]
        lower = max((b for b in floor_candidates if b is not None), default=0.0)
        ascend = True
        while not ok and time_left() > 0.05:
            loads_now = hint_loads()
            worst = max(cap_csms, key=lambda c: loads_now[c] / problem.csms[c].capacity)
            num, den = loads_now[worst], problem.csms[worst].capacity
            if num <= math.floor(lower * den + 1e-6):
                ok = True  # the plan meets a proven lower bound
                result.level_bound = num / den
                break
            # load_c / cap_c < num / den  <=>  load_c <= floor((num * cap_c - 1) / den)
            below = {
                c: (max(0, (num * problem.csms[c].capacity - 1) // den) if num > 0 else 0)
                // granule
                * granule
                for c in cap_csms
            }
            if ascend:
                at_bound = {
                    c: min(below[c], math.floor(lower * problem.csms[c].capacity + 1e-6) // granule * granule)
                    for c in cap_csms
                }
                if at_bound != below:
                    answer = decide(at_bound, 0.3, both_forms=False)
                    if answer == "none":
                        # Every plan has some CSM above its limit: the bound rises to the least such step.
                        lower = max(
                            lower, min((at_bound[c] + granule) / problem.csms[c].capacity for c in cap_csms)
                        )
                        result.level_bound = max(result.level_bound or 0.0, lower)
                        continue
                    if answer == "found":
                        continue  # a plan at the bound: optimal (checked at the top of the loop)
                    ascend = False  # the bound is hard to settle: spend the time below the incumbent
            answer = decide(below, 0.5, both_forms=True)
            if answer == "none":
                ok = True
                result.level_bound = num / den
                break
            if answer == "unknown":
                break
        result.phases.append("level")
        result.proven &= ok
        soft = {(k, c): classes[k].soft.get(c, 0) for (k, c) in y if classes[k].soft.get(c, 0)}
        if soft and time_left() > 0.05:
            # Soft region/language matching: with the largest utilization held where it is, prefer the
            # CSMs of the account's region and language.
            loads_now = hint_loads()
            worst = max(cap_csms, key=lambda c: loads_now[c] / problem.csms[c].capacity)
            num, den = loads_now[worst], problem.csms[worst].capacity
            for c in cap_csms:
                proto = model.proto.variables[limits[c].index]
                proto.domain.clear()
                proto.domain.extend([0, num * problem.csms[c].capacity // den])
            soft_ok, _ = run(sum(n * y[key] for key, n in soft.items()), 1.0)
            result.phases.append("soft")
            result.proven &= soft_ok

    for u in units:
        c = hint.get(u.index, UNASSIGNED)
        if c != UNASSIGNED:
            state.place(u, c)
    result.proven &= result.exact
    if band is not None and not min_cost and (not whole_pool or band_as_given):
        # A neighbourhood takes the pool's mean as given: were another choice of accounts served, the mean
        # and so the band would move. Neither the level nor its bound is then proven for CONTRACT's
        # priorities (LNS never claims a proof; this keeps its bound honest too).
        result.proven = False
        result.level_bound = None
    return result


def _expr(x: cp_model.LinearExprT) -> cp_model.LinearExpr:
    """A load, typed as a linear expression for the type checker (a plain number works the same at run time)."""
    return cast(cp_model.LinearExpr, x)


def _read(
    classes: list[_Class],
    y: dict[tuple[int, int], cp_model.IntVar],
    solver: cp_model.CpSolver,
    hint: dict[int, int],
) -> None:
    """Turn class counts back into units: the home CSM keeps its largest-ARR accounts, the rest move."""
    for k, cl in enumerate(classes):
        counts = {c: int(solver.value(y[k, c])) for c in cl.csms}
        ordered = sorted(cl.units, key=lambda u: -u.arr)
        if cl.home is not None and counts.get(cl.home, 0):
            stay = counts.pop(cl.home)
            for u in ordered[:stay]:
                hint[u.index] = cl.home
            ordered = ordered[stay:]
        ordered.reverse()  # smallest ARR moves first
        i = 0
        for c in sorted(counts):
            for _ in range(counts[c]):
                hint[ordered[i].index] = c
                i += 1
        for u in ordered[i:]:
            hint[u.index] = UNASSIGNED


def _capped(loads: dict[int, int], *, c: int, cap: int) -> int:
    return min(loads[c], cap)


class _ReachableLoads:
    """The loads a CSM can reach: their frozen hours plus the hours of any choice of the classes they may take.

    A bitset over multiples of the hours' GCD (bounded knapsack by binary splitting, exact), computed the
    first time a CSM's window is asked for and shared by CSMs with the same frozen load and classes. The
    decision loop narrows each load's domain to the values in its window that some choice of accounts
    makes: a window holding none proves the limit impossible without a search.
    """

    MAX_VALUES = 512  # a window with more reachable values is given to CP-SAT as one interval
    MAX_WORK = 20_000_000  # bitset words shifted per optimize() call before falling back to intervals

    def __init__(self, state: State, classes: list[_Class], granule: int) -> None:
        self.state = state
        self.granule = granule
        self.items: dict[int, list[tuple[int, int]]] = {}
        for cl in classes:
            for c in cl.csms:
                self.items.setdefault(c, []).append((cl.hours[c] // granule, len(cl.units)))
        self.cache: dict[tuple[object, ...], int | None] = {}
        self.work = 0

    def bits(self, c: int) -> int | None:
        """Bit i set when load i x granule is reachable for CSM c (None: too costly to compute)."""
        g = self.granule
        width = self.state.problem.csms[c].capacity // g + 1
        items = tuple(sorted(self.items.get(c, [])))
        key = (self.state.load[c], width, items)
        if key in self.cache:
            return self.cache[key]
        shifts = sum(n.bit_length() for _, n in items)
        self.work += shifts * (width // 64 + 1)
        out: int | None = None
        if self.work <= self.MAX_WORK:
            mask = (1 << width) - 1
            reach = (1 << (self.state.load[c] // g)) & mask
            for step, n in items:
                part = 1
                while n > 0 and step > 0 and reach:
                    take = min(part, n)
                    reach |= (reach << (take * step)) & mask
                    n -= take
                    part <<= 1
            out = reach
        self.cache[key] = out
        return out

    def window(self, c: int, lo: int, hi: int) -> list[int]:
        """CP-SAT domain intervals [a0, b0, a1, b1, …] of the reachable loads in [lo, hi]; [] when none."""
        g = self.granule
        lo = max(0, -(-lo // g) * g)
        hi = hi // g * g
        if lo > hi:
            return []
        reach = self.bits(c)
        if reach is None:
            return [lo, hi]
        seg = (reach >> (lo // g)) & ((1 << ((hi - lo) // g + 1)) - 1)
        if not seg:
            return []
        if seg.bit_count() > self.MAX_VALUES:
            return [lo + ((seg & -seg).bit_length() - 1) * g, lo + (seg.bit_length() - 1) * g]
        out: list[int] = []
        while seg:
            low = seg & -seg
            v = lo + (low.bit_length() - 1) * g
            if out and out[-1] == v - 1:
                out[-1] = v  # adjacent values (granule 1) make one interval
            else:
                out.extend((v, v))
            seg ^= low
        return out
