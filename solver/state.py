"""A plan under construction: one CSM (or UNASSIGNED) per unit, and each CSM's running totals of hours,
ARR, accounts and balanced figures, kept in step by `place` and `remove`. Every heuristic and model of the
engine reads and writes plans through it."""

from __future__ import annotations

from dataclasses import dataclass, field

from solver.problem import Pool, Problem, Unit

UNASSIGNED = -1


@dataclass
class State:
    """A plan under construction: a CSM (or UNASSIGNED) per unit, and each CSM's running totals."""

    problem: Problem
    assign: list[int]
    load: list[int]
    arr: list[float]
    count: list[int]
    figures: list[list[int]] = field(default_factory=list)  # per CSM, per band of problem.bands

    @classmethod
    def empty(cls, problem: Problem) -> State:
        n = len(problem.csms)
        figures = [[0] * len(problem.bands) for _ in range(n)] if problem.bands else []
        return cls(problem, [UNASSIGNED] * len(problem.units), [0] * n, [0.0] * n, [0] * n, figures)

    def fits(self, u: Unit, c: int) -> bool:
        info = self.problem.csms[c]
        if self.load[c] + u.hours_for(c) > info.capacity:
            return False
        if info.arr_cap is not None and self.arr[c] + u.arr > info.arr_cap + 1e-6:
            return False
        return info.max_accounts is None or self.count[c] + u.size <= info.max_accounts

    def place(self, u: Unit, c: int) -> None:
        self.assign[u.index] = c
        self.load[c] += u.hours_for(c)
        self.arr[c] += u.arr
        self.count[c] += u.size
        if u.figures:
            mine = self.figures[c]
            for b, f in enumerate(u.figures):
                mine[b] += f

    def remove(self, u: Unit) -> None:
        c = self.assign[u.index]
        if c == UNASSIGNED:
            return
        self.assign[u.index] = UNASSIGNED
        self.load[c] -= u.hours_for(c)
        self.arr[c] -= u.arr
        self.count[c] -= u.size
        if u.figures:
            mine = self.figures[c]
            for b, f in enumerate(u.figures):
                mine[b] -= f

    def resplit(self, out: list[Unit], split: list[tuple[Unit, int]]) -> float:
        """Take the units `out` off their CSMs and give each unit of `split` its CSM (every one must fit);
        returns the ARR served more."""
        before = sum(u.arr for u in out if self.assign[u.index] != UNASSIGNED)
        for u in out:
            self.remove(u)
        for u, c in split:
            assert self.fits(u, c), "a new split keeps every cap"
            self.place(u, c)
        return sum(u.arr for u, _ in split) - before

    def utilization(self, c: int) -> float:
        cap = self.problem.csms[c].capacity
        return self.load[c] / cap if cap > 0 else (0.0 if self.load[c] == 0 else float("inf"))

    def copy(self) -> State:
        return State(
            self.problem,
            list(self.assign),
            list(self.load),
            list(self.arr),
            list(self.count),
            [list(f) for f in self.figures],
        )


def served_figures(units: list[Unit]) -> tuple[float, int]:
    """(ARR, accounts) of the units, to compare two choices in the plan's own figures: most ARR first (to
    the millionth, past float error), then most accounts."""
    return round(sum(u.arr for u in units), 6), sum(u.size for u in units)


def home_csm(problem: Problem, u: Unit) -> int | None:
    """The CSM that holds most of the unit today (by account count), if any."""
    counts: dict[str, int] = {}
    for cur in u.current:
        if cur is not None:
            counts[cur] = counts.get(cur, 0) + 1
    if not counts:
        return None
    best = max(sorted(counts), key=lambda k: counts[k])
    return problem.csm_index[best]


def pool_mean(problem: Problem, state: State, pool: Pool) -> float:
    cap = sum(problem.csms[c].capacity for c in pool.csms)
    load = sum(state.load[c] for c in pool.csms)
    return load / cap if cap else 0.0
