"""The CP-SAT model of one pool (or one neighbourhood of a pool), solved in CONTRACT.md's priority phases.

`PoolModel` holds the model, its variables and the plan so far (the hint); each priority is one method,
solved hinted with the best plan so far and then held at its optimum (or at the value found) while the
next is optimized:
  serve     the most ARR served, then the most accounts;
  band      the fewest CSMs outside the hours band or any band of `balance_metrics`;
  moves     the fewest moves, then the least ARR moved;
  level     the lowest largest utilization (solver/level.py);
  spread    the narrowest spread of each metric per capacity hour, in the order given;
  soft      soft region/language matches; and for `min_cost`, serve+cost in one weighted objective.
Interchangeable accounts are aggregated into classes (solver/classes.py).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from ortools.sat.python import cp_model

from solver.bands import BandConstraints
from solver.classes import ModelClass, arr_cap_can_bind, make_classes, moved_by, read_counts
from solver.classes import as_expr as _expr
from solver.cpsat import new_solver, set_domain, set_objective, weighted_sum
from solver.level import settle_level
from solver.metrics import Band, integer_edges
from solver.problem import Problem
from solver.serve_phase import serve
from solver.state import UNASSIGNED, State, home_csm

UTIL_SCALE = 100_000  # utilization resolution when capacities differ (0.001 point)
MAX_INT_ARR = 2**40
# A model of at most this many account x CSM pairs keeps ARR exact (one class per ARR value) when only an
# ARR cap needs it; when ARR is an objective (served, moved, banded) the larger limit; past it, 5 % buckets.
EXACT_ARR_PAIRS = 5_000
EXACT_ARR_OBJECTIVE_PAIRS = 8_000
SAFE = 2**62  # CP-SAT refuses a model whose linear expressions could overflow 64 bits


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
    serve_proven: bool = True  # the served ARR and count are proven the most there can be
    served_arr_bound: int | None = None  # upper bound on the ARR the model's accounts can have served
    phases: list[str] = field(default_factory=list)


@dataclass
class PoolTotals:
    """A pool's figures taken as given by a neighbourhood: per band name, (total, total capacity)."""

    hours_mean: float
    figures: dict[str, tuple[int, int]]


