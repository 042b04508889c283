"""Webhooks: when a plan ends, its summary (moves, largest utilization, hiring gap) is posted to the
configured URL, signed with HMAC-SHA256, and retried with exponential back-off until it is accepted.

Deliveries are rows (`webhook_delivery`, one per plan): any ticker (a worker, the service) creates the
missing ones; a `WebhookSender` thread of its own sends the due ones (so a slow receiver never delays the
schedule), each claimed for the length of one attempt so two senders never post the same attempt. Each
carries `X-Bookplan-Delivery: <id>`, the same on every retry, so a receiver can drop duplicates. The receiver verifies `X-Bookplan-Signature: sha256=<hex>`, the HMAC-SHA256 with the
shared secret of `<X-Bookplan-Timestamp>.<body>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.config import Settings
from app.core.db import Database
from app.models import PlanJob, utcnow
from app.models_handoffs import HandoffNotice
from app.models_workers import ScheduleRun, WebhookDelivery

log = logging.getLogger("bookplan.webhooks")
_JOBS = PlanJob.__table__  # type: ignore[attr-defined]
_DELIVERIES = WebhookDelivery.__table__  # type: ignore[attr-defined]
_RUNS = ScheduleRun.__table__  # type: ignore[attr-defined]
_NOTICES = HandoffNotice.__table__  # type: ignore[attr-defined]
SIGNATURE_HEADER = "X-Bookplan-Signature"
TIMESTAMP_HEADER = "X-Bookplan-Timestamp"
# The delivery's id, the same on every retry of it: a receiver that saw it already can answer 2xx again.
DELIVERY_HEADER = "X-Bookplan-Delivery"
# Plans that ended longer ago than this when a URL is first configured are not announced.
LOOKBACK = dt.timedelta(days=1)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (also used by the tests): constant-time comparison of the expected signature."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


def summary(row: Any, period: dt.datetime | None) -> dict[str, Any]:
    """The webhook body of one finished plan."""
    moves = max_utilization = hours_over = unassigned = None
    if row.plan is not None:
        plan = json.loads(row.plan)
        moves = len(plan.get("moves") or [])
        max_utilization = plan.get("max_utilization")
        unassigned = len(plan.get("unassigned") or [])
        # Hours of work beyond the CSMs' capacity: what hiring has to cover.
        hours_over = round(
            sum(max(0.0, load["hours"] - load["capacity_hours"]) for load in plan.get("csm_loads") or []), 1
        )
    return {
        "event": "plan.finished",
        "plan_id": row.id,
        "url": f"/v1/plans/{row.id}",
        "status": row.status,
        "plan_status": row.plan_status,
        "source": row.source,
        "requested_by": row.requested_by,
        "scheduled_period": _iso(period),
        "finished_at": _iso(row.finished_at),
        "moves": moves,
        "max_utilization": max_utilization,
        "hiring_gap": {"hours_over_capacity": hours_over, "unassigned_accounts": unassigned},
        "error": row.error,
    }


def create_deliveries(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """A pending delivery for every plan that ended recently and has none yet."""
    if not settings.webhook_url:
        return 0
    now = now or utcnow()
    with db.session() as session:
        rows = session.execute(
            select(
                _JOBS.c.id,
                _JOBS.c.status,
                _JOBS.c.plan_status,
                _JOBS.c.source,
                _JOBS.c.requested_by,
                _JOBS.c.finished_at,
                _JOBS.c.plan,
                _JOBS.c.error,
                _RUNS.c.period,
            )
            .outerjoin(_DELIVERIES, _DELIVERIES.c.plan_id == _JOBS.c.id)
            .outerjoin(_RUNS, _RUNS.c.plan_id == _JOBS.c.id)
            .where(
                _DELIVERIES.c.id.is_(None),
                _JOBS.c.status.in_(("succeeded", "failed")),
                _JOBS.c.finished_at >= _utc(now - LOOKBACK),
            )
            .limit(500)
        ).all()
    if not rows:
        return 0
    values = [
        {
            "plan_id": row.id,
            "url": settings.webhook_url,
            "payload": json.dumps(summary(row, row.period), separators=(",", ":")),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": _utc(now),
            "created_at": _utc(now),
        }
        for row in rows
    ]
    with db.writing() as session:
        dialect = session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert if dialect == "sqlite" else None
        if make is None:
            session.execute(insert(_DELIVERIES), values)
        else:
            # Another ticker may have created the same plan's delivery meanwhile: one row per plan.
            session.execute(make(_DELIVERIES).on_conflict_do_nothing(index_elements=["plan_id"]), values)
    return len(values)


def deliver_due(
    db: Database, settings: Settings, client: httpx.Client | None = None, table: Any = _DELIVERIES
) -> int:
    """Send every due delivery once; returns how many were accepted (2xx). `table` is any table of the
    same columns (`handoff_notice` holds the `handoffs.due` events)."""
    now = utcnow()
    with db.session() as session:
        due = session.execute(
            select(table.c.id)
            .where(
                table.c.status == "pending",
                table.c.next_attempt_at <= _utc(now),
                (table.c.locked_until.is_(None)) | (table.c.locked_until < _utc(now)),
            )
            .order_by(table.c.next_attempt_at)
            .limit(100)
        ).all()
    if not due:
        return 0
    own = client or httpx.Client(timeout=settings.webhook_timeout_seconds)
    delivered = 0
    try:
        for (delivery_id,) in due:
            delivered += _attempt(db, settings, own, delivery_id, table)
    finally:
        if client is None:
            own.close()
    return delivered


def _attempt(db: Database, settings: Settings, client: httpx.Client, delivery_id: int, table: Any) -> int:
    now = utcnow()
    lease = dt.timedelta(seconds=settings.webhook_timeout_seconds + 5)
    with db.writing() as session:
        claimed = session.execute(
            update(table)
            .where(
                table.c.id == delivery_id,
                table.c.status == "pending",
                (table.c.locked_until.is_(None)) | (table.c.locked_until < _utc(now)),
            )
            .values(locked_until=_utc(now + lease))
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return 0
        row = session.execute(
            select(table.c.url, table.c.payload, table.c.attempts).where(table.c.id == delivery_id)
        ).one()
    body = row.payload.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        # Deliveries and handoff notices number their rows apart: the table's name keeps the id unique.
        DELIVERY_HEADER: str(delivery_id) if table is _DELIVERIES else f"{table.name}-{delivery_id}",
    }
    if settings.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(settings.webhook_secret, timestamp, body)
    error: str | None = None
    try:
        response = client.post(row.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            error = f"HTTP {response.status_code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    attempts = row.attempts + 1
    done = utcnow()
    if error is None:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": _utc(done), "last_error": None}
    elif attempts >= settings.webhook_max_attempts:
        values = {"status": "failed", "last_error": error}
        log.warning("webhook for delivery %s given up after %d attempts: %s", delivery_id, attempts, error)
    else:
        backoff = settings.webhook_backoff_seconds * 2 ** (attempts - 1)
        values = {"last_error": error, "next_attempt_at": _utc(done + dt.timedelta(seconds=backoff))}
    with db.writing() as session:
        session.execute(
            update(table)
            .where(table.c.id == delivery_id)
            .values(attempts=attempts, locked_until=None, **values)
        )
    return 1 if error is None else 0


class WebhookSender:
    """Sends due webhook deliveries on its own thread, every `tick_seconds`, apart from the schedule's
    ticker: a receiver that takes its full timeout delays other deliveries, never a scheduled plan."""

    def __init__(self, db: Database, settings: Settings) -> None:
        import threading

        self.db, self.settings = db, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bookplan-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.settings.webhook_timeout_seconds + 5)

    def _loop(self) -> None:
        with httpx.Client(timeout=self.settings.webhook_timeout_seconds) as client:
            while not self._stop.wait(self.settings.tick_seconds):
                if not self.settings.webhook_url:
                    continue
                try:
                    for table in (_DELIVERIES, _NOTICES):
                        deliver_due(self.db, self.settings, client, table=table)
                except Exception:  # a database hiccup must not end the sender
                    log.exception("webhook deliveries failed")
