"""Contradictions the pins and freezes alone make: a CSM's pinned and frozen accounts over their hours, ARR
or book-size cap, and frozen parent companies whose forced moves exceed `max_moves`. `build_problem` adds
them to the problem's diagnosis; a book with any is planned as `infeasible`."""

from __future__ import annotations

from collections import defaultdict

from solver.problem import Problem, Unit, hours_figure, money
from solver.schema import Diagnosis


def frozen_overload_diagnosis(problem: Problem) -> list[Diagnosis]:
    """Pinned and frozen accounts that alone break a CSM's capacity, ARR cap or book-size cap."""
    out: list[Diagnosis] = []
    hours: dict[int, int] = defaultdict(int)
    arr: dict[int, float] = defaultdict(float)
    count: dict[int, int] = defaultdict(int)
    held: dict[int, list[Unit]] = defaultdict(list)
    for u in problem.units:
        if u.fixed is None:
            continue
        hours[u.fixed] += u.hours_for(u.fixed)
        arr[u.fixed] += u.arr
        count[u.fixed] += u.size
        held[u.fixed].append(u)
    for c, load in hours.items():
        info = problem.csms[c]
        frozen = held[c]
        kinds = _freeze_kinds(problem, frozen)
        if load > info.capacity:
            # Decided on the model's hours (capacity holds what the book's does: prepare), told in the book's.
            exact = [problem.book_hours_of(u, c) for u in frozen]
            excess = max(0.0, sum(exact) - info.capacity_hours)
            k = _fewest_to_remove(exact, excess)
            out.append(
                Diagnosis(
                    rule="capacity_hours",
                    csm=info.id,
                    accounts=[problem.account(i).id for u in frozen for i in u.accounts],
                    excess=round(excess, 3),
                    message=f"{kinds} give {info.id} {hours_figure(sum(exact))} of "
                    f"{hours_figure(info.capacity_hours)}",
                    relaxation=f"unpin {k} account{'s' if k != 1 else ''} or raise capacity by "
                    f"{hours_figure(excess)}",
                )
            )
        if info.arr_cap is not None and arr[c] > info.arr_cap + 1e-6:
            excess_arr = arr[c] - info.arr_cap
            k = _fewest_to_remove([u.arr for u in frozen], excess_arr)
            out.append(
                Diagnosis(
                    rule="arr_cap",
                    csm=info.id,
                    accounts=[problem.account(i).id for u in frozen for i in u.accounts],
                    excess=round(excess_arr, 2),
                    message=f"{kinds} give {info.id} {money(arr[c])} ARR of a {money(info.arr_cap)} cap",
                    relaxation=f"unpin {k} account{'s' if k != 1 else ''} or raise arr_cap by {money(excess_arr)}",
                )
            )
        if info.max_accounts is not None and count[c] > info.max_accounts:
            excess_n = count[c] - info.max_accounts
            out.append(
                Diagnosis(
                    rule="max_accounts",
                    csm=info.id,
                    accounts=[problem.account(i).id for u in frozen for i in u.accounts],
                    excess=float(excess_n),
                    message=f"{kinds} give {info.id} {count[c]} accounts of a {info.max_accounts}-account cap",
                    relaxation=f"unpin {excess_n} account{'s' if excess_n != 1 else ''} or raise max_accounts "
                    f"by {excess_n}",
                )
            )
    return out


def _freeze_kinds(problem: Problem, units: list[Unit]) -> str:
    pinned = any(problem.account(i).pinned for u in units for i in u.accounts)
    frozen = any(not problem.account(i).pinned for u in units for i in u.accounts)
    if pinned and frozen:
        return "pinned and frozen (renewal/onboarding) accounts"
    return "pinned accounts" if pinned else "frozen accounts (renewal/onboarding)"


def _fewest_to_remove(sizes: list[float], excess: float) -> int:
    """Fewest items whose removal frees `excess`: take the largest first (optimal for a count)."""
    removed = 0.0
    for k, s in enumerate(sorted(sizes, reverse=True), start=1):
        removed += s
        if removed >= excess - 1e-9:
            return k
    return len(sizes)


def forced_moves_diagnosis(problem: Problem) -> list[Diagnosis]:
    """Frozen parent companies whose other accounts must change CSM, beyond what max_moves allows."""
    cap = problem.book.policy.max_moves
    if cap is None:
        return []
    forced = [(u, u.moves_if(problem.csms[u.fixed].id)) for u in problem.units if u.fixed is not None]
    forced = [(u, n) for u, n in forced if n > 0]
    total = sum(n for _, n in forced)
    if total <= cap:
        return []
    accounts = [problem.account(i).id for u, _ in forced for i in u.accounts]
    return [
        Diagnosis(
            rule="max_moves",
            accounts=accounts,
            excess=float(total - cap),
            message=f"frozen accounts keep their parent companies with their CSM, which moves {total} other "
            f"account{'s' if total != 1 else ''} of those parents, but max_moves is {cap}",
            relaxation=f"raise max_moves to {total}, or unfreeze the accounts holding those parents",
        )
    ]
