"""Mutation check of the hard rules: would the fast tests notice a wrong rule?

Each mutant is one hand-written textual change to `solver/policy.py` (the engine's rules),
`solver/validation_rules.py` / `solver/validation.py` (the referee), or the approval and staleness checks of
`app/services/plans.py` (and the scope on its route): a flipped comparison, a dropped condition, a day
window off by one, a dropped lock or scope. Every mutant runs in a private copy of the project against the
test files that cover its file, stopping at the first failure; a mutant no test fails on is a survivor.

    uv run python -m bench.mutants                 # every mutant; exit 1 if any survives
    uv run python -m bench.mutants -k freeze -v    # the mutants whose name contains "freeze"
    uv run python -m bench.mutants --list          # the list, without running anything

Hand-written rather than mutmut: the mutants that matter here (day windows, a dropped `with_for_update`,
a scope swapped on a route) are named in the issue, and a textual list is exact about what is tried.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("app", "solver", "tests", "bench", "fixtures", "openapi", "pyproject.toml")

POLICY = "solver/policy.py"
REFEREE = "solver/validation_rules.py"
VALIDATOR = "solver/validation.py"
PLANS = "app/services/plans.py"
PLAN_ROUTES = "app/api/routes/plans.py"
# Failure paths: the key cache, readiness, the busy slot, a raising solver, the hiring-gap cache.
KEYS = "app/services/keys.py"
HEALTH = "app/api/routes/health.py"
SYNC_SOLVE = "app/services/solve.py"
RUNNER = "app/runner/inprocess.py"
GAPS = "app/services/gaps.py"
ENGINE = "solver/engine.py"
MINCOST = "solver/mincost.py"
SOLVE_CLI = "app/commands/solve.py"
CONFIG = "app/core/config.py"

# The fast tests that judge each file; the cheapest first, since a run stops at its first failure.
TESTS: dict[str, tuple[str, ...]] = {
    POLICY: ("tests/solver/test_rule_boundaries.py", "tests/solver/test_rules.py"),
    REFEREE: ("tests/solver/test_rule_boundaries.py", "tests/solver/test_validation.py"),
    VALIDATOR: ("tests/solver/test_rule_boundaries.py", "tests/solver/test_validation.py"),
    PLANS: ("tests/app/test_approval_checks.py",),
    PLAN_ROUTES: ("tests/app/test_approval_checks.py",),
    KEYS: ("tests/app/test_failure_paths.py",),
    HEALTH: ("tests/app/test_failure_paths.py",),
    SYNC_SOLVE: ("tests/app/test_failure_paths.py",),
    RUNNER: ("tests/app/test_failure_paths.py",),
    GAPS: ("tests/app/test_api_gaps.py",),
    ENGINE: ("tests/solver/test_large_pool_paths.py",),
    MINCOST: ("tests/solver/test_large_pool_paths.py",),
    SOLVE_CLI: ("tests/app/test_solve_cli.py",),
    CONFIG: ("tests/workers/test_production_defaults.py",),
}


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str


def m(name: str, path: str, old: str, new: str) -> Mutant:
    return Mutant(name, path, old, new)


NEVER = "if False:"

MUTANTS: list[Mutant] = [
    # ------------------------------------------------------------ solver/policy.py: the engine's rules
    m("policy: renewal freeze stops before day 90", POLICY,
      "0 <= days <= policy.renewal_freeze_days", "0 <= days < policy.renewal_freeze_days"),
    m("policy: renewal freeze also after the renewal", POLICY,
      "0 <= days <= policy.renewal_freeze_days", "days <= policy.renewal_freeze_days"),
    m("policy: renewal freeze one day longer", POLICY,
      "0 <= days <= policy.renewal_freeze_days", "0 <= days <= policy.renewal_freeze_days + 1"),
    m("policy: onboarding freeze one day longer", POLICY,
      "0 <= days < policy.onboarding_freeze_days", "0 <= days <= policy.onboarding_freeze_days"),
    m("policy: onboarding freeze two days longer", POLICY,
      "0 <= days < policy.onboarding_freeze_days", "0 <= days < policy.onboarding_freeze_days + 2"),
    m("policy: onboarding freeze before the start date", POLICY,
      "0 <= days < policy.onboarding_freeze_days", "days < policy.onboarding_freeze_days"),
    m("policy: renewal freeze dropped", POLICY,
      "if account.renewal_date is not None:\n        days = (account.renewal_date - today).days",
      "if False:\n        days = (account.renewal_date - today).days"),
    m("policy: onboarding freeze dropped", POLICY,
      "if account.start_date is not None:\n        days = (today - account.start_date).days",
      "if False:\n        days = (today - account.start_date).days"),
    m("policy: pin ignored", POLICY, 'if account.pinned:\n        return "pinned"', 'if False:\n        return "pinned"'),
    m("policy: freeze without a current CSM", POLICY,
      "if account.current_csm is None:\n        return None\n    if account.pinned:", "if account.pinned:"),
    m("policy: end_date on as_of not gone", POLICY, "csm.end_date <= today", "csm.end_date < today"),
    m("policy: a CSM leaving tomorrow counted gone", POLICY,
      "csm.end_date <= today", "(csm.end_date - today).days <= 1"),
    m("policy: a CSM who left keeps capacity", POLICY,
      "    if csm_has_left(csm, today):\n        return 0.0", "    if False:\n        return 0.0"),
    m("policy: capacity ignores FTE", POLICY,
      "return policy.capacity_hours * csm.fte", "return policy.capacity_hours"),
    m("policy: own capacity_hours ignored", POLICY,
      "if csm.capacity_hours is not None:\n        return csm.capacity_hours", NEVER + "\n        return 0.0"),
    m("policy: first contract year one day longer", POLICY,
      "(today - account.start_date).days < PLAN_YEAR_DAYS", "(today - account.start_date).days <= PLAN_YEAR_DAYS"),
    m("policy: onboarding hours every year", POLICY, "if first_year or not a.first_year_only", "if True"),
    m("policy: an account without start date is past its first year", POLICY,
      "if account.start_date is None:\n        return True", "if account.start_date is None:\n        return False"),
    m("policy: activity count ignored", POLICY, "a.count * a.hours", "a.hours"),
    m("policy: account's own hours ignored", POLICY,
      "if account.hours_per_year is not None:\n        return account.hours_per_year", NEVER + "\n        return 0.0"),
    m("policy: tier's flat hours ignored", POLICY,
      "if tier.hours_per_year is not None:\n        return tier.hours_per_year", NEVER + "\n        return 0.0"),
    m("policy: pair hours ignored", POLICY,
      "if pair is not None and pair.hours is not None:\n        return pair.hours", NEVER + "\n        return 0.0"),
    m("policy: tier activities override ignored", POLICY,
      "            override.activities\n            if override.activities is not None\n",
      "            override.activities\n            if False\n"),
    m("policy: tier arr_cap override ignored", POLICY,
      'override.arr_cap if "arr_cap" in set_fields or not builtin else DEFAULT_ARR_CAP[tier]',
      "DEFAULT_ARR_CAP[tier]"),
    m("policy: tier max_accounts override ignored", POLICY,
      '            override.max_accounts\n            if "max_accounts" in set_fields or not builtin\n'
      "            else DEFAULT_MAX_ACCOUNTS[tier]",
      "            DEFAULT_MAX_ACCOUNTS[tier]"),
    m("policy: ramp ignored", POLICY,
      "if start is None or (today - start).days >= ramp:", "if True:"),
    m("policy: ramp twice as slow", POLICY, "return since / ramp", "return since / ramp / 2"),
    m("policy: ramp area as a step", POLICY,
      "(ramp_level(a) + ramp_level(b)) / 2 * (b - a)", "ramp_level(b) * (b - a)"),
    m("policy: leaving date does not cut the year", POLICY,
      "end_day = min(end_day, (csm.end_date - today).days)", "end_day = end_day"),
    m("policy: no-ramp start ahead counted from today", POLICY,
      "return max(0, end_day - max(s, 0)) / PLAN_YEAR_DAYS", "return max(0, end_day) / PLAN_YEAR_DAYS"),
    m("policy: own arr_cap ignored", POLICY,
      "if csm.arr_cap is not None:\n        return csm.arr_cap", NEVER + "\n        return 0.0"),
    m("policy: arr_cap of a tier without cap still capped", POLICY,
      "caps = [resolve_tier(policy, t).arr_cap for t in csm.tiers]\n    return None if any(",
      "caps = [resolve_tier(policy, t).arr_cap for t in csm.tiers]\n    return None if all("),
    m("policy: arr_cap the smallest of the tiers", POLICY,
      "caps = [resolve_tier(policy, t).arr_cap for t in csm.tiers]\n"
      "    return None if any(c is None for c in caps) else max(",
      "caps = [resolve_tier(policy, t).arr_cap for t in csm.tiers]\n"
      "    return None if any(c is None for c in caps) else min("),
    m("policy: own max_accounts ignored", POLICY,
      "if csm.max_accounts is not None:\n        return csm.max_accounts", NEVER + "\n        return 0"),
    m("policy: max_accounts of a tier without cap still capped", POLICY,
      "caps = [resolve_tier(policy, t).max_accounts for t in csm.tiers]\n    return None if any(",
      "caps = [resolve_tier(policy, t).max_accounts for t in csm.tiers]\n    return None if all("),
    m("policy: max_accounts the smallest of the tiers", POLICY,
      "caps = [resolve_tier(policy, t).max_accounts for t in csm.tiers]\n"
      "    return None if any(c is None for c in caps) else max(",
      "caps = [resolve_tier(policy, t).max_accounts for t in csm.tiers]\n"
      "    return None if any(c is None for c in caps) else min("),
    m("policy: a CSM who left may serve", POLICY,
      "if csm_has_left(csm, today):\n        return f\"{csm.id} left", NEVER + "\n        return f\"{csm.id} left"),
    m("policy: tier not checked", POLICY, "if account.tier not in csm.tiers:", NEVER),
    m("policy: hard region not checked", POLICY,
      'if policy.region_match == "hard" and not _matches(account.region, csm.regions):', NEVER),
    m("policy: soft region treated as hard", POLICY,
      'if policy.region_match == "hard" and', 'if policy.region_match != "off" and'),
    m("policy: hard language not checked", POLICY,
      'if policy.language_match == "hard" and not _matches(account.language, csm.languages):', NEVER),
    m("policy: banned pair allowed", POLICY, "if pair is not None and not pair.allowed:", NEVER),
    m("policy: closed book refuses its own accounts", POLICY,
      "if not csm.accepting_new and account.current_csm != csm.id:", "if not csm.accepting_new:"),
    m("policy: closed book takes new accounts", POLICY,
      "if not csm.accepting_new and account.current_csm != csm.id:", NEVER),
    m("policy: a CSM without a region list matches nothing", POLICY,
      "return value is None or allowed is None or value in allowed",
      "return value is None or value in (allowed or [])"),
    m("policy: soft language costs nothing", POLICY,
      'if policy.language_match == "soft" and not _matches(account.language, csm.languages):', NEVER),
    m("policy: soft region costs nothing", POLICY,
      'if policy.region_match == "soft" and not _matches(account.region, csm.regions):', NEVER),
    # ------------------------------------------------------------ solver/validation_rules.py: the referee's rules
    m("referee: renewal freeze stops before day 90", REFEREE,
      "0 <= ahead <= policy.renewal_freeze_days", "0 <= ahead < policy.renewal_freeze_days"),
    m("referee: renewal freeze also after the renewal", REFEREE,
      "0 <= ahead <= policy.renewal_freeze_days", "ahead <= policy.renewal_freeze_days"),
    m("referee: renewal freeze one day longer", REFEREE,
      "0 <= ahead <= policy.renewal_freeze_days", "0 <= ahead <= policy.renewal_freeze_days + 1"),
    m("referee: onboarding freeze one day longer", REFEREE,
      "0 <= since < policy.onboarding_freeze_days", "0 <= since <= policy.onboarding_freeze_days"),
    m("referee: onboarding freeze two days longer", REFEREE,
      "0 <= since < policy.onboarding_freeze_days", "0 <= since < policy.onboarding_freeze_days + 2"),
    m("referee: onboarding freeze before the start date", REFEREE,
      "0 <= since < policy.onboarding_freeze_days", "since < policy.onboarding_freeze_days"),
    m("referee: pin ignored", REFEREE, 'if account.pinned:\n        return "pinned"', 'if False:\n        return "pinned"'),
    m("referee: freeze without a current CSM", REFEREE,
      "if account.current_csm is None:\n        return None\n    if account.pinned:", "if account.pinned:"),
    m("referee: renewal freeze dropped", REFEREE, "if renewal_frozen(account, policy, today):", NEVER),
    m("referee: onboarding freeze dropped", REFEREE, "if onboarding_frozen(account, policy, today):", NEVER),
    m("referee: end_date on as_of not gone", REFEREE,
      "return days_between(csm.end_date, today) >= 0", "return days_between(csm.end_date, today) > 0"),
    m("referee: a CSM leaving tomorrow counted gone", REFEREE,
      "return days_between(csm.end_date, today) >= 0", "return days_between(csm.end_date, today) >= -1"),
    m("referee: a CSM who left keeps capacity", REFEREE,
      "    if has_left(csm, today):\n        return 0.0", "    if False:\n        return 0.0"),
    m("referee: capacity ignores FTE", REFEREE,
      "return policy.capacity_hours * csm.fte", "return policy.capacity_hours"),
    m("referee: own capacity_hours ignored", REFEREE,
      "if csm.capacity_hours is not None:\n        return csm.capacity_hours", NEVER + "\n        return 0.0"),
    m("referee: first contract year one day longer", REFEREE,
      "days_between(account.start_date, today) < YEAR_DAYS", "days_between(account.start_date, today) <= YEAR_DAYS"),
    m("referee: onboarding hours every year", REFEREE,
      "if activity.first_year_only and not first_year:\n            continue", NEVER + "\n            continue"),
    m("referee: an account without start date is past its first year", REFEREE,
      "if account.start_date is None:\n        return True", "if account.start_date is None:\n        return False"),
    m("referee: activity count ignored", REFEREE, "total += activity.count * activity.hours", "total += activity.hours"),
    m("referee: account's own hours ignored", REFEREE,
      "if account.hours_per_year is not None:\n        return account.hours_per_year", NEVER + "\n        return 0.0"),
    m("referee: segment's flat hours ignored", REFEREE,
      "if terms.hours_per_year is not None:\n        return terms.hours_per_year", NEVER + "\n        return 0.0"),
    m("referee: pair hours ignored", REFEREE,
      "if pair is not None and pair.hours is not None:\n        return pair.hours", NEVER + "\n        return 0.0"),
    m("referee: segment activities override ignored", REFEREE,
      "if given.activities is not None\n        else _lookup(", "if False\n        else _lookup("),
    m("referee: segment arr_cap override ignored", REFEREE,
      'arr_cap=given.arr_cap if "arr_cap" in explicit else _lookup(', "arr_cap=_lookup("),
    m("referee: segment max_accounts override ignored", REFEREE,
      'given.max_accounts if "max_accounts" in explicit else _lookup(', "_lookup("),
    m("referee: ramp ignored", REFEREE, "if csm.start_date is None:\n        return float(last)", "if True:\n        return float(last)"),
    m("referee: ramp triangle twice as large", REFEREE, "return u * u / (2 * ramp)", "return u * u / ramp"),
    m("referee: ramp rectangle starts late", REFEREE, "return ramp / 2 + (u - ramp)", "return (u - ramp)"),
    m("referee: no ramp counted as a ramp", REFEREE, "if ramp == 0:\n        return u", "if ramp == 0:\n        return u / 2"),
    m("referee: leaving date does not cut the year", REFEREE,
      "last = YEAR_DAYS if csm.end_date is None else min(YEAR_DAYS, days_between(today, csm.end_date))",
      "last = YEAR_DAYS"),
    m("referee: own arr_cap ignored", REFEREE,
      "if csm.arr_cap is not None:\n        return csm.arr_cap", NEVER + "\n        return 0.0"),
    m("referee: own max_accounts ignored", REFEREE,
      "if csm.max_accounts is not None:\n        return csm.max_accounts", NEVER + "\n        return 0"),
    m("referee: a segment without cap does not open the CSM's cap", REFEREE,
      "if not caps or None in caps:", "if not caps:"),
    m("referee: the smallest segment cap", REFEREE,
      "return max(c for c in caps if c is not None)", "return min(c for c in caps if c is not None)"),
    m("referee: a CSM who left may serve", REFEREE,
      "if has_left(csm, today):\n        return f\"{csm.id} left", NEVER + "\n        return f\"{csm.id} left"),
    m("referee: segment not checked", REFEREE, "if account.tier not in csm.tiers:", NEVER),
    m("referee: hard region not checked", REFEREE,
      'if policy.region_match == "hard" and not _covers(account.region, csm.regions):', NEVER),
    m("referee: soft region treated as hard", REFEREE,
      'if policy.region_match == "hard" and', 'if policy.region_match != "off" and'),
    m("referee: hard language not checked", REFEREE,
      'if policy.language_match == "hard" and not _covers(account.language, csm.languages):', NEVER),
    m("referee: banned pair allowed", REFEREE, "if pair is not None and pair.allowed is False:", NEVER),
    m("referee: closed book refuses its own accounts", REFEREE,
      "if csm.accepting_new is False and account.current_csm != csm.id:", "if csm.accepting_new is False:"),
    m("referee: closed book takes new accounts", REFEREE,
      "if csm.accepting_new is False and account.current_csm != csm.id:", NEVER),
    m("referee: a CSM without a region list matches nothing", REFEREE,
      "if value is None or allowed is None:", "if value is None:"),
    # ------------------------------------------------------------ solver/validation.py: the referee's checks
    m("validator: account count of a load not compared", VALIDATOR, "if load.accounts != len(accounts):", NEVER),
    m("validator: hours of a load not compared", VALIDATOR,
      "if not _close(load.hours, hours, HOURS_TOLERANCE):", NEVER),
    m("validator: capacity of a load not compared", VALIDATOR,
      "if not _close(load.capacity_hours, capacity, HOURS_TOLERANCE):", NEVER),
    m("validator: utilization of a load not compared", VALIDATOR,
      "if not _close(load.utilization, utilization, UTILIZATION_TOLERANCE):", NEVER),
    m("validator: ARR of a load not compared", VALIDATOR, "if abs(load.arr - arr) > MONEY_TOLERANCE:", NEVER),
    m("validator: a load for a CSM who left accepted", VALIDATOR,
      "elif rules.has_left(self.csms[csm_id], self.today):", "elif False:"),
    m("validator: a missing load accepted", VALIDATOR,
      "if load is None:\n                self.add(", "if load is None:\n                continue\n                self.add("),
    m("validator: capacity full counts as over", VALIDATOR,
      "if hours > capacity + RULE_EPSILON:", "if hours >= capacity:"),
    m("validator: capacity not checked", VALIDATOR, "if hours > capacity + RULE_EPSILON:", NEVER),
    m("validator: ARR exactly at the cap counts as over", VALIDATOR,
      "arr > arr_cap + RULE_EPSILON + 1e-12 * arr_cap", "arr >= arr_cap"),
    m("validator: ARR one unit over the cap accepted", VALIDATOR,
      "arr > arr_cap + RULE_EPSILON + 1e-12 * arr_cap", "arr > arr_cap + 1"),
    m("validator: max_accounts exactly at the cap counts as over", VALIDATOR,
      "len(accounts) > max_accounts", "len(accounts) >= max_accounts"),
    m("validator: max_accounts not checked", VALIDATOR,
      "if max_accounts is not None and len(accounts) > max_accounts:", NEVER),
    m("validator: eligibility not checked", VALIDATOR,
      'if problem is not None:\n                self.add("eligibility"', 'if False:\n                self.add("eligibility"'),
    m("validator: frozen account may move", VALIDATOR, "if got != current.id:", NEVER),
    m("validator: freeze never released", VALIDATOR,
      "            if problem is not None:\n                if account.pinned and solved:",
      "            if False:\n                if account.pinned and solved:"),
    m("validator: impossible pin accepted", VALIDATOR, "if account.pinned and solved:", NEVER),
    m("validator: split parent accepted", VALIDATOR, "if len(owners) > 1:", "if len(owners) > 2:"),
    m("validator: wrong move origin accepted", VALIDATOR, "if (move.from_, move.to) != want:", NEVER),
    m("validator: unlisted move accepted", VALIDATOR, "if account_id not in listed:", NEVER),
    m("validator: phantom move accepted", VALIDATOR,
      "if want is None:\n                self.add(", "if want is None:\n                continue\n                self.add("),
    m("validator: move without reason accepted", VALIDATOR, "if not move.reason.strip():", NEVER),
    m("validator: max_moves exactly reached counts as over", VALIDATOR,
      "len(expected) > self.policy.max_moves", "len(expected) >= self.policy.max_moves"),
    m("validator: max_moves not checked", VALIDATOR,
      "if self.policy.max_moves is not None and len(expected) > self.policy.max_moves:", NEVER),
    m("validator: missing account accepted", VALIDATOR, "if account_id not in seen:", NEVER),
    m("validator: duplicate account accepted", VALIDATOR,
      "if n > 1 and account_id in self.accounts:", "if n > 2 and account_id in self.accounts:"),
    m("validator: unassigned without reason accepted", VALIDATOR, "if not u.reason.strip():", NEVER),
    m("validator: unknown account accepted", VALIDATOR,
      "if a.account not in self.accounts:\n                self.add(",
      "if a.account not in self.accounts:\n                continue\n                self.add("),
    m("validator: a diagnosis without a message accepted", VALIDATOR,
      "if not d.message.strip():", NEVER),
    m("validator: unknown CSM accepted", VALIDATOR, "if a.csm not in self.csms:", NEVER),
    m("validator: wrong max_utilization accepted", VALIDATOR,
      "elif not _close(plan.max_utilization, true_max, UTILIZATION_TOLERANCE):", "elif False:"),
    m("validator: bound above the plan accepted", VALIDATOR, "if bound > ceiling + RULE_EPSILON:", NEVER),
    m("validator: wrong gap accepted", VALIDATOR,
      "if plan.gap is not None and not _close(plan.gap, plan.max_utilization - bound, 1e-3):", NEVER),
    m("validator: wrong total_cost accepted", VALIDATOR, "if not _close(plan.total_cost, total, 1e-6):", NEVER),
    m("validator: cost bound above the cost accepted", VALIDATOR,
      "if plan.cost_bound is not None and plan.cost_bound > plan.total_cost", "if False and plan.cost_bound > plan.total_cost"),
    m("validator: infeasible without diagnosis accepted", VALIDATOR, "if not self.plan.diagnosis:", NEVER),
    m("validator: plan judged on today, not its own date", VALIDATOR,
      "if plan.as_of is not None and plan.as_of != book.policy.as_of:", NEVER),
    # ------------------------------------------------------------ app/services/plans.py: approval and staleness
    m("plans: infeasible or no_solution_in_time approvable", PLANS, "if job.plan_status not in APPROVABLE:", NEVER),
    m("plans: every plan status approvable", PLANS,
      'APPROVABLE = ("optimal", "feasible")', 'APPROVABLE = ("optimal", "feasible", "infeasible", "no_solution_in_time")'),
    m("plans: an unfinished job approvable once it has a plan", PLANS,
      'if job.status != "succeeded" or job.plan is None:', "if job.plan is None:"),
    m("plans: approved twice", PLANS, "if job.approved_at is not None:", NEVER),
    m("plans: discarded plan approvable", PLANS, "if discarded is not None:", NEVER),
    m("plans: staleness never checked", PLANS,
      'if job.source != "stored" or job.book_revision != current_revision:', NEVER),
    m("plans: staleness checked for inline books only", PLANS,
      'if job.source != "stored" or job.book_revision != current_revision:', 'if job.source != "stored":'),
    m("plans: changes found but not refused", PLANS, "    changes = book_changes(baseline, current)\n    if changes:",
      "    changes = book_changes(baseline, current)\n    if False:"),
    m("plans: stale check against the overridden policy", PLANS,
      'solved.model_copy(update={"policy": Policy.model_validate(job.base_policy or {})})', "solved"),
    m("plans: book row lock dropped", PLANS,
      "current_revision = lock_book(session)", "current_revision = read_state(session).revision"),
    m("plans: book's own time limit ignored", PLANS,
      'if "time_limit_seconds" in book.policy.model_fields_set:', NEVER),
    m("plans: snapshot taken on a moving revision", PLANS, "if again == revision:", "if True:"),
    m("plans: snapshot never retried", PLANS, "for _ in range(5):", "for _ in range(1):"),
    m("routes: approve open to the scheduler scope", PLAN_ROUTES,
      "    db: DbDep,\n    key: OpsKey,\n    request: Annotated[ApproveRequest | None, Body()] = None,",
      "    db: DbDep,\n    key: StartPlanKey,\n    request: Annotated[ApproveRequest | None, Body()] = None,"),
    # ------------------------------------------------------------ failure paths (beyond the three files)
    m("keys: the cache never answers", KEYS, "return True, entry[1]", "return False, None"),
    m("keys: cached keys never expire", KEYS,
      "if entry is None or entry[0] < time.monotonic():", "if entry is None:"),
    m("keys: a revoked key still accepted", KEYS,
      "keys.c.key_hash == digest, keys.c.revoked_at.is_(None)", "keys.c.key_hash == digest"),
    m("solve: a failed synchronous solve loses its reason", SYNC_SOLVE,
      'raise SolveFailed(f"the solve failed: {error}")', 'raise SolveFailed("the solve failed")'),
    m("health: pending migrations reported ready", HEALTH,
      'database="migrations pending", detail=str(exc))\n        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)',
      'database="migrations pending", detail=str(exc))\n        return JSONResponse(body.model_dump(exclude_none=True), status_code=200)'),
    m("health: an unreachable database reported ready", HEALTH,
      'database="unreachable", detail=type(exc).__name__)\n        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)',
      'database="unreachable", detail=type(exc).__name__)\n        return JSONResponse(body.model_dump(exclude_none=True), status_code=200)'),
    m("solve: a busy slot queues instead of refusing", SYNC_SOLVE,
      "if not self._slots.acquire(blocking=False):", "if not self._slots.acquire(timeout=60):"),
    m("runner: a raising solver's message lost", RUNNER,
      'error=f"the solve failed: {message[1]}"', 'error="the solve failed"'),
    m("gaps: the report cache never answers", GAPS, "report = self._cache.get(key)", "report = None"),
    m("engine: large pools never take neighbourhood search", ENGINE,
      "if estimate_variables(problem, pool) <= FULL_MODEL_VARIABLES:\n        return _optimize_whole_pool(",
      "if True:\n        return _optimize_whole_pool("),
    m("mincost: the fallback never trusts its whole-pool model", MINCOST,
      "if res.proven or len(pool.csms) <= 2:", NEVER),
    m("cli: --seed ignored", SOLVE_CLI, 'updates["seed"] = args.seed', "pass"),
    m("cli: --deterministic ignored", SOLVE_CLI, 'updates["deterministic"] = True', "pass"),
    m("cli: -o ignored", SOLVE_CLI, "write_json_text(text, args.output)", "write_json_text(text, None)"),
    m("config: the API-key cache off by default", CONFIG,
      "api_key_cache_seconds: float = Field(default=5.0", "api_key_cache_seconds: float = Field(default=0.0"),
    m("plans: a scheduler key may cancel another key's job", PLANS,
      'if "ops" not in principal.scopes and owner != principal.key_id:', NEVER),
]  # fmt: skip

# Mutants that cannot change any behaviour, and why; listed so the score says what was left out.
EQUIVALENT: dict[str, str] = {
    "plans: plan job row lock dropped (with_for_update on plan_job)": (
        "every approval first locks the book_state row, so two approvals of one job are already serialised"
    ),
    "plans: staleness checked on revision only": (
        "an inline plan has no book_revision, so `book_revision != revision` already holds for it"
    ),
}


@dataclass
class Outcome:
    mutant: Mutant
    killed: bool
    by: str  # the first failing test (or why the run failed)
    failed: list[str]  # every failing test (only the first unless --every-test)
    seconds: float


def apply(text: str, mutant: Mutant) -> str:
    count = text.count(mutant.old)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name!r}: its text occurs {count} times in {mutant.path}, not once")
    return text.replace(mutant.old, mutant.new)


def make_copy(into: Path) -> Path:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "results"))
        elif source.exists():
            shutil.copy2(source, into / name)
    return into


def pytest_command(copy: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    # Plugins are not auto-loaded: schemathesis and hypothesis cost seconds at each start, and none of
    # these tests use them; pytest-timeout is loaded by name for the tests' time limits.
    # No bytecode is written: a mutant and its revert can share a size and an mtime second.
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    options = ["-q", "-rfE", "-p", "no:cacheprovider", "-p", "pytest_timeout"]
    return [sys.executable, "-m", "pytest", *options, *args], env


def run_tests(
    copy: Path, tests: tuple[str, ...], timeout: float, first_only: bool = True
) -> tuple[bool, list[str]]:
    """Run the tests in the copy: (passed, the failing tests, or the reason the run failed)."""
    command, env = pytest_command(copy, *(["-x"] if first_only else []), *tests)
    try:
        result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, [f"timeout after {timeout:g} s"]
    if result.returncode == 0:
        return True, []
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.MULTILINE)
    return False, failed or [f"pytest exit {result.returncode}: {result.stdout[-300:]}"]


def collect(copy: Path, tests: tuple[str, ...]) -> list[str]:
    command, env = pytest_command(copy, "--collect-only", *tests)
    out = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "::" in line]


def check_copy_is_used(copy: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    found = subprocess.run(
        [sys.executable, "-c", "import solver, app; print(solver.__file__); print(app.__file__)"],
        cwd=copy, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not all(Path(f).resolve().is_relative_to(copy.resolve()) for f in found):
        raise SystemExit(f"the copy's modules are not the ones imported: {found}")


def try_mutant(mutant: Mutant, copy: Path, timeout: float, first_only: bool) -> Outcome:
    target = copy / mutant.path
    original = target.read_text()
    target.write_text(apply(original, mutant))
    started = time.monotonic()
    try:
        passed, failed = run_tests(copy, TESTS[mutant.path], timeout, first_only)
    finally:
        target.write_text(original)
    return Outcome(mutant, not passed, failed[0] if failed else "", failed, time.monotonic() - started)


def report(outcomes: list[Outcome], elapsed: float) -> str:
    lines = ["| file | mutant | killed by |", "|---|---|---|"]
    for o in outcomes:
        killer = f"`{o.by}`" if o.killed else "**survived**"
        lines.append(f"| `{o.mutant.path}` | {o.mutant.name} | {killer} |")
    by_file: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_file.setdefault(o.mutant.path, []).append(o)
    score = [
        f"- `{path}`: {sum(o.killed for o in group)} of {len(group)} killed"
        for path, group in sorted(by_file.items())
    ]
    survivors = sum(not o.killed for o in outcomes)
    summary = (
        f"{len(outcomes) - survivors} of {len(outcomes)} mutants killed, {survivors} survived, "
        f"in {elapsed / 60:.1f} min"
    )
    return "\n".join([*lines, "", *score, "", summary])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-k",
        "--only",
        action="append",
        default=[],
        help="run the mutants whose name contains this (repeatable)",
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once (one copy each)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds per mutant before it counts as killed"
    )
    parser.add_argument(
        "--every-test",
        action="store_true",
        help="run every selected test on every mutant (no -x) and list the tests no mutant fails",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--json", type=Path, help="also write every mutant's failing tests to this file")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    chosen = [mu for mu in MUTANTS if not args.only or any(word in mu.name for word in args.only)]
    for mu in chosen:  # every text must be found before anything runs
        apply((ROOT / mu.path).read_text(), mu)
    if args.list:
        for mu in chosen:
            print(f"{mu.path:32} {mu.name}")
        return 0

    started = time.monotonic()
    groups = sorted({TESTS[mu.path] for mu in chosen})
    with tempfile.TemporaryDirectory(prefix="bookplan-mutants-") as tmp:
        copies = [make_copy(Path(tmp) / f"copy{i}") for i in range(max(1, args.jobs))]
        check_copy_is_used(copies[0])
        # Each group runs on its own: tests/app and tests/solver both have a `conftest` module.
        for tests in groups:
            passed, why = run_tests(copies[0], tests, 1200)
            if not passed:
                print(f"the unmutated project fails {why[0]}: fix that first", file=sys.stderr)
                return 2
        free = list(copies)
        outcomes: list[Outcome] = []

        def job(mu: Mutant) -> Outcome:
            copy = free.pop()
            try:
                return try_mutant(mu, copy, args.timeout, first_only=not args.every_test)
            finally:
                free.append(copy)

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            for outcome in pool.map(job, chosen):
                outcomes.append(outcome)
                if args.verbose:
                    state = f"killed by {outcome.by}" if outcome.killed else "SURVIVED"
                    extra = f" (+{len(outcome.failed) - 1} more)" if len(outcome.failed) > 1 else ""
                    print(f"{outcome.seconds:6.1f} s  {outcome.mutant.name}: {state}{extra}", file=sys.stderr)
        collected = (
            [test for tests in groups for test in collect(copies[0], tests)] if args.every_test else []
        )

    text = report(outcomes, time.monotonic() - started)
    if args.every_test:
        failing = {test for o in outcomes for test in o.failed}
        unfailed = sorted(set(collected) - failing)
        text += (
            f"\n\n{len(collected) - len(unfailed)} of {len(collected)} selected tests fail on some mutant."
        )
        text += "".join(f"\n- no mutant fails `{test}`" for test in unfailed)
    print(text)
    if EQUIVALENT:
        print("\nNot run (equivalent):")
        for name, why in EQUIVALENT.items():
            print(f"- {name}: {why}")
    if args.markdown is not None:
        args.markdown.write_text(text + "\n")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {o.mutant.name: {"path": o.mutant.path, "failed": o.failed} for o in outcomes}, indent=1
            )
        )
    return 1 if any(not o.killed for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
