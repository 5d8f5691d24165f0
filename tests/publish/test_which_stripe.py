"""Which Stripe: only the configured one, recorded on every publication, and one account per period."""

import pytest

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.stripe_resource import StripeNotConfigured, StripeResource
from billing_pipeline.lib.warehouse import connect, relation_exists
from stripe_local import LocalStripeControls, serve
from tests.publish.conftest import sdk_client
from tests.publish.crashes import Crash, crash_once_at, publish
from tests.publish.issued_world import PUBLISHED, TOTALS, line_counts
from tests.publish.runs import (KEY_VARIABLE, event_metadata, failure_message, materialization_metadata, run_publish,
                                run_stripe_events, stripe_at)
from tests.publish.stripe_view import assert_published_exactly_once


def recorded_targets(paths: DataDir) -> dict[str, tuple]:
    with connect(paths.warehouse, read_only=True) as con:
        if not relation_exists(con, "publish", "invoice_publications"):
            return {}
        rows = con.execute("SELECT invoice_id, status, stripe_account_id, stripe_mode, stripe_api_base "
                           "FROM publish.invoice_publications").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_without_a_key_publishing_is_refused_in_one_line_and_nothing_is_sent_or_recorded(
        paths, stripe_url, controls: LocalStripeControls, monkeypatch):
    unconfigured = stripe_at(monkeypatch, stripe_url, api_key=None)

    published = run_publish(paths, unconfigured)
    events = failure_message(run_stripe_events(paths, unconfigured, succeeds=False))

    message = failure_message(published)
    assert not published.success and message == events
    assert message.count("\n") == 0
    assert message.startswith(f"{KEY_VARIABLE} is not set: publishing to Stripe needs its secret key")
    assert "python -m stripe_local run" in message
    assert recorded_targets(paths) == {}
    assert controls.requests() == []  # not even the test server it could have fallen back to


def test_the_default_configuration_is_the_environments_key_and_real_stripe(monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    with pytest.raises(StripeNotConfigured, match="^STRIPE_API_KEY is not set: "):
        StripeResource().target()
    monkeypatch.setenv("STRIPE_API_KEY", "pk_live_not_a_secret_key")
    with pytest.raises(StripeNotConfigured, match="^STRIPE_API_KEY is not a Stripe secret key"):
        StripeResource().target()


def test_every_publication_records_the_stripe_account_mode_and_address_it_went_to(
        paths, local_stripe, stripe_url, sdk):
    result = run_publish(paths, local_stripe)

    account = sdk.v1.accounts.retrieve_current().id
    assert result.success
    assert recorded_targets(paths) == {
        invoice_id: ("finalized" if total else "skipped_zero", account, "test", stripe_url)
        for invoice_id, total in TOTALS.items()}
    metadata = materialization_metadata(result)
    assert (metadata["stripe_account"], metadata["stripe_mode"], metadata["stripe_api_base"]) == (
        account, "test", stripe_url)
    assert event_metadata(run_stripe_events(paths, local_stripe))["stripe_account"] == account


def test_a_period_published_to_one_account_is_refused_in_another_naming_both(
        paths, local_stripe, stripe_url, sdk, monkeypatch):
    first_account = sdk.v1.accounts.retrieve_current().id
    hook, _ = crash_once_at("INV-202601-dora", "customer", "sent")  # beta and cara are out, dora is not
    with pytest.raises(Crash):
        publish(paths, local_stripe, hook=hook)
    before = recorded_targets(paths)

    with serve() as other_url, LocalStripeControls(other_url) as other, sdk_client(other_url) as other_sdk:
        other_account = other_sdk.v1.accounts.retrieve_current().id
        refused = run_publish(paths, stripe_at(monkeypatch, other_url))
        sent_there = [(r["method"], r["path"]) for r in other.requests()]

    message = failure_message(refused)
    assert not refused.success
    assert (f"2026-01 was published to Stripe account {first_account} (test mode, {stripe_url}); this run reaches "
            f"Stripe account {other_account} (test mode, {other_url}): refusing") in message
    assert sent_there == [("GET", "/v1/account"), ("GET", "/v1/account")]  # this test's look, and the run's
    assert recorded_targets(paths) == before
    assert run_publish(paths, stripe_at(monkeypatch, stripe_url)).success  # the first account finishes it
    assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
