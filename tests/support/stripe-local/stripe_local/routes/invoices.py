"""/v1/invoices: one-off invoices through their whole life (draft, open, paid or void) and their lines."""

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
from stripe_local.wire import (
    ApiError,
    as_list,
    merge_metadata,
    optional_str,
    period_param,
    reject_unknown,
    require,
    to_bool,
    to_int,
    to_str,
)

EXPANDABLE = frozenset({"customer"})
STATUSES = {"draft", "open", "paid", "uncollectible", "void"}
COLLECTION_METHODS = {"charge_automatically", "send_invoice"}
PENDING_BEHAVIORS = {"exclude", "include"}
_LINE_FIELDS = {"amount", "description", "invoice_item", "metadata", "period"}


def _choice(params: dict[str, Any], name: str, choices: set[str]) -> str:
    value = to_str(params[name], name)
    if value not in choices:
        raise ApiError(400, f"Invalid {name}: must be one of {', '.join(sorted(choices))}",
                       code="parameter_invalid_string", param=name)
    return value


def _editable_fields(params: dict[str, Any], current_metadata: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "description" in params:
        fields["description"] = optional_str(params, "description")
    if "metadata" in params:
        fields["metadata"] = merge_metadata(current_metadata, params["metadata"])
    if "auto_advance" in params:
        fields["auto_advance"] = to_bool(params["auto_advance"], "auto_advance")
    return fields


def _billing_terms(params: dict[str, Any]) -> dict[str, Any]:
    method = _choice(params, "collection_method", COLLECTION_METHODS) if "collection_method" in params else None
    terms: dict[str, Any] = {"collection_method": method or "charge_automatically"}
    if "days_until_due" in params:
        terms["days_until_due"] = to_int(params["days_until_due"], "days_until_due", minimum=0)
    if "due_date" in params:
        terms["due_date"] = to_int(params["due_date"], "due_date")
    if method != "send_invoice" and ("days_until_due" in terms or "due_date" in terms):
        raise ApiError(400, "You can only set `days_until_due` or `due_date` when `collection_method` is "
                            "`send_invoice`.", param="days_until_due" if "days_until_due" in terms else "due_date")
    if method == "send_invoice" and "days_until_due" not in terms and "due_date" not in terms:
        raise ApiError(400, "Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.",
                       code="parameter_missing", param="days_until_due")
    return terms


async def create_invoice(request: Request) -> JSONResponse:
    params = params_of(
        request,
        {"customer", "auto_advance", "collection_method", "days_until_due", "due_date", "description",
         "metadata", "currency", "pending_invoice_items_behavior"},
        EXPANDABLE,
    )
    customer = to_str(require(params, "customer"), "customer")
    fields = {**_editable_fields(params, {}), **_billing_terms(params)}
    if params.get("currency"):
        fields["currency"] = to_str(params["currency"], "currency").lower()
    behavior = "exclude"
    if "pending_invoice_items_behavior" in params:
        behavior = _choice(params, "pending_invoice_items_behavior", PENDING_BEHAVIORS)
    store = store_of(request)
    with store.lock:
        rec = billing.create_invoice(store, customer, fields, include_pending=behavior == "include")
        return reply(request, render.invoice(store, rec))


async def retrieve_invoice(request: Request) -> JSONResponse:
    params_of(request, set(), EXPANDABLE)
    store = store_of(request)
    with store.lock:
        return reply(request, render.invoice(store, fetch(store, "invoices", request.path_params["id"], "invoice")))


async def delete_invoice(request: Request) -> JSONResponse:
    params_of(request, set())
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        return JSONResponse(billing.delete_invoice(store, rec))


async def update_invoice(request: Request) -> JSONResponse:
    params = params_of(request, {"description", "metadata", "auto_advance"}, EXPANDABLE)
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        billing.update_invoice(store, rec, _editable_fields(params, rec["metadata"]))
        return reply(request, render.invoice(store, rec))


async def list_invoices(request: Request) -> JSONResponse:
    params = params_of(request, LIST_PARAMS | {"customer", "status", "collection_method"}, in_list(EXPANDABLE))
    in_window = created_filter(params)
    wanted: dict[str, str] = {}
    if "customer" in params:
        wanted["customer"] = to_str(params["customer"], "customer")
    if "status" in params:
        wanted["status"] = _choice(params, "status", STATUSES)
    if "collection_method" in params:
        wanted["collection_method"] = _choice(params, "collection_method", COLLECTION_METHODS)
    store = store_of(request)
    with store.lock:
        rows = [
            rec
            for rec in store.rows("invoices")
            if in_window(rec) and all(rec[name] == value for name, value in wanted.items())
        ]
        return paginate(request, rows, lambda rec: render.invoice(store, rec), "invoice")


def _line(raw: Any, index: int) -> dict[str, Any]:
    prefix = f"lines[{index}]"
    if not isinstance(raw, dict):
        raise ApiError(400, f"Invalid hash: {prefix}", code="parameter_invalid_hash", param=prefix)
    reject_unknown(raw, _LINE_FIELDS, prefix)
    if "invoice_item" in raw:
        return {"invoice_item": to_str(raw["invoice_item"], f"{prefix}[invoice_item]")}
    line: dict[str, Any] = {"amount": to_int(require(raw, "amount", prefix), f"{prefix}[amount]")}
    if "description" in raw:
        line["description"] = to_str(raw["description"], f"{prefix}[description]") or None
    if "metadata" in raw:
        line["metadata"] = merge_metadata({}, raw["metadata"], f"{prefix}[metadata]")
    if "period" in raw:
        line["period"] = period_param(raw["period"], f"{prefix}[period]")
    return line


async def add_lines(request: Request) -> JSONResponse:
    params = params_of(request, {"lines", "invoice_metadata"}, EXPANDABLE)
    lines = [_line(raw, i) for i, raw in enumerate(as_list(require(params, "lines"), "lines"))]
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        billing.add_lines(store, rec, lines)
        if "invoice_metadata" in params:
            metadata = merge_metadata(rec["metadata"], params["invoice_metadata"], "invoice_metadata")
            billing.update_invoice(store, rec, {"metadata": metadata})
        return reply(request, render.invoice(store, rec))


async def list_lines(request: Request) -> JSONResponse:
    params_of(request, {"limit", "starting_after", "ending_before"})
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        lines = render.invoice_lines(store, rec)
        return paginate(request, lines, lambda line: line, "line item", newest_first=False)


async def finalize_invoice(request: Request) -> JSONResponse:
    params = params_of(request, {"auto_advance"}, EXPANDABLE)
    auto_advance = to_bool(params["auto_advance"], "auto_advance") if "auto_advance" in params else None
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        billing.finalize(store, rec, auto_advance)
        answer = reply(request, render.invoice(store, rec))
        # Demo customers (if switched on) pay right after: the answer still shows the invoice open.
        request.app.state.autopay.after_finalize(store, rec)
        return answer


async def pay_invoice(request: Request) -> JSONResponse:
    params = params_of(request, {"paid_out_of_band"}, EXPANDABLE)
    out_of_band = to_bool(params["paid_out_of_band"], "paid_out_of_band") if "paid_out_of_band" in params else False
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        billing.pay(store, rec, out_of_band, request.app.state.faults.take_decline)
        return reply(request, render.invoice(store, rec))


async def void_invoice(request: Request) -> JSONResponse:
    params_of(request, set(), EXPANDABLE)
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "invoices", request.path_params["id"], "invoice")
        billing.void(store, rec)
        return reply(request, render.invoice(store, rec))


routes = [
    Route("/v1/invoices", create_invoice, methods=["POST"]),
    Route("/v1/invoices", list_invoices, methods=["GET"]),
    Route("/v1/invoices/{id}", retrieve_invoice, methods=["GET"]),
    Route("/v1/invoices/{id}", update_invoice, methods=["POST"]),
    Route("/v1/invoices/{id}", delete_invoice, methods=["DELETE"]),
    Route("/v1/invoices/{id}/lines", list_lines, methods=["GET"]),
    Route("/v1/invoices/{id}/add_lines", add_lines, methods=["POST"]),
    Route("/v1/invoices/{id}/finalize", finalize_invoice, methods=["POST"]),
    Route("/v1/invoices/{id}/pay", pay_invoice, methods=["POST"]),
    Route("/v1/invoices/{id}/void", void_invoice, methods=["POST"]),
]
