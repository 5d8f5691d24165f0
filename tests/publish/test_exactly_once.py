"""Exactly once against a real local Stripe: crashes between any two writes, expired keys, faults."""

import pytest

from billing_pipeline.lib.publish.publisher import STEPS
from stripe_local import LocalStripeControls
from tests.publish.crashes import Crash, crash_once_at, publish
from tests.publish.issued_world import PUBLISHED, line_counts
from tests.publish.runs import stripe_at
from tests.publish.stripe_view import assert_published_exactly_once

DAY = 86400


# Crash in the middle of the period (dora is the third invoice sent), after Stripe answered but
# before the publications knew ("sent"), and after their write ("recorded").
@pytest.mark.parametrize("phase", ["sent", "recorded"])
@pytest.mark.parametrize("step", STEPS)
def test_a_rerun_after_a_crash_at_any_step_publishes_each_invoice_exactly_once(
        paths, local_stripe, sdk, step, phase):
    hook, fired = crash_once_at("INV-202601-dora", step, phase)
    with pytest.raises(Crash):
        publish(paths, local_stripe, hook=hook)
    assert fired

    outcome = publish(paths, local_stripe)

    assert {i: s for i, s in outcome.statuses.items() if s == "finalized"}.keys() == PUBLISHED.keys()
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))


@pytest.mark.parametrize("step", STEPS)
def test_a_rerun_after_the_idempotency_keys_expired_creates_nothing_twice(paths, local_stripe, controls, sdk, step):
    # The worst case: Stripe applied the write, the publications never heard of it, and a day later the
    # key that would have replayed the answer is gone. The publications and lists by metadata decide.
    hook, _ = crash_once_at("INV-202601-cara", step, "sent")
    with pytest.raises(Crash):
        publish(paths, local_stripe, hook=hook)
    controls.advance_clock(DAY + 3600)

    publish(paths, local_stripe)

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
        paths, local_stripe, controls: LocalStripeControls, sdk, fault):
    controls.add_fault(method="POST", **fault)

    outcome = publish(paths, local_stripe)

    assert outcome.failed == {}
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
    faulted = [r for r in controls.requests() if r["fault"]]
    assert faulted and all(r["idempotency_key"] and r["idempotency_key"].startswith("bp:") for r in faulted)


def test_a_dropped_answer_without_retries_fails_that_invoice_and_the_next_run_finishes_it(
        paths, stripe_url, controls, sdk, monkeypatch):
    controls.add_fault("drop", method="POST", path="/v1/invoices/", count=1)  # the first finalize
    without_retries = stripe_at(monkeypatch, stripe_url, retries=0)

    first = publish(paths, without_retries)
    second = publish(paths, without_retries)

    assert list(first.failed) == ["INV-202601-beta"]
    assert second.failed == {}
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
