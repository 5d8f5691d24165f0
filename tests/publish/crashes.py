"""Crashing the publisher between any two Stripe writes, and running it unwrapped."""

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.publisher import PeriodOutcome, publish_period
from billing_pipeline.lib.publish.stripe_resource import StripeResource
from billing_pipeline.lib.warehouse import connect
from tests.publish.issued_world import PERIOD


class Crash(Exception):
    """Stands for the process dying: not a Stripe error, so nothing catches it."""


def crash_once_at(invoice_id: str, step: str, phase: str):
    fired = []

    def hook(at_invoice: str, at_step: str, at_phase: str) -> None:
        if not fired and (at_invoice, at_step, at_phase) == (invoice_id, step, phase):
            fired.append(True)
            raise Crash(f"crashed after {step} ({phase}) of {invoice_id}")

    return hook, fired


def publish(paths: DataDir, stripe_resource: StripeResource, hook=None) -> PeriodOutcome:
    """The publisher alone, as the stripe_invoices asset calls it (crash hooks need it unwrapped)."""
    with stripe_resource.session() as session, connect(paths.warehouse) as con:
        return publish_period(con, session.client, PERIOD, session.target, on_step=hook)
