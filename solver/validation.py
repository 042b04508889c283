"""Solver-free re-check of a plan against its book: every hard rule, every figure, recomputed from scratch.

The engine is never consulted, and neither are its rule functions: the plan is judged through the rules as
`solver.validation_rules` states them from the contract, so a bug in the model (a missing constraint, a
wrong scale factor, a stale load) or in `solver.policy` (a wrong window, a dropped FTE) shows up here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from solver import validation_rules as rules
from solver.schema import CSM, Account, Book, Pair, Plan, Policy
from solver.validation_fairness import fairness_problems
from solver.validation_handoffs import handoff_problems

# Plans may round what they report: hours to 0.1 h, utilization to 3 decimals, money to the unit.
HOURS_TOLERANCE = 0.05 + 1e-6
UTILIZATION_TOLERANCE = 5e-4 + 1e-6
RELATIVE_TOLERANCE = 1e-3
# Hard rules are checked on exact sums; this only absorbs float addition noise.
RULE_EPSILON = 1e-6
# Money is in whole units: a total one unit over a cap is over it, however large the cap.
MONEY_TOLERANCE = 0.5

SOLVED_STATUSES = ("optimal", "feasible")


@dataclass(frozen=True)
class Violation:
    """One way a plan breaks its book: the rule (a short key) and a sentence a CS ops person can act on."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


def _close(got: float, expected: float, absolute: float) -> bool:
    return abs(got - expected) <= max(absolute, RELATIVE_TOLERANCE * abs(expected))


def _plan_policy(book: Book, plan: Plan) -> Policy:
    # The plan records the date it was made for; judge it on that date, not on today's.
    if plan.as_of is not None and plan.as_of != book.policy.as_of:
        return book.policy.model_copy(update={"as_of": plan.as_of})
    return book.policy


