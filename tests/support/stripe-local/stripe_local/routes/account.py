"""/v1/account: the Stripe account the API key belongs to (publishers record which one they wrote to)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_local import render
from stripe_local.routes.common import params_of, reply, store_of


async def retrieve_account(request: Request) -> JSONResponse:
    params_of(request, set())
    store = store_of(request)
    with store.lock:
        return reply(request, render.account(store.account()))


routes = [Route("/v1/account", retrieve_account, methods=["GET"])]
