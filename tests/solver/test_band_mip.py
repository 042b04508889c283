"""The band phase's MIP and the moves phase's MIP (HiGHS on the pool's classes): from a hint that breaks a
band or makes needless moves, each finds the plan a small hand-made book asks for."""

from __future__ import annotations

from typing import Any

from conftest import build_book, single_pool_model

from solver.band_mip import band_by_mip, moves_by_mip
from solver.bands import BandConstraints
from solver.model import PoolModel
from solver.prepare import build_problem
from solver.problem import Problem
from solver.state import State

# Two $90k and two $10k accounts of 50 h, two CSMs of 200 h: each CSM is inside the ARR band (±15 % of
# $100k) only with one large and one small account.
ACCOUNTS = [
    {"id": "big0", "arr": 90_000, "hours_per_year": 50},
    {"id": "big1", "arr": 90_000, "hours_per_year": 50},
    {"id": "small0", "arr": 10_000, "hours_per_year": 50},
    {"id": "small1", "arr": 10_000, "hours_per_year": 50},
]


def pool_model(accounts: list[dict[str, Any]], placed: dict[str, str]) -> tuple[Problem, PoolModel]:
    book = build_book(
        accounts,
        [{"id": "c0", "capacity_hours": 300}, {"id": "c1", "capacity_hours": 300}],
        balance_metrics={"arr": 0.15},
    )
    problem = build_problem(book)
    state = State.empty(problem)
    for u in problem.units:
        state.place(u, problem.csm_index[placed[book.accounts[u.accounts[0]].id]])
    pm = single_pool_model(problem, state, deterministic=False)
    pm.serve()  # everyone served: the bands' edges are constants
    return problem, pm


def books(problem: Problem, pm: PoolModel) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for u in pm.units:
        out.setdefault(problem.csms[pm.hint[u.index]].id, set()).add(problem.book.accounts[u.accounts[0]].id)
    return out


def test_the_band_mip_puts_every_csm_inside_the_arr_band() -> None:
    problem, pm = pool_model(ACCOUNTS, {"big0": "c0", "big1": "c0", "small0": "c1", "small1": "c1"})
    bands = BandConstraints(pm, 0.1, None)
    assert bands.hint_outside() == 2
    band_by_mip(pm, bands, 5.0)
    assert bands.hint_outside() == 0
    assert all(len(held & {"big0", "big1"}) == 1 for held in books(problem, pm).values())


def test_the_moves_mip_takes_the_fewest_moves_that_keep_every_csm_inside() -> None:
    # Today c0 holds both large accounts and a $50k one (out of band), c1 the small ones and a $50k one.
    # Keeping everyone inside needs 2 moves (one large out, one small in); the hint makes 4 (the $50k
    # accounts swap too); making none would leave both CSMs outside.
    accounts = [
        *({**a, "current_csm": "c0" if a["id"].startswith("big") else "c1"} for a in ACCOUNTS),
        {"id": "mid0", "arr": 50_000, "hours_per_year": 50, "current_csm": "c0"},
        {"id": "mid1", "arr": 50_000, "hours_per_year": 50, "current_csm": "c1"},
    ]
    placed = {"big0": "c0", "small0": "c0", "mid1": "c0", "big1": "c1", "small1": "c1", "mid0": "c1"}
    _, pm = pool_model(accounts, placed)
    bands = BandConstraints(pm, 0.1, None)
    assert pm.hint_sum(lambda k, c: pm.moved[k, c][0]) == 4 and bands.hint_outside() == 0
    moves_by_mip(pm, bands, 5.0)
    assert pm.hint_sum(lambda k, c: pm.moved[k, c][0]) == 2
    assert bands.hint_outside() == 0
