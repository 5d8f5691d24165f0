"""What the publisher repairs (a draft gone from Stripe) and what it stops on (a finalized invoice
gone), and a run killed at any step together with its Stripe server, against real server processes."""

import shutil

import pytest

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.publisher import STEPS
from billing_pipeline.lib.warehouse import connect
from stripe_local import LocalStripeControls, serve
from tests.publish.conftest import sdk_client
from tests.publish.crashes import Crash, crash_once_at, publish
from tests.publish.issued_world import PUBLISHED, line_counts
from tests.publish.runs import check_evaluation, run_publish, stripe_at
from tests.publish.stripe_view import assert_published_exactly_once, stripe_view
from tests.stripe_local.server_process import server_process


def publication(paths: DataDir, invoice_id: str) -> tuple:
    with connect(paths.warehouse, read_only=True) as con:
        return con.execute("SELECT status, stripe_invoice_id, drafts_recreated FROM publish.invoice_publications "
                           "WHERE invoice_id = ?", [invoice_id]).fetchall()[0]


def test_a_recorded_draft_deleted_in_stripe_is_created_again_once_and_the_rerun_finishes(
        paths, local_stripe, sdk, controls: LocalStripeControls):
    hook, _ = crash_once_at("INV-202601-dora", "item", "recorded")  # a draft with one of its items
    with pytest.raises(Crash):
        publish(paths, local_stripe, hook=hook)
    _, deleted, _ = publication(paths, "INV-202601-dora")
    sdk.v1.invoices.delete(deleted)  # someone tidies up the dashboard

    repaired = run_publish(paths, local_stripe)
    writes = [r for r in controls.requests() if r["method"] == "POST"]
    again = run_publish(paths, local_stripe)

    assert repaired.success and again.success
    view = assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
    status, replacement, recreated = publication(paths, "INV-202601-dora")
    assert (status, recreated) == ("finalized", 1)
    assert replacement == view.only_invoice("INV-202601-dora").id != deleted
    assert [r for r in controls.requests() if r["method"] == "POST"] == writes  # the third run wrote nothing
    assert check_evaluation(repaired).passed


def test_a_finalized_invoice_that_vanished_from_stripe_fails_the_blocking_check_naming_it(
        paths, tmp_path, monkeypatch):
    # A Stripe that lost what it had confirmed: its state folder restored from before late was sent.
    state, before = tmp_path / "stripe", tmp_path / "stripe-before"
    with serve(state_dir=state) as url:
        hook, _ = crash_once_at("INV-202601-late", "customer", "recorded")
        with pytest.raises(Crash):
            publish(paths, stripe_at(monkeypatch, url), hook=hook)
    shutil.copytree(state, before)
    with serve(state_dir=state) as url:
        assert run_publish(paths, stripe_at(monkeypatch, url)).success
    _, late_invoice, _ = publication(paths, "INV-202601-late")

    with serve(state_dir=before) as url, sdk_client(url) as sdk:
        first = run_publish(paths, stripe_at(monkeypatch, url))
        second = run_publish(paths, stripe_at(monkeypatch, url))
        left = stripe_view(sdk)

    for result in (first, second):  # stopped loudly, every time, and nothing published twice
        evaluation = check_evaluation(result)
        assert not evaluation.passed and not result.success
        assert evaluation.description.startswith(
            f"1 of 4 invoices differ in Stripe: INV-202601-late (finalized Stripe invoice {late_invoice} no longer "
            "exists in acct_")
    assert "INV-202601-late" not in left.invoices_by_id
    assert publication(paths, "INV-202601-late")[:2] == ("finalized", late_invoice)


@pytest.mark.parametrize("phase", ["sent", "recorded"])
@pytest.mark.parametrize("step", STEPS)
def test_a_run_killed_at_any_step_with_its_stripe_server_killed_too_ends_with_each_invoice_once(
        paths, tmp_path, monkeypatch, step, phase):
    with server_process(tmp_path / "stripe") as server:
        url = server.start()

        def kill_everything(invoice_id: str, at_step: str, at_phase: str) -> None:
            if (invoice_id, at_step, at_phase) == ("INV-202601-dora", step, phase):
                server.kill()  # SIGKILL, right after Stripe's answer (sent) or the publication's write (recorded)
                raise Crash(f"killed after {step} ({phase})")

        with pytest.raises(Crash):
            publish(paths, stripe_at(monkeypatch, url), hook=kill_everything)
        url = server.start()  # another port, the same state
        result = run_publish(paths, stripe_at(monkeypatch, url))
        with sdk_client(url) as sdk:
            assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))

    assert result.success and check_evaluation(result).passed
    with connect(paths.warehouse, read_only=True) as con:
        assert con.execute("SELECT sum(amount_due_cents) FROM publish.invoice_publications").fetchall() == [
            (sum(PUBLISHED.values()),)]
