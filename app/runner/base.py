"""What the service needs from whatever executes plan jobs.

Jobs live in the `plan_job` table; a runner claims queued ones, solves them and writes back progress and
the outcome. The embedded default is `InProcessRunner`; a distributed one (procrastinate workers on
PostgreSQL) can implement the same four methods.
"""

from __future__ import annotations

from typing import Protocol


class JobRunner(Protocol):
    def start(self) -> None:
        """Recover jobs left running by a previous process, then begin executing queued jobs."""

    def stop(self) -> None:
        """Stop taking jobs; running solves are stopped and their jobs left for the next start to recover."""

    def enqueue(self, job_id: str) -> None:
        """A job row was committed with status `queued`: run it when a slot is free."""

    def cancel(self, job_id: str) -> None:
        """The job was marked cancelled: stop its solve now if it is running here."""
