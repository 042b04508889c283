"""Solver-free re-check of a plan's handoff schedule (CONTRACT.md, "Carrying out a rebalance").

Stated from the contract alone, never through `solver.handoffs`: every move has a wave and a day in that
wave's week; no day inside the account's renewal freeze, and the week's first free day; at most
`handoffs_per_week` moves per receiving CSM per wave; a leaver's move before their end date, or a warning
that says it cannot be; no swap of two moves to one CSM would put the more urgent one (leaver first, then
the nearest renewal) earlier; and, where no deadline is missed, no schedule of that CSM's moves fits in
fewer weeks (checked by a bipartite matching of moves to weekly slots).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from solver import policy as rules
from solver.schema import Account, Book, Move, Plan

# The fewest-weeks check matches moves to slots in pure Python; above this many move × week pairs for one
# receiving CSM it is skipped (the tests check optimality by brute force on small books instead).
LENGTH_CHECK_PAIRS = 200_000
LENGTH_CHECK_MOVES = 400  # (and augmenting paths recurse once per move)


class _Handoffs:
    def __init__(self, book: Book, plan: Plan) -> None:
        self.book = book
        self.plan = plan
        self.as_of = plan.as_of or rules.as_of(book.policy)
        self.freeze = book.policy.renewal_freeze_days
        self.per_week = book.policy.handoffs_per_week
        self.accounts: dict[str, Account] = {a.id: a for a in book.accounts}
        self.ends = {c.id: c.end_date for c in book.csms}
        self.violations: list[tuple[str, str]] = []

    def add(self, rule: str, message: str) -> None:
        self.violations.append((rule, message))

    def renewal(self, move: Move) -> dt.date | None:
        account = self.accounts.get(move.account)
        return account.renewal_date if account is not None else None

    def frozen(self, move: Move, day: dt.date) -> bool:
        """Inside the renewal freeze: from `renewal_freeze_days` before the renewal to the renewal day."""
        renewal = self.renewal(move)
        return renewal is not None and (renewal - dt.timedelta(days=self.freeze)) <= day <= renewal

    def week(self, wave: int) -> tuple[dt.date, dt.date]:
        start = self.as_of + dt.timedelta(days=7 * (wave - 1))
        return start, start + dt.timedelta(days=6)

    def day_in(self, move: Move, wave: int) -> dt.date | None:
        """The first day of the wave's week outside the move's renewal freeze (None: the week is frozen)."""
        start, end = self.week(wave)
        day = start
        while day <= end:
            if not self.frozen(move, day):
                return day
            day += dt.timedelta(days=1)
        return None

    def deadline(self, move: Move) -> dt.date | None:
        end = self.ends.get(move.from_) if move.from_ is not None else None
        return end if end is not None and end > self.as_of else None

    def late(self, move: Move, day: dt.date) -> bool:
        deadline = self.deadline(move)
        return deadline is not None and day >= deadline

    def urgency(self, move: Move) -> tuple[int, dt.date, dt.date]:
        """Smaller goes first: a leaver's move (earliest end date first), then the nearest renewal."""
        end = self.ends.get(move.from_) if move.from_ is not None else None
        renewal = self.renewal(move) or dt.date.max
        return (0, end, renewal) if end is not None else (1, dt.date.max, renewal)

    # ------------------------------------------------------------ the rules

    def each_move_scheduled(self) -> list[Move]:
        good = []
        for m in self.plan.moves:
            if m.wave is None or m.handoff_on is None:
                self.add("handoff_missing", f"move of {m.account} has no handoff_on or wave")
                continue
            if m.wave < 1:
                self.add("handoff_wave", f"move of {m.account} is in wave {m.wave}; waves start at 1")
                continue
            start, end = self.week(m.wave)
            if not start <= m.handoff_on <= end:
                self.add(
                    "handoff_wave",
                    f"move of {m.account}: handoff_on {m.handoff_on} is not in wave {m.wave} ({start}–{end})",
                )
                continue
            good.append(m)
        return good

    def outside_renewal_freeze(self, moves: list[Move]) -> None:
        for m in moves:
            assert m.handoff_on is not None and m.wave is not None
            renewal = self.renewal(m)
            if self.frozen(m, m.handoff_on):
                self.add(
                    "renewal_freeze",
                    f"move of {m.account} handed over on {m.handoff_on}, inside the renewal freeze "
                    f"({self.freeze} days before the renewal on {renewal})",
                )
            elif m.handoff_on != self.day_in(m, m.wave):
                self.add(
                    "handoff_day",
                    f"move of {m.account} handed over on {m.handoff_on}, not the first free day of wave {m.wave}",
                )
            waited = renewal is not None and self.as_of <= renewal < m.handoff_on
            if waited and "renewal" not in m.reason:
                self.add(
                    "handoff_reason",
                    f"move of {m.account} waits past the renewal on {renewal} but its reason does not say so",
                )

    def weekly_limit(self, moves: list[Move]) -> None:
        counts = Counter((m.to, m.wave or 0) for m in moves)
        for (csm, wave), n in sorted(counts.items()):
            if n > self.per_week:
                self.add(
                    "handoffs_per_week",
                    f"{csm} receives {n} accounts in wave {wave}, more than handoffs_per_week ({self.per_week})",
                )

    def leavers_before_they_go(self, moves: list[Move]) -> None:
        for m in moves:
            assert m.handoff_on is not None
            deadline = self.deadline(m)
            if deadline is None or m.handoff_on < deadline:
                continue
            # The move's reason says it; a warning names the leaver (it may list only the first accounts).
            warned = any((m.from_ or "") in w and "leaves" in w for w in self.plan.warnings)
            if not warned or "leaves" not in m.reason:
                self.add(
                    "leaver_deadline",
                    f"move of {m.account} handed over on {m.handoff_on}, after {m.from_} leaves on {deadline}, "
                    "and no warning says so",
                )

    def urgent_first(self, moves: list[Move]) -> None:
        """No swap of two moves' waves (to one CSM) puts the more urgent earlier without breaking a rule."""
        by_receiver: dict[str, list[Move]] = defaultdict(list)
        for m in moves:
            by_receiver[m.to].append(m)
        for csm, mine in by_receiver.items():
            urgency = {m.account: self.urgency(m) for m in mine}
            for a in mine:
                for b in mine:
                    if not (urgency[a.account] < urgency[b.account] and (a.wave or 0) > (b.wave or 0)):
                        continue
                    assert a.wave is not None and b.wave is not None and a.handoff_on and b.handoff_on
                    a_day, b_day = self.day_in(a, b.wave), self.day_in(b, a.wave)
                    if a_day is None or b_day is None:
                        continue
                    was = self.late(a, a.handoff_on) + self.late(b, b.handoff_on)
                    if self.late(a, a_day) + self.late(b, b_day) <= was:
                        self.add(
                            "handoff_order",
                            f"{csm}: {a.account} (more urgent) is in wave {a.wave} after {b.account} in wave "
                            f"{b.wave}; swapping them breaks no rule",
                        )

    def as_short_as_possible(self, moves: list[Move]) -> None:
        """Where no leaver deadline is missed, each CSM's moves cannot all fit in fewer weeks."""
        by_receiver: dict[str, list[Move]] = defaultdict(list)
        for m in moves:
            by_receiver[m.to].append(m)
        for csm, mine in by_receiver.items():
            if any(self.late(m, m.handoff_on) for m in mine if m.handoff_on is not None):
                continue
            weeks = max(m.wave or 1 for m in mine) - 1
            if weeks < 1 or len(mine) > LENGTH_CHECK_MOVES or len(mine) * weeks > LENGTH_CHECK_PAIRS:
                continue
            if self._fits(mine, weeks):
                self.add(
                    "handoff_length",
                    f"{csm}: the {len(mine)} handoffs take {weeks + 1} weeks but fit in {weeks} under every rule",
                )

    def _fits(self, moves: list[Move], weeks: int) -> bool:
        """Kuhn's augmenting paths: can every move get a slot (a wave with room) on time within `weeks`?"""
        options: list[list[int]] = []
        for m in moves:
            waves = []
            for wave in range(1, weeks + 1):
                day = self.day_in(m, wave)
                if day is not None and not self.late(m, day):
                    waves.append(wave)
            options.append(waves)
        holders: dict[int, list[int]] = defaultdict(list)

        def place(i: int, seen: set[int]) -> bool:
            for wave in options[i]:
                if wave in seen:
                    continue
                seen.add(wave)
                if len(holders[wave]) < self.per_week:
                    holders[wave].append(i)
                    return True
                for other in list(holders[wave]):
                    holders[wave].remove(other)
                    holders[wave].append(i)
                    if place(other, seen):
                        return True
                    holders[wave].remove(i)
                    holders[wave].append(other)
            return False

        return all(place(i, set()) for i in range(len(moves)))


def handoff_problems(book: Book, plan: Plan) -> list[tuple[str, str]]:
    """Every way the plan's handoff schedule breaks the contract's rules, as (rule, sentence) pairs
    (`solver.validation.validate_plan` reports them as violations; empty: a valid schedule)."""
    check = _Handoffs(book, plan)
    moves = check.each_move_scheduled()
    check.outside_renewal_freeze(moves)
    check.weekly_limit(moves)
    check.leavers_before_they_go(moves)
    check.urgent_first(moves)
    check.as_short_as_possible(moves)
    return check.violations


__all__ = ["handoff_problems"]
