"""The stored book: replace it whole, edit single accounts and CSMs, read it back as a `solver.schema.Book`.

Every change bumps the book's revision (plans record the revision they were computed on) and writes an
audit event. Bulk writes go through Core `insert()` with lists of rows: 20,000 ORM objects would be slow.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Integer, delete, func, insert, select, update
from sqlmodel import Session

from app.core.db import Database
from app.errors import BookError, Conflict, NotFound, PreconditionFailed
from app.models import (
    AccountRow,
    AuditEvent,
    BookReplaced,
    BookState,
    BookSummary,
    CSMRow,
    ImportResult,
    TierSummary,
    utcnow,
)
from app.services.keys import Actor, actor_key_id, actor_name
from solver.errors import describe_validation_error
from solver.policy import segment_label, segment_order
from solver.schema import CSM, Account, Book, Policy

ACCOUNT_FIELDS = tuple(Account.model_fields)
CSM_FIELDS = tuple(CSM.model_fields)
_ACCOUNTS = AccountRow.__table__  # type: ignore[attr-defined]
_CSMS = CSMRow.__table__  # type: ignore[attr-defined]
_STATE = BookState.__table__  # type: ignore[attr-defined]
_INSERT_BATCH = 5_000


def account_row(account: Account, position: int) -> dict[str, Any]:
    row = account.model_dump()
    row["position"] = position
    return row


def csm_row(csm: CSM, position: int) -> dict[str, Any]:
    row = csm.model_dump()
    row["position"] = position
    return row


def book_from_rows(state: BookState, accounts: list[dict[str, Any]], csms: list[dict[str, Any]]) -> Book:
    """The one place stored rows become the solver's Book (validated, so a bad row cannot reach a solve)."""
    return Book.model_validate(
        {
            "accounts": [{f: row[f] for f in ACCOUNT_FIELDS} for row in accounts],
            "csms": [{f: row[f] for f in CSM_FIELDS} for row in csms],
            "policy": state.policy or {},
            "pairs": state.pairs or [],
        }
    )


def read_state(session: Session) -> BookState:
    state = session.get(BookState, 1)
    if state is None:  # the initial migration creates it; only a hand-emptied table gets here
        raise Conflict("the stored book is missing its header row: run `bookplan migrate`")
    return state


def _rows(session: Session, table: Any, where: Any = None) -> list[dict[str, Any]]:
    query = select(table).order_by(table.c.position)
    if where is not None:
        query = query.where(where)
    return [dict(r._mapping) for r in session.execute(query)]


def load_book(session: Session) -> tuple[Book, int]:
    """The stored book and its revision, read in one transaction."""
    state = read_state(session)
    return book_from_rows(state, _rows(session, _ACCOUNTS), _rows(session, _CSMS)), state.revision


Expected = frozenset[int] | None


def lock_book(session: Session, expected: Expected = None) -> int:
    """Take the book's write lock and return its revision; `expected` (from If-Match) must hold it.

    Every write of the book, approvals included, locks the header row first: one lock order, so an
    approval and an edit queue behind each other on PostgreSQL instead of deadlocking (on SQLite the write
    transaction's BEGIN IMMEDIATE already holds the database lock)."""
    revision = int(
        session.execute(select(_STATE.c.revision).where(_STATE.c.id == 1).with_for_update()).scalar_one()
    )
    if expected is not None and revision not in expected:
        shown = ", ".join(str(r) for r in sorted(expected))
        raise PreconditionFailed(
            f"If-Match: the book is at revision {revision}, not {shown}: it changed since it was read; "
            "read it again and reapply the change",
            revision=revision,
        )
    return revision


def _bump(session: Session, actor: Actor) -> int:
    now = utcnow()
    session.execute(
        update(_STATE)
        .where(_STATE.c.id == 1)
        .values(revision=_STATE.c.revision + 1, updated_at=now, updated_by=actor_name(actor))
    )
    revision = session.execute(select(_STATE.c.revision).where(_STATE.c.id == 1)).scalar_one()
    return int(revision)


