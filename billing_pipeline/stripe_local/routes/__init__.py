"""Routes of the local Stripe server: Stripe's v1 API, then the test controls."""

from billing_pipeline.stripe_local.routes import customers, events, invoiceitems, invoices, test_controls

routes = customers.routes + invoiceitems.routes + invoices.routes + events.routes + test_controls.routes
