"""`bookplan worker`: solve plan jobs from the PostgreSQL queue (procrastinate); run any number, anywhere.

Besides solving, each worker re-queues the jobs of workers that stopped heartbeating, starts the
scheduled plan of a period that has come, and sends webhooks; all of these are safe to run from every
worker at once (docs/scaling-out.md).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.commands._service import add_database_argument, fail, settings_from


def register(sub: Any) -> None:
    p = sub.add_parser(
        "worker", help="solve queued plan jobs (PostgreSQL: DATABASE_URL); run one per machine"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="plans solved at once (default: cores // BOOKPLAN_CP_SAT_WORKERS, at least 1)",
    )
    add_database_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.concurrency is not None and not 1 <= args.concurrency <= 256:
        return fail(f"--concurrency: expected 1 to 256 (got {args.concurrency})", 2)
    settings = settings_from(args)
    if settings.is_sqlite:
        return fail(
            "DATABASE_URL: workers need PostgreSQL (got an SQLite database; `bookplan serve` alone runs "
            "plan jobs on one machine)",
            2,
        )
    import asyncio
    import logging

    from app.core.db import Database, DatabaseNotMigrated, check_migrated

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    db = Database(settings.database_url)
    try:
        check_migrated(db.engine)
    except DatabaseNotMigrated as exc:
        db.dispose()
        return fail(f"refusing to start: {exc}")
    except Exception as exc:
        db.dispose()
        return fail(f"refusing to start: cannot open the database: {type(exc).__name__}: {exc}")
    if settings.cp_sat_workers is None:
        # Explicit, so that concurrency x CP-SAT threads matches the cores (the engine's own default would
        # put several threads behind every solve).
        settings = settings.model_copy(update={"cp_sat_workers": 1})
    concurrency = args.concurrency or settings.effective_worker_concurrency()
    print(
        f"bookplan: worker solving up to {concurrency} plans at once, "
        f"{settings.cp_sat_workers} CP-SAT worker(s) each",
        file=sys.stderr,
    )
    try:
        asyncio.run(serve_worker(db, settings, concurrency))
    finally:
        db.dispose()
    return 0


async def serve_worker(db: Any, settings: Any, concurrency: int) -> None:
    import asyncio
    import contextlib

    from app.runner.child import use_start_method
    from app.runner.distributed import DistributedRunner, retry_stalled_jobs
    from app.runner.queue import QUEUE, WorkerState, make_app, set_worker_state
    from app.services.schedule import maintenance

    # A worker is a threaded process: its solves start by spawn (a fresh interpreter), never by fork,
    # unless BOOKPLAN_CHILD_START_METHOD asks for the fork server (children in milliseconds, not seconds).
    method = settings.child_start_method if "child_start_method" in settings.model_fields_set else "spawn"
    use_start_method(method, settings.child_nice)
    set_worker_state(WorkerState(db=db, settings=settings))
    app = make_app(settings.database_url, pool_size=concurrency + 3)
    runner = DistributedRunner(db, settings)

    async def maintain() -> None:
        while True:
            await asyncio.sleep(settings.tick_seconds)
            try:
                await retry_stalled_jobs(app, settings)
            except Exception:
                logging_error("retrying stalled jobs failed")
            await asyncio.to_thread(maintenance, db, runner, settings)

    from app.services.webhooks import WebhookSender

    sender = WebhookSender(db, settings)  # deliveries on their own thread: a slow receiver delays no tick
    sender.start()
    async with app.open_async():
        side = asyncio.create_task(maintain())
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.worker_stall_seconds,
                install_signal_handlers=True,
            )
        finally:
            side.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await side
            set_worker_state(None)
            sender.stop()


def logging_error(message: str) -> None:
    import logging

    logging.getLogger("bookplan.worker").exception(message)
