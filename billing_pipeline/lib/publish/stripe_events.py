"""Payment events about our invoices into publish.stripe_events, each event id once.

Two ways in: the webhook inbox (files the quota API's webhook endpoint wrote) and Stripe's events
list since a cursor, which catches whatever the webhook missed (endpoint down, delivery given up).
Only events about invoices we published are recorded, matched by Stripe invoice id or by our
invoice id in its metadata; the rest are counted.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import stripe

from billing_pipeline.lib.publish.schema import ensure_publish_schema
from billing_pipeline.exchange import stripe_inbox

PAYMENT_EVENT_TYPES = ("invoice.paid", "invoice.payment_failed", "invoice.voided")
EVENTS_LIST_SOURCE = "events_list"


@dataclass
class EventLoad:
    recorded: int = 0
    duplicates: int = 0
    not_ours: int = 0
    other_types: int = 0
    inbox_files: int = 0
    listed: int = 0


def load_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, counts: EventLoad) -> None:
    ensure_publish_schema(con)
    for path in stripe_inbox.pending(inbox):
        _record(con, json.loads(path.read_bytes()), counts)
        stripe_inbox.mark_processed(path)
        counts.inbox_files += 1


def load_listed(con: duckdb.DuckDBPyConnection, client: stripe.StripeClient, counts: EventLoad) -> None:
    """Events of the payment types created since the newest one seen by the previous load."""
    ensure_publish_schema(con)
    cursor = next(iter(con.execute("SELECT last_created FROM publish.stripe_event_cursor WHERE source = ?",
                                   [EVENTS_LIST_SOURCE]).fetchall()), None)
    # gte, not gt: events created in the same second as the cursor may not all have been seen;
    # the event id key keeps the overlap from counting twice.
    params: dict[str, Any] = {"types": list(PAYMENT_EVENT_TYPES), "limit": 100}
    if cursor:
        params["created"] = {"gte": cursor[0]}
    newest = cursor[0] if cursor else None
    for event in client.v1.events.list(params).auto_paging_iter():  # type: ignore[arg-type]
        counts.listed += 1
        _record(con, event.to_dict(), counts)
        newest = max(newest or 0, event.created)
    if newest is not None:
        con.execute("""INSERT INTO publish.stripe_event_cursor VALUES (?, ?, ?)
                       ON CONFLICT (source) DO UPDATE SET last_created = excluded.last_created,
                           updated_at = excluded.updated_at""",
                    [EVENTS_LIST_SOURCE, newest, datetime.now(timezone.utc)]).fetchall()


def _record(con: duckdb.DuckDBPyConnection, event: dict[str, Any], counts: EventLoad) -> None:
    if event.get("type") not in PAYMENT_EVENT_TYPES:
        counts.other_types += 1
        return
    invoice = event["data"]["object"]
    ours = con.execute(
        """SELECT invoice_id, account_id, period FROM publish.invoice_publications
           WHERE stripe_invoice_id = ? OR invoice_id = ? LIMIT 1""",
        [invoice.get("id"), (invoice.get("metadata") or {}).get("invoice_id")]).fetchall()
    if not ours:
        counts.not_ours += 1
        return
    inserted = con.execute(
        """INSERT INTO publish.stripe_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (event_id) DO NOTHING RETURNING event_id""",
        [event["id"], event["type"], invoice.get("id"), *ours[0], _amount(event["type"], invoice),
         invoice.get("currency"), _failure(event["type"], invoice),
         datetime.fromtimestamp(event["created"], timezone.utc), datetime.now(timezone.utc)]).fetchall()
    if inserted:
        counts.recorded += 1
    else:
        counts.duplicates += 1


def _amount(event_type: str, invoice: dict[str, Any]) -> int | None:
    return invoice.get("amount_paid") if event_type == "invoice.paid" else invoice.get("amount_due")


def _failure(event_type: str, invoice: dict[str, Any]) -> str | None:
    if event_type != "invoice.payment_failed":
        return None
    # The decline reason lives on the payment, not the invoice; the invoice says how many tries failed.
    return f"payment attempt {invoice.get('attempt_count') or 1} failed"
