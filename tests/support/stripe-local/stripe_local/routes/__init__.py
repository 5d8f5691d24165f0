"""Routes of the local Stripe server: Stripe's v1 API, then the test controls."""

from stripe_local.routes import account, controls, customers, events, invoiceitems, invoices

routes = account.routes + customers.routes + invoiceitems.routes + invoices.routes + events.routes + controls.routes
