"""Demo customers who pay each invoice the moment it is finalized, one card in N declined.

Off unless asked for (`--autopay`, or POST /_test/autopay): real Stripe only charges a
charge_automatically invoice when told to (auto_advance, or /pay). With it on, `make demo` shows
paid and failed invoices without any payment code in the pipeline, which loads the resulting
invoice.paid / invoice.payment_failed events like any others. Which invoices are declined depends
only on our invoice id in their metadata (else the Stripe id), so a demo declines the same ones
every time.
"""

from __future__ import annotations

import hashlib
from typing import Any

from stripe_local import billing
from stripe_local.store import Store
from stripe_local.wire import ApiError

DEFAULT_DECLINE_ONE_IN = 7


def is_declined(key: str, one_in: int) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % one_in == 0


class Autopay:
    def __init__(self, decline_one_in: int | None = None) -> None:
        """`decline_one_in`: None = customers do not pay by themselves (as in Stripe)."""
        self.configured = self.decline_one_in = decline_one_in

    def set(self, decline_one_in: int | None) -> None:
        if decline_one_in is not None and decline_one_in < 1:
            raise ApiError(400, "decline_one_in must be >= 1 (1 declines every card)", param="decline_one_in")
        self.decline_one_in = decline_one_in

    def reset(self) -> None:
        self.decline_one_in = self.configured

    def after_finalize(self, store: Store, inv: dict[str, Any]) -> None:
        """Caller holds store.lock. An invoice with nothing due was settled by finalizing it."""
        if self.decline_one_in is None or inv["status"] != "open" or inv["collection_method"] != "charge_automatically":
            return
        declined = is_declined(inv["metadata"].get("invoice_id") or inv["id"], self.decline_one_in)
        try:
            billing.pay(store, inv, out_of_band=False, decline=lambda: declined)
        except ApiError:
            pass  # declined: recorded on the invoice (attempt_count) and as invoice.payment_failed
