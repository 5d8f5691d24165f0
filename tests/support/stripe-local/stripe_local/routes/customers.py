"""/v1/customers: create, retrieve, update, list (filter by email or created)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_local import billing, render
from stripe_local.routes.common import (
    LIST_PARAMS,
    created_filter,
    fetch,
    in_list,
    paginate,
    params_of,
    reply,
    store_of,
)
from stripe_local.wire import merge_metadata, optional_str, to_str

_FIELDS = {"email", "name", "description", "phone", "metadata"}


def _fields(params: dict[str, Any], current_metadata: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: optional_str(params, name) for name in _FIELDS - {"metadata"} if name in params}
    if "metadata" in params:
        fields["metadata"] = merge_metadata(current_metadata, params["metadata"])
    return fields


async def create_customer(request: Request) -> JSONResponse:
    params = params_of(request, _FIELDS)
    store = store_of(request)
    with store.lock:
        rec = billing.create_customer(store, _fields(params, {}))
        return reply(request, render.customer(rec))


async def retrieve_customer(request: Request) -> JSONResponse:
    params_of(request, set())
    store = store_of(request)
    return reply(request, render.customer(fetch(store, "customers", request.path_params["id"], "customer")))


async def update_customer(request: Request) -> JSONResponse:
    params = params_of(request, _FIELDS)
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "customers", request.path_params["id"], "customer")
        billing.update_customer(store, rec, _fields(params, rec["metadata"]))
        return reply(request, render.customer(rec))


async def list_customers(request: Request) -> JSONResponse:
    params = params_of(request, LIST_PARAMS | {"email"})
    store = store_of(request)
    in_window = created_filter(params)
    email = to_str(params["email"], "email") if "email" in params else None
    with store.lock:
        rows = [
            rec
            for rec in store.rows("customers")
            if in_window(rec) and (email is None or rec["email"] == email)
        ]
        return paginate(request, rows, render.customer, "customer")


async def list_balance_transactions(request: Request) -> JSONResponse:
    """The customer's balance ledger, newest first (finalized invoices applying or crediting it)."""
    params = params_of(request, LIST_PARAMS | {"invoice"}, in_list(frozenset({"customer", "invoice"})))
    in_window = created_filter(params)
    invoice = to_str(params["invoice"], "invoice") if "invoice" in params else None
    store = store_of(request)
    with store.lock:
        customer = fetch(store, "customers", request.path_params["id"], "customer")
        rows = [
            rec
            for rec in store.rows("balance_transactions")
            if rec["customer"] == customer["id"] and in_window(rec) and (invoice is None or rec["invoice"] == invoice)
        ]
        return paginate(request, rows, render.balance_transaction, "customer balance transaction")


routes = [
    Route("/v1/customers", create_customer, methods=["POST"]),
    Route("/v1/customers", list_customers, methods=["GET"]),
    Route("/v1/customers/{id}", retrieve_customer, methods=["GET"]),
    Route("/v1/customers/{id}", update_customer, methods=["POST"]),
    Route("/v1/customers/{id}/balance_transactions", list_balance_transactions, methods=["GET"]),
]
