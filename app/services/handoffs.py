"""Carrying out a rebalance: each CSM's change sheet, and the files a CRM's import tool loads to change the
owner of each moved account (Salesforce Data Loader, HubSpot company import, or a generic file)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from app.core.db import Database
from app.errors import BookError, Conflict, NotFound
from app.models import PlanJob
from app.models_handoffs import AccountChange, CSMChanges, PlanChanges
from app.services.book import load_book
from app.services.snapshots import solved_book
from solver import policy as rules
from solver.schema import CSM, Account, Book, Move, Plan, Policy

CrmFormat = Literal["salesforce", "hubspot", "generic"]
CRM_FORMATS: tuple[CrmFormat, ...] = ("salesforce", "hubspot", "generic")
# Salesforce Data Loader matches `Id` and sets the lookup `OwnerId` to a User id; HubSpot's company import
# matches `Record ID` and maps `Company owner` by the owner's email (a HubSpot user).
CRM_HEADERS: dict[CrmFormat, list[str]] = {
    "salesforce": ["Id", "OwnerId"],
    "hubspot": ["Record ID", "Company owner"],
    "generic": [
        "account_id",
        "account_name",
        "from_csm",
        "from_name",
        "to_csm",
        "to_name",
        "arr",
        "hours",
        "handoff_on",
        "wave",
        "reason",
        "status",
    ],
}
CRM_IDENTITY: dict[CrmFormat, str | None] = {"salesforce": "crm_user_id", "hubspot": "email", "generic": None}
CHANGE_COLUMNS = [
    "csm",
    "csm_name",
    "change",
    "account",
    "account_name",
    "arr",
    "hours",
    "renewal_date",
    "other_csm",
    "other_csm_name",
    "handoff_on",
    "wave",
    "reason",
]


@dataclass
class PlanForHandoffs:
    """A succeeded plan, the book it was computed on, the CSMs as the stored book knows them now (the CRM
    identities may have been filled in since), and whether it was approved."""

    plan_id: str
    plan: Plan
    book: Book
    csms: dict[str, CSM]
    approved: bool


def load_plan_for_handoffs(db: Database, plan_id: str) -> PlanForHandoffs:
    """The plan with the book it was made on; 404 for an unknown plan, 409 for one without a result yet."""
    with db.session() as session:
        row = session.execute(
            select(PlanJob.status, PlanJob.plan, PlanJob.approved_at, PlanJob.source).where(  # type: ignore[call-overload]
                PlanJob.id == plan_id
            )
        ).first()
        if row is None:
            raise NotFound(f"plan {plan_id!r} does not exist", field="plan_id", value=plan_id)
        status, plan_text, approved_at, source = row
        if status != "succeeded" or plan_text is None:
            raise Conflict(
                f"plan {plan_id!r} is {status}: it has no moves to hand over yet",
                field="plan_id",
                value=plan_id,
            )
        book = solved_book(session, plan_id)  # the job's own copy, or its revision's snapshot
        csms = {c.id: c for c in book.csms}
        if source == "stored":
            stored, _revision = load_book(session)
            csms.update({c.id: c for c in stored.csms})
    plan = Plan.model_validate(json.loads(plan_text))
    return PlanForHandoffs(plan_id, plan, book, csms, approved_at is not None)


def _name(csms: dict[str, CSM], csm_id: str | None) -> str | None:
    if csm_id is None:
        return None
    csm = csms.get(csm_id)
    return (csm.name if csm is not None else None) or csm_id


# ---------------------------------------------------------------- change sheets


class _Hours:
    """The hours an account takes with a given CSM (a pair override counts), on the plan's date."""

    def __init__(self, book: Book, policy: Policy) -> None:
        self.pairs = rules.pairs_index(book) if book.pairs else {}
        self.policy = policy

    def __call__(self, account: Account, csm_id: str) -> float:
        return rules.pair_hours(account, self.pairs.get((account.id, csm_id)), self.policy)


