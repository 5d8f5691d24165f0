"""The publications: what was sent to Stripe for each issued invoice, and what Stripe said back.

Written by the publisher (one row per invoice, one per invoice item) and by the loader of Stripe
events (webhook inbox and events list); read by the finance reports and the payment-failed alerts.
Columns may be added, never renamed.
"""

import duckdb

DDL = """
CREATE SCHEMA IF NOT EXISTS publish;

-- One row per issued invoice; status moves pending -> customer_ready -> draft_created -> items_added
-- -> finalized, or ends in skipped_zero (zero-total policy) or failed (last_error says why; a re-run
-- resumes it), or integrity_error (the issued content no longer matches content_hash: never republished).
-- A recorded draft that vanished from Stripe moves back to customer_ready and is created again.
CREATE TABLE IF NOT EXISTS publish.invoice_publications (
    invoice_id VARCHAR PRIMARY KEY,
    account_id VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    total_cents BIGINT NOT NULL,
    content_hash VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    stripe_customer_id VARCHAR,
    stripe_invoice_id VARCHAR,
    stripe_invoice_number VARCHAR,
    hosted_invoice_url VARCHAR,
    amount_due_cents BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    first_attempt_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    finalized_at TIMESTAMPTZ
);

-- Added later (ADD COLUMN, so warehouses from before get them too):
-- where the invoice went: the account GET /v1/account named, live or test key, and the API address;
ALTER TABLE publish.invoice_publications ADD COLUMN IF NOT EXISTS stripe_account_id VARCHAR;
ALTER TABLE publish.invoice_publications ADD COLUMN IF NOT EXISTS stripe_mode VARCHAR;
ALTER TABLE publish.invoice_publications ADD COLUMN IF NOT EXISTS stripe_api_base VARCHAR;
-- the customer balance Stripe applied at finalization (its applied_to_invoice balance transactions):
-- negative = a negative invoice credited to the customer, positive = the customer's credit paid part
-- of it; total_cents = amount_due_cents + balance_applied_cents;
ALTER TABLE publish.invoice_publications ADD COLUMN IF NOT EXISTS balance_applied_cents BIGINT;
-- how many times a recorded draft had vanished from Stripe and was created again.
ALTER TABLE publish.invoice_publications ADD COLUMN IF NOT EXISTS drafts_recreated INTEGER DEFAULT 0;

CREATE TABLE IF NOT EXISTS publish.invoice_item_publications (
    invoice_id VARCHAR NOT NULL,
    line_id VARCHAR NOT NULL,
    stripe_invoice_item_id VARCHAR NOT NULL,
    amount_cents BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (invoice_id, line_id)
);

-- Stripe events about our invoices, each event id once, from the webhook inbox or the events list.
CREATE TABLE IF NOT EXISTS publish.stripe_events (
    event_id VARCHAR PRIMARY KEY,
    type VARCHAR NOT NULL,
    stripe_invoice_id VARCHAR,
    invoice_id VARCHAR,
    account_id VARCHAR,
    period VARCHAR,
    amount_cents BIGINT,
    currency VARCHAR,
    failure_message VARCHAR,
    occurred_at TIMESTAMPTZ NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);

-- How far the events list has been read (unix seconds of the newest event seen), per source.
CREATE TABLE IF NOT EXISTS publish.stripe_event_cursor (
    source VARCHAR PRIMARY KEY,
    last_created BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Payment state of each published invoice: a negative one is credited (Stripe settles it at
-- finalization and credits the customer's balance); else the latest invoice.paid /
-- invoice.payment_failed / invoice.voided event decides; none yet = open; never finalized = not_sent.
CREATE OR REPLACE VIEW publish.invoice_payment_status AS
SELECT p.invoice_id, p.account_id, p.period, p.total_cents, p.status AS publication_status,
       p.stripe_invoice_id,
       CASE WHEN p.status = 'finalized' AND p.total_cents < 0 THEN 'credited'
            WHEN e.type = 'invoice.paid' THEN 'paid' WHEN e.type = 'invoice.payment_failed' THEN 'payment_failed'
            WHEN e.type = 'invoice.voided' THEN 'voided' WHEN p.status <> 'finalized' THEN 'not_sent'
            ELSE 'open' END AS payment_status,
       e.failure_message, e.occurred_at AS payment_event_at
FROM publish.invoice_publications AS p
LEFT JOIN (
    SELECT * FROM publish.stripe_events
    WHERE type IN ('invoice.paid', 'invoice.payment_failed', 'invoice.voided')
    QUALIFY row_number() OVER (PARTITION BY stripe_invoice_id ORDER BY occurred_at DESC, event_id DESC) = 1
) AS e ON e.stripe_invoice_id = p.stripe_invoice_id;
"""


def ensure_publish_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL).fetchall()
