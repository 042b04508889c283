"""Domain errors raised by the services; `app.api.errors` maps each to one HTTP status in one place."""

from __future__ import annotations

from typing import Any

from solver.errors import BookError

__all__ = [
    "BookError",
    "Busy",
    "Conflict",
    "DomainError",
    "Forbidden",
    "NotFound",
    "PreconditionFailed",
    "SolveFailed",
    "Stale",
    "TooLarge",
    "TooManyJobs",
    "Unauthorized",
]


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


class NotFound(DomainError):
    """The plan, account or CSM named does not exist."""


class Conflict(DomainError):
    """The request contradicts the current state (already approved, still running, key reused...)."""


class Stale(Conflict):
    """The plan was computed on a book that has changed since; `changes` says how."""

    def __init__(self, message: str, *, changes: dict[str, Any]) -> None:
        super().__init__(message)
        self.changes = changes


class TooLarge(DomainError):
    """The request is too large for this route (the message says where to go instead)."""


class Busy(DomainError):
    """Every slot for synchronous solves is taken; retry later or use /v1/plans."""


class Unauthorized(DomainError):
    """No key, or a key that is not known (or revoked)."""


class Forbidden(DomainError):
    """A valid key without the scope this route needs."""


class SolveFailed(DomainError):
    """The solver crashed or overran its hard deadline: the service is fine, this solve is not."""


class PreconditionFailed(DomainError):
    """`If-Match` named a book revision that is no longer current: the client read an older book."""

    def __init__(self, message: str, *, revision: int) -> None:
        super().__init__(message, field="If-Match", value=None)
        self.revision = revision


class TooManyJobs(DomainError):
    """The key already has as many queued and running plan jobs as the service allows."""
