"""The exact yardsticks for rebalances: the least number of moves for a given balance, pool by pool.

    from bench.yardstick import least_moves_with_all_bands, least_moves_for_balance
    answer = least_moves_with_all_bands(book, time_limit=60)   # answer.moves, answer.bound, answer.status
    answer = least_moves_for_balance(book, plan, time_limit=60)  # as balanced as `plan`, per pool

MIPs written from CONTRACT.md alone (HiGHS through OR-Tools' MathOpt), pool by pool (a pool: CSMs joined by
an account both may serve, and the accounts only they can serve). The hard rules, in both: every account
served at most once by an eligible CSM, capacity hours, ARR caps, book-size caps, pins and freezes,
parents together. The bands, as the contract centres them: the hours band is `balance_tolerance` points
around the pool's utilization (its hours over its capacity); each band of `balance_metrics` is the pool's
figure per capacity hour times the CSM's capacity, plus or minus its tolerance of that (at least ±1 for
counts); a value on the edge is inside. A move is an account whose CSM changes. `bound` is HiGHS's proven
lower bound, rounded up to a whole move.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from ortools.math_opt.python import mathopt

from bench.baselines import Instance, build_instance, pool_of_csm
from solver.metrics import Band, account_figure, balance_bands, band_edges, integer_edges
from solver.schema import Book, Plan

# Float rows forgive this much (hours, or a band's figure), so an edge held exactly stays inside.
SLACK = 1e-6


@dataclass
class Yardstick:
    """The least moves under the yardstick's rules: per pool and in total, with HiGHS's proven bound."""

    status: str  # optimal (every pool proven), feasible, infeasible (some pool has no such plan), unknown
    moves: int | None
    bound: int
    seconds: float
    pools: dict[int, tuple[str, int | None, int]] = field(
        default_factory=dict
    )  # pool -> (status, moves, bound)


@dataclass
class PoolBalance:
    """One pool of a plan, as `least_moves_for_balance` holds it: what it serves and how balanced it is."""

    csms: list[str]  # the pool's CSMs, by id
    accounts: int  # accounts of the pool (ones some CSM may serve)
    served: int
    moves: int
    max_utilization: Fraction  # the largest hours utilization of the pool's CSMs with capacity
    out_of_band: int  # CSMs with capacity outside the hours band or any band of balance_metrics


@dataclass
class BalanceYardstick(Yardstick):
    """`Yardstick` for a plan's balance, with the plan's own figures per pool beside it."""

    plan: dict[int, PoolBalance] = field(default_factory=dict)


# --- the pools and the plan's figures -----------------------------------------------------------------


def _pools(inst: Instance) -> dict[int, tuple[list[int], list[int]]]:
    """Pool -> (its accounts, its CSMs)."""
    pool = pool_of_csm(inst)
    by_pool: dict[int, tuple[list[int], list[int]]] = {}
    for c, p in enumerate(pool):
        by_pool.setdefault(p, ([], []))[1].append(c)
    for a, elig in enumerate(inst.eligible):
        if elig:
            by_pool[pool[elig[0]]][0].append(a)
    return by_pool


def _figure(inst: Instance, band: Band, a: int) -> int:
    return math.ceil(account_figure(inst.accounts[a], band, inst.book, inst.today) - 1e-9)


def _caps(inst: Instance, csms: list[int]) -> dict[int, Fraction]:
    """The pool's CSMs with capacity (a leaver has none), exactly."""
    return {c: Fraction(inst.capacity[c]) for c in csms if not inst.left[c] and inst.capacity[c] > 0}


