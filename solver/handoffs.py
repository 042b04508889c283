"""The handoff schedule: when each move of a plan is carried out (`handoff_on`) and in which weekly wave.

Wave k is the week that starts on `as_of + 7(k − 1)`. The rules (CONTRACT.md, "Carrying out a rebalance"):
moves forced by a CSM leaving come first, before that CSM's `end_date` where one lies ahead; no CSM
receives more than `policy.handoffs_per_week` accounts in one wave; no handoff falls inside the account's
renewal freeze (it waits until the day after the renewal, and its reason says so); among the rest, the
nearest renewal goes first; and the schedule is as short as these rules allow.

Why it is solved exactly, and how: the only rule that ties two moves together is the weekly cap of the
CSM who receives them, so the schedule splits into one small problem per receiving CSM. Each is a
transportation problem (unit moves into weekly slots of `handoffs_per_week`, each move allowed in every
week but those its renewal freeze covers), so a min-cost flow (OR-Tools' network simplex, polynomial) solves
it exactly in milliseconds, with no time limit and no gap: first the fewest leaver moves past their
deadline, then the fewest weeks (a binary search over the horizon), then, on that horizon, the order
(leavers first, then the nearest renewal) as the cost of each move's week weighted by its priority. A
least-cost flow admits no swap of two moves that puts the more urgent one earlier, which is exactly the
ordering rule `solver.validation_handoffs` checks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from solver import policy as rules
from solver.schema import Book, Move, Plan

WEEK = 7
FAR_FUTURE = dt.date.max


def wave_start(as_of: dt.date, wave: int) -> dt.date:
    """Wave k is the week that starts on as_of + 7(k − 1)."""
    return as_of + dt.timedelta(days=WEEK * (wave - 1))


def wave_of(as_of: dt.date, day: dt.date) -> int:
    """The wave whose week holds `day` (a day on or after as_of)."""
    return (day - as_of).days // WEEK + 1


def in_renewal_freeze(day: dt.date, renewal: dt.date | None, freeze_days: int) -> bool:
    """A handoff on `day` would land inside the account's renewal talks (`freeze_days` before the renewal,
    the renewal day included)."""
    if renewal is None:
        return False
    return renewal - dt.timedelta(days=freeze_days) <= day <= renewal


@dataclass(frozen=True)
class HandoffJob:
    """One move to schedule, with what the rules need to know about it."""

    account: str
    receiver: str
    renewal: dt.date | None
    leaver_end: dt.date | None  # the end date of the CSM who leaves (None: not forced by a leaver)
    deadline: dt.date | None  # hand over strictly before this day (a leaver's end date still ahead)


def handoff_day(job: HandoffJob, as_of: dt.date, wave: int, freeze_days: int) -> dt.date | None:
    """The day this move is handed over if it goes in `wave`: the week's first day, or the day after the
    renewal when the week starts inside the freeze and the renewal ends within it; None when the whole week
    is frozen for this account."""
    start = wave_start(as_of, wave)
    if not in_renewal_freeze(start, job.renewal, freeze_days):
        return start
    assert job.renewal is not None
    after = job.renewal + dt.timedelta(days=1)
    return after if wave_of(as_of, after) == wave else None


def is_late(job: HandoffJob, day: dt.date) -> bool:
    """A leaver's move handed over on or after their end date misses the leaver's deadline."""
    return job.deadline is not None and day >= job.deadline


def priority_key(job: HandoffJob) -> tuple[int, dt.date, dt.date]:
    """Who goes first: moves forced by a leaver (the earliest end date first), then the nearest renewal."""
    if job.leaver_end is not None:
        return (0, job.leaver_end, job.renewal or FAR_FUTURE)
    return (1, FAR_FUTURE, job.renewal or FAR_FUTURE)


def first_free_wave(job: HandoffJob, as_of: dt.date, freeze_days: int) -> int:
    """The first wave from which every later wave is open to this move (after its renewal freeze)."""
    if job.renewal is None or job.renewal < as_of:
        return 1
    return max(1, wave_of(as_of, job.renewal + dt.timedelta(days=1)))


# ---------------------------------------------------------------- one receiving CSM, exactly


@dataclass(frozen=True)
class _Window:
    """The waves one move may go in, as ranges: every wave but those whose week starts inside its renewal
    freeze (`frozen_from`..`frozen_to`), though the last of those stays open on the day after the renewal
    when that day falls in its week; waves from `late_from` on are past its leaver's deadline."""

    frozen_from: int
    frozen_to: int  # frozen_from > frozen_to: nothing frozen
    renewal_wave_open: bool
    renewal_wave_late: bool
    late_from: int | None

    def waves(self, horizon: int) -> list[int]:
        before = list(range(1, min(self.frozen_from - 1, horizon) + 1))
        if self.frozen_from > self.frozen_to:
            return list(range(1, horizon + 1))
        middle = [self.frozen_to] if self.renewal_wave_open and self.frozen_to <= horizon else []
        return before + middle + list(range(self.frozen_to + 1, horizon + 1))

    def late(self, wave: int) -> bool:
        if self.renewal_wave_open and wave == self.frozen_to:
            return self.renewal_wave_late
        return self.late_from is not None and wave >= self.late_from