class _Check:
    """The book indexed once, and the violations found so far."""

    def __init__(self, book: Book, plan: Plan) -> None:
        self.book = book
        self.plan = plan
        self.policy = _plan_policy(book, plan)
        self.today = rules.plan_date(self.policy)
        self.accounts: dict[str, Account] = {a.id: a for a in book.accounts}
        self.csms: dict[str, CSM] = {c.id: c for c in book.csms}
        self.pairs: dict[tuple[str, str], Pair] = {(p.account, p.csm): p for p in book.pairs}
        self.families: dict[str, list[Account]] = defaultdict(list)
        for account in book.accounts:
            if account.parent_id is not None:
                self.families[account.parent_id].append(account)
        self.violations: list[Violation] = []
        # account id -> CSM id, from the plan's assignments to known accounts (first entry wins).
        self.assigned: dict[str, str] = {}

    def add(self, rule: str, message: str) -> None:
        self.violations.append(Violation(rule, message))

    def hours(self, account: Account, csm_id: str) -> float:
        return rules.hours_when_served_by(
            account, self.pairs.get((account.id, csm_id)), self.policy, self.today
        )

    def eligibility(self, account: Account, csm: CSM) -> str | None:
        pair = self.pairs.get((account.id, csm.id))
        return rules.pairing_problem(account, csm, pair, self.policy, self.today)

    # ------------------------------------------------------------ coverage

    def every_account_once(self) -> None:
        """Every input account appears exactly once, in assignments or unassigned; no unknown ids."""
        seen: Counter[str] = Counter()
        for a in self.plan.assignments:
            seen[a.account] += 1
            if a.account not in self.accounts:
                self.add("accounts", f"assignment of unknown account {a.account!r}")
                continue
            if a.csm not in self.csms:
                self.add("accounts", f"account {a.account} is assigned to unknown CSM {a.csm!r}")
                continue
            self.assigned.setdefault(a.account, a.csm)
        for u in self.plan.unassigned:
            seen[u.account] += 1
            if u.account not in self.accounts:
                self.add("accounts", f"unknown account {u.account!r} listed as unassigned")
            if not u.reason.strip():
                self.add("unassigned_reason", f"unassigned account {u.account} has no reason")
        for account_id, n in seen.items():
            if n > 1 and account_id in self.accounts:
                self.add("accounts", f"account {account_id} appears {n} times in the plan")
        for account_id in self.accounts:
            if account_id not in seen:
                self.add("accounts", f"account {account_id} is neither assigned nor unassigned")

    # ------------------------------------------------------------ pairwise rules

    def pairs_are_eligible(self) -> None:
        """Every assignment respects the pairwise hard rules (left, tier, region, language, bans, new)."""
        for account_id, csm_id in self.assigned.items():
            problem = self.eligibility(self.accounts[account_id], self.csms[csm_id])
            if problem is not None:
                self.add("eligibility", f"account {account_id} assigned to {csm_id}: {problem}")

    # ------------------------------------------------------------ per-CSM caps

    def book_of(self) -> dict[str, list[Account]]:
        books: dict[str, list[Account]] = defaultdict(list)
        for account_id, csm_id in self.assigned.items():
            books[csm_id].append(self.accounts[account_id])
        return books

    def caps_hold(self) -> None:
        """Per CSM: hours within capacity, ARR within the ARR cap, accounts within the book-size cap."""
        for csm_id, accounts in self.book_of().items():
            csm = self.csms[csm_id]
            hours = sum(self.hours(a, csm_id) for a in accounts)
            capacity = rules.capacity(csm, self.policy, self.today)
            if hours > capacity + RULE_EPSILON:
                # One decimal reads best, unless it would print an overload as "100.0 h of 100.0 h".
                digits = 1 if f"{hours:,.1f}" != f"{capacity:,.1f}" else 4
                self.add(
                    "capacity_hours",
                    f"{csm_id} carries {hours:,.{digits}f} h of {capacity:,.{digits}f} h capacity",
                )
            arr = sum(a.arr for a in accounts)
            arr_cap = rules.arr_cap(csm, self.policy)
            if arr_cap is not None and arr > arr_cap + RULE_EPSILON + 1e-12 * arr_cap:
                self.add("arr_cap", f"{csm_id} manages {arr:,.0f} ARR over the cap of {arr_cap:,.0f}")
            max_accounts = rules.account_cap(csm, self.policy)
            if max_accounts is not None and len(accounts) > max_accounts:
                self.add("max_accounts", f"{csm_id} has {len(accounts)} accounts, more than {max_accounts}")

    # ------------------------------------------------------------ continuity

    def family(self, account: Account) -> list[Account]:
        """The accounts that must go with this one: its parent company, or itself alone."""
        return [account] if account.parent_id is None else self.families[account.parent_id]

    def freezes_hold(self, solved: bool) -> None:
        """Pinned and frozen accounts stay with their current CSM while that CSM may still serve them.

        "Serve" covers the whole parent company, which must go to one CSM. A renewal or onboarding freeze
        is released when the current CSM can no longer serve it (e.g. has left, or cannot take a sibling
        account); a pin is not, so such a pin makes the whole book infeasible.
        """
        for account in self.accounts.values():
            reason = rules.why_it_stays(account, self.policy, self.today)
            if reason is None or account.current_csm is None:
                continue
            current = self.csms.get(account.current_csm)
            if current is None:
                continue
            problem = next(
                (p for a in self.family(account) if (p := self.eligibility(a, current)) is not None), None
            )
            if problem is not None:
                if account.pinned and solved:
                    self.add(
                        "freeze",
                        f"account {account.id} is pinned to {current.id}, who cannot serve it ({problem}): "
                        "the book is infeasible, yet the plan says it is solved",
                    )
                continue
            got = self.assigned.get(account.id)
            if got != current.id:
                where = f"assigned to {got}" if got else "left unassigned"
                self.add(
                    "freeze",
                    f"account {account.id} must stay with {current.id} ({reason}) but is {where}",
                )

    def parents_together(self) -> None:
        """Accounts of one parent company go to one CSM, or all stay unassigned together."""
        for parent_id, family in self.families.items():
            members = [a.id for a in family]
            owners = {self.assigned.get(m) for m in members}
            if len(owners) > 1:
                spread = ", ".join(f"{m}→{self.assigned.get(m) or 'unassigned'}" for m in sorted(members))
                self.add("parent", f"accounts of parent {parent_id} are split: {spread}")

    def expected_moves(self) -> dict[str, tuple[str, str]]:
        moves: dict[str, tuple[str, str]] = {}
        for account_id, csm_id in self.assigned.items():
            current = self.accounts[account_id].current_csm
            if current is not None and current != csm_id:
                moves[account_id] = (current, csm_id)
        return moves

    def moves_match(self) -> None:
        """Moves are exactly the assigned accounts that change CSM, with from, to and a reason."""
        expected = self.expected_moves()
        listed: Counter[str] = Counter(m.account for m in self.plan.moves)
        for move in self.plan.moves:
            want = expected.get(move.account)
            if want is None:
                self.add("moves", f"move of {move.account} listed, but the account does not change CSM")
                continue
            if (move.from_, move.to) != want:
                self.add(
                    "moves",
                    f"move of {move.account} says {move.from_}→{move.to}, the plan does {want[0]}→{want[1]}",
                )
            if not move.reason.strip():
                self.add("moves", f"move of {move.account} has no reason")
        for account_id, n in listed.items():
            if n > 1:
                self.add("moves", f"move of {account_id} listed {n} times")
        for account_id, (src, dst) in expected.items():
            if account_id not in listed:
                self.add("moves", f"account {account_id} moves {src}→{dst} but the move is not listed")
        if self.policy.max_moves is not None and len(expected) > self.policy.max_moves:
            self.add("max_moves", f"{len(expected)} moves, more than max_moves = {self.policy.max_moves}")

    # ------------------------------------------------------------ reported figures

    def loads_match(self) -> float | None:
        """csm_loads recomputed: one per CSM still here. Returns the true largest utilization."""
        books = self.book_of()
        reported = Counter(load.csm for load in self.plan.csm_loads)
        for csm_id, n in reported.items():
            if csm_id not in self.csms:
                self.add("csm_loads", f"load reported for unknown CSM {csm_id!r}")
            elif rules.has_left(self.csms[csm_id], self.today):
                self.add("csm_loads", f"load reported for {csm_id}, who has left")
            elif n > 1:
                self.add("csm_loads", f"load of {csm_id} reported {n} times")
        max_utilization: float | None = None
        loads = {load.csm: load for load in self.plan.csm_loads}
        for csm in self.csms.values():
            if rules.has_left(csm, self.today):
                continue
            accounts = books.get(csm.id, [])
            hours = sum(self.hours(a, csm.id) for a in accounts)
            capacity = rules.capacity(csm, self.policy, self.today)
            utilization = hours / capacity if capacity > 0 else 0.0
            if capacity > 0 and (max_utilization is None or utilization > max_utilization):
                max_utilization = utilization
            load = loads.get(csm.id)
            if load is None:
                self.add("csm_loads", f"no load reported for {csm.id}")
                continue
            wrong: list[str] = []
            if not _close(load.hours, hours, HOURS_TOLERANCE):
                wrong.append(f"hours {load.hours:g} (expected {hours:.3f})")
            if not _close(load.capacity_hours, capacity, HOURS_TOLERANCE):
                wrong.append(f"capacity_hours {load.capacity_hours:g} (expected {capacity:.3f})")
            if not _close(load.utilization, utilization, UTILIZATION_TOLERANCE):
                wrong.append(f"utilization {load.utilization:g} (expected {utilization:.4f})")
            arr = sum(a.arr for a in accounts)
            if abs(load.arr - arr) > MONEY_TOLERANCE:
                wrong.append(f"arr {load.arr:g} (expected {arr:g})")
            arr_cap = rules.arr_cap(csm, self.policy)
            if (load.arr_cap is None) != (arr_cap is None) or (
                load.arr_cap is not None
                and arr_cap is not None
                and abs(load.arr_cap - arr_cap) > MONEY_TOLERANCE
            ):
                wrong.append(f"arr_cap {load.arr_cap} (expected {arr_cap})")
            if load.accounts != len(accounts):
                wrong.append(f"accounts {load.accounts} (expected {len(accounts)})")
            if wrong:
                self.add("csm_loads", f"load of {csm.id} is wrong: " + "; ".join(wrong))
        return max_utilization

    def utilization_figures(self, true_max: float | None) -> None:
        """max_utilization is the true largest utilization; the bound is below it; gap is their difference."""
        plan = self.plan
        if true_max is None:
            if plan.max_utilization not in (None, 0, 0.0):
                self.add("max_utilization", f"max_utilization {plan.max_utilization} with no CSM capacity")
        elif plan.max_utilization is None:
            self.add("max_utilization", f"max_utilization missing (expected {true_max:.4f})")
        elif not _close(plan.max_utilization, true_max, UTILIZATION_TOLERANCE):
            self.add("max_utilization", f"max_utilization {plan.max_utilization:g} (expected {true_max:.4f})")
        bound = plan.max_utilization_bound
        if bound is not None and plan.max_utilization is not None:
            # The reported max may be rounded; accept a bound up to either figure.
            ceiling = max(plan.max_utilization, true_max if true_max is not None else plan.max_utilization)
            if bound > ceiling + RULE_EPSILON:
                self.add(
                    "max_utilization_bound",
                    f"bound {bound:g} is above the plan's max_utilization {plan.max_utilization:g}",
                )
            if plan.gap is not None and not _close(plan.gap, plan.max_utilization - bound, 1e-3):
                self.add(
                    "gap",
                    f"gap {plan.gap:g} is not max_utilization - bound = {plan.max_utilization - bound:g}",
                )

    def cost_figures(self) -> None:
        """For min_cost: total_cost is the sum of the chosen pairs' costs and the bound is below it."""
        total = 0.0
        for account_id, csm_id in self.assigned.items():
            pair = self.pairs.get((account_id, csm_id))
            if pair is not None and pair.cost is not None:
                total += pair.cost
        plan = self.plan
        if plan.total_cost is None:
            self.add("total_cost", f"min_cost plan without total_cost (expected {total:g})")
            return
        if not _close(plan.total_cost, total, 1e-6):
            self.add("total_cost", f"total_cost {plan.total_cost:g} (expected {total:g})")
        if plan.cost_bound is not None and plan.cost_bound > plan.total_cost + RULE_EPSILON * max(1.0, total):
            self.add("cost_bound", f"cost_bound {plan.cost_bound:g} is above total_cost {plan.total_cost:g}")

    def pool_served_arr(self) -> None:
        """Each pool's served_arr is the ARR its CSMs manage after the plan, and its bound is not below it."""
        arr = {a.id: a.arr for a in self.book.accounts}
        for pool in self.plan.pools:
            if pool.served_arr is None:
                continue
            mine = set(pool.csms)
            served = sum(arr.get(a, 0.0) for a, c in self.assigned.items() if c in mine)
            if not _close(pool.served_arr, served, 0.01 + 1e-9 * served):
                self.add(
                    "served_arr",
                    f"pool {pool.pool}: served_arr {pool.served_arr:,.2f} (expected {served:,.2f})",
                )
            bound = pool.served_arr_bound
            if bound is not None and bound < served - 0.01:
                self.add(
                    "served_arr_bound",
                    f"pool {pool.pool}: served_arr_bound {bound:,.2f} is below the ARR it serves ({served:,.2f})",
                )

    def diagnosis_present(self) -> None:
        if not self.plan.diagnosis:
            self.add("diagnosis", "infeasible plan without a diagnosis")
        for i, d in enumerate(self.plan.diagnosis):
            if not d.message.strip():
                self.add("diagnosis", f"diagnosis[{i}] ({d.rule}) has no message")