def audit(session: Session, actor: Actor, action: str, revision: int | None, **fields: Any) -> None:
    session.add(
        AuditEvent(
            actor=actor_name(actor),
            actor_key_id=actor_key_id(actor),
            action=action,
            book_revision=revision,
            **fields,
        )
    )


def _bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_BATCH):
        session.execute(insert(table), rows[start : start + _INSERT_BATCH])


def write_book(
    session: Session,
    book: Book,
    actor: Actor,
    action: str = "book_replaced",
    detail: dict[str, Any] | None = None,
) -> BookReplaced:
    """Replace accounts, CSMs, policy and pairs; the caller's transaction makes it all or nothing."""
    session.execute(delete(_ACCOUNTS))
    session.execute(delete(_CSMS))
    _bulk_insert(session, _CSMS, [csm_row(c, i) for i, c in enumerate(book.csms)])
    _bulk_insert(session, _ACCOUNTS, [account_row(a, i) for i, a in enumerate(book.accounts)])
    session.execute(
        update(_STATE)
        .where(_STATE.c.id == 1)
        .values(
            policy=book.policy.model_dump(mode="json", exclude_unset=True),
            pairs=[p.model_dump(mode="json", exclude_unset=True) for p in book.pairs],
        )
    )
    revision = _bump(session, actor)
    audit(
        session,
        actor,
        action,
        revision,
        detail={
            "accounts": len(book.accounts),
            "csms": len(book.csms),
            "pairs": len(book.pairs),
            **(detail or {}),
        },
    )
    return BookReplaced(
        revision=revision, accounts=len(book.accounts), csms=len(book.csms), pairs=len(book.pairs)
    )


def replace_book(session: Session, book: Book, actor: Actor, expected: Expected = None) -> BookReplaced:
    lock_book(session, expected)
    result = write_book(session, book, actor)
    session.commit()
    return result


REVISION_TTL_SECONDS = 0.5


def current_revision(db: Database) -> int:
    """The stored book's revision, what every cache of the book is keyed by (see `Database.cached_read`)."""

    def load() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(select(_STATE.c.revision).where(_STATE.c.id == 1)).scalar_one())

    return int(db.cached_read("book_revision", REVISION_TTL_SECONDS, load))


async def current_revision_async(db: Database) -> int:
    """`current_revision` for the event loop (a miss reads in the thread pool, once for all waiters)."""

    def load() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(select(_STATE.c.revision).where(_STATE.c.id == 1)).scalar_one())

    return int(await db.cached_read_async("book_revision", REVISION_TTL_SECONDS, load))


class SummaryCache:
    """The summary's JSON for the latest revision seen: HR dashboards poll it, the book rarely changes."""

    def __init__(self) -> None:
        self._entry: tuple[int, bytes] | None = None

    def get(self, revision: int) -> bytes | None:
        entry = self._entry
        return entry[1] if entry is not None and entry[0] == revision else None

    def compute(self, db: Database) -> tuple[int, bytes]:
        with db.session() as session:
            summary = book_summary(session)
        data = summary.model_dump_json().encode()
        self._entry = (summary.revision, data)
        return summary.revision, data


def book_summary(session: Session) -> BookSummary:
    """Counts and totals by SQL aggregates, so HR tools get them fast on a 20,000-account book."""
    state = read_state(session)
    a = _ACCOUNTS.c
    totals = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(a.arr), 0.0),
            func.coalesce(func.sum(func.cast(a.current_csm.is_(None), _int_type())), 0),
            func.coalesce(func.sum(func.cast(a.pinned, _int_type())), 0),
        ).select_from(_ACCOUNTS)
    ).one()
    by_tier = session.execute(
        select(a.tier, func.count(), func.coalesce(func.sum(a.arr), 0.0)).group_by(a.tier)
    ).all()
    policy = Policy.model_validate(state.policy or {})
    order = segment_order(policy)
    tiers = sorted(
        (
            TierSummary(tier=t, label=segment_label(policy, t), accounts=int(n), arr=float(arr))
            for t, n, arr in by_tier
        ),
        key=lambda s: (order.get(s.tier, len(order)), s.tier),
    )
    csms = session.execute(select(func.count()).select_from(_CSMS)).scalar_one()
    return BookSummary(
        revision=state.revision,
        accounts=int(totals[0]),
        csms=int(csms),
        arr=float(totals[1]),
        unassigned_accounts=int(totals[2]),
        pinned_accounts=int(totals[3]),
        pairs=len(state.pairs or []),
        tiers=tiers,
        updated_at=state.updated_at,
        updated_by=state.updated_by,
    )


