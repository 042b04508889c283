"""Partial approval: apply only some of a plan's moves, and only when the book they leave breaks no hard
rule that the current book keeps (a CSM over capacity because the move that relieved her was left out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from app.errors import BookError, Conflict
from app.services.book import load_book
from solver.book_check import new_breaks


def choose_moves(plan_id: str, moves: Sequence[Any], selected: list[str]) -> tuple[list[Any], list[Any]]:
    """The plan's moves split into those approved and those left; ids that are not moves of the plan are
    bad input naming them."""
    if not selected:
        raise BookError(
            "moves: name at least one move to approve (or leave `moves` out to approve them all)",
            field="moves",
            value=[],
        )
    by_account = {m.account: m for m in moves}
    unknown = sorted({a for a in selected if a not in by_account})
    if unknown:
        raise BookError(
            f"moves: not moves of plan {plan_id}: {', '.join(unknown[:20])}"
            + (f" (and {len(unknown) - 20} more)" if len(unknown) > 20 else ""),
            field="moves",
            value=unknown[:20],
        )
    chosen = set(selected)
    return [m for m in moves if m.account in chosen], [m for m in moves if m.account not in chosen]


def check_partial_book(session: Session, plan_id: str, approved: list[Any]) -> None:
    """Refuse (409, naming the rule, the CSM and the figures) when the stored book with only `approved`
    applied breaks a hard rule the stored book as it is keeps."""
    before, _revision = load_book(session)
    target = {m.account: m.to_csm for m in approved}
    after = before.model_copy(
        update={
            "accounts": [
                a.model_copy(update={"current_csm": target[a.id]}) if a.id in target else a
                for a in before.accounts
            ]
        }
    )
    broken = new_breaks(before, after)
    if broken:
        first = broken[0]
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise Conflict(
            f"approving only these {len(approved)} moves of plan {plan_id} breaks {first.rule}: "
            f"{first.message}{more}; approve the moves that relieve it too, or all of them; nothing applied",
            field="moves",
            value={
                "rule": first.rule,
                "who": first.who,
                "figure": round(first.figure, 4),
                "limit": round(first.limit, 4),
            },
        )


def partial_detail(approved: Sequence[Any], left: Sequence[Any], partial: bool) -> dict[str, Any]:
    """What the approval's audit event records of a partial approval: the moves approved and left."""
    if not partial:
        return {}
    return {
        "partial": True,
        "approved_moves": [m.account for m in approved],
        "left_moves": [m.account for m in left],
    }


def refuse_scenario(job: Any) -> None:
    """A scenario (CSMs removed or added, or an inline book) is a what-if: never applied to the stored book."""
    if job.scenario is None and job.source == "stored":
        return
    what = (
        "a plan of an inline book"
        if job.source != "stored"
        else "a what-if on the stored book ("
        + "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in (job.scenario or {}).items() if v)
        + ")"
    )
    raise Conflict(
        f"plan {job.id} is a scenario, {what}: it can be read and compared, never approved "
        "against the stored book",
        field="plan_id",
        value=job.id,
    )
