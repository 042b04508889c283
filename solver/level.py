"""The level phase of a pool model: the largest utilization as low as it can go, and proven.

First as an objective (exactly, as the largest load, when capacities are equal; in 1/UTIL_SCALE steps
otherwise), then settled by a decision loop exact by integer cross-multiplication, which asks with every
CSM's load limited: at the lower bound (a plan with no CSM above it? yes is optimal; no raises the bound
one load step) and just below the incumbent (a plan with every CSM strictly below? yes improves it; no
proves it). Each load is given as a domain of the values its eligible accounts can make (`ReachableLoads`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from solver.classes import ModelClass
from solver.classes import as_expr as _expr
from solver.state import State

if TYPE_CHECKING:
    from solver.model import PoolModel

UTIL_SCALE = 100_000


def _granule(pm: PoolModel) -> int:
    """Every load is a multiple of this: the GCD of the frozen loads and of every class's hours."""
    g = 0
    for c in pm.cap_csms:
        g = math.gcd(g, pm.state.load[c])
    for cl in pm.classes:
        for h in cl.hours.values():
            g = math.gcd(g, h)
    return max(1, g)


def _level_objective(
    pm: PoolModel, level_floor: float | None, share: float, near_floor: bool, shared_total: int | None
) -> tuple[bool, cp_model.IntVar]:
    """Minimise the largest utilization as an objective; returns (proven, the `top` variable)."""
    problem, model = pm.problem, pm.model
    cap_csms, load = pm.cap_csms, pm.load
    caps = {problem.csms[c].capacity for c in cap_csms}
    ok = False
    if len(caps) == 1:
        # Equal capacities: minimise the largest load itself, exactly.
        (cap,) = caps
        top = model.new_int_var(0, cap, "max_load")
        for c in cap_csms:
            model.add(load[c] <= top)
            if shared_total is not None:
                # The others hold at most top each, so this CSM holds the rest. Implied, but stated it lets
                # CP-SAT rule out near-perfect splits without enumerating them.
                model.add((len(cap_csms) - 1) * top + _expr(load[c]) >= shared_total)
        start = max(pm.hint_loads()[c] for c in cap_csms)
        model.add(top <= start)
        if level_floor is not None:
            # A proven lower bound (engine.pool_level_bound) lets CP-SAT stop as soon as it reaches it.
            model.add(top >= min(start, math.ceil(level_floor * cap - 1e-6)))
        pm.extra_hints.append((top, lambda loads: max(loads[c] for c in cap_csms)))
        bound = None
        if not near_floor:
            ok, bound = pm.run(top, share)
        if bound is not None:
            pm.result.level_bound = math.ceil(bound - 1e-9) / cap
        return ok, top
    top = model.new_int_var(0, UTIL_SCALE, "max_util")
    cap_sum = sum(problem.csms[c].capacity for c in cap_csms)
    for c in cap_csms:
        cap_c = problem.csms[c].capacity
        model.add(load[c] * UTIL_SCALE <= top * cap_c)
        if shared_total is not None:
            model.add(top * (cap_sum - cap_c) + UTIL_SCALE * _expr(load[c]) >= shared_total * UTIL_SCALE)

    def top_of(loads: dict[int, int]) -> int:
        return max(math.ceil(loads[c] * UTIL_SCALE / problem.csms[c].capacity) for c in cap_csms)

    model.add(top <= top_of(pm.hint_loads()))
    if level_floor is not None:
        model.add(top >= min(top_of(pm.hint_loads()), math.floor(level_floor * UTIL_SCALE)))
    pm.extra_hints.append((top, top_of))
    bound = None
    if not near_floor:
        ok, bound = pm.run(top, share)
    if bound is not None:
        # No plan reaches bound - 1 in UTIL_SCALE units, so the optimum is above that.
        pm.result.level_bound = max(0.0, (math.ceil(bound - 1e-9) - 1) / UTIL_SCALE)
    return ok, top


