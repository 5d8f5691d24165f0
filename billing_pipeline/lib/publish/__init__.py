"""Publishing issued invoices to Stripe exactly once, and loading what Stripe says back.

stripe_resource: which Stripe (configured key and address, the account it reaches); issued: what to
publish (the issued invoices of a period) and its content hash; keys: deterministic idempotency
keys; schema and publications: the publication records; customers: finding or creating the Stripe
customer of an account; publisher: the steps per invoice; reconcile: reading amounts back;
stripe_events: payment events from the webhook inbox and the events list.
"""
