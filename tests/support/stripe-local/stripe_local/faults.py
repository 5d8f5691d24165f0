"""Faults tests queue up: what the next N requests to a route suffer on their way in or out.

Kinds, chosen to match what the Stripe SDK retries (409, 5xx, connection errors, and any
answer carrying `Stripe-Should-Retry: true`):
- `error`: answered 500 or 503 before anything executes; nothing is applied or stored.
- `rate_limit`: answered 429 with `Retry-After` and `Stripe-Should-Retry: true`. Until that many
  seconds have passed, further matching requests get 429 too, as a real rate limiter does, so only
  a client that waits gets through.
- `drop`: the request executes and its idempotent response is stored, then the connection is
  closed without an answer: the client cannot tell whether the write happened.
- `delay`: the request is held `delay_ms` while it owns its idempotency key (a slow Stripe).
A separate counter declines the next N real payment attempts with a card error.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass

from stripe_local.wire import ApiError

KINDS = ("error", "rate_limit", "drop", "delay")


@dataclass
class Fault:
    kind: str
    method: str = "*"
    path: str = "/v1/"
    count: int = 1
    status: int = 500
    retry_after: int = 1
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ApiError(400, f"kind must be one of {', '.join(KINDS)}", param="kind")
        if self.kind == "error" and self.status not in (500, 502, 503, 504):
            raise ApiError(400, "an error fault answers 500, 502, 503 or 504", param="status")
        if self.kind == "rate_limit":
            self.status = 429
        if self.count < 1 or self.retry_after < 0 or self.delay_ms < 0:
            raise ApiError(400, "count must be >= 1, retry_after and delay_ms >= 0")
        self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path)


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[Fault] = []
        self._windows: list[tuple[Fault, float]] = []  # rate limits in force until a monotonic time
        self._declines = 0

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._queued.append(fault)

    def pending(self) -> list[dict[str, object]]:
        with self._lock:
            return [asdict(f) for f in self._queued]

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._windows.clear()
            self._declines = 0

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request suffers, if any; queued faults are used up one request at a time."""
        with self._lock:
            now = time.monotonic()
            self._windows = [(f, until) for f, until in self._windows if until > now]
            for fault, until in self._windows:
                if fault.matches(method, path):
                    return Fault("rate_limit", fault.method, fault.path, retry_after=math.ceil(until - now))
            for fault in self._queued:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._queued.remove(fault)
                    if fault.kind == "rate_limit":
                        self._windows.append((fault, now + fault.retry_after))
                    return fault
            return None

    def decline_next(self, count: int) -> None:
        with self._lock:
            self._declines += count

    def take_decline(self) -> bool:
        with self._lock:
            if self._declines == 0:
                return False
            self._declines -= 1
            return True