def _window(job: HandoffJob, as_of: dt.date, freeze_days: int) -> _Window:
    """The move's open waves, computed from its renewal freeze and deadline (the same rule as
    `handoff_day`, in closed form)."""
    frozen_from, frozen_to, opens, open_late = 1, 0, False, False
    if job.renewal is not None and job.renewal >= as_of:
        start = (job.renewal - dt.timedelta(days=freeze_days) - as_of).days
        frozen_from = max(1, -(-start // WEEK) + 1)  # the first week that starts inside the freeze
        frozen_to = (job.renewal - as_of).days // WEEK + 1  # the last one
        after = job.renewal + dt.timedelta(days=1)
        opens = frozen_from <= frozen_to and wave_of(as_of, after) == frozen_to
        open_late = is_late(job, after)
    late_from = None
    if job.deadline is not None:
        late_from = max(1, -(-(job.deadline - as_of).days // WEEK) + 1)  # first week starting on/after it
    return _Window(frozen_from, frozen_to, opens, open_late, late_from)


class _Slots:
    """The moves of one receiving CSM and, for each, the waves it may go in (and whether that is past its
    leaver's deadline)."""

    def __init__(self, jobs: list[HandoffJob], as_of: dt.date, freeze_days: int, per_week: int) -> None:
        self.jobs, self.as_of, self.freeze_days, self.per_week = jobs, as_of, freeze_days, per_week
        self.last = self.horizon()
        self.windows = [_window(job, as_of, freeze_days) for job in jobs]

    def horizon(self) -> int:
        """Enough waves for every optimal schedule: past every freeze and deadline, then room for all."""
        last = 1
        for job in self.jobs:
            last = max(last, first_free_wave(job, self.as_of, self.freeze_days))
            if job.deadline is not None:
                last = max(last, wave_of(self.as_of, max(job.deadline, self.as_of)))
        return last + math.ceil(len(self.jobs) / self.per_week)

    def earliest_possible(self) -> int:
        """No schedule is shorter than the latest first open wave of any move, or than moves ÷ limit."""
        first = max(w.waves(self.last)[0] for w in self.windows)
        return max(first, math.ceil(len(self.jobs) / self.per_week))

    def flow(
        self, horizon: int, late_weight: int, weights: list[int] | None = None, week_cost: int = 0
    ) -> tuple[int, dict[int, int]] | None:
        """Least-cost placement of every move within `horizon` waves (None: they do not all fit). Cost:
        `late_weight` per leaver move past its deadline, plus each move's wave times its weight (or times
        `week_cost`)."""
        n = len(self.jobs)
        source, sink = n + horizon, n + horizon + 1
        tails, heads, caps, costs = [source] * n, list(range(n)), [1] * n, [0] * n
        placements: list[tuple[int, int]] = []
        for j, window in enumerate(self.windows):
            per_wave = weights[j] if weights else week_cost
            waves = window.waves(horizon)
            tails.extend([j] * len(waves))
            heads.extend(n + w - 1 for w in waves)
            caps.extend([1] * len(waves))
            costs.extend((late_weight if window.late(w) else 0) + per_wave * w for w in waves)
            placements.extend((j, w) for w in waves)
        tails.extend(n + w for w in range(horizon))
        heads.extend([sink] * horizon)
        caps.extend([self.per_week] * horizon)
        costs.extend([0] * horizon)
        from ortools.graph.python import min_cost_flow  # on first need: 0.08 s of every CLI start

        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        smcf.set_nodes_supplies([source, sink], [n, -n])
        if smcf.solve() != smcf.OPTIMAL:
            return None
        flows = smcf.flows(list(range(n, n + len(placements))))
        placed = {j: wave for (j, wave), f in zip(placements, flows, strict=True) if f > 0}
        return int(smcf.optimal_cost()), placed


def schedule_receiver(
    jobs: list[HandoffJob], as_of: dt.date, freeze_days: int, per_week: int
) -> dict[int, int]:
    """The exact schedule of one receiving CSM's moves: job index → wave (fewest missed leaver deadlines,
    then fewest waves, then the most urgent moves first)."""
    if not jobs:
        return {}
    slots = _Slots(jobs, as_of, freeze_days, per_week)
    # The fewest missed deadlines, each week costing a little so the flow stays short: its length is an
    # upper bound of the fewest weeks (a missed deadline costs more than all the weeks together).
    miss = len(jobs) * slots.last + 1
    first = slots.flow(slots.last, miss, week_cost=1)
    assert first is not None, "every move fits once past every freeze"
    fewest_late = first[0] // miss
    low, high = slots.earliest_possible(), max(first[1].values())
    while low < high:  # the fewest waves that still keep the fewest missed deadlines
        mid = (low + high) // 2
        found = slots.flow(mid, 1)
        if found is not None and found[0] == fewest_late:
            high = mid
        else:
            low = mid + 1
    keys = sorted({priority_key(job) for job in jobs})
    rank = {key: len(keys) - i for i, key in enumerate(keys)}
    weights = [rank[priority_key(job)] for job in jobs]
    order_cost_cap = sum(weights) * high + 1  # one missed deadline costs more than any order
    final = slots.flow(high, order_cost_cap, weights)
    assert final is not None
    return final[1]


# ---------------------------------------------------------------- the plan


def handoff_jobs(book: Book, moves: list[Move], as_of: dt.date) -> list[HandoffJob]:
    """Each move with its renewal date and, when its CSM is leaving, the end date it must beat."""
    accounts = {a.id: a for a in book.accounts}
    csms = {c.id: c for c in book.csms}
    jobs = []
    for move in moves:
        account = accounts.get(move.account)
        giver = csms.get(move.from_) if move.from_ is not None else None
        end = giver.end_date if giver is not None else None
        jobs.append(
            HandoffJob(
                account=move.account,
                receiver=move.to,
                renewal=account.renewal_date if account is not None else None,
                leaver_end=end,
                deadline=end if end is not None and end > as_of else None,
            )
        )
    return jobs


def _with_reason(move: Move, job: HandoffJob, day: dt.date, as_of: dt.date, freeze_days: int) -> str:
    reason = move.reason
    if job.renewal is not None and job.renewal >= as_of and day > job.renewal:
        reason += (
            f"; handoff waits until {day.isoformat()}, after the renewal on {job.renewal.isoformat()} "
            f"(no handoff within {freeze_days} days before a renewal)"
        )
    if is_late(job, day):
        assert job.deadline is not None
        reason += (
            f"; handed over on {day.isoformat()}, after {move.from_} leaves on {job.deadline.isoformat()}: "
            "no earlier week had room (renewal freeze or the weekly handoff limit)"
        )
    return reason


def schedule_handoffs(book: Book, plan: Plan) -> Plan:
    """The plan with every move's `handoff_on`, `wave` and reason set by the handoff rules, and a warning for
    each leaver whose accounts cannot all be handed over before they leave."""
    if not plan.moves:
        return plan
    policy = book.policy
    as_of = plan.as_of or rules.as_of(policy)
    jobs = handoff_jobs(book, plan.moves, as_of)
    by_receiver: dict[str, list[int]] = {}
    for i, job in enumerate(jobs):
        by_receiver.setdefault(job.receiver, []).append(i)
    waves: dict[int, int] = {}
    for indices in by_receiver.values():
        mine = [jobs[i] for i in indices]
        placed = schedule_receiver(mine, as_of, policy.renewal_freeze_days, policy.handoffs_per_week)
        for local, wave in placed.items():
            waves[indices[local]] = wave
    moves: list[Move] = []
    late: dict[str, list[str]] = {}
    for i, (move, job) in enumerate(zip(plan.moves, jobs, strict=True)):
        day = handoff_day(job, as_of, waves[i], policy.renewal_freeze_days)
        assert day is not None
        if is_late(job, day):
            late.setdefault(move.from_ or "", []).append(move.account)
        reason = _with_reason(move, job, day, as_of, policy.renewal_freeze_days)
        moves.append(move.model_copy(update={"handoff_on": day, "wave": waves[i], "reason": reason}))
    warnings = list(plan.warnings)
    csms = {c.id: c for c in book.csms}
    for leaver, accounts in sorted(late.items()):
        end = csms[leaver].end_date if leaver in csms else None
        warnings.append(
            f"{leaver} leaves on {end.isoformat() if end else '?'}, but {len(accounts)} of their accounts "
            f"cannot be handed over before then (at most {policy.handoffs_per_week} a week per receiving CSM, "
            f"no handoff in a renewal freeze): {', '.join(sorted(accounts)[:10])}"
            + (" …" if len(accounts) > 10 else "")
            + "; someone must cover them in between"
        )
    return plan.model_copy(update={"moves": moves, "warnings": warnings})


__all__ = [
    "HandoffJob",
    "handoff_day",
    "handoff_jobs",
    "in_renewal_freeze",
    "priority_key",
    "schedule_handoffs",
    "schedule_receiver",
    "wave_of",
    "wave_start",
]
