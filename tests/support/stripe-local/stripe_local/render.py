"""Turn stored records into the JSON objects Stripe returns (shapes from stripe/openapi fixtures).

Records keep only what this server decides; every other field Stripe always sends is filled
with the value a plain test-mode account without tax, discounts or subscriptions would show.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from stripe_local.store import Store

EMBEDDED_LINES = 10  # Stripe embeds the first ten lines and points at /lines for the rest
ACCOUNT_NAME = "Billing Pipeline (local Stripe)"


def list_object(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def customer(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "customer",
        "address": None,
        "balance": rec.get("balance", 0),
        "created": rec["created"],
        "currency": rec["currency"],
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": rec["description"],
        "discount": None,
        "email": rec["email"],
        "invoice_prefix": rec["invoice_prefix"],
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(rec["metadata"]),
        "name": rec["name"],
        "next_invoice_sequence": rec["next_invoice_sequence"],
        "phone": rec["phone"],
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _unit_amount_decimal(amount: int, quantity: int) -> str:
    unit = (Decimal(amount) / Decimal(quantity)).quantize(Decimal("1e-12")).normalize()
    return format(unit, "f")


def invoiceitem(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "invoiceitem",
        "amount": rec["amount"],
        "currency": rec["currency"],
        "customer": rec["customer"],
        "customer_account": None,
        "date": rec["created"],
        "description": rec["description"],
        "discountable": True,
        "discounts": [],
        "invoice": rec["invoice"],
        "livemode": False,
        "metadata": dict(rec["metadata"]),
        "net_amount": rec["amount"],
        "parent": None,
        "period": dict(rec["period"]),
        "pricing": {
            "price_details": None,
            "type": None,
            "unit_amount_decimal": _unit_amount_decimal(rec["amount"], rec["quantity"]),
        },
        "proration": False,
        "quantity": rec["quantity"],
        "quantity_decimal": str(rec["quantity"]),
        "tax_rates": [],
        "test_clock": None,
    }


def line_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["line_id"],
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": item["invoice"],
        "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
        },
        "period": dict(item["period"]),
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": None,
            "type": None,
            "unit_amount_decimal": _unit_amount_decimal(item["amount"], item["quantity"]),
        },
        "quantity": item["quantity"],
        "quantity_decimal": str(item["quantity"]),
        "subscription": None,
        "subtotal": item["amount"],
        "taxes": [],
    }


def invoice_lines(store: Store, rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [line_item(store.get("invoiceitems", item_id)) for item_id in rec["items"]]


def invoice_totals(store: Store, rec: dict[str, Any]) -> dict[str, int]:
    """What is due is the total plus the customer's balance (credit is negative), never below 0.
    A draft shows the balance as it is now; finalizing freezes it (billing.finalize)."""
    subtotal = sum(store.get("invoiceitems", item_id)["amount"] for item_id in rec["items"])
    starting = rec.get("starting_balance")
    if starting is None:
        starting = store.get("customers", rec["customer"]).get("balance", 0) if rec["status"] == "draft" else 0
    amount_due = max(subtotal + starting, 0)
    remaining = 0 if rec["status"] in ("paid", "void") else amount_due - rec["amount_paid"]
    return {
        "subtotal": subtotal,
        "total": subtotal,
        "starting_balance": starting,
        "amount_due": amount_due,
        "amount_paid": rec["amount_paid"],
        "amount_remaining": remaining,
    }


def invoice(store: Store, rec: dict[str, Any]) -> dict[str, Any]:
    totals = invoice_totals(store, rec)
    lines = invoice_lines(store, rec)
    # A draft shows the customer as it is now; finalizing freezes these fields.
    who = rec["customer_snapshot"] or customer_fields(store.get("customers", rec["customer"]))
    is_draft = rec["status"] == "draft"
    return {
        "id": rec["id"],
        "object": "invoice",
        "account_country": "US",
        "account_name": ACCOUNT_NAME,
        "account_tax_ids": None,
        "amount_due": totals["amount_due"],
        "amount_overpaid": 0,
        "amount_paid": totals["amount_paid"],
        "amount_remaining": totals["amount_remaining"],
        "amount_shipping": 0,
        "application": None,
        "attempt_count": rec["attempt_count"],
        "attempted": rec["attempt_count"] > 0,
        "auto_advance": rec["auto_advance"],
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": rec["created"] + 3600 if is_draft and rec["auto_advance"] else None,
        "billing_reason": "manual",
        "collection_method": rec["collection_method"],
        "confirmation_secret": None,
        "created": rec["created"],
        "currency": rec["currency"],
        "custom_fields": None,
        "customer": rec["customer"],
        "customer_account": None,
        "customer_address": None,
        "customer_email": who["email"],
        "customer_name": who["name"],
        "customer_phone": who["phone"],
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": rec["description"],
        "discounts": [],
        "due_date": rec["due_date"],
        "effective_at": rec["finalized_at"],
        "ending_balance": None if is_draft else rec.get("ending_balance", min(totals["total"], 0)),
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object(
            lines[:EMBEDDED_LINES], len(lines) > EMBEDDED_LINES, f"/v1/invoices/{rec['id']}/lines"
        ),
        "livemode": False,
        "metadata": dict(rec["metadata"]),
        "next_payment_attempt": None,
        "number": rec["number"],
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": rec["created"],
        "period_start": rec["created"],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": totals["starting_balance"],
        "statement_descriptor": None,
        "status": rec["status"],
        "status_transitions": {
            "finalized_at": rec["finalized_at"],
            "marked_uncollectible_at": None,
            "paid_at": rec["paid_at"],
            "voided_at": rec["voided_at"],
        },
        "subtotal": totals["subtotal"],
        "subtotal_excluding_tax": totals["subtotal"],
        "test_clock": None,
        "total": totals["total"],
        "total_discount_amounts": [],
        "total_excluding_tax": totals["total"],
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": rec["finalized_at"],
    }


def balance_transaction(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rec["id"],
        "object": "customer_balance_transaction",
        "amount": rec["amount"],
        "checkout_session": None,
        "created": rec["created"],
        "credit_note": None,
        "currency": rec["currency"],
        "customer": rec["customer"],
        "customer_account": None,
        "description": None,
        "ending_balance": rec["ending_balance"],
        "invoice": rec["invoice"],
        "livemode": False,
        "metadata": {},
        "type": rec["type"],
    }


def account(rec: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/account: the account the API key belongs to (a plain test-mode account)."""
    return {
        "id": rec["id"],
        "object": "account",
        "business_profile": {"name": ACCOUNT_NAME, "support_email": None, "url": None},
        "business_type": None,
        "capabilities": {},
        "charges_enabled": True,
        "country": "US",
        "created": rec["created"],
        "default_currency": "usd",
        "details_submitted": True,
        "email": None,
        "metadata": {},
        "payouts_enabled": False,
        "settings": {"dashboard": {"display_name": ACCOUNT_NAME, "timezone": "Etc/UTC"}},
        "type": "standard",
    }


