"""POST /v1/stripe/webhook: verified with the Stripe SDK, landed in the inbox once, never trusted
unsigned, and never read past its size limit."""

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from quotas_api.app import create_app
from quotas_api.routes.stripe_webhook import MAX_BODY_BYTES
from quotas_api.settings import Settings
from sample_service import write_sample_service
from stripe_local.webhooks import signature_header
from uvicorn_process import uvicorn_server

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


@pytest.mark.parametrize("body", [
    json.dumps([{"id": "evt_1InAList", "type": "invoice.paid"}]),
    json.dumps({"object": "event", "type": "invoice.paid", "created": 1}),
    json.dumps({"id": 42, "type": "invoice.paid"}),
    "not json at all",
], ids=["json-array", "no-id", "id-not-a-string", "not-json"])
def test_a_correctly_signed_body_that_is_not_one_event_is_a_400_and_nothing_is_stored(webhook_client, inbox, body):
    response = post(webhook_client, body)

    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_payload")
    assert not inbox.exists()


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(webhook_client, inbox):
    payload = event_payload()
    header = signature_header(payload, SECRET, int(time.time()))

    response = webhook_client.post("/v1/stripe/webhook", content=payload, headers={
        "Stripe-Signature": header, "Content-Length": str(MAX_BODY_BYTES + 1)})

    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")
    assert not inbox.exists()


def test_a_body_that_never_ends_is_answered_413_as_soon_as_it_passes_the_limit(tmp_path: Path):
    # A real server and a client that would stream for ever: the answer comes after about the limit.
    write_sample_service(tmp_path, datetime.now(UTC))
    sent = 0

    def endless():
        nonlocal sent
        chunk = b" " * 65536
        while True:
            sent += len(chunk)
            yield chunk

    environment = {"BILLING_DATA_DIR": str(tmp_path), "STRIPE_WEBHOOK_SECRET": SECRET}
    with uvicorn_server("quotas_api.app:app", environment, tmp_path / "server.log") as server:
        started = time.monotonic()
        response = httpx.post(server.base_url + "/v1/stripe/webhook", content=endless(), timeout=10,
                              headers={"Stripe-Signature": "t=1,v1=0"})
        seconds = time.monotonic() - started

    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")
    assert seconds < 5
    assert sent < 16 * MAX_BODY_BYTES  # the limit, plus what socket buffers held when the server hung up


def test_without_a_webhook_secret_the_endpoint_answers_503_and_says_why(client, inbox):
    response = post(client, event_payload())

    assert response.status_code == 503
    assert response.json()["error"] == {"code": "webhook_not_configured", "message":
                                        "STRIPE_WEBHOOK_SECRET is not set: this service cannot verify Stripe events"}


def test_the_webhook_is_not_part_of_the_published_service_api(client):
    assert "/v1/stripe/webhook" not in client.get("/openapi.json").json()["paths"]