class PoolModel:
    """One pool's model: the account-class variables, each CSM's load and figures, and the plan as a hint."""

    def __init__(
        self,
        problem: Problem,
        state: State,
        csms: list[int],
        unit_ids: list[int],
        *,
        min_cost: bool,
        max_moves: int | None,
        time_limit: float,
        params: Params,
        whole_pool: bool,
        everyone_only: bool = False,
    ) -> None:
        """`everyone_only`: the model only asks whether every account can be served (its ARR matters only
        for a cap), so accounts of any ARR share a class."""
        self.problem, self.state, self.csms, self.params = problem, state, csms, params
        self.min_cost, self.whole_pool, self.time_limit = min_cost, whole_pool, time_limit
        self.result = SubResult()
        csm_set = set(csms)
        self.units = [problem.units[i] for i in unit_ids if problem.units[i].fixed is None]
        self.frozen_arr = math.ceil(
            sum(
                problem.units[i].arr
                for i in unit_ids
                if problem.units[i].fixed is not None and state.assign[i] != UNASSIGNED
            )
            - 1e-9
        )
        self.hint = {u.index: state.assign[u.index] for u in self.units}
        hint_serves_all = all(
            self.hint[u.index] != UNASSIGNED for u in self.units if any(c in csm_set for c in u.eligible)
        )
        for u in self.units:
            state.remove(u)
        self.bands: list[Band] = [] if min_cost else list(problem.bands)
        cap_binds = arr_cap_can_bind(problem, state, self.units, csms)
        # ARR serves as an objective when not everyone is served (most ARR) or accounts have a home (least
        # ARR moved); an ARR band or spread needs it per CSM.
        arr_objective = (
            not min_cost
            and not everyone_only
            and (not hint_serves_all or any(home_csm(problem, u) is not None for u in self.units))
        )
        arr_banded = any(b.metric == "arr" for b in self.bands)
        pairs = len(self.units) * len(csms)
        self.skip_bands: set[int] = set()  # bands left out of this model (ARR when it cannot be exact)
        if not cap_binds and not arr_objective and not arr_banded:
            arr_split = "none"
        elif pairs <= (EXACT_ARR_OBJECTIVE_PAIRS if arr_objective or arr_banded else EXACT_ARR_PAIRS):
            arr_split = "exact"
        else:
            # Past it, ARR in 5 % buckets for caps and objectives; the ARR band is then left to the engine's
            # like-for-like swaps (solver/arr_swaps.py), which move ARR without changing any hours, and the
            # pool is not claimed optimal.
            arr_split = "bucket" if cap_binds or arr_objective else "none"
            self.skip_bands = {b for b, band in enumerate(self.bands) if band.metric == "arr"}
        self.arr_in_caps = cap_binds
        whole = all(
            float(x).is_integer()
            for x in (
                *(u.arr for u in self.units),
                *(state.arr[c] for c in csms),
                *(problem.csms[c].arr_cap or 0.0 for c in csms),
            )
        )
        self.result.exact = not self.skip_bands and (arr_split == "none" or (arr_split == "exact" and whole))
        # Hours finer than a hundredth are rounded up (capacity down): the model's plans keep every rule, but
        # its proofs speak of the rounded hours, not the book's.
        self.hours_rounded = any(problem.pools[p].hours_rounded for p in {u.pool for u in self.units})
        self.result.exact &= not self.hours_rounded
        self.classes = make_classes(problem, self.units, csm_set, arr_split)
        self.model = cp_model.CpModel()
        self.solver = new_solver(params.workers, params.seed)
        self.deadline = time.monotonic() + time_limit
        # In deterministic mode the budget is counted in CP-SAT's deterministic time, never the wall clock.
        self.deterministic_used = 0.0
        self.reserve = 0.0  # time kept back for the phases after the level
        self.extra_hints: list[tuple[cp_model.IntVar, Callable[[dict[int, int]], int]]] = []
        self.cap_csms = [c for c in csms if problem.csms[c].capacity > 0]
        self.load_vars: dict[int, cp_model.IntVar] = {}
        self.fixed_total: int | None = None  # the pool's total load, when serving everyone makes it constant
        self.band_as_given = False
        # Every earlier phase is held at the best there is (proven, or at its floor: all served, no CSM
        # out of band, no move): only then does the level phase's bound hold for every plan. Never on
        # hours rounded up: those values are the model's, not the book's.
        self.held_at_best = not self.hours_rounded
        self.max_moves = max_moves
        self.band_rows: BandConstraints | None = None  # the band phase's rows, once it has run
        self._variables(max_moves)

    # ------------------------------------------------------------ model building

    def _variables(self, max_moves: int | None) -> None:
        problem, state, model, classes = self.problem, self.state, self.model, self.classes
        self.y: dict[tuple[int, int], cp_model.IntVar] = {}
        y = self.y
        for k, cl in enumerate(classes):
            n = len(cl.units)
            for c in cl.csms:
                y[k, c] = model.new_bool_var(f"x{k}_{c}") if n == 1 else model.new_int_var(0, n, f"y{k}_{c}")
            # Each account is served at most once (phase serve pushes towards exactly once).
            model.add(sum(y[k, c] for c in cl.csms) <= n)
        self.by_csm: dict[int, list[tuple[int, ModelClass]]] = {c: [] for c in self.csms}
        for k, cl in enumerate(classes):
            for c in cl.csms:
                self.by_csm[c].append((k, cl))
        self.load: dict[int, cp_model.LinearExprT] = {}
        for c in self.csms:
            info = problem.csms[c]
            terms = self.by_csm[c]
            ys = [y[k, c] for k, _ in terms]
            hours_expr = weighted_sum(ys, [cl.hours[c] for _, cl in terms])
            self.load[c] = state.load[c] + hours_expr
            # Capacity: a CSM's hours stay within the hours they can give this year.
            model.add(hours_expr <= info.capacity - state.load[c])
            # ARR cap: the ARR under management stays under the segment's ceiling.
            if self.arr_in_caps and info.arr_cap is not None:
                model.add(
                    weighted_sum(ys, [cl.arr for _, cl in terms]) <= math.floor(info.arr_cap - state.arr[c])
                )
            # Book-size cap.
            if info.max_accounts is not None:
                model.add(
                    weighted_sum(ys, [cl.size for _, cl in terms]) <= info.max_accounts - state.count[c]
                )
        # Each CSM's figure per band: what is held outside the model plus the classes it takes.
        self.frozen_figures = self._frozen_figures()
        self._symmetry()
        keys, ys = list(y), list(y.values())
        self.served = weighted_sum(ys, [classes[k].size for k, _ in keys])
        self.served_arr = weighted_sum(ys, [classes[k].arr for k, _ in keys])
        self.moved = {(k, c): moved_by(problem, classes[k], c) for (k, c) in y}
        self.moves_expr = weighted_sum(ys, [self.moved[key][0] for key in keys])
        self.arr_moved = weighted_sum(ys, [self.moved[key][1] for key in keys])
        if max_moves is not None:
            # max_moves: the plan changes at most this many relationships.
            model.add(self.moves_expr <= max_moves)
        self.max_served = sum(cl.size * len(cl.units) for cl in classes)
        self.figure: list[dict[int, cp_model.LinearExprT]] = [
            {
                c: self.frozen_figures[b][c]
                + weighted_sum(
                    [y[k, c] for k, _ in self.by_csm[c]],
                    [self._class_figure(cl, b) for _, cl in self.by_csm[c]],
                )
                for c in self.csms
            }
            for b in range(len(self.bands))
        ]

    def _class_figure(self, cl: ModelClass, b: int) -> int:
        return cl.arr if self.bands[b].metric == "arr" else cl.figures[b]

    def _frozen_figures(self) -> list[dict[int, int]]:
        """Per band, what each CSM holds outside the model (frozen units, and the rest of a neighbourhood)."""
        return [{c: self.state.figures[c][b] for c in self.csms} for b in range(len(self.bands))]

    def _symmetry(self) -> None:
        """CSMs with the same capacity, caps, frozen load and eligible classes, holding no one's existing
        accounts, are interchangeable: ordering their loads removes copies of every plan."""
        problem, state, classes = self.problem, self.state, self.classes
        twins: dict[tuple[object, ...], list[int]] = {}
        # Soft-match and cost terms tell CSMs apart, and so does every existing relationship.
        distinguished = {
            problem.csm_index[cur] for cl in classes for u in cl.units for cur in u.current if cur is not None
        } | {c for cl in classes for c in (*cl.soft, *cl.cost) if cl.soft.get(c) or cl.cost.get(c)}
        for c in self.csms:
            info = problem.csms[c]
            if c in distinguished:
                continue
            members = tuple((k, cl.hours[c]) for k, cl in self.by_csm[c])
            frozen = tuple(f[c] for f in self.frozen_figures)
            key = (
                info.capacity,
                info.arr_cap,
                info.max_accounts,
                state.load[c],
                state.arr[c],
                state.count[c],
            )
            twins.setdefault((*key, frozen, members), []).append(c)
        # Ordering helps CP-SAT find perfect splits and hurts it proving none exists: one literal switches it.
        self.symmetry_on = self.model.new_bool_var("symmetry_on")
        self.twins = [group for group in twins.values() if len(group) > 1]
        for group in self.twins:
            for a, b in itertools.pairwise(group):
                self.model.add(self.load[a] >= self.load[b]).only_enforce_if(self.symmetry_on)
        self.set_symmetry(True)

    def set_symmetry(self, on: bool) -> None:
        self.fix(self.symmetry_on, [int(on), int(on)])
        self.symmetry_held = on

    def order_twins_in_hint(self) -> None:
        """Interchangeable CSMs swap books in the hint so their loads run high to low, as the symmetry rule
        asks: a plan found elsewhere (the serve MIP, local search) is then a valid start for CP-SAT."""
        if not self.symmetry_held or not self.twins:
            return
        loads = self.hint_loads()
        books: dict[int, list[int]] = {}
        for i, c in self.hint.items():
            books.setdefault(c, []).append(i)
        for group in self.twins:
            ordered = sorted(group, key=lambda c: -loads[c])
            for seat, holder in zip(group, ordered, strict=True):
                for i in books.get(holder, ()):
                    self.hint[i] = seat

    def fix(self, var: cp_model.IntVar, domain: list[int]) -> None:
        """Replace a variable's domain (intervals [a0, b0, a1, b1, …])."""
        set_domain(self.model, var, domain)

    def load_variables(self) -> dict[int, cp_model.IntVar]:
        """Each capacity CSM's load as a variable of its own (made once, on first need): the band's exact
        mean multiplies it, and the level's decision loop narrows its domain."""
        if not self.load_vars:
            for c in self.cap_csms:
                cap = self.problem.csms[c].capacity
                self.load_vars[c] = self.model.new_int_var(0, cap, f"load{c}")
                self.model.add(self.load[c] == self.load_vars[c])
                self.extra_hints.append((self.load_vars[c], functools.partial(_capped, c=c, cap=cap)))
        return self.load_vars

    # ------------------------------------------------------------ solving

    def time_left(self) -> float:
        if self.params.deterministic:
            return self.time_limit - self.deterministic_used - self.reserve
        return self.deadline - time.monotonic() - self.reserve

    def hint_values(self) -> dict[tuple[int, int], int]:
        vals: dict[tuple[int, int], int] = {}
        for k, cl in enumerate(self.classes):
            for u in cl.units:
                c = self.hint.get(u.index, UNASSIGNED)
                if (k, c) in self.y:
                    vals[k, c] = vals.get((k, c), 0) + 1
        return vals

    def hint_loads(self) -> dict[int, int]:
        loads = {c: self.state.load[c] for c in self.csms}
        for cl in self.classes:
            for u in cl.units:
                c = self.hint.get(u.index, UNASSIGNED)
                if c in loads:
                    loads[c] += cl.hours[c]
        return loads

    def hint_figures(self, b: int) -> dict[int, int]:
        out = dict(self.frozen_figures[b])
        for cl in self.classes:
            for u in cl.units:
                c = self.hint.get(u.index, UNASSIGNED)
                if c in out:
                    out[c] += self._class_figure(cl, b)
        return out

    def hint_sum(self, weight: Callable[[int, int], int]) -> int:
        """Σ weight(class, csm) x count over the hint."""
        return sum(weight(k, c) * n for (k, c), n in self.hint_values().items())

    def run(
        self, objective: cp_model.LinearExprT | None, share: float, *, maximize: bool = False
    ) -> tuple[bool, float | None]:
        """Solve one phase; returns (proven optimal, best bound) and updates the hint.

        With no objective it is a feasibility question: (True, None) means proven infeasible.
        """
        model, solver, params = self.model, self.solver, self.params
        model.clear_hints()
        self.order_twins_in_hint()
        vals = self.hint_values()
        # Straight into the proto (every y is a plain variable): add_hint one by one costs ~5 µs a variable,
        # a second per phase on the largest pools.
        hint = model.proto.solution_hint
        hint.vars.extend(var.index for var in self.y.values())
        hint.values.extend(vals.get(key, 0) for key in self.y)
        # A complete hint (objective and auxiliary variables too) lets CP-SAT start from the plan we have.
        loads_now = self.hint_loads()
        for var, value_of in self.extra_hints:
            model.add_hint(var, value_of(loads_now))
        if objective is None:
            model.clear_objective()
        else:
            set_objective(model, objective, maximize=maximize)
        budget = max(0.05, max(0.05, self.time_left()) * share)
        if params.deterministic:
            solver.parameters.max_deterministic_time = budget
            solver.parameters.max_time_in_seconds = budget * 20 + 5
        else:
            solver.parameters.max_time_in_seconds = budget
        if params.should_stop is not None and params.should_stop():
            return False, None
        status = solver.solve(model)
        self.deterministic_used += solver.response_proto.deterministic_time
        if objective is None and status == cp_model.INFEASIBLE:
            return True, None
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False, None
        read_counts(self.classes, self.y, lambda key: solver.value(self.y[key]), self.hint)
        if objective is None:
            return False, None
        return status == cp_model.OPTIMAL, solver.best_objective_bound

    def hold_at_most(self, expr: cp_model.LinearExprT, value: int) -> None:
        self.model.add(expr <= value)

    def hold_at_least(self, expr: cp_model.LinearExprT, value: int) -> None:
        self.model.add(expr >= value)

    # ------------------------------------------------------------ the priorities

    def serve(self) -> None:
        """Serve every account it can; where not every account fits, cover the most ARR, then the most
        accounts (solver/serve_phase.py)."""
        serve(self)

    def band(self, tolerance: float, given: PoolTotals | None) -> None:
        """Hold the fewest CSMs outside the hours band (`balance_tolerance` points around the pool's
        utilization) or outside any band of `balance_metrics`: that is what "where achievable" means."""
        if not self.cap_csms:
            return
        bands = BandConstraints(self, tolerance, given)
        self.band_rows = bands
        outside = sum(bands.out.values())
        found = bands.hint_outside()
        if found > 0:
            from solver.band_mip import band_by_mip  # MathOpt on first need

            band_by_mip(self, bands, 0.5 * max(0.05, self.time_left()))
            found = bands.hint_outside()
        if found > 0:
            ok, _ = self.run(outside, 0.3)
            self.result.phases.append("band")
            self.result.proven &= ok
            found = bands.hint_outside()
            self.held_at_best &= ok or found == 0
        self.hold_at_most(outside, found)

    def moves(self) -> None:
        """Move as few existing relationships as it can, then as little ARR as it can."""
        if not any(m[0] for m in self.moved.values()):
            return
        from solver.band_mip import moves_by_mip  # MathOpt on first need

        moves_by_mip(self, self.band_rows, 0.3 * max(0.05, self.time_left()))
        ok, bound = self.run(self.moves_expr, 0.3)
        if bound is not None and not self.hours_rounded:  # on rounded hours it bounds the model's plans only
            self.result.moves_bound = math.ceil(bound - 1e-9)
        self.hold_at_most(self.moves_expr, self.hint_sum(lambda k, c: self.moved[k, c][0]))
        ok_arr, _ = self.run(self.arr_moved, 0.3)
        self.hold_at_most(self.arr_moved, self.hint_sum(lambda k, c: self.moved[k, c][1]))
        self.result.phases.append("moves")
        self.result.proven &= ok and ok_arr
        self.held_at_best &= ok or self.hint_sum(lambda k, c: self.moved[k, c][0]) == 0

    def level(self, level_floor: float | None, share: float) -> None:
        """With serving, bands and moves held, the largest utilization in the pool as low as it can go."""
        if not self.cap_csms:
            return
        prior_proven = self.held_at_best
        if self.bands and self.whole_pool:
            self.reserve = 0.25 * self.time_left()
        settle_level(self, level_floor, share)
        self.reserve = 0.0
        if not prior_proven:
            # The level bound holds under the earlier phases' values; unproven, it bounds nothing else.
            self.result.level_bound = None

    def spread(self, b: int) -> None:
        """With 1-3 held, the narrowest spread (largest minus smallest per capacity hour) of this figure."""
        caps = {c: self.problem.csms[c].capacity for c in self.cap_csms}
        if len(caps) < 2 or not self.whole_pool:
            return
        g = functools.reduce(math.gcd, caps.values())
        lcm = functools.reduce(math.lcm, (cap // g for cap in caps.values()))
        top = max(1, sum(self.hint_figures(b).values()) + sum(cl.arr for cl in self.classes))
        exact = lcm * top < 2**50
        # Exact: each figure times lcm / capacity is a whole number. Otherwise a scaled, rounded figure.
        scale = lcm if exact else max(1, 2**50 // top)
        weight = {c: scale // (caps[c] // g) for c in caps} if exact else {}
        hi = self.model.new_int_var(0, scale * top, f"hi{b}")
        lo = self.model.new_int_var(0, scale * top, f"lo{b}")
        for c in caps:
            v = _expr(self.figure[b][c])
            if exact:
                self.model.add(hi >= weight[c] * v)
                self.model.add(lo <= weight[c] * v)
            else:
                self.model.add(hi * (caps[c] // g) >= scale * v)
                self.model.add(lo * (caps[c] // g) <= scale * v)

        def scaled(figs: dict[int, int]) -> tuple[int, int]:
            if exact:
                vals = [weight[c] * figs[c] for c in caps]
                return max(vals), min(vals)
            return (
                max(-(-scale * figs[c] // (caps[c] // g)) for c in caps),
                min(scale * figs[c] // (caps[c] // g) for c in caps),
            )

        self.extra_hints.append((hi, lambda _loads: scaled(self.hint_figures(b))[0]))
        self.extra_hints.append((lo, lambda _loads: scaled(self.hint_figures(b))[1]))
        ok, _ = self.run(hi - lo, 0.5)
        h, low = scaled(self.hint_figures(b))
        self.hold_at_most(hi - lo, h - low)
        self.result.phases.append(f"spread {self.bands[b].name}")
        self.result.proven &= ok and exact

    def soft(self) -> None:
        """Soft region/language matching: with everything above held, prefer the account's own region and language."""
        soft = {(k, c): self.classes[k].soft.get(c, 0) for (k, c) in self.y if self.classes[k].soft.get(c, 0)}
        if not soft or self.time_left() <= 0.05:
            return
        ok, _ = self.run(sum(n * self.y[key] for key, n in soft.items()), 1.0)
        self.result.phases.append("soft")
        self.result.proven &= ok

    def serve_at_least_cost(self) -> None:
        """min_cost: serve every account it can at the least total pair cost, in one weighted objective."""
        # Serving outweighs any cost; this suits tight generalized assignment far better than two phases,
        # and CP-SAT's full LP relaxation is what bounds the cost.
        self.solver.parameters.linearization_level = 2
        cost_scale = 1000
        classes = self.classes
        cost = sum(round(classes[k].cost.get(c, 0.0) * cost_scale) * v for (k, c), v in self.y.items())
        size_of = lambda k, c: classes[k].size  # noqa: E731
        if self.hint_sum(size_of) == self.max_served:
            self.model.add(self.served == self.max_served)
            weight = 0
        else:
            weight = (
                sum(round(max(cl.cost.values(), default=0.0) * cost_scale) * len(cl.units) for cl in classes)
                + 1
            )
        ok, bound = self.run(cost - weight * self.served, 1.0)
        self.result.phases.append("serve+cost")
        served_now = self.hint_sum(size_of)
        self.result.proven &= ok and served_now == self.max_served
        if bound is not None and served_now == self.max_served:
            self.result.cost_bound = (bound + weight * self.max_served) / cost_scale

    def write_back(self) -> SubResult:
        """Place the plan found into the state and say how much of it is proven."""
        for u in self.units:
            c = self.hint.get(u.index, UNASSIGNED)
            if c != UNASSIGNED:
                self.state.place(u, c)
        self.result.proven &= self.result.exact
        if not self.min_cost and (not self.whole_pool or self.band_as_given):
            # A neighbourhood takes the pool's means as given: were another choice of accounts served, the
            # means and so the bands would move. It claims no proof and no bound of its own.
            self.result.proven = False
            self.result.level_bound = None
            self.result.served_arr_bound = None
        return self.result


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
    given: PoolTotals | None = None,
) -> SubResult:
    """Re-plan `unit_ids` over `csms` (everything else stays as `state` has it), phase by phase, and write
    the result back."""
    pm = PoolModel(
        problem,
        state,
        csms,
        unit_ids,
        min_cost=min_cost,
        max_moves=max_moves,
        time_limit=time_limit,
        params=params,
        whole_pool=whole_pool,
    )
    if min_cost:
        pm.serve_at_least_cost()
        return pm.write_back()
    pm.serve()
    if band is not None:
        if given is None and not whole_pool:
            given = PoolTotals(band[0], {})
        pm.band(band[1], given)
        pm.moves()
    pm.level(level_floor, level_share)
    for b in range(len(pm.bands)):
        if b not in pm.skip_bands:
            pm.spread(b)
    pm.soft()
    return pm.write_back()


def _capped(loads: dict[int, int], *, c: int, cap: int) -> int:
    return min(loads[c], cap)


def exact_edges(total: int, cap_total: int, cap: int, tolerance: Fraction) -> tuple[int, int]:
    """The hours band's upper and lower edge in (scaled) hours for a CSM of capacity `cap`, exactly."""
    mean = Fraction(total, cap_total)
    return math.floor((mean + tolerance) * cap), math.ceil((mean - tolerance) * cap)


__all__ = ["Band", "Params", "PoolModel", "PoolTotals", "SubResult", "integer_edges", "optimize"]