def _loads(
    book: Book, owners: dict[str, str | None], hours_of: _Hours
) -> dict[str, tuple[float, float, int]]:
    """Each CSM's hours, ARR and account count under the given owners."""
    out: dict[str, tuple[float, float, int]] = {}
    for account in book.accounts:
        csm = owners.get(account.id)
        if csm is None:
            continue
        hours, arr, count = out.get(csm, (0.0, 0.0, 0))
        out[csm] = (hours + hours_of(account, csm), arr + account.arr, count + 1)
    return out


def change_sheets(found: PlanForHandoffs) -> PlanChanges:
    """Per CSM whose book changes: the accounts gained and lost (with ARR, hours, renewal, the other CSM,
    the handoff date and the reason) and their load before and after."""
    book, plan, csms = found.book, found.plan, found.csms
    policy = book.policy.model_copy(update={"as_of": plan.as_of}) if plan.as_of else book.policy
    hours_of = _Hours(book, policy)
    accounts = {a.id: a for a in book.accounts}
    before = {a.id: a.current_csm for a in book.accounts}
    after: dict[str, str | None] = {a.account: a.csm for a in plan.assignments}
    gains: dict[str, list[AccountChange]] = {}
    losses: dict[str, list[AccountChange]] = {}
    moves = {m.account: m for m in plan.moves}
    for account_id, new in after.items():
        old = before.get(account_id)
        if new == old or account_id not in accounts:
            continue
        a = accounts[account_id]
        move = moves.get(account_id)

        def change(other: str | None, csm: str, a: Account = a, move: Move | None = move) -> AccountChange:
            return AccountChange(
                account=a.id,
                account_name=a.name or a.id,
                arr=a.arr,
                hours=round(hours_of(a, csm), 2),
                renewal_date=a.renewal_date,
                other_csm=other,
                other_csm_name=_name(csms, other),
                handoff_on=move.handoff_on if move else None,
                wave=move.wave if move else None,
                reason=move.reason if move else "new account: its first CSM",
            )

        if new is not None:
            gains.setdefault(new, []).append(change(old, new))
        if old is not None and new is not None:
            losses.setdefault(old, []).append(change(new, old))
    loads_before, loads_after = _loads(book, before, hours_of), _loads(book, after, hours_of)
    capacities = {c.id: rules.capacity_hours(c, policy) for c in book.csms}
    entries: list[CSMChanges] = []
    for csm_id in [c.id for c in book.csms if c.id in gains or c.id in losses]:
        hb, ab, nb = loads_before.get(csm_id, (0.0, 0.0, 0))
        ha, aa, na = loads_after.get(csm_id, (0.0, 0.0, 0))
        cap = capacities.get(csm_id, 0.0)
        entries.append(
            CSMChanges(
                csm=csm_id,
                csm_name=_name(csms, csm_id) or csm_id,
                gains=sorted(gains.get(csm_id, []), key=_by_handoff),
                losses=sorted(losses.get(csm_id, []), key=_by_handoff),
                hours_before=round(hb, 2),
                hours_after=round(ha, 2),
                arr_before=round(ab, 2),
                arr_after=round(aa, 2),
                accounts_before=nb,
                accounts_after=na,
                capacity_hours=round(cap, 2),
                utilization_before=round(hb / cap, 4) if cap > 0 else None,
                utilization_after=round(ha / cap, 4) if cap > 0 else None,
            )
        )
    return PlanChanges(
        plan_id=found.plan_id,
        status="approved" if found.approved else "proposal",
        as_of=plan.as_of,
        csms=entries,
    )


def _by_handoff(change: AccountChange) -> tuple[dt.date, str]:
    return (change.handoff_on or dt.date.max, change.account)


def change_sheet_for(changes: PlanChanges, csm_id: str) -> CSMChanges:
    """One CSM's change sheet; 404 when the plan does not change their book."""
    for entry in changes.csms:
        if entry.csm == csm_id:
            return entry
    raise NotFound(f"plan {changes.plan_id!r} does not change {csm_id!r}'s book", field="csm", value=csm_id)


