"""Publishing issued invoices to Stripe exactly once, and loading what Stripe says back.

issued: what to publish (the issued ledger of a period) and its content hash; keys: deterministic
idempotency keys; ledger: the publication ledger rows; customers: finding or creating the Stripe
customer of an account; publisher: the steps per invoice; reconcile: reading amounts back;
stripe_events: payment events from the webhook inbox and the events list.
"""