def pool_balance(
    inst: Instance, bands: list[Band], accounts: list[int], csms: list[int], held: dict[int, int]
) -> PoolBalance:
    """A pool's figures under an assignment (`held`: account -> CSM), exactly, by the contract's bands."""
    caps = _caps(inst, csms)
    cap_total = sum(caps.values(), Fraction(0))
    load = {c: Fraction(0) for c in csms}
    served = moves = 0
    for a in accounts:
        c = held.get(a)
        if c is None:
            continue
        if c not in load:
            raise ValueError(
                f"plan.assignments: account {inst.accounts[a].id} to {inst.csms[c].id}, a CSM of another pool"
            )
        served += 1
        moves += inst.current[a] is not None and inst.current[a] != c
        load[c] += Fraction(inst.hours(a, c))
    mean = sum(load[c] for c in caps) / cap_total if cap_total else Fraction(0)
    tol = Fraction(inst.book.policy.balance_tolerance).limit_denominator(10_000)
    eps = Fraction(1, 10**9)
    outside = {c for c in caps if abs(load[c] / caps[c] - mean) > tol + eps}
    for b in bands:
        figure = {c: Fraction(0) for c in csms}
        for a in accounts:
            if held.get(a) is not None:
                figure[held[a]] += _figure(inst, b, a)
        total = sum((figure[c] for c in caps), Fraction(0))
        for c, cap in caps.items():
            lo, hi = band_edges(b, total, cap_total, cap)
            if not lo - eps <= figure[c] <= hi + eps:
                outside.add(c)
    return PoolBalance(
        csms=[inst.csms[c].id for c in csms],
        accounts=len(accounts),
        served=served,
        moves=moves,
        max_utilization=max((load[c] / caps[c] for c in caps), default=Fraction(0)),
        out_of_band=len(outside),
    )


# --- the model's pieces -----------------------------------------------------------------------------


@dataclass
class _Pool:
    """One pool's model under the hard rules: the pair variables, each CSM's pairs and hours."""

    model: mathopt.Model
    inst: Instance
    accounts: list[int]
    csms: list[int]
    every: bool  # every account served (else exactly `served` of them)
    x: dict[tuple[int, int], mathopt.Variable]
    mine: dict[int, list[tuple[int, mathopt.Variable]]]
    load: dict[int, mathopt.LinearExpression]

    def moves(self) -> mathopt.LinearExpression:
        cur = self.inst.current
        return mathopt.fast_sum(v for (a, c), v in self.x.items() if cur[a] is not None and cur[a] != c)


def _hard_rules(inst: Instance, accounts: list[int], csms: list[int], name: str, served: int | None) -> _Pool:
    """Every account served once (`served` None or every account) or exactly `served` accounts at most
    once each, by a CSM who may serve it; pins and freezes keep theirs; parents go to one CSM; capacity
    hours, ARR caps and book-size caps hold."""
    model = mathopt.Model(name=name)
    pool = set(csms)
    x = {(a, c): model.add_binary_variable() for a in accounts for c in inst.eligible[a] if c in pool}
    every = served is None or served >= len(accounts)
    for a in accounts:
        once = mathopt.fast_sum(x[a, c] for c in inst.eligible[a] if (a, c) in x)
        model.add_linear_constraint(once == 1 if every else once <= 1)
        keeper = inst.frozen_to[a]
        if keeper is not None and (a, keeper) in x:
            model.add_linear_constraint(x[a, keeper] == 1)
    if not every:
        model.add_linear_constraint(mathopt.fast_sum(x.values()) == served)
    for group in inst.groups:
        for a in group[1:]:
            for c in csms:
                if (a, c) in x or (group[0], c) in x:
                    model.add_linear_constraint(x.get((a, c), 0) - x.get((group[0], c), 0) == 0)
    mine = {c: [(a, x[a, c]) for a in accounts if (a, c) in x] for c in csms}
    load = {c: mathopt.fast_sum(inst.hours(a, c) * v for a, v in mine[c]) for c in csms}
    for c in csms:
        model.add_linear_constraint(load[c] <= inst.capacity[c])
        if inst.arr_cap[c] is not None:
            model.add_linear_constraint(
                mathopt.fast_sum(inst.accounts[a].arr * v for a, v in mine[c]) <= inst.arr_cap[c]
            )
        if inst.max_accounts[c] is not None:
            model.add_linear_constraint(mathopt.fast_sum(v for _, v in mine[c]) <= inst.max_accounts[c])
    return _Pool(model, inst, accounts, csms, every, x, mine, load)