def changes_csv(changes: PlanChanges) -> str:
    """The change sheets as one CSV row per account gained or lost."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHANGE_COLUMNS)
    for entry in changes.csms:
        for kind, items in (("gain", entry.gains), ("loss", entry.losses)):
            for c in items:
                writer.writerow(
                    safe_row(
                        [
                            entry.csm,
                            entry.csm_name,
                            kind,
                            c.account,
                            c.account_name,
                            c.arr,
                            c.hours,
                            c.renewal_date,
                            c.other_csm,
                            c.other_csm_name,
                            c.handoff_on,
                            c.wave,
                            c.reason,
                        ]
                    )
                )
    return out.getvalue()


# ---------------------------------------------------------------- CRM write-back files


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula: text starting with =, +, -, @, tab or carriage
    return gets a leading apostrophe (OWASP's CSV-injection advice)."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def safe_row(values: Iterable[Any]) -> list[str]:
    return [safe_cell(v) for v in values]


def moves_of_wave(found: PlanForHandoffs, wave: int | None) -> list[Move]:
    """The plan's moves, or one wave's; a wave the plan does not have is bad input naming `wave`."""
    if wave is None:
        return list(found.plan.moves)
    waves = sorted({m.wave for m in found.plan.moves if m.wave is not None})
    if wave not in waves:
        have = f"waves 1–{waves[-1]}" if waves else "no waves (no moves)"
        raise BookError(f"wave: plan {found.plan_id!r} has {have} (got {wave})", field="wave", value=wave)
    return [m for m in found.plan.moves if m.wave == wave]


def check_identities(found: PlanForHandoffs, moves: list[Move], fmt: CrmFormat) -> None:
    """Every receiving CSM has the identity the CRM needs (Salesforce user id, HubSpot owner email); else
    bad input naming each CSM without it."""
    field = CRM_IDENTITY[fmt]
    if field is None:
        return
    missing = sorted({m.to for m in moves if getattr(found.csms.get(m.to), field, None) is None})
    if missing:
        raise BookError(
            f"csms.{field}: the {fmt} file needs the {field} of every receiving CSM; missing for "
            f"{', '.join(missing)} (set it with PUT /v1/book/csms/{{id}} or a CSM CSV import)",
            field=f"csms.{field}",
            value=missing,
        )


def handoffs_csv(found: PlanForHandoffs, fmt: CrmFormat, wave: int | None = None) -> str:
    """The file a CRM's import tool loads: one row per move (of one wave if asked), the new owner named as
    that CRM knows them; the generic file marks every row a proposal until the plan is approved."""
    if fmt not in CRM_FORMATS:
        raise BookError(
            f"format: must be one of {', '.join(CRM_FORMATS)} (got {fmt!r})", field="format", value=fmt
        )
    moves = moves_of_wave(found, wave)
    check_identities(found, moves, fmt)
    accounts = {a.id: a for a in found.book.accounts}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as CRM import tools expect
    writer.writerow(CRM_HEADERS[fmt])
    status = "approved" if found.approved else "proposal"
    for m in moves:
        to = found.csms.get(m.to)
        if fmt == "salesforce":
            row: list[Any] = [m.account, to.crm_user_id if to else None]
        elif fmt == "hubspot":
            row = [m.account, to.email if to else None]
        else:
            account = accounts.get(m.account)
            row = [
                m.account,
                (account.name if account else None) or m.account,
                m.from_,
                _name(found.csms, m.from_),
                m.to,
                _name(found.csms, m.to),
                m.arr,
                m.hours,
                m.handoff_on,
                m.wave,
                m.reason,
                status,
            ]
        writer.writerow(safe_row(row))
    return out.getvalue()


def handoffs_filename(found: PlanForHandoffs, fmt: CrmFormat, wave: int | None) -> str:
    suffix = f"-wave{wave}" if wave is not None else ""
    proposal = "" if found.approved else "-proposal"
    return f"handoffs-{found.plan_id[:8]}-{fmt}{suffix}{proposal}.csv"
