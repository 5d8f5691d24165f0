"""What Stripe does to customers, invoice items and invoices, one function per operation.

Callers hold `store.lock` and pass already-validated values; rule violations raise `ApiError`
with the status, code and message Stripe uses.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

from stripe_local import render
from stripe_local.events import emit
from stripe_local.store import Store, new_id
from stripe_local.wire import ApiError, no_such

AUTO_FINALIZE_AFTER = 3600  # Stripe finalizes an auto_advance draft about an hour after creation
DEFAULT_CURRENCY = "usd"


def _changed(rec: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply changes; return the previous values of the fields that really changed."""
    previous = {key: rec[key] for key, value in changes.items() if rec[key] != value}
    rec.update(changes)
    return previous


# -- customers ---------------------------------------------------------------------------------


def create_customer(store: Store, fields: dict[str, Any]) -> dict[str, Any]:
    rec = store.insert(
        "customers",
        {
            "id": new_id("cus_", 14),
            "created": store.now(),
            "currency": None,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "next_invoice_sequence": 1,
            "email": None,
            "name": None,
            "description": None,
            "phone": None,
            "metadata": {},
            "balance": 0,
            **fields,
        },
    )
    emit(store, "customer.created", render.customer(rec))
    return rec


def update_customer(store: Store, rec: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    previous = _changed(rec, changes)
    if previous:
        store.updated("customers", rec)
        emit(store, "customer.updated", render.customer(rec), previous)
    return rec


def customer_of(store: Store, customer_id: str) -> dict[str, Any]:
    rec = store.get("customers", customer_id)
    if rec is None:
        raise no_such("customer", customer_id, param="customer", status=400)
    return rec


# -- invoice items -----------------------------------------------------------------------------


def _require_draft(inv: dict[str, Any]) -> None:
    if inv["status"] != "draft":
        raise ApiError(
            400,
            f"You can only modify draft invoices. This invoice ({inv['id']}) has status '{inv['status']}'.",
            code="invoice_not_editable",
        )


def create_invoiceitem(
    store: Store,
    customer_id: str,
    amount: int,
    currency: str | None,
    description: str | None,
    invoice_id: str | None,
    metadata: dict[str, str],
    period: dict[str, int] | None,
) -> dict[str, Any]:
    cust = customer_of(store, customer_id)
    inv = None
    if invoice_id is not None:
        inv = store.get("invoices", invoice_id)
        if inv is None:
            raise no_such("invoice", invoice_id, param="invoice", status=400)
        if inv["customer"] != customer_id:
            raise ApiError(400, "The invoice belongs to a different customer.", param="invoice")
        _require_draft(inv)
    currency = currency or (inv["currency"] if inv else cust["currency"]) or DEFAULT_CURRENCY
    if inv is not None and currency != inv["currency"]:
        raise ApiError(
            400,
            f"The currency of the invoice item ({currency}) must match the invoice's currency ({inv['currency']}).",
            param="currency",
        )
    now = store.now()
    item = store.insert(
        "invoiceitems",
        {
            "id": new_id("ii_"),
            "line_id": new_id("il_"),
            "created": now,
            "customer": customer_id,
            "amount": amount,
            "currency": currency,
            "description": description,
            "invoice": None,
            "metadata": metadata,
            "period": period or {"start": now, "end": now},
            "quantity": 1,
        },
    )
    if cust["currency"] is None:
        cust["currency"] = currency
        store.updated("customers", cust)
    if inv is not None:
        _attach(store, inv, item)
    emit(store, "invoiceitem.created", render.invoiceitem(item))
    return item


def _attach(store: Store, inv: dict[str, Any], item: dict[str, Any]) -> None:
    item["invoice"] = inv["id"]
    inv["items"].append(item["id"])
    store.updated("invoiceitems", item)
    store.updated("invoices", inv)


def delete_invoiceitem(store: Store, item: dict[str, Any]) -> dict[str, Any]:
    if item["invoice"] is not None:
        inv = store.get("invoices", item["invoice"])
        _require_draft(inv)
        inv["items"].remove(item["id"])
        store.updated("invoices", inv)
    store.delete("invoiceitems", item["id"])
    emit(store, "invoiceitem.deleted", render.invoiceitem(item))
    return {"id": item["id"], "object": "invoiceitem", "deleted": True}


# -- invoices ----------------------------------------------------------------------------------


def create_invoice(store: Store, customer_id: str, fields: dict[str, Any], include_pending: bool) -> dict[str, Any]:
    cust = customer_of(store, customer_id)
    currency = fields.pop("currency", None) or cust["currency"] or DEFAULT_CURRENCY
    rec = store.insert(
        "invoices",
        {
            "id": new_id("in_"),
            "created": store.now(),
            "customer": customer_id,
            "currency": currency,
            "status": "draft",
            "auto_advance": False,
            "collection_method": "charge_automatically",
            "days_until_due": None,
            "due_date": None,
            "description": None,
            "metadata": {},
            "number": None,
            "items": [],
            "finalized_at": None,
            "paid_at": None,
            "voided_at": None,
            "amount_paid": 0,
            "attempt_count": 0,
            "customer_snapshot": None,
            # The customer's balance when finalized, and after this invoice was applied to it.
            "starting_balance": None,
            "ending_balance": None,
            **fields,
        },
    )
    if include_pending:
        for item in store.rows("invoiceitems"):
            if item["customer"] == customer_id and item["invoice"] is None and item["currency"] == currency:
                _attach(store, rec, item)
    emit(store, "invoice.created", render.invoice(store, rec))
    return rec


def update_invoice(store: Store, inv: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    _require_draft(inv)
    previous = _changed(inv, changes)
    if previous:
        store.updated("invoices", inv)
        emit(store, "invoice.updated", render.invoice(store, inv), previous)
    return inv


def delete_invoice(store: Store, inv: dict[str, Any]) -> dict[str, Any]:
    """Only a draft can be deleted; its invoice items go with it."""
    if inv["status"] != "draft":
        raise ApiError(
            400,
            f"You can only delete draft invoices. This invoice ({inv['id']}) has status '{inv['status']}'.",
            code="invoice_not_editable",
        )
    snapshot = render.invoice(store, inv)
    for item_id in inv["items"]:
        store.delete("invoiceitems", item_id)
    store.delete("invoices", inv["id"])
    emit(store, "invoice.deleted", snapshot)
    return {"id": inv["id"], "object": "invoice", "deleted": True}


def add_lines(store: Store, inv: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Each line either claims a pending invoice item or creates a new one on this invoice.

    All lines are checked before any is applied, so a bad line leaves the invoice untouched.
    """
    _require_draft(inv)
    claimed = set()
    for index, line in enumerate(lines):
        if "invoice_item" in line:
            item = store.get("invoiceitems", line["invoice_item"])
            if item is None or item["customer"] != inv["customer"] or item["invoice"] is not None or (
                item["id"] in claimed
            ):
                raise ApiError(
                    400,
                    f"Invoice item {line['invoice_item']} is not a pending item of this customer.",
                    param=f"lines[{index}][invoice_item]",
                )
            if item["currency"] != inv["currency"]:
                raise ApiError(400, "The invoice item's currency must match the invoice's currency.",
                               param=f"lines[{index}][invoice_item]")
            claimed.add(item["id"])
    for line in lines:
        if "invoice_item" in line:
            _attach(store, inv, store.get("invoiceitems", line["invoice_item"]))
        else:
            create_invoiceitem(
                store,
                inv["customer"],
                line["amount"],
                None,
                line.get("description"),
                inv["id"],
                line.get("metadata", {}),
                line.get("period"),
            )
    return inv


def finalize(store: Store, inv: dict[str, Any], auto_advance: bool | None = None) -> dict[str, Any]:
    if inv["status"] != "draft":
        raise ApiError(
            400,
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    cust = store.get("customers", inv["customer"])
    now = store.now()
    inv["number"] = f"{cust['invoice_prefix']}-{cust['next_invoice_sequence']:04d}"
    cust["next_invoice_sequence"] += 1
    inv["status"] = "open"
    inv["finalized_at"] = now
    if auto_advance is not None:
        inv["auto_advance"] = auto_advance
    if inv["collection_method"] == "send_invoice" and inv["due_date"] is None:
        inv["due_date"] = now + 86400 * inv["days_until_due"]
    inv["customer_snapshot"] = render.customer_fields(cust)
    _apply_balance(store, inv, cust)
    store.updated("customers", cust)
    store.updated("invoices", inv)
    emit(store, "invoice.finalized", render.invoice(store, inv))
    if render.invoice_totals(store, inv)["amount_due"] == 0:
        # Stripe settles an invoice with nothing to collect (zero, negative, or covered by credit)
        # the moment it is finalized.
        _mark_paid(store, inv)
    return inv


def _apply_balance(store: Store, inv: dict[str, Any], cust: dict[str, Any]) -> None:
    """Stripe applies the customer's balance at finalization: credit (negative) lowers what is due,
    a debt (positive) raises it, and a negative total becomes credit. amount_due = max(net, 0) and
    the balance after = min(net, 0), with net = total + starting balance."""
    starting = cust.get("balance", 0)
    net = render.invoice_totals(store, inv)["total"] + starting
    inv["starting_balance"], inv["ending_balance"] = starting, min(net, 0)
    if inv["ending_balance"] != starting:
        _balance_transaction(store, cust, inv["ending_balance"] - starting, "applied_to_invoice", inv)


def _balance_transaction(store: Store, cust: dict[str, Any], amount: int, kind: str, inv: dict[str, Any]) -> None:
    previous = cust.get("balance", 0)
    cust["balance"] = previous + amount
    store.insert(
        "balance_transactions",
        {
            "id": new_id("cbtxn_"),
            "created": store.now(),
            "customer": cust["id"],
            "amount": amount,
            "currency": inv["currency"],
            "ending_balance": cust["balance"],
            "invoice": inv["id"],
            "type": kind,
        },
    )
    store.updated("customers", cust)
    emit(store, "customer.updated", render.customer(cust), {"balance": previous})


def _mark_paid(store: Store, inv: dict[str, Any]) -> None:
    inv["amount_paid"] = render.invoice_totals(store, inv)["amount_due"]
    inv["status"] = "paid"
    inv["paid_at"] = store.now()
    store.updated("invoices", inv)
    snapshot = render.invoice(store, inv)
    emit(store, "invoice.paid", snapshot)
    emit(store, "invoice.payment_succeeded", snapshot)


def pay(store: Store, inv: dict[str, Any], out_of_band: bool, decline: Callable[[], bool]) -> dict[str, Any]:
    """Charge the invoice; `decline()` is asked only when a card would really be charged."""
    if inv["status"] == "draft":
        finalize(store, inv)
        if inv["status"] == "paid":
            return inv
    if inv["status"] == "paid":
        raise ApiError(400, "Invoice is already paid.")
    if inv["status"] != "open":
        raise ApiError(400, "You can only pay open invoices. This invoice isn't open.")
    if not out_of_band:
        inv["attempt_count"] += 1
        store.updated("invoices", inv)
        if decline():
            emit(store, "invoice.payment_failed", render.invoice(store, inv))
            raise ApiError(
                402,
                "Your card was declined.",
                type="card_error",
                code="card_declined",
                extra={"decline_code": "generic_decline"},
            )
    _mark_paid(store, inv)
    return inv


def void(store: Store, inv: dict[str, Any]) -> dict[str, Any]:
    if inv["status"] != "open":
        raise ApiError(400, "You can only pass in open invoices. This invoice isn't open.")
    inv["status"] = "void"
    inv["voided_at"] = store.now()
    store.updated("invoices", inv)
    applied = (inv.get("ending_balance") or 0) - (inv.get("starting_balance") or 0)
    if applied:
        # Voiding gives back what finalization took from (or added to) the customer's balance.
        _balance_transaction(store, store.get("customers", inv["customer"]), -applied, "unapplied_from_invoice", inv)
    emit(store, "invoice.voided", render.invoice(store, inv))
    return inv


def auto_finalize_due(store: Store) -> None:
    """Finalize auto_advance drafts whose hour is up, as Stripe does when time passes."""
    deadline = store.now() - AUTO_FINALIZE_AFTER
    for inv in store.rows("invoices"):
        if inv["status"] == "draft" and inv["auto_advance"] and inv["created"] <= deadline:
            finalize(store, inv)
