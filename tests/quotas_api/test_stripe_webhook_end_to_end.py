"""End to end: the local Stripe server signs and sends webhooks to the quota API under uvicorn on
loopback; the inbox it fills is loaded by the stripe_payment_events asset into publish.stripe_events."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe
import uvicorn

from billing_pipeline.lib.warehouse import connect
from quotas_api.app import create_app
from quotas_api.settings import Settings
from sample_service import write_sample_service
from stripe_local import LocalStripeControls, serve
from tests.publish.issued_world import copy_of, issued_template_for
from tests.publish.runs import event_metadata, run_publish, run_stripe_events, stripe_at
from tests.publish.stripe_view import stripe_view


@contextmanager
def quotas_api_on(sock: socket.socket, settings: Settings) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_signed_webhooks_are_recorded_through_the_inbox_once_each(request, tmp_path_factory, tmp_path: Path,
                                                                    monkeypatch):
    paths = copy_of(issued_template_for(request.config, tmp_path_factory), tmp_path / "data")
    write_sample_service(tmp_path / "service", datetime.now(UTC))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    webhook_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/stripe/webhook"
    transport = stripe.RequestsClient()
    with serve(webhook_retry_delays=(0.05, 0.1, 0.2)) as stripe_url, LocalStripeControls(stripe_url) as controls:
        sdk = stripe.StripeClient("sk_test_local", base_addresses={"api": stripe_url}, http_client=transport)
        endpoint = sdk.v1.webhook_endpoints.create(
            {"url": webhook_url, "enabled_events": ["invoice.paid", "invoice.payment_failed"]})
        settings = Settings(snapshot_path=tmp_path / "service" / "serving" / "quota_snapshot.parquet",
                            api_keys_file=tmp_path / "service" / "catalog" / "api_keys.yaml",
                            stripe_webhook_secret=endpoint.secret, stripe_inbox=paths.stripe_inbox)
        with quotas_api_on(sock, settings):
            resource = stripe_at(monkeypatch, stripe_url)
            assert run_publish(paths, resource).success
            view = stripe_view(sdk)
            controls.decline_next_payments(1)
            with pytest.raises(stripe.CardError):
                sdk.v1.invoices.pay(view.only_invoice("INV-202601-beta").id)
            sdk.v1.invoices.pay(view.only_invoice("INV-202601-dora").id)
            landed = wait_for(lambda: len(list(paths.stripe_inbox.glob("evt_*.json"))) == 2)

            loaded = event_metadata(run_stripe_events(paths, resource))
            [paid_event] = sdk.v1.events.list({"type": "invoice.paid"}).data
            controls.resend_event(paid_event.id)
            wait_for(lambda: len(controls.webhook_deliveries()) == 3)
            again = event_metadata(run_stripe_events(paths, resource))
            deliveries = controls.webhook_deliveries()
    transport.close()

    assert landed
    assert (loaded["inbox_files"], loaded["recorded"], loaded["already_recorded"]) == (2, 2, 2)
    assert [d["status"] for d in deliveries] == [200, 200, 200]  # the replay too: acknowledged, not stored
    assert (again["inbox_files"], again["recorded"]) == (0, 0)
    with connect(paths.warehouse, read_only=True) as con:
        status = dict(con.execute("SELECT invoice_id, payment_status FROM publish.invoice_payment_status").fetchall())
        stored = con.execute("SELECT count(*) FROM publish.stripe_events").fetchall()[0][0]
    assert (status["INV-202601-beta"], status["INV-202601-dora"], status["INV-202601-cara"]) == (
        "payment_failed", "paid", "open")
    assert stored == 2