def _int_type() -> Any:
    return Integer()


# ---------------------------------------------------------------- single accounts and CSMs


def count_accounts(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(_ACCOUNTS)).scalar_one())


def count_csms(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(_CSMS)).scalar_one())


def list_accounts(session: Session, limit: int, offset: int, csm: str | None = None) -> list[Account]:
    query = select(_ACCOUNTS).order_by(_ACCOUNTS.c.position).limit(limit).offset(offset)
    if csm is not None:
        query = query.where(_ACCOUNTS.c.current_csm == csm)
    return [
        Account.model_validate({f: r._mapping[f] for f in ACCOUNT_FIELDS}) for r in session.execute(query)
    ]


def list_csms(session: Session, limit: int, offset: int) -> list[CSM]:
    query = select(_CSMS).order_by(_CSMS.c.position).limit(limit).offset(offset)
    return [CSM.model_validate({f: r._mapping[f] for f in CSM_FIELDS}) for r in session.execute(query)]


def revision_of(session: Session) -> int:
    """The book's revision as the session's transaction sees it (read before the rows it labels)."""
    return int(session.execute(select(_STATE.c.revision).where(_STATE.c.id == 1)).scalar_one())


def get_account(session: Session, account_id: str) -> Account:
    rows = _rows(session, _ACCOUNTS, _ACCOUNTS.c.id == account_id)
    if not rows:
        raise NotFound(
            f"account {account_id!r} is not in the stored book", field="account_id", value=account_id
        )
    return Account.model_validate({f: rows[0][f] for f in ACCOUNT_FIELDS})


def get_csm(session: Session, csm_id: str) -> CSM:
    rows = _rows(session, _CSMS, _CSMS.c.id == csm_id)
    if not rows:
        raise NotFound(f"CSM {csm_id!r} is not in the stored book", field="csm_id", value=csm_id)
    return CSM.model_validate({f: rows[0][f] for f in CSM_FIELDS})


def _next_position(session: Session, table: Any) -> int:
    return int(session.execute(select(func.coalesce(func.max(table.c.position), -1))).scalar_one()) + 1


def put_account(
    session: Session, account_id: str, account: Account, actor: Actor, expected: Expected = None
) -> tuple[Account, bool, int]:
    """Create or replace one account; returns it, whether it was created, and the book's new revision."""
    if account.id != account_id:
        raise BookError(
            f"id: the body's id {account.id!r} differs from the URL's {account_id!r}",
            field="id",
            value=account.id,
        )
    if account.current_csm is not None and session.get(CSMRow, account.current_csm) is None:
        raise BookError(
            f"current_csm: unknown CSM {account.current_csm!r}",
            field="current_csm",
            value=account.current_csm,
        )
    if account.pinned and account.current_csm is None:
        raise BookError(
            f"pinned: account {account.id!r} is pinned but has no current_csm", field="pinned", value=True
        )
    lock_book(session, expected)
    existing = session.get(AccountRow, account_id)
    before = None
    if existing is None:
        session.execute(insert(_ACCOUNTS), [account_row(account, _next_position(session, _ACCOUNTS))])
    else:
        before = {f: _jsonable(getattr(existing, f)) for f in ACCOUNT_FIELDS}
        values = account.model_dump()
        session.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id).values(**values))
    revision = _bump(session, actor)
    audit(
        session,
        actor,
        "account_created" if existing is None else "account_updated",
        revision,
        account=account_id,
        detail={"before": before, "after": account.model_dump(mode="json")},
    )
    session.commit()
    return account, existing is None, revision


