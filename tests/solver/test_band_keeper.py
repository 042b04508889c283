"""The level's local search after the band phase keeps every CSM inside the bands it is inside."""

from __future__ import annotations

from conftest import build_book

from solver.band_keeper import BandKeeper
from solver.level_search import level_by_local_search
from solver.prepare import build_problem
from solver.state import State


def test_the_level_search_takes_the_step_that_keeps_the_arr_band() -> None:
    # c0 (100 h) holds a ($10k, 2 h), b and d ($45k, 20 h each): 42 %; c1 (100 h) holds c ($100k, 2 h).
    # Each CSM's ARR band is $85k-$115k. Moving b (or d) to c1 lowers the level most (22 % each) but leaves
    # c0 with $55k; moving a lowers it to 40 % with $90k and $110k, both inside.
    book = build_book(
        [
            {"id": "a", "arr": 10_000, "hours_per_year": 2},
            {"id": "b", "arr": 45_000, "hours_per_year": 20},
            {"id": "d", "arr": 45_000, "hours_per_year": 20},
            {"id": "c", "arr": 100_000, "hours_per_year": 2},
        ],
        [{"id": "c0", "capacity_hours": 100}, {"id": "c1", "capacity_hours": 100}],
        balance_metrics={"arr": 0.15},
        balance_tolerance=0.5,
    )
    problem = build_problem(book)
    (pool,) = problem.pools
    for keep in (True, False):
        state = State.empty(problem)
        for u, csm in zip(problem.units, ("c0", "c0", "c0", "c1"), strict=True):
            state.place(u, problem.csm_index[csm])
        keeper = BandKeeper(problem, state, pool, 0.5)
        level_by_local_search(
            problem, state, pool, deadline=float("inf"), max_steps=1, keeps=keeper.keeps if keep else None
        )
        moved = {problem.book.accounts[u.accounts[0]].id for u in problem.units if state.assign[u.index] == 1}
        # With the band kept, a goes; without it, b or d would (the even split the level alone prefers).
        assert moved in ([{"a", "c"}] if keep else [{"b", "c"}, {"d", "c"}])
