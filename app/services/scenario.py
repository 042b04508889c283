"""What-if plans on the stored book: CSMs removed (they leave on the plan's date) or added. A scenario's
plan can be read and compared, never approved."""

from __future__ import annotations

from pydantic import ValidationError

from app.models import Scenario
from solver.errors import BookError, describe_validation_error
from solver.policy import as_of
from solver.schema import Book


def apply_scenario(book: Book, scenario: Scenario) -> Book:
    """The book with the scenario's CSMs gone (leaving on `as_of`, so their accounts must move) and its new
    CSMs added; unknown or duplicate ids are bad input naming them."""
    known = {c.id for c in book.csms}
    unknown = sorted(set(scenario.remove_csms) - known)
    if unknown:
        raise BookError(
            f"scenario.remove_csms: no such CSM in the stored book: {', '.join(unknown)}",
            field="scenario.remove_csms",
            value=unknown,
        )
    taken = sorted({c.id for c in scenario.add_csms} & known)
    if taken:
        raise BookError(
            f"scenario.add_csms: these CSM ids are already in the book: {', '.join(taken)}",
            field="scenario.add_csms",
            value=taken,
        )
    leaving = set(scenario.remove_csms)
    today = as_of(book.policy)
    csms = [*book.csms, *scenario.add_csms]
    try:
        return Book.model_validate(
            {
                **book.model_dump(mode="json", by_alias=True, exclude_unset=True),
                "csms": [
                    c.model_dump(mode="json", by_alias=True, exclude_unset=True) | _end(c.id, leaving, today)
                    for c in csms
                ],
            }
        )
    except ValidationError as exc:
        raise BookError("scenario: " + describe_validation_error(exc), field="scenario") from None


def _end(csm_id: str, leaving: set[str], today: object) -> dict[str, object]:
    return {"end_date": str(today)} if csm_id in leaving else {}


def scenario_record(scenario: Scenario) -> dict[str, list[str]]:
    """What the plan job keeps of its scenario: the ids removed and added."""
    return {"remove_csms": list(scenario.remove_csms), "add_csms": [c.id for c in scenario.add_csms]}
