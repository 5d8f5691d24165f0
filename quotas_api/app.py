"""The quota lookup service: `uvicorn quotas_api.app:app`, or `create_app(settings)` in tests.

Configuration comes from the environment when the app starts (see Settings.from_env), not at import.
"""

import gc
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from swagger_ui import api_doc

from billing_pipeline.exchange.event_intake import IntakeLog
from quotas_api.api_keys import WatchedKeyRing
from quotas_api.event_judge import EventJudge
from quotas_api.live_counters import InMemoryLiveCounters
from quotas_api.live_usage import LiveUsage
from quotas_api.errors import EXCEPTION_HANDLERS
from quotas_api.openapi import openapi_schema
from quotas_api.metrics import ApiMetrics, RequestMetricsMiddleware
from quotas_api.routes import events, quotas, service, stripe_webhook, usage
from quotas_api.services import STATE_KEY, Services
from quotas_api.settings import Settings
from quotas_api.snapshot_index import load_quota_index
from quotas_api.snapshot_store import SnapshotStore
from quotas_api.usage_index import load_usage_index

log = logging.getLogger(__name__)

# Each module exposes `routes`; a new endpoint family (e.g. a webhook) is one more module here.
ROUTE_MODULES = (quotas, usage, events, service, stripe_webhook)


def create_app(settings: Settings | None = None) -> Starlette:
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        resolved = settings or Settings.from_env(os.environ)
        keys = WatchedKeyRing(resolved.api_keys_file)
        log.info("loaded %d API key(s) from %s", len(keys), resolved.api_keys_file)
        judge = EventJudge(resolved.catalog)
        await anyio.to_thread.run_sync(judge.refresh)
        intake = IntakeLog(resolved.intake_dir, resolved.intake_max_bytes, resolved.intake_max_age_seconds)
        live = LiveUsage(resolved.intake_dir, judge, InMemoryLiveCounters(), intake)
        store = SnapshotStore(resolved.snapshot_path, load_quota_index, resolved.stale_after_seconds, metrics,
                              live.swapping)
        usage_store = SnapshotStore(resolved.usage_snapshot_path, load_usage_index, resolved.stale_after_seconds)
        await anyio.to_thread.run_sync(store.refresh)
        await anyio.to_thread.run_sync(usage_store.refresh)
        known = await anyio.to_thread.run_sync(live.rebuild)
        log.info("counting %d event(s) accepted in the open period from the intake files", known)
        # Everything made so far (modules, the catalog, the snapshot index: ~170k objects) lives as
        # long as the app. Frozen, the garbage collector's full passes skip it; a pass walking it
        # stopped every thread for ~100 ms, lookups included, every few seconds under intake.
        gc.freeze()
        try:
            async with anyio.create_task_group() as background:
                # The usage snapshot right after the quota snapshot: the pipeline writes the usage file
                # first, so both files of one run go live in the same round.
                background.start_soon(_watch, resolved.reload_interval_seconds, (store.refresh, usage_store.refresh))
                background.start_soon(_watch, resolved.reload_interval_seconds, (keys.refresh, judge.refresh, live.rotate_if_due))
                yield {STATE_KEY: Services(settings=resolved, keys=keys, snapshots=store, metrics=metrics, live=live,
                                           usage=usage_store)}
                background.cancel_scope.cancel()
        finally:
            # Hand the open intake file to ingestion.
            live.close()
            gc.unfreeze()  # what this app held can be collected again once it is dropped (tests)

    routes = [route for module in ROUTE_MODULES for route in module.routes]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestMetricsMiddleware, metrics=metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    # Interactive docs (Swagger UI, its assets shipped in the package: no CDN) on the same OpenAPI
    # description as /openapi.json. host_inject off: that is a Swagger 2 field, not OpenAPI 3.1.
    api_doc(app, config=openapi_schema(routes), url_prefix="/docs", title="Quota API", host_inject=False)
    return app


async def _watch(interval_seconds: float, refreshers: tuple[Callable[[], object], ...]) -> None:
    """Each of `refreshers` (snapshot files, keys file, catalog, intake file rotation) in turn, every
    interval until cancelled; a failure is logged and tried again."""
    while True:
        await anyio.sleep(interval_seconds)
        for refresh in refreshers:
            try:
                await anyio.to_thread.run_sync(refresh)
            except Exception:
                log.exception("periodic %s failed; trying again", getattr(refresh, "__qualname__", refresh))


app = create_app()
