"""Webhook deliveries: on their own thread (a slow receiver delays no scheduled work), with a delivery id,
and the documented receiver refusing stale timestamps and replays."""

from __future__ import annotations

import importlib.util
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from conftest import Api

from app.models_workers import WebhookDelivery
from app.services.schedule import maintenance
from app.services.webhooks import DELIVERY_HEADER, TIMESTAMP_HEADER, deliver_due, sign

RECEIVER = Path(__file__).resolve().parents[2] / "docs" / "webhook_receiver.py"


class _SlowReceiver(BaseHTTPRequestHandler):
    delay = 2.0
    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(type(self).delay)
        type(self).received.append(dict(self.headers))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_slow_receiver_delays_no_maintenance_round_and_gets_the_delivery_id(make_api: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowReceiver)
    _SlowReceiver.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        api: Api = make_api(runner_concurrency=0, webhook_url=url, tick_seconds=600)
        settings = api.client.app.state.settings  # type: ignore[attr-defined]
        with api.db.writing() as session:
            session.add(WebhookDelivery(plan_id="p1", url=url, payload="{}"))
        started = time.monotonic()
        maintenance(api.db, api.client.app.state.runner, settings)  # type: ignore[attr-defined]
        assert time.monotonic() - started < 1.0, "the schedule's round waited for the receiver"
        assert deliver_due(api.db, settings) == 1  # what the sender thread does
    finally:
        server.shutdown()
        server.server_close()
    with api.db.session() as session:
        delivery = session.get(WebhookDelivery, 1)
    assert delivery is not None and delivery.status == "delivered"
    assert _SlowReceiver.received[0][DELIVERY_HEADER] == str(delivery.id)


def _receiver_module() -> Any:
    spec = importlib.util.spec_from_file_location("webhook_receiver", RECEIVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_receiver_refuses_stale_timestamps_forgeries_and_acts_once_per_delivery() -> None:
    receiver = _receiver_module()
    body = b'{"event":"plan.finished"}'
    now = time.time()

    def headers(at: float, delivery: str = "7", secret: str = "s3cret") -> dict[str, str]:
        stamp = str(int(at))
        return {
            TIMESTAMP_HEADER: stamp,
            "X-Bookplan-Signature": sign(secret, stamp, body),
            DELIVERY_HEADER: delivery,
        }

    seen: set[str] = set()
    assert receiver.check_delivery("s3cret", headers(now), body, seen, now) == (200, "accepted")
    assert receiver.check_delivery("s3cret", headers(now), body, seen, now) == (200, "already handled")
    stale = headers(now - 3600, delivery="8")
    assert receiver.check_delivery("s3cret", stale, body, seen, now) == (400, "stale timestamp")
    forged = headers(now, delivery="9", secret="guess")
    assert receiver.check_delivery("s3cret", forged, body, seen, now) == (400, "bad signature")
    assert seen == {"7"}
