"""`stripe_payment_events`: what Stripe says about our invoices' payments, recorded once.

The webhook endpoint of the quota API lands verified events as files in the inbox; this asset
loads them, then lists Stripe's events since its cursor, so an event whose webhook never arrived
is recorded all the same. A sensor runs it whenever the inbox holds files.
"""

import dagster as dg
import polars as pl

from billing_pipeline.lib.publish.stripe_resource import StripeNotConfigured, StripeResource
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.lib.publish.stripe_events import EventLoad, load_inbox, load_listed
from billing_pipeline.exchange import stripe_inbox


@dg.asset(
    key="stripe_payment_events",
    group_name="publish",
    kinds={"stripe", "duckdb"},
    deps=["stripe_invoices"],
    pool="duckdb_warehouse",
    owners=["team:data-engineering"],
    description="invoice.paid / invoice.payment_failed / invoice.voided events about published invoices, from "
                "the webhook inbox and Stripe's events list, each event id once (publish.stripe_events); "
                "publish.invoice_payment_status shows each invoice's latest.",
)
def stripe_payment_events(context: dg.AssetExecutionContext, billing_data: BillingData,
                          stripe: StripeResource) -> dg.MaterializeResult:
    counts = EventLoad()
    try:
        with stripe.session() as session, billing_data.warehouse() as con:
            load_inbox(con, billing_data.paths.stripe_inbox, counts)
            load_listed(con, session.client, counts)
            status = pl.from_arrow(con.sql(
                "SELECT payment_status, count(*) AS invoices, sum(total_cents) AS total_cents "
                "FROM publish.invoice_payment_status WHERE publication_status = 'finalized' GROUP BY ALL ORDER BY 1"
            ).to_arrow_table())
            failed = pl.from_arrow(con.sql(
                "SELECT invoice_id, account_id, period, total_cents, failure_message, payment_event_at "
                "FROM publish.invoice_payment_status WHERE payment_status = 'payment_failed' ORDER BY invoice_id"
            ).to_arrow_table())
    except StripeNotConfigured as refused:
        raise dg.Failure(description=str(refused)) from None
    return dg.MaterializeResult(metadata={
        "dagster/row_count": counts.recorded,
        **session.target.metadata(),
        "recorded": counts.recorded,
        "already_recorded": counts.duplicates,
        "not_our_invoices": counts.not_ours,
        "other_event_types": counts.other_types,
        "inbox_files": counts.inbox_files,
        "listed_events": counts.listed,
        "payment_status": dg.MetadataValue.md(markdown.table(status)),
        "payment_failed": dg.MetadataValue.md(markdown.table(failed)),
    })


stripe_events_job = dg.define_asset_job(
    "stripe_events_job", selection=dg.AssetSelection.assets(stripe_payment_events),
    description="Load Stripe payment events (webhook inbox and events list) into publish.stripe_events.",
)


@dg.sensor(job=stripe_events_job, minimum_interval_seconds=30,
           description="Loads Stripe events as soon as the webhook endpoint has landed new ones in the inbox.")
def stripe_inbox_sensor(context: dg.SensorEvaluationContext, billing_data: BillingData):
    waiting = stripe_inbox.pending(billing_data.paths.stripe_inbox)
    if not waiting:
        return dg.SkipReason("no Stripe events waiting in the inbox")
    # A run moves the files it loaded; the newest name keys the request so a tick never asks twice.
    return dg.RunRequest(run_key=f"inbox:{len(waiting)}:{waiting[-1].name}")