def settle_level(pm: PoolModel, level_floor: float | None, share: float) -> None:
    """The level phase: objective, then the decision loop; afterwards every load is held at the level."""
    problem = pm.problem
    cap_csms = pm.cap_csms
    limits = pm.load_variables()
    # A CSM without capacity keeps exactly what is frozen on them; the others share the rest.
    shared_total = (
        None
        if pm.fixed_total is None
        else pm.fixed_total - sum(pm.state.load[c] for c in pm.csms if c not in limits)
    )
    granule = _granule(pm)
    # A plan within a few load steps of the proven lower bound goes straight to the decision loop.
    loads_start = pm.hint_loads()
    worst_start = max(cap_csms, key=lambda c: loads_start[c] / problem.csms[c].capacity)
    near_floor = (
        level_floor is not None
        and loads_start[worst_start] - math.floor(level_floor * problem.csms[worst_start].capacity + 1e-6)
        <= 3 * granule
    )
    ok, top = _level_objective(pm, level_floor, share, near_floor, shared_total)
    reachable = ReachableLoads(pm.state, pm.classes, granule)
    caps = {problem.csms[c].capacity for c in cap_csms}
    pm.fix(top, [0, UTIL_SCALE if len(caps) > 1 else max(caps)])

    def decide(upper: dict[int, int], share: float, *, both_forms: bool) -> str:
        """Is there a plan with load_c <= upper[c] for every CSM? "found" (the hint is now one), "none"
        (proven impossible) or "unknown" (no answer in time)."""
        room = sum(upper.values())
        windows = {
            c: reachable.window(c, 0 if shared_total is None else shared_total - (room - upper[c]), upper[c])
            for c in cap_csms
        }
        if any(not w for w in windows.values()):
            return "none"  # some CSM's load has no possible value: proven without a search
        for c in cap_csms:
            pm.fix(limits[c], windows[c])
        before = pm.hint_loads()
        pm.set_symmetry(False)
        proven_none, _ = pm.run(None, share)
        if not proven_none and both_forms and pm.hint_loads() == before:
            pm.set_symmetry(True)  # no answer in time: try the form that finds perfect splits
            proven_none, _ = pm.run(None, 1.0)
        if proven_none:
            return "none"
        return "unknown" if pm.hint_loads() == before else "found"

    lower = max((b for b in (pm.result.level_bound, level_floor) if b is not None), default=0.0)
    ascend = True
    while not ok and pm.time_left() > 0.05:
        loads_now = pm.hint_loads()
        worst = max(cap_csms, key=lambda c: loads_now[c] / problem.csms[c].capacity)
        num, den = loads_now[worst], problem.csms[worst].capacity
        if num <= math.floor(lower * den + 1e-6):
            ok = True  # the plan meets a proven lower bound
            pm.result.level_bound = num / den
            break
        # load_c / cap_c < num / den  <=>  load_c <= floor((num * cap_c - 1) / den)
        below = {
            c: (max(0, (num * problem.csms[c].capacity - 1) // den) if num > 0 else 0) // granule * granule
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
                    pm.result.level_bound = max(pm.result.level_bound or 0.0, lower)
                    continue
                if answer == "found":
                    continue  # a plan at the bound: optimal (checked at the top of the loop)
                ascend = False  # the bound is hard to settle: spend the time below the incumbent
        answer = decide(below, 0.5, both_forms=True)
        if answer == "none":
            ok = True
            pm.result.level_bound = num / den
            break
        if answer == "unknown":
            break
    pm.result.phases.append("level")
    pm.result.proven &= ok
    # Held from here on: no CSM above the level found (load_c / cap_c <= num / den, exactly).
    loads_now = pm.hint_loads()
    worst = max(cap_csms, key=lambda c: loads_now[c] / problem.csms[c].capacity)
    num, den = loads_now[worst], problem.csms[worst].capacity
    for c in cap_csms:
        pm.fix(limits[c], [0, num * problem.csms[c].capacity // den])
    pm.set_symmetry(True)


class ReachableLoads:
    """The loads a CSM can reach: their frozen hours plus the hours of any choice of the classes they may take.

    A bitset over multiples of the hours' GCD (bounded knapsack by binary splitting, exact), computed the
    first time a CSM's window is asked for and shared by CSMs with the same frozen load and classes. The
    decision loop narrows each load's domain to the values in its window that some choice of accounts
    makes: a window holding none proves the limit impossible without a search.
    """

    MAX_VALUES = 512  # a window with more reachable values is given to CP-SAT as one interval
    MAX_WORK = 20_000_000  # bitset words shifted per model before falling back to intervals

    def __init__(self, state: State, classes: list[ModelClass], granule: int) -> None:
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
