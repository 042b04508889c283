"""The what-if: the book as the request says (CSMs removed, their accounts freed, and added; policy
overrides), checked field by field, and the notes on what the report does not model."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from solver import policy as rules
from solver.errors import BookError
from solver.gaps.models import GapRequest
from solver.schema import Book, Tier


def _scenario(book: Book, request: GapRequest) -> Book:
    """The book as the what-if says: CSMs removed (their accounts freed) and added, policy overrides."""
    known = {c.id for c in book.csms}
    for i, csm_id in enumerate(request.remove_csms):
        if csm_id not in known:
            raise BookError(
                f"remove_csms[{i}]: unknown CSM {csm_id!r}", field=f"remove_csms[{i}]", value=csm_id
            )
    known_segments = rules.segment_order(book.policy)
    for what, names in (("levels", request.levels), ("growth", request.growth)):
        for name in names:
            if name not in known_segments:
                raise BookError(
                    f"{what}.{name}: unknown segment {name!r}; known segments: {', '.join(known_segments)}",
                    field=f"{what}.{name}",
                    value=name,
                )
    removed = set(request.remove_csms)
    kept = [c for c in book.csms if c.id not in removed]
    ids = {c.id for c in kept}
    for i, csm in enumerate(request.add_csms):
        if csm.id in ids:
            raise BookError(
                f"add_csms[{i}].id: duplicate CSM id {csm.id!r}", field=f"add_csms[{i}].id", value=csm.id
            )
        if csm.start_date and csm.end_date and csm.end_date < csm.start_date:
            raise BookError(
                f"add_csms[{i}].end_date: {csm.end_date.isoformat()} is before start_date "
                f"{csm.start_date.isoformat()}",
                field=f"add_csms[{i}].end_date",
            )
        ids.add(csm.id)
    accounts = [
        a.model_copy(update={"current_csm": None, "pinned": False}) if a.current_csm in removed else a
        for a in book.accounts
    ]
    overrides: dict[str, Any] = {}
    if request.hiring_lead_days is not None:
        overrides["hiring_lead_days"] = request.hiring_lead_days
    if request.ramp_days is not None:
        overrides["ramp_days"] = request.ramp_days
    policy = book.policy.model_copy(update={**overrides, "as_of": rules.as_of(book.policy)})
    pairs = [p for p in book.pairs if p.csm not in removed]
    # Everything was validated already (book and request); construct without re-validating 20,000 accounts.
    return Book.model_construct(
        accounts=accounts, csms=[*kept, *request.add_csms], policy=policy, pairs=pairs
    )


def _scenario_notes(scenario: Book) -> list[str]:
    notes = []
    if scenario.pairs:
        notes.append("pair overrides (hours, bans) are not modelled: pools use each account's own hours")
    if scenario.policy.language_match == "hard":
        languages: dict[tuple[Tier, str | None], set[str]] = defaultdict(set)
        for a in scenario.accounts:
            if a.language is not None:
                languages[(a.tier, a.region)].add(a.language)
        if any(len(v) > 1 for v in languages.values()):
            notes.append(
                "pools with several languages assume their CSMs (and hires) cover the pool's languages"
            )
    return notes