def validate_plan(book: Book, plan: Plan) -> list[Violation]:
    """Every way the plan breaks the book's hard rules or misreports its own figures (empty: valid)."""
    check = _Check(book, plan)
    if plan.status == "infeasible":
        check.diagnosis_present()
        return check.violations
    if plan.status not in SOLVED_STATUSES:
        # no_solution_in_time promises nothing beyond its status.
        return check.violations
    check.every_account_once()
    check.pairs_are_eligible()
    check.caps_hold()
    check.freezes_hold(solved=True)
    check.parents_together()
    check.moves_match()
    true_max = check.loads_match()
    check.utilization_figures(true_max)
    check.pool_served_arr()
    if plan.objective == "min_cost" or book.policy.objective == "min_cost":
        check.cost_figures()
    check.violations.extend(Violation(rule, message) for rule, message in handoff_problems(book, plan))
    check.violations += [Violation("fairness", m) for m in fairness_problems(book, plan)]
    return check.violations


def format_violations(violations: Iterable[Violation]) -> str:
    return "\n".join(f"  - {v}" for v in violations)


def assert_valid_plan(book: Book, plan: Plan) -> None:
    """Raise AssertionError listing every violation when the plan breaks the book."""
    violations = validate_plan(book, plan)
    if violations:
        raise AssertionError(
            f"{plan.status} plan breaks {len(violations)} rule(s):\n{format_violations(violations)}"
        )


__all__ = ["Violation", "assert_valid_plan", "format_violations", "validate_plan"]
