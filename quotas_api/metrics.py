"""Prometheus metrics: requests by route and status, latency, and the snapshot's age and reloads.

Each app owns its registry (not the process-global one), so several apps in one process, as in
tests, keep separate counts.
"""

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UNMATCHED_ROUTE = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "quotas_api_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "quotas_api_request_duration_seconds",
            "Time from request start to the end of the response, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.snapshot_age = Gauge(
            "quotas_api_snapshot_age_seconds",
            "Seconds since the served snapshot was generated (NaN before one is loaded).",
            registry=self.registry,
        )
        self.snapshot_rows = Gauge(
            "quotas_api_snapshot_rows", "Account x metric rows in the served snapshot.", registry=self.registry
        )
        self.snapshot_load_seconds = Gauge(
            "quotas_api_snapshot_load_seconds",
            "Time the last successful snapshot load took (read, validate, index).",
            registry=self.registry,
        )
        self.snapshot_reloads = Counter(
            "quotas_api_snapshot_reloads",
            "Snapshot load attempts, by result (loaded or rejected).",
            ["result"],
            registry=self.registry,
        )
        # Labelled children cached by label values: .labels() costs more than the increment.
        self._children: dict[tuple[str, str, int], tuple[Callable[[], None], Callable[[float], None]]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)).inc,
                self.latency.labels(route).observe,
            )
            self._children[key] = children
        children[0]()
        children[1](seconds)


class RequestMetricsMiddleware:
    """Pure ASGI, so it adds no task or stream per request the way BaseHTTPMiddleware would."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            # The router leaves the matched route in the scope; its template keeps label values few.
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED_ROUTE) if route is not None else UNMATCHED_ROUTE
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.observe_request(template, method, status, time.perf_counter() - started)
