"""Exactly once against a real local Stripe: crashes between any two writes, expired keys, faults."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import stripe

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.publisher import STEPS, publish_period
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.stripe_local import LocalStripeControls
from tests.publish.conftest import API_KEY
from tests.publish.issued_world import PERIOD, PUBLISHED, line_counts
from tests.publish.stripe_view import assert_published_exactly_once

DAY = 86400


class Crash(Exception):
    """Stands for the process dying: not a Stripe error, so nothing catches it."""


def crash_once_at(invoice_id: str, step: str, phase: str):
    fired = []

    def hook(at_invoice: str, at_step: str, at_phase: str) -> None:
        if not fired and (at_invoice, at_step, at_phase) == (invoice_id, step, phase):
            fired.append(True)
            raise Crash(f"crashed after {step} ({phase}) of {invoice_id}")

    return hook, fired


@contextmanager
def publisher_client(url: str, retries: int = 4) -> Iterator[stripe.StripeClient]:
    transport = stripe.RequestsClient()
    yield stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=retries, http_client=transport)
    transport.close()


def publish(paths: DataDir, url: str, retries: int = 4, hook=None):
    with publisher_client(url, retries) as client, connect(paths.warehouse) as con:
        return publish_period(con, client, PERIOD, on_step=hook)


# Crash in the middle of the period (dora is the third invoice sent), after Stripe answered but
# before the ledger knew ("sent"), and after the ledger write ("recorded").
@pytest.mark.parametrize("phase", ["sent", "recorded"])
@pytest.mark.parametrize("step", STEPS)
def test_a_rerun_after_a_crash_at_any_step_publishes_each_invoice_exactly_once(
        paths, stripe_url, controls, sdk, step, phase):
    hook, fired = crash_once_at("INV-202601-dora", step, phase)
    with pytest.raises(Crash):
        publish(paths, stripe_url, hook=hook)
    assert fired

    outcome = publish(paths, stripe_url)

    assert {i: s for i, s in outcome.statuses.items() if s == "finalized"}.keys() == PUBLISHED.keys()
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))


@pytest.mark.parametrize("step", STEPS)
def test_a_rerun_after_the_idempotency_keys_expired_creates_nothing_twice(paths, stripe_url, controls, sdk, step):
    # The worst case: Stripe applied the write, the ledger never heard of it, and a day later the
    # key that would have replayed the answer is gone. The ledger and lists by metadata decide.
    hook, _ = crash_once_at("INV-202601-cara", step, "sent")
    with pytest.raises(Crash):
        publish(paths, stripe_url, hook=hook)
    controls.advance_clock(DAY + 3600)

    publish(paths, stripe_url)

    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
    replays = [r for r in controls.requests() if r.get("replayed")]
    assert replays == []  # nothing was saved by a replayed key: the keys had expired


# Each fault on another step: customer, draft, items, finalize ("/v1/invoices/" is only finalize here).
@pytest.mark.parametrize("fault", [
    {"kind": "error", "status": 500, "count": 2, "path": "/v1/customers"},
    {"kind": "error", "status": 503, "count": 2, "path": "/v1/invoices"},
    {"kind": "rate_limit", "retry_after": 1, "path": "/v1/invoiceitems"},
    {"kind": "drop", "count": 2, "path": "/v1/invoiceitems"},
    {"kind": "drop", "count": 1, "path": "/v1/invoices/"},
    {"kind": "delay", "delay_ms": 300, "count": 3, "path": "/v1/invoices"},
], ids=["500-customer", "503-draft", "429-item", "drop-item", "drop-finalize", "delay-draft"])
def test_each_injected_fault_is_retried_with_the_same_key_and_the_run_ends_correct(
        paths, stripe_url, controls: LocalStripeControls, sdk, fault):
    controls.add_fault(method="POST", **fault)

    outcome = publish(paths, stripe_url)

    assert outcome.failed == {}
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
    faulted = [r for r in controls.requests() if r["fault"]]
    assert faulted and all(r["idempotency_key"] and r["idempotency_key"].startswith("bp:") for r in faulted)


def test_a_dropped_answer_without_retries_fails_that_invoice_and_the_next_run_finishes_it(
        paths, stripe_url, controls, sdk):
    controls.add_fault("drop", method="POST", path="/v1/invoices/", count=1)  # the first finalize

    first = publish(paths, stripe_url, retries=0)
    second = publish(paths, stripe_url, retries=0)

    assert list(first.failed) == ["INV-202601-beta"]
    assert second.failed == {}
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
