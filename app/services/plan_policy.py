"""A plan job's policy: the overrides a request sets for one plan, the service's defaults and limits."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.core.config import Settings
from app.errors import BookError
from solver.errors import describe_validation_error
from solver.schema import Book, Policy, check_book


def apply_overrides(book: Book, overrides: dict[str, Any]) -> Book:
    if not overrides:
        return book
    try:
        policy = Policy.model_validate({**book.policy.model_dump(exclude_unset=True), **overrides})
    except ValidationError as exc:
        raise BookError("policy." + describe_validation_error(exc)) from None
    planned = book.model_copy(update={"policy": policy})
    try:
        # The book's own checks (segments, metrics) hold for the overridden policy too.
        check_book(planned)
    except ValueError as exc:
        message = str(exc)
        raise BookError(message, field=message.split(": ", 1)[0] if ": " in message else "policy") from None
    return planned


def with_service_defaults(book: Book, settings: Settings) -> Book:
    """The book as the child will solve it: the service's CP-SAT worker count when the policy has none
    (applied here, not in the child, so the job's input hash is the plan's)."""
    if settings.cp_sat_workers is None or book.policy.workers is not None:
        return book
    return book.model_copy(
        update={"policy": book.policy.model_copy(update={"workers": settings.cp_sat_workers})}
    )


def time_limit_for(book: Book, settings: Settings) -> float:
    """The policy's time limit when the book sets one, else the service's default."""
    if "time_limit_seconds" in book.policy.model_fields_set:
        return float(book.policy.time_limit_seconds)
    return settings.solve_time_limit_seconds


def check_solve_limits(book: Book, settings: Settings) -> None:
    """A solve may ask for at most the service's time limit and CP-SAT workers (422 naming the field)."""
    limit = time_limit_for(book, settings)
    if limit > settings.max_time_limit_seconds:
        raise BookError(
            f"policy.time_limit_seconds: {limit:g} s is more than this service allows one solve "
            f"({settings.max_time_limit_seconds:g} s; BOOKPLAN_MAX_TIME_LIMIT_SECONDS raises it)",
            field="policy.time_limit_seconds",
            value=limit,
        )
    workers = book.policy.workers
    if workers is not None and workers > settings.max_solve_workers:
        raise BookError(
            f"policy.workers: {workers} is more than this service allows one solve "
            f"({settings.max_solve_workers}; BOOKPLAN_MAX_SOLVE_WORKERS raises it)",
            field="policy.workers",
            value=workers,
        )
