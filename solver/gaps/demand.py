"""Demand over the horizon: which pool each account is in, and each pool's accounts in a quarter as the
scenario's growth makes them (shrinking drops the free accounts most like the median first; new customers
look like the median account), each with the CSM a freeze holds it with."""

from __future__ import annotations

from dataclasses import dataclass

from solver import policy as rules
from solver.gaps.models import GapRequest, GroupBy
from solver.schema import Account, Policy, Tier

PoolKey = tuple[Tier, str | None]


@dataclass
class _Acct:
    account: Account
    hours: float
    arr: float
    frozen_to: str | None  # the CSM the account must stay with this quarter
    group: str  # accounts of one group go to one CSM: the parent company, else the account alone


def _pools_by_region(policy: Policy, group_by: GroupBy) -> bool:
    # Regions separate CSMs only when the region rule is hard.
    return group_by == "tier_region" and policy.region_match == "hard"


def _pool_key(account: Account, policy: Policy, group_by: GroupBy) -> tuple[Tier, str | None]:
    return (account.tier, account.region if _pools_by_region(policy, group_by) else None)


def _median_template(accounts: list[Account]) -> Account:
    ordered = sorted(accounts, key=lambda a: (a.arr, a.id))
    return ordered[len(ordered) // 2]


def _removal_order(accounts: list[Account], template: Account) -> list[int]:
    """Which accounts shrinking removes first: free single accounts most like the median, then the rest."""

    def rank(i: int) -> tuple[int, float, str]:
        a = accounts[i]
        kind = 2 if a.pinned else (1 if a.parent_id else 0)
        return (kind, abs(a.arr - template.arr), a.id)

    return sorted(range(len(accounts)), key=rank)


@dataclass
class _PoolHistory:
    key: tuple[Tier, str | None]
    base_accounts: list[Account]
    template: Account | None
    removal: list[int]


def _accounts_in_quarter(
    hist: _PoolHistory, q: int, request: GapRequest, policy_q: Policy, present: set[str]
) -> list[_Acct]:
    tier = hist.key[0]
    growth = request.growth.get(tier)
    n0 = len(hist.base_accounts)
    accounts: list[Account] = list(hist.base_accounts)
    new = 0
    if growth is not None and n0:
        target = round(n0 * (1 + growth.accounts_per_quarter) ** q)
        if target < n0:
            dropped = set(hist.removal[: n0 - target])
            accounts = [a for i, a in enumerate(accounts) if i not in dropped]
        new = max(0, target - n0)
    # New customers look like the pool's median account and are in their first contract year.
    template = None
    if new and hist.template is not None:
        template = hist.template.model_copy(
            update={
                "id": f"new-{tier}-{hist.key[1] or 'any'}-{q}",
                "current_csm": None,
                "pinned": False,
                "parent_id": None,
                "renewal_date": None,
                "start_date": policy_q.as_of,
            }
        )
    scale = 1.0
    if growth is not None and (accounts or template):
        base_arr = sum(a.arr for a in hist.base_accounts)
        now_arr = sum(a.arr for a in accounts) + (new * template.arr if template else 0.0)
        if now_arr > 0:
            scale = base_arr * (1 + growth.arr_per_quarter) ** q / now_arr
    out = []
    for a in accounts:
        holder = a.current_csm if a.current_csm in present and rules.freeze_reason(a, policy_q) else None
        out.append(
            _Acct(a, rules.account_hours(a, policy_q), a.arr * scale, holder, a.parent_id or f"\0{a.id}")
        )
    if template is not None:
        hours = rules.account_hours(template, policy_q)
        out.extend(
            _Acct(template, hours, template.arr * scale, None, f"\0{template.id}-{i}") for i in range(new)
        )
    return out
