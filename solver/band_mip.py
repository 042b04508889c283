"""The band phase's MIP: with every account served, the bands' edges are constants, and a plain MIP of the
classes (HiGHS) often finds a plan with every CSM inside every band where CP-SAT's search does not.

Two steps, each from the plan we have and adopted only when it is better: every CSM inside every band
with the fewest moves (a feasibility question HiGHS answers fast); failing that, the fewest CSMs outside
and then the fewest moves (each CSM's rows relaxed by a Boolean). CP-SAT's band phase goes on from there,
and proves it where it can; the level is left to the level phase and the local search within the bands
(a min-max level as a MIP ran to its time limit without closing, and cost fresh books their proof time).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from solver.classes import read_counts
from solver.serve_mip import MAX_VARIABLES, Key, hard_rules_mip, solve_from_hint

if TYPE_CHECKING:
    from solver.bands import BandConstraints
    from solver.mip_rows import MipRows
    from solver.model import PoolModel

Counts = dict[Key, int]  # (class, CSM) -> the MIP's variable


def band_by_mip(pm: PoolModel, bands: BandConstraints, seconds: float) -> None:
    """Put the MIP's plan in the hint where it has fewer CSMs outside the bands."""
    # HiGHS has no deterministic clock; a neighbourhood's bands are taken as given; where not everyone is
    # served, the edges move with the accounts served.
    if not _plain(pm, bands) or seconds < 0.1:
        return
    deadline = time.monotonic() + seconds
    if not _all_inside(pm, bands, 0.7 * seconds):
        _fewest_outside(pm, bands, deadline - time.monotonic())


def _everyone_served(pm: PoolModel) -> tuple[MipRows, Counts] | None:
    """The hard rules, with every account served."""
    built = hard_rules_mip(pm)
    if built is not None:
        rows, z = built
        for k, cl in enumerate(pm.classes):
            n = len(cl.units)
            rows.row(((z[k, c], 1) for c in cl.csms), lb=n, ub=n)
    return built


def _figure(pm: PoolModel, kind: int, c: int, z: Counts) -> tuple[int, list[tuple[int, float]], int]:
    """CSM c's figure of band `kind` (-1: hours): what is held outside the model, the terms over the MIP's
    variables, and the most it can reach."""
    base = pm.state.load[c] if kind < 0 else pm.frozen_figures[kind][c]
    terms = [
        (pm.classes[k].hours[c] if kind < 0 else pm._class_figure(pm.classes[k], kind), k)
        for k, _ in pm.by_csm[c]
    ]
    most = base + sum(a * len(pm.classes[k].units) for a, k in terms)
    if kind < 0:
        most = min(most, pm.problem.csms[c].capacity)
    return base, [(z[k, c], a) for a, k in terms], most


def _moves(pm: PoolModel, z: Counts) -> list[tuple[int, float]]:
    return [(v, pm.moved[key][0]) for key, v in z.items()]


def _adopt(pm: PoolModel, counts: dict[Key, int]) -> dict[int, int]:
    """The MIP's plan into the hint; returns the hint it replaced."""
    kept = dict(pm.hint)
    read_counts(pm.classes, pm.y, lambda key: counts[key], pm.hint)
    return kept


def _restore(pm: PoolModel, kept: dict[int, int]) -> None:
    pm.hint.clear()
    pm.hint.update(kept)


def _all_inside(pm: PoolModel, bands: BandConstraints, seconds: float) -> bool:
    """Every CSM inside every band, with the fewest moves: adopted when HiGHS finds such a plan."""
    built = _everyone_served(pm)
    if built is None:
        return False
    rows, z = built
    if not _inside_rows(pm, bands, rows, z, set()):
        return False
    rows.set_objective(_moves(pm, z), maximize=False)
    _, counts = solve_from_hint(pm, rows, z, seconds)
    if counts is None:
        return False
    _adopt(pm, counts)
    return True


def _fewest_outside(pm: PoolModel, bands: BandConstraints, seconds: float) -> None:
    """The fewest CSMs outside some band, then the fewest moves; adopted when fewer are outside."""
    built = _everyone_served(pm)
    if built is None or seconds < 0.05:
        return
    rows, z = built
    out = {c: rows.variable(0, 1, integer=True) for c in bands.caps}
    for kind, edges in bands.fixed_rows:
        for c in bands.caps:
            base, terms, most = _figure(pm, kind, c, z)
            lo, hi = edges[c]
            # Inside unless marked outside: then only the figure's own range holds.
            rows.row([*terms, (out[c], -max(0, most - hi))], ub=hi - base)
            rows.row([*terms, (out[c], max(0, lo - base))], lb=lo - base)
    worst_moves = sum(pm.moved[key][0] * len(pm.classes[key[0]].units) for key in z) + 1
    rows.set_objective([*((o, worst_moves) for o in out.values()), *_moves(pm, z)], maximize=False)
    before = bands.hint_outside()
    _, counts = solve_from_hint(pm, rows, z, seconds)
    if counts is not None:
        kept = _adopt(pm, counts)
        if bands.hint_outside() >= before:
            _restore(pm, kept)


def moves_by_mip(pm: PoolModel, bands: BandConstraints | None, seconds: float) -> None:
    """With every CSM inside its bands kept inside, the fewest moves HiGHS finds in the time; adopted when
    fewer (the moves phase goes on from there)."""
    if bands is None or not _plain(pm, bands) or seconds < 0.1:
        return
    moved = pm.hint_sum(lambda k, c: pm.moved[k, c][0])
    built = _holding_bands(pm, bands)
    if built is None or moved == 0:
        return
    rows, z = built
    rows.set_objective(_moves(pm, z), maximize=False)
    result, counts = solve_from_hint(pm, rows, z, seconds)
    if counts is not None and result.objective_value() < moved - 0.5:
        before = bands.hint_outside()
        kept = _adopt(pm, counts)
        if bands.hint_outside() > before:
            _restore(pm, kept)


def _plain(pm: PoolModel, bands: BandConstraints) -> bool:
    """Can the pool's bands and moves be a plain MIP? (Whole pool, every account served, fixed edges.)"""
    return (
        not pm.params.deterministic
        and pm.whole_pool
        and not pm.band_as_given
        and bands.all_fixed
        and pm.hint_sum(lambda k, c: pm.classes[k].size) == pm.max_served
        and len(pm.y) <= MAX_VARIABLES
    )


def _holding_bands(pm: PoolModel, bands: BandConstraints) -> tuple[MipRows, Counts] | None:
    """Everyone served, and every CSM the hint has inside its bands kept inside."""
    built = _everyone_served(pm)
    if built is None:
        return None
    rows, z = built
    if not _inside_rows(pm, bands, rows, z, bands.outside_now()):
        return None
    return rows, z


def _inside_rows(pm: PoolModel, bands: BandConstraints, rows: MipRows, z: Counts, exempt: set[int]) -> bool:
    """Every CSM but the `exempt` ones inside every band (edges included). False, with no rows added, when
    some CSM's band holds no whole figure (a tolerance of 0 on a fair share of $10,000.50): nobody can be
    inside it, and HiGHS refuses a row whose low end is above its high end."""
    wanted = [(kind, c) for kind, _ in bands.fixed_rows for c in bands.caps if c not in exempt]
    edges = dict(bands.fixed_rows)
    if any(edges[kind][c][0] > edges[kind][c][1] for kind, c in wanted):
        return False
    for kind, c in wanted:
        base, terms, _ = _figure(pm, kind, c, z)
        lo, hi = edges[kind][c]
        rows.row(terms, lb=lo - base, ub=hi - base)
    return True
