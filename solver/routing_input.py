"""What a routing request may hold, and a routing turned into a book and a plan for the validator.

A new account is checked as `PUT /v1/book` checks a book's (same field names, same messages), plus what
makes it new: no CSM yet, and an id the book does not already hold.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import ValidationError

from solver import policy as rules
from solver.errors import BookError, describe_validation_error, field_path
from solver.routing_book import RoutingBook
from solver.schema import Account, Assignment, Book, CSMLoad, Plan, SolverInfo, Unassigned

MAX_BATCH = 10_000


class AccountInBook(BookError):
    """A "new" account whose id the book already has (HTTP 409, CLI exit 2)."""


def new_accounts_from_data(routing: RoutingBook, data: object) -> list[Account]:
    """The request's accounts, checked as `PUT /v1/book` checks a book's (same field names, same messages),
    plus what makes an account new: no CSM yet, and an id the book does not have."""
    if not isinstance(data, list):
        raise BookError("accounts: expected a list of accounts", field="accounts")
    if not data:
        raise BookError(
            "accounts: the list is empty (send at least one new account)", field="accounts", value=[]
        )
    if len(data) > MAX_BATCH:
        raise BookError(
            f"accounts: {len(data):,} accounts is more than one request takes ({MAX_BATCH:,})",
            field="accounts",
            value=len(data),
        )
    book = routing.book
    # Only the CSMs the accounts name matter to the book's checks (a new account names none, normally):
    # checking 500 CSMs' ids, emails and segments again on every request would be most of its cost.
    named = {a.get("current_csm") if isinstance(a, dict) else getattr(a, "current_csm", None) for a in data}
    csms = [c for c in book.csms if c.id in named]
    try:
        probe = Book.model_validate({"accounts": data, "csms": csms, "policy": book.policy})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(p for p in error.get("loc", ()) if p != "body")
        message = describe_validation_error(exc)
        field = field_path(loc) or (message.split(": ", 1)[0] if ": " in message else None)
        raise BookError(message, field=field, value=error.get("input") if loc else None) from None
    return check_new_accounts(routing, probe.accounts)


def check_new_accounts(routing: RoutingBook, accounts: list[Account]) -> list[Account]:
    """A new account has no CSM yet and an id the book does not already hold."""
    for i, a in enumerate(accounts):
        if a.id in routing.account_ids:
            raise AccountInBook(
                f"accounts[{i}].id: account {a.id!r} is already in the book (route only new accounts)",
                field=f"accounts[{i}].id",
                value=a.id,
            )
        if a.current_csm is not None or a.pinned:
            field = "current_csm" if a.current_csm is not None else "pinned"
            raise BookError(
                f"accounts[{i}].{field}: a new account has no CSM yet (leave {field} out to route it)",
                field=f"accounts[{i}].{field}",
                value=a.current_csm if a.current_csm is not None else True,
            )
    return accounts


def routed_book_and_plan(
    routing: RoutingBook, accounts: list[Account], chosen: dict[str, str | None]
) -> tuple[Book, Plan]:
    """The book with the new accounts added and the plan that keeps every existing account where it is and
    gives each new one its chosen CSM: what the solver-free validator re-checks. A new account no CSM can
    take stays out of the book (it is not routed), as `assign: true` leaves it."""
    book = routing.book
    routed = [a for a in accounts if chosen.get(a.id) is not None]
    combined = book.model_copy(update={"accounts": [*book.accounts, *routed]})
    pairs = rules.pairs_index(book)
    assignments, unassigned = [], []
    hours: dict[str, float] = defaultdict(float)
    arr: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for a in combined.accounts:
        csm = a.current_csm if a.current_csm is not None else chosen.get(a.id)
        if csm is None:
            unassigned.append(Unassigned(account=a.id, reason="no CSM can take it"))
            continue
        assignments.append(Assignment(account=a.id, csm=csm))
        hours[csm] += rules.pair_hours(a, pairs.get((a.id, csm)), book.policy)
        arr[csm] += a.arr
        count[csm] += 1
    loads = [
        CSMLoad(
            csm=s.id,
            hours=hours[s.id],
            capacity_hours=s.capacity,
            utilization=hours[s.id] / s.capacity if s.capacity > 0 else 0.0,
            arr=arr[s.id],
            arr_cap=s.arr_cap,
            accounts=count[s.id],
            max_accounts=s.max_accounts,
        )
        for s in routing.seats
        if not s.left
    ]
    plan = Plan(
        status="feasible",
        assignments=assignments,
        unassigned=unassigned,
        csm_loads=loads,
        max_utilization=max((x.utilization for x in loads if x.capacity_hours > 0), default=None),
        as_of=routing.today,
        solver=SolverInfo(engine="router", version="1", seconds=0.0, seed=0, input_sha256=""),
    )
    return combined, plan
