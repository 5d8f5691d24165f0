"""Assemble the local Stripe server: Starlette routes behind the edge (faults, keys, idempotency)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from stripe_local.autopay import Autopay
from stripe_local.edge import Edge
from stripe_local.faults import FaultPlan
from stripe_local.idempotency import IdempotencyLedger
from stripe_local.routes import routes
from stripe_local.store import Store
from stripe_local.webhooks import DEFAULT_RETRY_DELAYS, Dispatcher
from stripe_local.wire import ApiError


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Unrecognized request URL ({request.method}: {request.url.path})."
    else:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    return JSONResponse(ApiError(exc.status_code, message).body(), status_code=exc.status_code)


def create_app(
    state_dir: Path | str | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    autopay_decline_one_in: int | None = None,
) -> Edge:
    """The ASGI app. `state_dir` keeps state there across restarts (and kills; see store.py).
    `autopay_decline_one_in`: demo customers pay each finalized invoice, one card in N declined."""
    store = Store(state_dir)
    dispatcher = Dispatcher(store, webhook_retry_delays)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop()
            store.close()

    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, 404: _http_error, 405: _http_error},
    )
    state: Any = starlette.state
    state.store = store
    state.dispatcher = dispatcher
    state.faults = FaultPlan()
    state.autopay = Autopay(autopay_decline_one_in)
    state.request_log = deque(maxlen=10_000)
    return Edge(starlette, store, IdempotencyLedger(store), state.faults, dispatcher, state.request_log)
