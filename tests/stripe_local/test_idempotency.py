"""Idempotency keys as Stripe documents them, through the official SDK."""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit
from typing import Callable

import pytest
import stripe

from stripe_local import LocalStripeControls

from .conftest import wait_for


def test_a_replayed_idempotency_key_returns_the_same_object_and_creates_nothing(
    client: stripe.StripeClient,
) -> None:
    params = {"email": "a@acme.test", "metadata": {"account_id": "acc_1"}}
    first = client.v1.customers.create(params, {"idempotency_key": "publish-acc_1"})  # type: ignore[arg-type]
    again = client.v1.customers.create(params, {"idempotency_key": "publish-acc_1"})  # type: ignore[arg-type]

    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert len(client.v1.customers.list().data) == 1
    assert len(client.v1.events.list({"type": "customer.created"}).data) == 1


def test_parameters_in_another_order_are_the_same_request(client: stripe.StripeClient) -> None:
    first = client.v1.customers.create({"name": "A", "email": "a@acme.test"}, {"idempotency_key": "k"})
    again = client.v1.customers.create({"email": "a@acme.test", "name": "A"}, {"idempotency_key": "k"})

    assert again.id == first.id


def test_the_same_key_with_other_parameters_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.customers.create({"email": "a@acme.test"}, {"idempotency_key": "k-1"})

    with pytest.raises(stripe.IdempotencyError) as error:
        client.v1.customers.create({"email": "b@acme.test"}, {"idempotency_key": "k-1"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.invoices.create({"customer": "cus_x"}, {"idempotency_key": "k-1"})  # another endpoint

    assert error.value.http_status == 400
    assert error.value.json_body["error"]["type"] == "idempotency_error"
    assert len(client.v1.customers.list().data) == 1


def test_a_stored_client_error_is_replayed_and_not_executed_again(client: stripe.StripeClient) -> None:
    params = {"customer": "cus_missing", "amount": 100}
    with pytest.raises(stripe.InvalidRequestError) as first:
        client.v1.invoice_items.create(params, {"idempotency_key": "item-1"})  # type: ignore[arg-type]
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.invoice_items.create(params, {"idempotency_key": "item-1"})  # type: ignore[arg-type]

    assert first.value.code == again.value.code == "resource_missing"
    assert again.value.headers.get("Idempotent-Replayed") == "true"


def test_a_key_expires_after_24_hours_and_then_executes_anew(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    first = client.v1.customers.create({"name": "A"}, {"idempotency_key": "daily"})
    controls.advance_clock(23 * 3600)
    within_a_day = client.v1.customers.create({"name": "A"}, {"idempotency_key": "daily"})
    controls.advance_clock(2 * 3600)  # 25 h after the first request

    after_expiry = client.v1.customers.create({"name": "A"}, {"idempotency_key": "daily"})

    assert within_a_day.id == first.id
    assert after_expiry.id != first.id
    assert after_expiry.last_response.headers.get("Idempotent-Replayed") is None
    assert len(client.v1.customers.list().data) == 2


def test_a_key_still_in_flight_answers_409_and_the_sdk_retry_then_replays(
    make_client: Callable[..., stripe.StripeClient], controls: LocalStripeControls
) -> None:
    controls.add_fault("delay", "POST", "/v1/customers", delay_ms=700)
    slow_result: list[stripe.Customer] = []
    slow = threading.Thread(
        target=lambda: slow_result.append(make_client().v1.customers.create({"name": "A"}, {"idempotency_key": "k"}))
    )
    slow.start()
    wait_for(lambda: any(r["fault"] == "delay" for r in controls.requests()))

    with pytest.raises(stripe.APIError) as conflict:
        make_client(retries=0).v1.customers.create({"name": "A"}, {"idempotency_key": "k"})
    patient = make_client(retries=3).v1.customers.create({"name": "A"}, {"idempotency_key": "k"})
    slow.join()

    assert conflict.value.http_status == 409
    assert conflict.value.json_body["error"]["code"] == "idempotency_key_in_use"
    assert patient.id == slow_result[0].id
    assert len(make_client().v1.customers.list().data) == 1


def test_keys_are_scoped_to_the_api_key(make_client: Callable[..., stripe.StripeClient]) -> None:
    one = make_client(api_key="sk_test_one").v1.customers.create({"name": "A"}, {"idempotency_key": "shared"})
    two = make_client(api_key="sk_test_two").v1.customers.create({"name": "A"}, {"idempotency_key": "shared"})

    assert one.id != two.id


def test_a_request_whose_client_died_mid_body_is_not_run_and_its_key_stays_free(
    client: stripe.StripeClient, controls: LocalStripeControls, stripe_url: str
) -> None:
    """A caller killed between sending its headers and its body (a crashed publisher) left nothing: its
    re-run, with the same key and the whole body, creates the object instead of being refused."""
    body = b"email=a%40acme.test&metadata[account_id]=acc_1"
    url = urlsplit(stripe_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: stripe\r\nAuthorization: Bearer sk_test_local\r\n"
                     b"Idempotency-Key: rerun-me\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
    wait_for(lambda: any(r["path"] == "/v1/customers" and r.get("status") for r in controls.requests()))

    customer = client.v1.customers.create({"email": "a@acme.test", "metadata": {"account_id": "acc_1"}},
                                          {"idempotency_key": "rerun-me"})

    assert [r["status"] for r in controls.requests() if r["path"] == "/v1/customers"] == ["client_gone", 200]
    assert customer.last_response.headers.get("Idempotent-Replayed") is None
    assert [c.id for c in client.v1.customers.list().data] == [customer.id]
