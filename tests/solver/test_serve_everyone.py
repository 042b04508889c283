"""The serve phase asks first whether every account can be served (a perfect packing), where the hours and
book sizes leave room for all: a plan that does is adopted; a proof that none does bounds the served ARR
by all of it less the smallest account's."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import build_book, single_pool_model

from solver.model import PoolModel
from solver.prepare import build_problem
from solver.problem import Problem
from solver.serve_phase import no_plan_serves_everyone
from solver.state import State


def pool_model(
    accounts: list[dict[str, Any]], caps: list[float], placed: dict[str, str], *, whole_pool: bool = True
) -> tuple[Problem, PoolModel]:
    book = build_book(accounts, [{"id": f"c{i}", "capacity_hours": h} for i, h in enumerate(caps)])
    problem = build_problem(book)
    state = State.empty(problem)
    for u in problem.units:
        csm = placed.get(book.accounts[u.accounts[0]].id)
        if csm is not None:
            state.place(u, problem.csm_index[csm])
    pm = single_pool_model(problem, state, deterministic=True, whole_pool=whole_pool)
    return problem, pm


def served(problem: Problem, pm: PoolModel) -> set[str]:
    return {problem.book.accounts[u.accounts[0]].id for u in pm.units if pm.hint[u.index] >= 0}


def test_a_perfect_packing_is_found_and_adopted() -> None:
    # Two CSMs of 100 h; 60+40 and 70+30 fill both exactly. The hint packs 60+30 and 70, leaving the 40 h
    # account out.
    accounts = [
        {"id": "a60", "hours_per_year": 60},
        {"id": "a40", "hours_per_year": 40},
        {"id": "a70", "hours_per_year": 70},
        {"id": "a30", "hours_per_year": 30},
    ]
    problem, pm = pool_model(accounts, [100, 100], {"a60": "c0", "a30": "c0", "a70": "c1"})
    assert served(problem, pm) == {"a60", "a30", "a70"}
    assert no_plan_serves_everyone(pm, 1.0) is False
    assert served(problem, pm) == {"a60", "a40", "a70", "a30"}


def test_no_perfect_packing_bounds_served_arr_by_all_but_the_smallest() -> None:
    # Three accounts of 60 h for two CSMs of 100 h: 180 h fit in 200 h by volume, but one account per CSM.
    accounts = [
        {"id": "a", "arr": 30_000, "hours_per_year": 60},
        {"id": "b", "arr": 20_000, "hours_per_year": 60},
        {"id": "c", "arr": 10_000, "hours_per_year": 60},
    ]
    problem, pm = pool_model(accounts, [100, 100], {"a": "c0", "c": "c1"})
    assert no_plan_serves_everyone(pm, 1.0) is True
    assert served(problem, pm) == {"a", "c"}  # the hint is left as it was


def test_that_proof_is_the_served_arr_bound_when_nothing_else_proves_one(monkeypatch: Any) -> None:
    accounts = [
        {"id": "a", "arr": 30_000, "hours_per_year": 60},
        {"id": "b", "arr": 20_000, "hours_per_year": 60},
        {"id": "c", "arr": 10_000, "hours_per_year": 60},
    ]
    problem, pm = pool_model(accounts, [100, 100], {"a": "c0", "c": "c1"})
    real_run = pm.run

    def unproven_arr(objective: Any, share: float, *, maximize: bool = False) -> tuple[bool, float | None]:
        proven, bound = real_run(objective, share, maximize=maximize)
        return (False, None) if objective is pm.served_arr else (proven, bound)

    monkeypatch.setattr(pm, "run", unproven_arr)
    pm.serve()  # deterministic: no MIP bound either
    # Not everyone: at most all ($60k) less the smallest ($10k).
    assert pm.result.served_arr_bound == 50_000
    assert served(problem, pm) == {"a", "b"}


@pytest.mark.parametrize("whole_pool", [True, False])
def test_the_question_is_not_asked_when_the_hours_rule_everyone_out(whole_pool: bool) -> None:
    # (A part of a pool, as in a large pool's neighbourhoods, has no pool-wide bound: the hours decide.)
    accounts = [{"id": f"a{i}", "hours_per_year": 60} for i in range(4)]  # 240 h for 200 h
    _, pm = pool_model(accounts, [100, 100], {"a0": "c0", "a1": "c1"}, whole_pool=whole_pool)
    used = pm.deterministic_used
    assert no_plan_serves_everyone(pm, 1.0) is False
    assert pm.deterministic_used == used  # CP-SAT did not run


def test_the_question_is_asked_without_the_twins_load_order(monkeypatch: Any) -> None:
    # Ordering interchangeable CSMs' loads stalls CP-SAT on perfect packings (the tight 3k book's
    # enterprise / APAC pool: no answer in 10 s, against 0.5 s without); the order holds again afterwards.
    accounts = [{"id": f"a{h}", "hours_per_year": h} for h in (60, 40, 70, 30)]
    _, pm = pool_model(accounts, [100, 100], {"a60": "c0", "a30": "c0", "a70": "c1"})
    assert pm.twins  # c0 and c1 are interchangeable
    seen: list[list[int]] = []
    real_run = pm.run

    def watch(objective: Any, share: float, *, maximize: bool = False) -> tuple[bool, float | None]:
        seen.append(list(pm.model.proto.variables[pm.symmetry_on.index].domain))
        return real_run(objective, share, maximize=maximize)

    monkeypatch.setattr(pm, "run", watch)
    no_plan_serves_everyone(pm, 1.0)
    assert seen == [[0, 0]]
    assert list(pm.model.proto.variables[pm.symmetry_on.index].domain) == [1, 1]


def test_the_question_is_not_asked_of_a_model_past_its_size(monkeypatch: Any) -> None:
    accounts = [{"id": f"a{h}", "hours_per_year": h} for h in (60, 40, 70, 30)]
    problem, pm = pool_model(accounts, [100, 100], {"a60": "c0", "a30": "c0", "a70": "c1"})
    monkeypatch.setattr("solver.serve_phase.EVERYONE_QUESTION_VARIABLES", len(pm.y) - 1)
    assert no_plan_serves_everyone(pm, 1.0) is False
    assert served(problem, pm) == {"a60", "a30", "a70"}  # not asked: the hint is as it was
