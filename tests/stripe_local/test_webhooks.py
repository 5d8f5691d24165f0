"""Events reach registered endpoints as signed POSTs that stripe.Webhook.construct_event verifies."""

from __future__ import annotations

import pytest
import stripe

from stripe_local import LocalStripeControls

from .conftest import WebhookReceiver, wait_for


def _endpoint(client: stripe.StripeClient, receiver: WebhookReceiver, events: list[str]) -> stripe.WebhookEndpoint:
    return client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": events})


def _paid_invoice(client: stripe.StripeClient) -> stripe.Invoice:
    customer = client.v1.customers.create({"name": "Acme"}).id
    invoice = client.v1.invoices.create({"customer": customer})
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 1999})
    client.v1.invoices.finalize_invoice(invoice.id)
    return client.v1.invoices.pay(invoice.id)


def test_a_delivered_event_verifies_with_construct_event(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    endpoint = _endpoint(client, receiver, ["invoice.paid"])

    invoice = _paid_invoice(client)

    delivery = wait_for(lambda: receiver.received)[0]
    event = stripe.Webhook.construct_event(delivery["body"], delivery["headers"]["Stripe-Signature"], endpoint.secret)
    assert endpoint.secret.startswith("whsec_") and endpoint.id.startswith("we_")
    assert event.type == "invoice.paid" and event.id.startswith("evt_")
    assert event.data.object.id == invoice.id and event.data.object.amount_paid == 1999
    assert event.id == client.v1.events.list({"type": "invoice.paid"}).data[0].id


def test_a_tampered_payload_or_a_wrong_secret_fails_verification(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    endpoint = _endpoint(client, receiver, ["customer.created"])
    client.v1.customers.create({"name": "Acme"})
    delivery = wait_for(lambda: receiver.received)[0]
    signature = delivery["headers"]["Stripe-Signature"]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery["body"].replace("Acme", "Evil"), signature, endpoint.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery["body"], signature, "whsec_not_the_secret")


def test_only_subscribed_event_types_are_delivered(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    _endpoint(client, receiver, ["invoice.finalized"])

    _paid_invoice(client)

    wait_for(lambda: receiver.received)
    everything = [e.type for e in client.v1.events.list({"limit": 100}).data]
    assert "invoice.paid" in everything and "customer.created" in everything
    assert [e["type"] for e in receiver.accepted_events()] == ["invoice.finalized"]


def test_a_failing_endpoint_is_retried_until_it_accepts(
    client: stripe.StripeClient, receiver: WebhookReceiver, controls: LocalStripeControls
) -> None:
    receiver.fail_first = 2
    _endpoint(client, receiver, ["customer.created"])

    customer = client.v1.customers.create({"name": "Acme"})

    accepted = wait_for(receiver.accepted_events)
    assert [r["answered"] for r in receiver.received] == [500, 500, 200]
    assert accepted[0]["data"]["object"]["id"] == customer.id
    assert wait_for(lambda: [d["attempt"] for d in controls.webhook_deliveries()] == [1, 2, 3])
    event = client.v1.events.retrieve(accepted[0]["id"])
    assert wait_for(lambda: client.v1.events.retrieve(event.id).pending_webhooks == 0)


def test_an_api_call_succeeds_even_when_its_webhook_endpoint_is_down(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/nothing-listens", "enabled_events": ["*"]})

    customer = client.v1.customers.create({"name": "Acme"})

    assert client.v1.customers.retrieve(customer.id).name == "Acme"
    deliveries = wait_for(lambda: [d for d in controls.webhook_deliveries() if d["attempt"] == 4])
    assert "error" in deliveries[0]


def test_an_event_can_be_resent_and_arrives_again_verifiably(
    client: stripe.StripeClient, receiver: WebhookReceiver, controls: LocalStripeControls
) -> None:
    endpoint = _endpoint(client, receiver, ["invoice.payment_failed"])
    customer = client.v1.customers.create({"name": "Acme"}).id
    invoice = client.v1.invoices.create({"customer": customer})
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 500})
    controls.decline_next_payments()
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice.id)
    original = wait_for(receiver.accepted_events)[0]

    assert controls.resend_event(original["id"]) == [endpoint.id]

    resent = wait_for(lambda: receiver.received[1:])[0]
    event = stripe.Webhook.construct_event(resent["body"], resent["headers"]["Stripe-Signature"], endpoint.secret)
    assert event.id == original["id"] and event.type == "invoice.payment_failed"
    assert event.data.object.id == invoice.id


def test_the_signing_secret_is_shown_only_when_the_endpoint_is_created(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    created = _endpoint(client, receiver, ["*"])

    fetched = client.v1.webhook_endpoints.retrieve(created.id)

    assert created.secret.startswith("whsec_")
    assert "secret" not in fetched
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [created.id]
