"""Prometheus metrics: requests by route and status, latency, and the snapshot's age and reloads.

Each app owns its registry (not the process-global one), so several apps in one process, as in
tests, keep separate counts.
"""

import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UNMATCHED_ROUTE = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class _Latencies:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total_seconds: float = 0.0


class RequestStats(Collector):
    """Request counts and latency histograms, kept as plain numbers and turned into metric families
    when scraped. prometheus_client's own Counter and Histogram take a lock per update, which cost
    more than the rest of a lookup; these are only touched from the event loop thread.
    """

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latencies: dict[str, _Latencies] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        latencies = self._latencies.get(route)
        if latencies is None:
            latencies = self._latencies[route] = _Latencies()
        latencies.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        latencies.total_seconds += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "quotas_api_requests",
            "HTTP requests answered, by route template, method and status.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in list(self._requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "quotas_api_request_duration_seconds",
            "Time from request start to the end of the response, by route template.",
            labels=["route"],
        )
        for route, latencies in list(self._latencies.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), latencies.buckets):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            latency.add_metric([route], buckets, latencies.total_seconds)
        yield latency


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestStats()
        self.registry.register(self.requests)
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


class RequestMetricsMiddleware:
    """Pure ASGI, so it adds no task or stream per request the way BaseHTTPMiddleware would."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.requests = metrics.requests

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
            self.requests.observe(template, method, status, time.perf_counter() - started)