def _band_rows(m: _Pool, bands: list[Band], outside: dict[int, mathopt.Variable] | None) -> None:
    """Every CSM with capacity inside the hours band and each band of `bands`; with `outside`, a CSM whose
    `outside` variable is 1 is let off all of them (each row relaxed by a bound on how far it can miss)."""
    inst, model = m.inst, m.model
    caps = _caps(inst, m.csms)
    cap_total = sum(caps.values(), Fraction(0))
    if not caps:
        return
    tol = Fraction(inst.book.policy.balance_tolerance).limit_denominator(10_000)
    fixed_hours = m.every and not any((a, c) in inst.pair_hours for a, c in m.x)
    hours_total: Fraction | mathopt.LinearExpression = (
        sum((Fraction(inst.base_hours[a]) for a in m.accounts), Fraction(0))
        if fixed_hours
        else mathopt.fast_sum(m.load.values())
    )

    def off(c: int, big: float) -> mathopt.LinearExpression | float:
        return big * outside[c] if outside is not None else 0.0

    for c, cap in caps.items():
        share = cap / cap_total
        # Hours: |load - share * total| <= tol * cap. Neither side can miss by more than the capacity, as
        # every load is within it (so the pool's utilization is at most 1).
        centre = (
            float(share * hours_total) if isinstance(hours_total, Fraction) else float(share) * hours_total
        )
        model.add_linear_constraint(m.load[c] - centre <= float(tol * cap) + SLACK + off(c, float(cap)))
        model.add_linear_constraint(centre - m.load[c] <= float(tol * cap) + SLACK + off(c, float(cap)))
    for b in bands:
        fig = {a: _figure(inst, b, a) for a in m.accounts}
        most = sum(fig.values())
        for c, cap in caps.items():
            held = mathopt.fast_sum(fig[a] * v for a, v in m.mine[c] if fig[a])
            big = float(sum(fig[a] for a, _ in m.mine[c]) + most * cap / cap_total + 2)
            if m.every:
                lo, hi = integer_edges(b, Fraction(most), cap_total, cap)
                model.add_linear_constraint(held >= lo - off(c, big))
                model.add_linear_constraint(held <= hi + off(c, big))
                continue
            # Not every account served: the band's centre moves with the served accounts.
            total = mathopt.fast_sum(fig[a] * v for (a, _), v in m.x.items() if fig[a])
            centre_expr = float(cap / cap_total) * total
            btol = float(Fraction(b.tolerance).limit_denominator(10_000))
            wide: mathopt.LinearExpression | float = 0.0
            if b.counts:
                # half = max(tol * centre, 1): either side may hold; `wide` picks tol * centre.
                ones = model.add_binary_variable()
                model.add_linear_constraint(held - centre_expr <= 1 + SLACK + big * ones + off(c, big))
                model.add_linear_constraint(centre_expr - held <= 1 + SLACK + big * ones + off(c, big))
                wide = big * (1 - ones)
            model.add_linear_constraint(held - (1 + btol) * centre_expr <= SLACK + wide + off(c, big))
            model.add_linear_constraint((1 - btol) * centre_expr - held <= SLACK + wide + off(c, big))


# --- solving, pool by pool ----------------------------------------------------------------------------

Build = Callable[[Instance, int, list[int], list[int]], _Pool | None]


