"""POST /v1/stripe/webhook: verified with the Stripe SDK, landed in the inbox once, never trusted unsigned."""

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from stripe_local.webhooks import signature_header
from quotas_api.app import create_app
from quotas_api.settings import Settings

SECRET = "whsec_test_secret_for_the_webhook"


def event_payload(event_id: str = "evt_1PaidInvoice") -> str:
    return json.dumps({"id": event_id, "object": "event", "type": "invoice.paid", "created": int(time.time()),
                       "data": {"object": {"id": "in_123", "object": "invoice", "amount_paid": 4900}}})


def post(client: TestClient, payload: str, secret: str = SECRET, at: float | None = None):
    header = signature_header(payload, secret, int(at if at is not None else time.time()))
    return client.post("/v1/stripe/webhook", content=payload, headers={"Stripe-Signature": header,
                                                                        "Content-Type": "application/json"})


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "landing" / "stripe_events"


@pytest.fixture
def webhook_client(settings: Settings, inbox: Path):
    with TestClient(create_app(replace(settings, stripe_webhook_secret=SECRET, stripe_inbox=inbox))) as client:
        yield client


def test_a_verified_event_lands_in_the_inbox_once_and_a_replay_is_acknowledged_without_a_second_copy(
        webhook_client, inbox):
    payload = event_payload()

    first, replay = post(webhook_client, payload), post(webhook_client, payload)

    assert (first.status_code, first.json()) == (200, {"received": True, "event": "evt_1PaidInvoice", "duplicate": False})
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)
    assert [p.name for p in inbox.iterdir()] == ["evt_1PaidInvoice.json"]
    assert (inbox / "evt_1PaidInvoice.json").read_text() == payload


def test_an_event_already_loaded_by_the_pipeline_is_not_landed_again(webhook_client, inbox):
    from billing_pipeline.exchange.stripe_inbox import mark_processed, pending

    post(webhook_client, event_payload())
    [landed] = pending(inbox)
    mark_processed(landed)

    replay = post(webhook_client, event_payload())

    assert replay.json()["duplicate"] is True and pending(inbox) == []


def test_a_bad_signature_is_rejected_and_nothing_is_stored(webhook_client, inbox):
    response = post(webhook_client, event_payload(), secret="whsec_someone_else")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not inbox.exists()


def test_a_missing_signature_is_rejected(webhook_client, inbox):
    response = webhook_client.post("/v1/stripe/webhook", content=event_payload())

    assert response.status_code == 400 and not inbox.exists()


def test_a_correctly_signed_but_stale_delivery_is_rejected(webhook_client, inbox):
    response = post(webhook_client, event_payload(), at=time.time() - 301)

    assert response.status_code == 400
    assert "Timestamp outside the tolerance zone" in response.json()["error"]["message"]
    assert not inbox.exists()


def test_without_a_webhook_secret_the_endpoint_answers_503_and_says_why(client, inbox):
    response = post(client, event_payload())

    assert response.status_code == 503
    assert response.json()["error"] == {"code": "webhook_not_configured", "message":
                                        "STRIPE_WEBHOOK_SECRET is not set: this service cannot verify Stripe events"}


def test_the_webhook_is_not_part_of_the_published_service_api(client):
    assert "/v1/stripe/webhook" not in client.get("/openapi.json").json()["paths"]
