"""Fixtures: an issued January per test, one local Stripe server per session (reset per test) on
loopback, and official SDK clients to check what reached it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import stripe

from billing_pipeline.lib.publish.stripe_resource import StripeResource
from billing_pipeline.exchange.data_dir import DataDir
from stripe_local import LocalStripeControls, serve
from tests.publish.issued_world import copy_of, issued_template_for
from tests.publish.runs import API_KEY, stripe_at


@pytest.fixture(scope="session")
def issued_january(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    return issued_template_for(request.config, tmp_path_factory)


@pytest.fixture
def paths(issued_january: DataDir, tmp_path: Path) -> DataDir:
    return copy_of(issued_january, tmp_path / "data")


@pytest.fixture(scope="session")
def stripe_url() -> Iterator[str]:
    with serve(webhook_retry_delays=(0.05, 0.1, 0.2)) as url:
        yield url


@pytest.fixture
def controls(stripe_url: str) -> Iterator[LocalStripeControls]:
    with LocalStripeControls(stripe_url) as session_controls:
        session_controls.reset()
        yield session_controls


@contextmanager
def sdk_client(url: str) -> Iterator[stripe.StripeClient]:
    """The test's own view of a Stripe, independent of the publisher's client."""
    transport = stripe.RequestsClient()
    try:
        yield stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=0, http_client=transport)
    finally:
        transport.close()


@pytest.fixture
def sdk(stripe_url: str, controls: LocalStripeControls) -> Iterator[stripe.StripeClient]:
    with sdk_client(stripe_url) as client:
        yield client


@pytest.fixture
def local_stripe(stripe_url: str, controls: LocalStripeControls, monkeypatch: pytest.MonkeyPatch) -> StripeResource:
    """The publish stage's resource configured for the session's server (fresh for this test)."""
    return stripe_at(monkeypatch, stripe_url)
