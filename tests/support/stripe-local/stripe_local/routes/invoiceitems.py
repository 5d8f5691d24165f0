"""/v1/invoiceitems: create (pending or onto a draft invoice), retrieve, list, delete."""

from __future__ import annotations

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
from stripe_local.wire import (
    merge_metadata,
    optional_str,
    period_param,
    require,
    to_bool,
    to_int,
    to_str,
)


EXPANDABLE = frozenset({"customer", "invoice"})


async def create_invoiceitem(request: Request) -> JSONResponse:
    params = params_of(
        request, {"customer", "amount", "currency", "description", "invoice", "metadata", "period"}, EXPANDABLE
    )
    customer = to_str(require(params, "customer"), "customer")
    amount = to_int(require(params, "amount"), "amount")
    currency = to_str(params["currency"], "currency").lower() if params.get("currency") else None
    period = period_param(params["period"], "period") if "period" in params else None
    store = store_of(request)
    with store.lock:
        item = billing.create_invoiceitem(
            store,
            customer,
            amount,
            currency,
            optional_str(params, "description") if "description" in params else None,
            to_str(params["invoice"], "invoice") if params.get("invoice") else None,
            merge_metadata({}, params.get("metadata", {})),
            period,
        )
        return reply(request, render.invoiceitem(item))


async def retrieve_invoiceitem(request: Request) -> JSONResponse:
    params_of(request, set(), EXPANDABLE)
    item = fetch(store_of(request), "invoiceitems", request.path_params["id"], "invoiceitem")
    return reply(request, render.invoiceitem(item))


async def delete_invoiceitem(request: Request) -> JSONResponse:
    params_of(request, set())
    store = store_of(request)
    with store.lock:
        item = fetch(store, "invoiceitems", request.path_params["id"], "invoiceitem")
        return JSONResponse(billing.delete_invoiceitem(store, item))


async def list_invoiceitems(request: Request) -> JSONResponse:
    params = params_of(request, LIST_PARAMS | {"customer", "invoice", "pending"}, in_list(EXPANDABLE))
    in_window = created_filter(params)
    wanted = {name: to_str(params[name], name) for name in ("customer", "invoice") if name in params}
    pending = to_bool(params["pending"], "pending") if "pending" in params else None
    store = store_of(request)
    with store.lock:
        rows = [
            item
            for item in store.rows("invoiceitems")
            if in_window(item)
            and all(item[name] == value for name, value in wanted.items())
            and (pending is None or (item["invoice"] is None) == pending)
        ]
        return paginate(request, rows, render.invoiceitem, "invoiceitem")


routes = [
    Route("/v1/invoiceitems", create_invoiceitem, methods=["POST"]),
    Route("/v1/invoiceitems", list_invoiceitems, methods=["GET"]),
    Route("/v1/invoiceitems/{id}", retrieve_invoiceitem, methods=["GET"]),
    Route("/v1/invoiceitems/{id}", delete_invoiceitem, methods=["DELETE"]),
]
