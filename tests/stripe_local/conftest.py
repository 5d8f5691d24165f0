"""One real local Stripe server per test session on loopback, reset before each test, driven
through the official stripe SDK; plus a real HTTP server that receives webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripe_local import LocalStripeControls, serve

API_KEY = "sk_test_local"
FAST_WEBHOOK_RETRIES = (0.05, 0.1, 0.2)


@pytest.fixture(scope="session")
def stripe_url() -> Iterator[str]:
    with serve(webhook_retry_delays=FAST_WEBHOOK_RETRIES) as url:
        yield url


@pytest.fixture(scope="session")
def session_controls(stripe_url: str) -> Iterator[LocalStripeControls]:
    with LocalStripeControls(stripe_url) as controls:
        yield controls


@pytest.fixture
def controls(session_controls: LocalStripeControls) -> LocalStripeControls:
    session_controls.reset()
    return session_controls


ClientFactory = Callable[..., stripe.StripeClient]


@contextmanager
def sdk_clients(url: str) -> Iterator[ClientFactory]:
    """Make SDK clients for `url`; their HTTP connections are closed on exit."""
    transports: list[stripe.RequestsClient] = []

    def make(retries: int = 3, api_key: str = API_KEY) -> stripe.StripeClient:
        transports.append(stripe.RequestsClient())
        return stripe.StripeClient(
            api_key, base_addresses={"api": url}, max_network_retries=retries, http_client=transports[-1]
        )

    try:
        yield make
    finally:
        for transport in transports:
            transport.close()


@pytest.fixture
def make_client(stripe_url: str, controls: LocalStripeControls) -> Iterator[ClientFactory]:
    """SDK clients on the fresh server: `make_client(retries=0, api_key=...)`."""
    with sdk_clients(stripe_url) as make:
        yield make


@pytest.fixture
def client(make_client: ClientFactory) -> stripe.StripeClient:
    return make_client()


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


class WebhookReceiver:
    """A plain HTTP server that records each POST; it can answer 500 to the first few."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                status = 500 if receiver.fail_first > 0 else 200
                receiver.fail_first = max(receiver.fail_first - 1, 0)
                receiver.received.append({"headers": dict(self.headers), "body": body, "answered": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/stripe/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def accepted_events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received if r["answered"] == 200]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()
