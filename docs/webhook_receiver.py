"""A webhook receiver for bookplan's `plan.finished` deliveries (standard library only).

It accepts a delivery only when the signature matches, the timestamp is recent (a captured delivery
replayed later is refused) and its `X-Bookplan-Delivery` id was not handled already (a retry of a delivery
it accepted answers 200 again without acting twice). Run it:

    BOOKPLAN_WEBHOOK_SECRET=... python docs/webhook_receiver.py 8088
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_AGE_SECONDS = 300  # older (or further in the future) than five minutes: refused as stale


def check_delivery(
    secret: str, headers: dict[str, str], body: bytes, seen: set[str], now: float | None = None
) -> tuple[int, str]:
    """The HTTP status to answer and why: 200 (new or already handled), 400 (stale, unsigned, forged)."""
    timestamp = headers.get("X-Bookplan-Timestamp", "")
    signature = headers.get("X-Bookplan-Signature", "")
    delivery = headers.get("X-Bookplan-Delivery", "")
    if not timestamp.isdigit() or not delivery:
        return 400, "missing timestamp or delivery id"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return 400, "stale timestamp"
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest("sha256=" + digest, signature):
        return 400, "bad signature"
    if delivery in seen:
        return 200, "already handled"
    seen.add(delivery)
    return 200, "accepted"


class Receiver(BaseHTTPRequestHandler):
    secret = os.environ.get("BOOKPLAN_WEBHOOK_SECRET", "")
    seen: set[str] = set()  # a real receiver keeps these in its database

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, reason = check_delivery(self.secret, dict(self.headers), body, self.seen)
        if reason == "accepted":
            print(body.decode(), flush=True)  # act on the plan summary here
        self.send_response(status)
        self.end_headers()
        self.wfile.write(reason.encode())


if __name__ == "__main__":
    ThreadingHTTPServer(
        ("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8088), Receiver
    ).serve_forever()