def _solve_pools(
    book: Book, time_limit: float, build: Build, out: Yardstick, inst: Instance | None = None
) -> None:
    """Each pool's model from `build` (None: nothing to decide), largest pool first, each given a share of
    the time left in proportion to its accounts (time a pool does not use goes to the next)."""
    started = time.perf_counter()
    inst = inst or build_instance(book)
    pools = sorted(_pools(inst).items(), key=lambda kv: -len(kv[1][0]))
    waiting = sum(len(accounts) for _, (accounts, _) in pools)
    for p, (accounts, csms) in pools:
        m = build(inst, p, accounts, csms)
        waiting -= len(accounts)
        if m is None:
            continue
        # The time left, shared by the pools still to solve in proportion to their accounts.
        left = (time_limit - (time.perf_counter() - started)) * len(accounts) / (len(accounts) + waiting)
        m.model.minimize(m.moves())
        result = mathopt.solve(
            m.model,
            mathopt.SolverType.HIGHS,
            params=mathopt.SolveParameters(time_limit=dt.timedelta(seconds=max(1.0, left))),
        )
        reason = result.termination.reason
        if reason == mathopt.TerminationReason.INFEASIBLE:
            out.pools[p] = ("infeasible", None, 0)
            out.status = "infeasible"
            continue
        if not result.has_primal_feasible_solution():
            out.pools[p] = ("unknown", None, 0)
            out.status = "unknown" if out.status != "infeasible" else out.status
            out.moves = None
            continue
        moves = round(result.objective_value())
        bound = max(0, math.ceil(result.termination.objective_bounds.dual_bound - 1e-6))
        status = "optimal" if reason == mathopt.TerminationReason.OPTIMAL else "feasible"
        out.pools[p] = (status, moves, min(bound, moves))
        if status != "optimal" and out.status == "optimal":
            out.status = "feasible"
        if out.moves is not None:
            out.moves += moves
        out.bound += min(bound, moves)
    out.seconds = time.perf_counter() - started


def least_moves_with_all_bands(book: Book, time_limit: float = 60.0) -> Yardstick:
    """The least number of moves with every CSM inside every band, pool by pool, with HiGHS's bound.

    Every hard rule; every account served (the bands are centred on the totals of all accounts); every
    CSM with capacity inside the hours band and each band of `balance_metrics`. A pool where that cannot
    hold is reported `infeasible`."""
    bands = balance_bands(book)

    def build(inst: Instance, p: int, accounts: list[int], csms: list[int]) -> _Pool | None:
        if not accounts:
            return None
        m = _hard_rules(inst, accounts, csms, "least_moves_with_all_bands", None)
        _band_rows(m, bands, None)
        return m

    out = Yardstick(status="optimal", moves=0, bound=0, seconds=0.0)
    _solve_pools(book, time_limit, build, out)
    return out


def least_moves_for_balance(book: Book, plan: Plan, time_limit: float = 60.0) -> BalanceYardstick:
    """Per pool, the least moves of any plan that keeps every hard rule and is at least as balanced as
    `plan` in that pool; in total, with HiGHS's proven bound.

    In each pool, with the plan's figures judged on its assignments (`pool_balance`):
    - every hard rule: each account served at most once, by a CSM who may serve it; capacity hours, ARR
      caps, book-size caps; pins and freezes; a parent company with one CSM;
    - as many accounts served as the plan serves in the pool (each band centred on the served accounts);
    - every CSM's utilization (hours ÷ capacity) at most the plan's largest utilization in the pool;
    - no more CSMs outside a band than the plan has in the pool: outside the hours band (`balance_tolerance`
      around the pool's utilization) or any band of `balance_metrics` (tolerance times the pool's figure
      per capacity hour, at least ±1 for counts); an edge is inside; a CSM outside several counts once.
    Minimised: the accounts whose CSM changes. `plan.pools[p]` holds the plan's own figures; the plan
    itself is one such plan, so a pool's least moves is never above the plan's."""
    inst = build_instance(book)
    bands = balance_bands(book)
    index = {a.id: i for i, a in enumerate(book.accounts)}
    held = {index[x.account]: inst.csm_index[x.csm] for x in plan.assignments}
    out = BalanceYardstick(status="optimal", moves=0, bound=0, seconds=0.0)

    def build(inst: Instance, p: int, accounts: list[int], csms: list[int]) -> _Pool | None:
        mine = pool_balance(inst, bands, accounts, csms, held)
        out.plan[p] = mine
        if not accounts:
            return None
        m = _hard_rules(inst, accounts, csms, "least_moves_for_balance", mine.served)
        caps = _caps(inst, csms)
        for c, cap in caps.items():
            m.model.add_linear_constraint(m.load[c] <= float(mine.max_utilization * cap) + SLACK)
        outside = {c: m.model.add_binary_variable() for c in caps}
        _band_rows(m, bands, outside)
        m.model.add_linear_constraint(mathopt.fast_sum(outside.values()) <= mine.out_of_band)
        return m

    _solve_pools(book, time_limit, build, out, inst)
    return out
