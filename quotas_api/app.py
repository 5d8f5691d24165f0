"""The quota lookup service: `uvicorn quotas_api.app:app`, or `create_app(settings)` in tests.

Configuration comes from the environment when the app starts (see Settings.from_env), not at import.
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware

from quotas_api.api_keys import KeyRing
from quotas_api.errors import EXCEPTION_HANDLERS
from quotas_api.metrics import ApiMetrics, RequestMetricsMiddleware
from quotas_api.routes import quotas, service, stripe_webhook
from quotas_api.services import STATE_KEY, Services
from quotas_api.settings import Settings
from quotas_api.snapshot_store import SnapshotStore

log = logging.getLogger(__name__)

# Each module exposes `routes`; a new endpoint family (e.g. a webhook) is one more module here.
ROUTE_MODULES = (quotas, service, stripe_webhook)


def create_app(settings: Settings | None = None) -> Starlette:
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        resolved = settings or Settings.from_env(os.environ)
        keys = KeyRing.from_file(resolved.api_keys_file)
        log.info("loaded %d API key(s) from %s", len(keys), resolved.api_keys_file)
        store = SnapshotStore(resolved.snapshot_path, metrics, resolved.stale_after_seconds)
        await anyio.to_thread.run_sync(store.refresh)
        async with anyio.create_task_group() as background:
            background.start_soon(store.watch, resolved.reload_interval_seconds)
            yield {STATE_KEY: Services(settings=resolved, keys=keys, snapshots=store, metrics=metrics)}
            background.cancel_scope.cancel()

    return Starlette(
        routes=[route for module in ROUTE_MODULES for route in module.routes],
        middleware=[Middleware(RequestMetricsMiddleware, metrics=metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


app = create_app()
