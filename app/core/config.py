"""Service settings, read once from the environment (prefix `BOOKPLAN_`, except `DATABASE_URL`)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.paths import DEFAULT_DATABASE_PATH


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKPLAN_", extra="ignore")

    # An SQLite file by default, so `bookplan serve` works with nothing configured.
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATABASE_PATH}",
        validation_alias=AliasChoices("DATABASE_URL", "BOOKPLAN_DATABASE_URL"),
    )
    solve_time_limit_seconds: float = Field(default=30.0, gt=0, le=86_400)
    # CP-SAT can overrun its own time limit: the child process is killed this long after it.
    job_hard_deadline_grace_seconds: float = Field(default=15.0, ge=0, le=3600)
    # A cancelled child gets this long to exit on SIGTERM before SIGKILL.
    cancel_grace_seconds: float = Field(default=1.5, ge=0, le=4)
    sync_solve_max_accounts: int = Field(default=2_000, ge=1)
    sync_solve_concurrency: int = Field(default=2, ge=1, le=64)
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    runner_concurrency: int = Field(default=1, ge=0, le=64)
    runner_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # A job that was running when the service stopped is re-run this many times in all, then failed.
    job_max_attempts: int = Field(default=2, ge=1, le=10)
    cp_sat_workers: int | None = Field(default=None, ge=1, le=64)
    # How solve children start: "forkserver" (a clean process with the engine preloaded forks each one) or
    # "spawn" (a fresh interpreter per solve: slower, 1.5-3 s to import OR-Tools).
    child_start_method: Literal["forkserver", "spawn"] = "forkserver"
    # Solver children run this much nicer than the service, so answering requests wins the CPU from a
    # background solve on a busy machine (0: same priority).
    child_nice: int = Field(default=10, ge=0, le=19)
    # "module:function" with solver.engine.solve's signature; tests point it at slow or crashing solvers.
    solve_function: str = "solver.engine:solve"
    # Only an absent default SQLite file is created and migrated by `serve`; anything else must be migrated.
    auto_create_default_database: bool = True
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=600)
    # Distributed plan jobs (app/runner/distributed.py, docs/scaling-out.md): "procrastinate" defers each job
    # to `bookplan worker` processes through PostgreSQL; "inprocess" solves in the service (the only choice
    # on SQLite); "auto" (the default) is procrastinate on PostgreSQL and inprocess on SQLite.
    runner: Literal["auto", "inprocess", "procrastinate"] = "auto"
    # Concurrent solves per worker; None: os.cpu_count() // cp_sat_workers (at least 1).
    worker_concurrency: int | None = Field(default=None, ge=1, le=256)
    # A worker whose heartbeat is older than this is presumed dead: its job is retried elsewhere.
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, le=600)
    worker_stall_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How often the schedule, stalled jobs and webhook deliveries are looked at (workers, or the service).
    tick_seconds: float = Field(default=5.0, gt=0, le=600)
    schedule_timezone: str = "UTC"
    # Addresses (IPs or CIDR networks, comma-separated) of the reverse proxies whose X-Forwarded-Proto and
    # X-Forwarded-For are believed: behind a TLS proxy the session cookie is then `Secure` and the login
    # form's Origin check sees https. Empty (the default): no proxy is trusted, the headers are ignored.
    trusted_proxies: str = Field(default="", max_length=2000)
    # The most CP-SAT workers one solve may ask for (`policy.workers`): more is 422, since one plan would
    # otherwise take every core of the machine.
    max_solve_workers: int = Field(default=8, ge=1, le=64)
    # The longest time limit one plan job, synchronous solve or hiring-gap report may ask for (422 beyond).
    max_time_limit_seconds: float = Field(default=600.0, gt=0, le=86_400)
    # Queued + running plan jobs one API key may have at once (429 with Retry-After beyond; 0: no limit).
    max_active_jobs_per_key: int = Field(default=4, ge=0, le=10_000)
    # Hiring-gap reports computed at once (each in its own solver process); more: 503 with Retry-After.
    gap_report_concurrency: int = Field(default=2, ge=1, le=64)
    # `bookplan purge` removes plan jobs older than this many days (approved ones and the audit log stay);
    # with `purge_daily`, the service (or a worker) runs it once a day.
    retention_days: int = Field(default=90, ge=1, le=36_500)
    purge_daily: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=2.0, ge=0, le=3600)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_workers(self) -> bool:
        """Plan jobs go to `bookplan worker` processes (PostgreSQL only) instead of the service's threads."""
        return self.runner in ("auto", "procrastinate") and not self.is_sqlite

    def effective_worker_concurrency(self) -> int:
        if self.worker_concurrency is not None:
            return self.worker_concurrency
        return max(1, (os.cpu_count() or 1) // (self.cp_sat_workers or 1))


@lru_cache
def get_settings() -> Settings:
    return Settings()
