"""What the pages show of carrying out a rebalance: the waves as a calendar (accounts per receiving CSM per
week), the handoffs in progress in the stored book, and a CSM's change sheet in plain words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.models_handoffs import AccountChange, CSMChanges
from app.pages.views import hours, money, tier_label
from solver.schema import Book, Plan

CALENDAR_WAVES = 26  # half a year of weeks on one screen; later waves are listed by count


@dataclass
class CalendarRow:
    csm: str
    name: str
    cells: dict[int, list[str]] = field(default_factory=dict)  # wave → account names
    total: int = 0


@dataclass
class Calendar:
    waves: list[tuple[int, dt.date]]
    rows: list[CalendarRow]
    later: int  # moves in waves past the ones shown
    per_week: int  # the policy's handoffs_per_week


def handoff_calendar(plan: Plan, book: Book) -> Calendar | None:
    """The plan's waves as a calendar: one row per receiving CSM, one column per week, the accounts they take
    over that week."""
    if not plan.moves or plan.as_of is None:
        return None
    names = {c.id: c.name or c.id for c in book.csms}
    accounts = {a.id: a.name or a.id for a in book.accounts}
    last = max(m.wave or 1 for m in plan.moves)
    shown = min(last, CALENDAR_WAVES)
    rows: dict[str, CalendarRow] = {}
    later = 0
    for m in sorted(plan.moves, key=lambda m: (m.handoff_on or dt.date.max, m.account)):
        row = rows.setdefault(m.to, CalendarRow(m.to, names.get(m.to, m.to)))
        row.total += 1
        wave = m.wave or 1
        if wave > shown:
            later += 1
            continue
        row.cells.setdefault(wave, []).append(accounts.get(m.account, m.account))
    waves = [(k, plan.as_of + dt.timedelta(days=7 * (k - 1))) for k in range(1, shown + 1)]
    rows_by_name = sorted(rows.values(), key=lambda r: r.name.lower())
    return Calendar(waves, rows_by_name, later, book.policy.handoffs_per_week)


def changed_csms(plan: Plan, book: Book) -> list[tuple[str, str]]:
    """(id, name) of each CSM the plan's moves give or take accounts from, for links to their sheets."""
    ids = {m.to for m in plan.moves} | {m.from_ for m in plan.moves if m.from_ is not None}
    names = {c.id: c.name or c.id for c in book.csms}
    return sorted(((i, names.get(i, i)) for i in ids), key=lambda x: x[1].lower())


def reference_day(book: Book) -> dt.date:
    """The day handoffs are judged against: the book's as_of, else today."""
    return book.policy.as_of or dt.date.today()


def handoffs_in_progress(book: Book, csm_id: str | None = None) -> list[dict[str, Any]]:
    """Accounts an approved plan moved whose handoff day has not passed yet (of one CSM, given or taken)."""
    today = reference_day(book)
    names = {c.id: c.name or c.id for c in book.csms}
    out = []
    for a in book.accounts:
        if a.previous_csm is None or a.handoff_on is None or a.handoff_on < today:
            continue
        if csm_id is not None and csm_id not in (a.previous_csm, a.current_csm):
            continue
        out.append(
            {
                "id": a.id,
                "name": a.name or a.id,
                "from": a.previous_csm,
                "from_name": names.get(a.previous_csm, a.previous_csm),
                "to": a.current_csm,
                "to_name": names.get(a.current_csm or "", a.current_csm or "nobody"),
                "handoff_on": a.handoff_on,
                "in_days": (a.handoff_on - today).days,
                "arr": a.arr,
                "incoming": csm_id is not None and a.current_csm == csm_id,
            }
        )
    return sorted(out, key=lambda h: (h["handoff_on"], h["name"].lower()))


def _day(value: dt.date | None) -> str:
    return value.strftime("%A %-d %B %Y") if value else "a day not yet set"


def gain_sentence(change: AccountChange, book: Book) -> str:
    """A gained account in plain words: what it is, who hands it over, when, and why."""
    tier = next((tier_label(a.tier, book.policy) for a in book.accounts if a.id == change.account), "")
    renewal = f", renews {_day(change.renewal_date)}" if change.renewal_date else ""
    source = f"from {change.other_csm_name}" if change.other_csm else "as a new account"
    when = f" on {_day(change.handoff_on)} (week {change.wave})" if change.handoff_on else ""
    return (
        f"You take over {change.account_name} ({tier}, {money(change.arr)} ARR, {hours(change.hours)} a year"
        f"{renewal}) {source}{when}. Why: {change.reason}."
    )


def loss_sentence(change: AccountChange) -> str:
    """A lost account in plain words: who takes it over, when, and why."""
    renewal = f", renews {_day(change.renewal_date)}" if change.renewal_date else ""
    when = f" on {_day(change.handoff_on)} (week {change.wave})" if change.handoff_on else ""
    return (
        f"You hand {change.account_name} ({money(change.arr)} ARR, {hours(change.hours)} a year{renewal}) "
        f"over to {change.other_csm_name}{when}. Why: {change.reason}."
    )


def load_sentence(sheet: CSMChanges) -> str:
    """The CSM's load before and after, in one sentence."""
    gained, lost = len(sheet.gains), len(sheet.losses)
    parts = []
    if gained:
        parts.append(f"take over {gained} account{'s' if gained != 1 else ''}")
    if lost:
        parts.append(f"hand over {lost}")
    change = " and ".join(parts) or "keep your book as it is"
    util = ""
    if sheet.utilization_before is not None and sheet.utilization_after is not None:
        util = f" ({sheet.utilization_before * 100:.0f}% → {sheet.utilization_after * 100:.0f}% of your capacity)"
    return (
        f"You {change}: your book goes from {sheet.accounts_before} to {sheet.accounts_after} accounts, "
        f"{hours(sheet.hours_before)} to {hours(sheet.hours_after)} of work a year{util}, and "
        f"{money(sheet.arr_before)} to {money(sheet.arr_after)} ARR."
    )