def delete_account(session: Session, account_id: str, actor: Actor, expected: Expected = None) -> int:
    lock_book(session, expected)
    existing = session.get(AccountRow, account_id)
    if existing is None:
        raise NotFound(
            f"account {account_id!r} is not in the stored book", field="account_id", value=account_id
        )
    before = {f: _jsonable(getattr(existing, f)) for f in ACCOUNT_FIELDS}
    session.execute(delete(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id))
    dropped = _drop_pairs(session, lambda p: p.get("account") == account_id)
    revision = _bump(session, actor)
    audit(
        session,
        actor,
        "account_deleted",
        revision,
        account=account_id,
        detail={"before": before, "pairs": dropped},
    )
    session.commit()
    return revision


def put_csm(
    session: Session, csm_id: str, csm: CSM, actor: Actor, expected: Expected = None
) -> tuple[CSM, bool, int]:
    if csm.id != csm_id:
        raise BookError(
            f"id: the body's id {csm.id!r} differs from the URL's {csm_id!r}", field="id", value=csm.id
        )
    if csm.start_date and csm.end_date and csm.end_date < csm.start_date:
        raise BookError(
            f"end_date: {csm.end_date.isoformat()} is before start_date {csm.start_date.isoformat()}",
            field="end_date",
            value=csm.end_date.isoformat(),
        )
    lock_book(session, expected)
    existing = session.get(CSMRow, csm_id)
    before = None
    if existing is None:
        session.execute(insert(_CSMS), [csm_row(csm, _next_position(session, _CSMS))])
    else:
        before = {f: _jsonable(getattr(existing, f)) for f in CSM_FIELDS}
        session.execute(update(_CSMS).where(_CSMS.c.id == csm_id).values(**csm.model_dump()))
    revision = _bump(session, actor)
    audit(
        session,
        actor,
        "csm_created" if existing is None else "csm_updated",
        revision,
        csm=csm_id,
        detail={"before": before, "after": csm.model_dump(mode="json")},
    )
    session.commit()
    return csm, existing is None, revision


def delete_csm(session: Session, csm_id: str, actor: Actor, expected: Expected = None) -> int:
    lock_book(session, expected)
    existing = session.get(CSMRow, csm_id)
    if existing is None:
        raise NotFound(f"CSM {csm_id!r} is not in the stored book", field="csm_id", value=csm_id)
    holding = (
        session.execute(
            select(_ACCOUNTS.c.id)
            .where(_ACCOUNTS.c.current_csm == csm_id)
            .order_by(_ACCOUNTS.c.position)
            .limit(6)
        )
        .scalars()
        .all()
    )
    if holding:
        shown = ", ".join(repr(a) for a in holding[:5]) + (", ..." if len(holding) > 5 else "")
        raise Conflict(
            f"CSM {csm_id!r} still has accounts ({shown}): move them first, or set an end_date and plan",
            field="csm_id",
            value=csm_id,
        )
    before = {f: _jsonable(getattr(existing, f)) for f in CSM_FIELDS}
    session.execute(delete(_CSMS).where(_CSMS.c.id == csm_id))
    dropped = _drop_pairs(session, lambda p: p.get("csm") == csm_id)
    revision = _bump(session, actor)
    audit(session, actor, "csm_deleted", revision, csm=csm_id, detail={"before": before, "pairs": dropped})
    session.commit()
    return revision


def put_policy(
    session: Session, policy: Policy, actor: Actor, expected: Expected = None
) -> tuple[Policy, int]:
    lock_book(session, expected)
    state = read_state(session)
    before = state.policy
    book, _revision = load_book(session)
    _rebuild(book, policy=policy)
    session.execute(
        update(_STATE)
        .where(_STATE.c.id == 1)
        .values(policy=policy.model_dump(mode="json", exclude_unset=True))
    )
    revision = _bump(session, actor)
    audit(
        session,
        actor,
        "policy_updated",
        revision,
        detail={"before": before, "after": policy.model_dump(mode="json")},
    )
    session.commit()
    return policy, revision


def _drop_pairs(session: Session, matches: Any) -> int:
    state = read_state(session)
    pairs = state.pairs or []
    kept = [p for p in pairs if not matches(p)]
    if len(kept) != len(pairs):
        session.execute(update(_STATE).where(_STATE.c.id == 1).values(pairs=kept))
    return len(pairs) - len(kept)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


