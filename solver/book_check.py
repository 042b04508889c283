"""The hard rules a book as it stands breaks (every account with its current CSM), stated on their own:
what a partial approval's book is checked against, beside the book it would replace."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from solver import policy as rules
from solver.schema import Account, Book

# Figures are sums of floats: an excess smaller than this is rounding, not a broken rule.
EPSILON = 1e-6


@dataclass(frozen=True)
class Break:
    """One broken rule: which, whose (a CSM, or a parent company), the figure and the limit."""

    rule: str
    who: str
    figure: float
    limit: float
    message: str


def book_breaks(book: Book) -> dict[tuple[str, str], Break]:
    """Every hard rule the book's current assignment breaks, keyed by (rule, CSM or parent company)."""
    found: dict[tuple[str, str], Break] = {}
    for item in [*csm_load_breaks(book), *parent_breaks(book)]:
        found[(item.rule, item.who)] = item
    return found


def csm_load_breaks(book: Book) -> list[Break]:
    """Per CSM: hours within capacity, ARR within the ARR cap, accounts within the book-size cap."""
    policy = book.policy
    pairs = rules.pairs_index(book)
    books: dict[str, list[Account]] = defaultdict(list)
    for account in book.accounts:
        if account.current_csm is not None:
            books[account.current_csm].append(account)
    found: list[Break] = []
    for csm in book.csms:
        accounts = books.get(csm.id, [])
        hours = sum(rules.pair_hours(a, pairs.get((a.id, csm.id)), policy) for a in accounts)
        capacity = rules.capacity_hours(csm, policy)
        if hours > capacity + EPSILON:
            found.append(
                Break(
                    "capacity_hours",
                    csm.id,
                    hours,
                    capacity,
                    f"{csm.id} would carry {hours:,.1f} h of {capacity:,.1f} h capacity",
                )
            )
        arr = sum(a.arr for a in accounts)
        cap = rules.csm_arr_cap(csm, policy)
        if cap is not None and arr > cap + EPSILON * max(1.0, cap):
            found.append(
                Break(
                    "arr_cap",
                    csm.id,
                    arr,
                    cap,
                    f"{csm.id} would manage {arr:,.0f} ARR, over the cap of {cap:,.0f}",
                )
            )
        most = rules.csm_max_accounts(csm, policy)
        if most is not None and len(accounts) > most:
            found.append(
                Break(
                    "max_accounts",
                    csm.id,
                    float(len(accounts)),
                    float(most),
                    f"{csm.id} would have {len(accounts)} accounts, more than {most}",
                )
            )
    return found


def parent_breaks(book: Book) -> list[Break]:
    """Accounts of one parent company that have CSMs are all with one CSM."""
    owners: dict[str, set[str]] = defaultdict(set)
    for account in book.accounts:
        if account.parent_id is not None and account.current_csm is not None:
            owners[account.parent_id].add(account.current_csm)
    return [
        Break(
            "parent",
            parent,
            float(len(csms)),
            1.0,
            f"the accounts of parent {parent} would be split between {', '.join(sorted(csms))}",
        )
        for parent, csms in sorted(owners.items())
        if len(csms) > 1
    ]


def new_breaks(before: Book, after: Book) -> list[Break]:
    """The rules `after` breaks that `before` keeps, or breaks by more."""
    was = book_breaks(before)
    return [
        item
        for key, item in book_breaks(after).items()
        if key not in was or item.figure > was[key].figure + EPSILON * max(1.0, abs(item.limit))
    ]
