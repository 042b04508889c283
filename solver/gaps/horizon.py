"""The scenario worked out quarter by quarter: the pools, their seats, each quarter's accounts, and each
pool-quarter's need and hires."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from solver import policy as rules
from solver.gaps.demand import (
    PoolKey,
    _accounts_in_quarter,
    _Acct,
    _median_template,
    _pool_key,
    _PoolHistory,
    _removal_order,
)
from solver.gaps.models import GapRequest
from solver.gaps.packing import _Packer
from solver.gaps.pool_quarter import _PoolQuarter, _profile, _solve_pool_quarter
from solver.gaps.quarters import _quarter_starts
from solver.gaps.team import _Seat, _seats
from solver.schema import Account, Book, Policy, Tier


def _ordered_keys(policy: Policy, keys: Iterable[tuple[Tier, str | None]]) -> list[tuple[Tier, str | None]]:
    order = rules.segment_order(policy)
    return sorted(keys, key=lambda k: (order.get(k[0], len(order)), k[0], k[1] or ""))


@dataclass
class _Horizon:
    """The scenario worked out quarter by quarter: each pool's accounts, need and hires per quarter."""

    scenario: Book
    policy: Policy
    today: dt.date
    starts: list[dt.date]  # quarter q runs from starts[q] to starts[q + 1] (quarter 0 starts today)
    keys: list[PoolKey]
    seats: dict[PoolKey, list[_Seat]]
    accounts: list[dict[PoolKey, list[_Acct]]]
    results: list[dict[PoolKey, _PoolQuarter]]

    @property
    def quarters(self) -> range:
        return range(len(self.results))


def _work_out_horizon(scenario: Book, request: GapRequest, packer: _Packer) -> _Horizon:
    policy = scenario.policy
    today = rules.as_of(policy)
    starts = _quarter_starts(today, request.horizon_quarters)
    by_pool: dict[PoolKey, list[Account]] = defaultdict(list)
    for account in scenario.accounts:
        if rules.is_pooled_segment(policy, account.tier):
            continue  # a pooled program serves it: no named CSM to hire
        by_pool[_pool_key(account, policy, request.group_by)].append(account)
    seats = _seats(scenario, list(by_pool), request.group_by)
    keys = _ordered_keys(policy, set(by_pool) | set(seats))
    histories = {}
    for key in keys:
        base = by_pool.get(key, [])
        template = _median_template(base) if base else None
        histories[key] = _PoolHistory(key, base, template, _removal_order(base, template) if template else [])
    horizon = _Horizon(scenario, policy, today, starts, keys, dict(seats), [], [])
    for q in range(request.horizon_quarters + 1):
        start, end = starts[q], starts[q + 1]
        policy_q = policy.model_copy(update={"as_of": start})
        # A CSM leaving during the quarter no longer holds pins: their accounts must move this quarter.
        present = {c.id for c in scenario.csms if c.end_date is None or c.end_date >= end}
        present |= {c.id for c in scenario.csms if q == 0 and not rules.csm_has_left(c, today)}
        accounts = {k: _accounts_in_quarter(histories[k], q, request, policy_q, present) for k in keys}
        horizon.accounts.append(accounts)
        horizon.results.append(
            {
                k: _solve_pool_quarter(
                    packer,
                    accounts[k],
                    seats.get(k, []),
                    _profile(policy, k[0])[1],
                    policy,
                    start,
                    end,
                    q == 0,
                )
                for k in keys
            }
        )
    return horizon
