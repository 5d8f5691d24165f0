"""Routes of the local Stripe server: Stripe's v1 API, then the test controls."""

from billing_pipeline.stripe_local.routes import controls, customers, events, invoiceitems, invoices

routes = customers.routes + invoiceitems.routes + invoices.routes + events.routes + controls.routes