# ---------------------------------------------------------------- what changed


def _by_id(items: list[Any]) -> dict[str, dict[str, Any]]:
    return {item.id: item.model_dump(mode="json") for item in items}


def book_changes(before: Book, after: Book) -> dict[str, Any]:
    """What differs between two books, by kind, with up to ten ids of each (empty dict: same book)."""
    changes: dict[str, Any] = {}
    for kind, old, new in (("accounts", before.accounts, after.accounts), ("csms", before.csms, after.csms)):
        a, b = _by_id(old), _by_id(new)
        added = [k for k in b if k not in a]
        removed = [k for k in a if k not in b]
        edited = [k for k in b if k in a and a[k] != b[k]]
        for label, ids in (("added", added), ("removed", removed), ("edited", edited)):
            if ids:
                changes[f"{kind}_{label}"] = {"count": len(ids), "ids": ids[:10]}
    if before.policy.model_dump(mode="json") != after.policy.model_dump(mode="json"):
        changes["policy"] = "changed"
    pair_key = Counter(tuple(sorted(p.model_dump(mode="json").items())) for p in before.pairs)
    if pair_key != Counter(tuple(sorted(p.model_dump(mode="json").items())) for p in after.pairs):
        changes["pairs"] = "changed"
    return changes


def describe_changes(changes: dict[str, Any]) -> str:
    words = {"accounts": ("account", "accounts"), "csms": ("CSM", "CSMs")}
    parts: list[str] = []
    for key, value in changes.items():
        if isinstance(value, dict):
            kind, label = key.split("_")
            one, many = words[kind]
            parts.append(f"{value['count']} {one if value['count'] == 1 else many} {label}")
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


# ---------------------------------------------------------------- CSV


def import_accounts_csv(
    session: Session, data: bytes | str, actor: Actor, expected: Expected = None
) -> ImportResult:
    """Replace the stored book's accounts with a CSV's, keeping CSMs, policy and the pairs still valid."""
    from app.services.csv_io import parse_accounts_csv

    lock_book(session, expected)
    book, _ = load_book(session)
    parsed = parse_accounts_csv(data, book.csms, book.policy)
    ids = {a.id for a in parsed.items}
    new_book = _rebuild(book, accounts=parsed.items, pairs=[p for p in book.pairs if p.account in ids])
    result = write_book(session, new_book, actor, action="accounts_imported")
    session.commit()
    table = parsed.table
    return ImportResult(
        revision=result.revision, rows=len(parsed.items), columns=table.mapping, ignored_columns=table.ignored
    )


def import_csms_csv(
    session: Session, data: bytes | str, actor: Actor, expected: Expected = None
) -> ImportResult:
    """Replace the stored book's CSMs with a CSV's; every account's current CSM must still exist."""
    from app.services.csv_io import parse_csms_csv

    lock_book(session, expected)
    book, _ = load_book(session)
    parsed = parse_csms_csv(data, book.policy)
    csms = parsed.items
    ids = {c.id for c in csms}
    for account in book.accounts:
        if account.current_csm is not None and account.current_csm not in ids:
            raise BookError(
                f"CSMs CSV: account {account.id!r} belongs to CSM {account.current_csm!r}, "
                "who is not in the file "
                "(move the account first or keep the CSM with an end_date)",
                field="id",
                value=account.current_csm,
            )
    new_book = _rebuild(book, csms=csms, pairs=[p for p in book.pairs if p.csm in ids])
    result = write_book(session, new_book, actor, action="csms_imported")
    session.commit()
    table = parsed.table
    return ImportResult(
        revision=result.revision, rows=len(csms), columns=table.mapping, ignored_columns=table.ignored
    )


def _rebuild(book: Book, **parts: Any) -> Book:
    data = {"accounts": book.accounts, "csms": book.csms, "policy": book.policy, "pairs": book.pairs, **parts}
    try:
        return Book.model_validate(
            {
                k: ([x.model_dump() for x in v] if isinstance(v, list) else v.model_dump(exclude_unset=True))
                for k, v in data.items()
            }
        )
    except ValidationError as exc:
        raise BookError(describe_validation_error(exc)) from None
