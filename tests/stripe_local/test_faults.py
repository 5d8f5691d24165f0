"""Injected faults are survived by the SDK's own retries, with exactly one object created."""

from __future__ import annotations

import time
from typing import Callable

import pytest
import stripe

from stripe_local import LocalStripeControls


def _attempts(controls: LocalStripeControls, path: str) -> list[dict[str, object]]:
    return [r for r in controls.requests() if r["path"] == path and r["method"] == "POST"]


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retried_by_the_sdk_and_creates_one_customer(
    client: stripe.StripeClient, controls: LocalStripeControls, status: int
) -> None:
    controls.add_fault("error", "POST", "/v1/customers", count=2, status=status)

    customer = client.v1.customers.create({"email": "a@acme.test"})

    attempts = _attempts(controls, "/v1/customers")
    assert [a["status"] for a in attempts] == [status, status, 200]
    assert len({a["idempotency_key"] for a in attempts}) == 1
    assert [c.id for c in client.v1.customers.list().data] == [customer.id]


def test_a_connection_dropped_after_the_write_is_retried_and_replayed_not_repeated(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    customer = client.v1.customers.create({"name": "Acme"})
    controls.add_fault("drop", "POST", "/v1/invoices")

    invoice = client.v1.invoices.create({"customer": customer.id, "metadata": {"period": "2026-01"}})

    attempts = _attempts(controls, "/v1/invoices")
    assert [(a["status"], a["replayed"]) for a in attempts] == [("dropped", False), (200, True)]
    assert attempts[0]["idempotency_key"] == attempts[1]["idempotency_key"]
    assert invoice.last_response.headers["Idempotent-Replayed"] == "true"
    assert [i.id for i in client.v1.invoices.list().data] == [invoice.id]
    assert len(client.v1.events.list({"type": "invoice.created"}).data) == 1


def test_a_dropped_connection_without_sdk_retries_surfaces_as_a_connection_error_after_the_write(
    make_client: Callable[..., stripe.StripeClient], controls: LocalStripeControls
) -> None:
    controls.add_fault("drop", "POST", "/v1/customers")

    with pytest.raises(stripe.APIConnectionError):
        make_client(retries=0).v1.customers.create({"name": "Acme"})

    assert len(make_client().v1.customers.list().data) == 1


def test_a_rate_limit_is_only_lifted_once_retry_after_has_passed(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    controls.add_fault("rate_limit", "POST", "/v1/customers", retry_after=1)
    started = time.monotonic()

    customer = client.v1.customers.create({"name": "Acme"})

    elapsed = time.monotonic() - started
    attempts = _attempts(controls, "/v1/customers")
    assert elapsed >= 1.0
    assert [a["status"] for a in attempts][-1] == 200
    assert all(a["status"] == 429 for a in attempts[:-1]) and len(attempts) >= 2
    assert [c.id for c in client.v1.customers.list().data] == [customer.id]


def test_a_rate_limit_error_carries_retry_after_when_the_client_does_not_retry(
    make_client: Callable[..., stripe.StripeClient], controls: LocalStripeControls
) -> None:
    controls.add_fault("rate_limit", "GET", "/v1/invoices", retry_after=7)

    with pytest.raises(stripe.RateLimitError) as error:
        make_client(retries=0).v1.invoices.list()

    assert error.value.http_status == 429
    assert error.value.headers["Retry-After"] == "7"
    assert error.value.json_body["error"]["code"] == "rate_limit"


def test_a_delay_holds_the_request_that_long(client: stripe.StripeClient, controls: LocalStripeControls) -> None:
    controls.add_fault("delay", "GET", "/v1/customers", delay_ms=300)
    started = time.monotonic()

    client.v1.customers.list()

    assert time.monotonic() - started >= 0.3


def test_a_fault_hits_only_its_method_and_path_and_only_count_times(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    controls.add_fault("error", "POST", "/v1/invoiceitems", count=1, status=500)

    client.v1.customers.create({"name": "untouched"})
    client.v1.customers.list()

    assert controls.pending_faults()[0]["count"] == 1
    assert all(r["fault"] is None for r in controls.requests())