def customer_fields(rec: dict[str, Any]) -> dict[str, Any]:
    """The customer details an invoice shows (and freezes when finalized)."""
    return {"email": rec["email"], "name": rec["name"], "phone": rec["phone"]}


def webhook_endpoint(rec: dict[str, Any], with_secret: bool = False) -> dict[str, Any]:
    shown = {
        "id": rec["id"],
        "object": "webhook_endpoint",
        "api_version": rec["api_version"],
        "application": None,
        "created": rec["created"],
        "description": rec["description"],
        "enabled_events": list(rec["enabled_events"]),
        "livemode": False,
        "metadata": dict(rec["metadata"]),
        "status": "enabled",
        "url": rec["url"],
    }
    if with_secret:  # Stripe shows the signing secret only in the create response
        shown["secret"] = rec["secret"]
    return shown


def event(rec: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rec.items() if key != "seq"}


def render(store: Store, table: str, rec: dict[str, Any]) -> dict[str, Any]:
    if table == "invoices":
        return invoice(store, rec)
    return _RENDERERS[table](rec)


_RENDERERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "customers": customer,
    "balance_transactions": balance_transaction,
    "invoiceitems": invoiceitem,
    "events": event,
    "webhook_endpoints": webhook_endpoint,
}

_TABLE_BY_PREFIX = {"cus_": "customers", "ii_": "invoiceitems", "in_": "invoices"}


def expand(store: Store, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Replace ids named by `expand[]` paths (e.g. `customer`, `data.invoice`) with their objects.

    Routes have already checked that each path names an expandable field.
    """
    for path in paths:
        _expand_path(store, obj, path.split("."))
    return obj


def _expand_path(store: Store, node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for element in node:
            _expand_path(store, element, parts)
        return
    head, rest = parts[0], parts[1:]
    if rest:
        _expand_path(store, node[head], rest)
        return
    value = node[head]
    if not isinstance(value, str):
        return
    table = next((t for prefix, t in _TABLE_BY_PREFIX.items() if value.startswith(prefix)), None)
    target = store.get(table, value) if table else None
    if target is not None:
        node[head] = render(store, table, target)
