"""The stripe_invoices asset and its reconciliation check, run by Dagster against a local Stripe."""

import pytest
import stripe

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.warehouse import connect
from tests.publish.crashes import Crash, crash_once_at, publish
from tests.publish.issued_world import PUBLISHED, TOTALS, line_counts, set_stripe_customer_id
from tests.publish.runs import check_evaluation, failure_message, materialization_metadata, run_publish
from tests.publish.stripe_view import assert_published_exactly_once, stripe_view


def publications(paths: DataDir) -> dict[str, tuple]:
    with connect(paths.warehouse, read_only=True) as con:
        rows = con.execute("SELECT invoice_id, status, last_error, amount_due_cents FROM publish.invoice_publications").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_a_closed_period_becomes_one_finalized_stripe_invoice_per_account_and_the_check_reads_them_back(
        paths, local_stripe, sdk):
    result = run_publish(paths, local_stripe)

    assert result.success
    view = assert_published_exactly_once(sdk, PUBLISHED, line_counts(paths))
    beta = view.only_invoice("INV-202601-beta")
    assert beta.metadata.to_dict()["period"] == "2026-01" and beta.auto_advance is False
    descriptions = sorted(item.description for item in view.items_by_invoice[beta.id])
    assert "API calls (Growth, graduated): 12,000 calls billable, Jan 16 - Jan 31 2026" in descriptions
    assert check_evaluation(result).passed
    metadata = materialization_metadata(result)
    assert (metadata["invoices_finalized"], metadata["invoices_skipped_zero"]) == (4, 1)
    assert metadata["published_total_cents"] == sum(PUBLISHED.values())
    assert publications(paths)["INV-202601-dora"] == ("finalized", None, 7100)


def test_a_second_run_of_a_published_period_writes_nothing_to_stripe(paths, local_stripe, controls):
    assert run_publish(paths, local_stripe).success
    writes_before = [r for r in controls.requests() if r["method"] == "POST"]

    assert run_publish(paths, local_stripe).success

    assert [r for r in controls.requests() if r["method"] == "POST"] == writes_before


def test_a_period_that_was_not_issued_is_refused_and_nothing_is_sent(paths, local_stripe, controls):
    result = run_publish(paths, local_stripe, partition="2026-02-01")

    assert not result.success
    assert "2026-02 is not in fct_issued_periods" in failure_message(result)
    assert [(r["method"], r["path"]) for r in controls.requests()] == [("GET", "/v1/account")]  # which account, no more


def test_a_bad_stripe_customer_id_fails_that_invoice_with_stripes_message_and_the_rest_publish(
        paths, local_stripe, sdk):
    set_stripe_customer_id(paths, "dora", "cus_DoesNotExist")

    result = run_publish(paths, local_stripe)

    assert not result.success
    message = failure_message(result)
    assert "1 invoice(s) of 2026-01 not published: INV-202601-dora: No such customer: 'cus_DoesNotExist'" in message
    status, error, _ = publications(paths)["INV-202601-dora"]
    assert (status, error) == ("failed", "No such customer: 'cus_DoesNotExist'")
    others = {i: t for i, t in PUBLISHED.items() if i != "INV-202601-dora"}
    assert stripe_view(sdk).amounts_due() == others


def test_a_configured_stripe_customer_id_is_used_instead_of_creating_one(paths, local_stripe, sdk):
    existing = sdk.v1.customers.create({"name": "Dora (billing)", "metadata": {"crm": "42"}})
    set_stripe_customer_id(paths, "dora", existing.id)

    assert run_publish(paths, local_stripe).success

    assert stripe_view(sdk).only_invoice("INV-202601-dora").customer == existing.id
    assert len(sdk.v1.customers.list({"limit": 100}).data) == 4  # beta, cara, late created; dora's reused


def test_zero_total_invoices_follow_the_policy_skip_by_default_publish_on_request(paths, local_stripe, sdk):
    assert run_publish(paths, local_stripe).success
    assert publications(paths)["INV-202601-acme"][0] == "skipped_zero"
    assert "INV-202601-acme" not in stripe_view(sdk).invoices_by_id

    assert run_publish(paths, local_stripe, zero_total="publish").success

    acme = stripe_view(sdk).only_invoice("INV-202601-acme")
    assert (acme.amount_due, acme.status) == (0, "paid")  # Stripe settles a zero invoice on finalize
    assert publications(paths)["INV-202601-acme"][0] == "finalized"
    assert stripe_view(sdk).amounts_due() == TOTALS


def test_the_reconciliation_check_fails_when_stripes_amount_differs_from_the_issued_total(
        paths, local_stripe, sdk):
    # Someone adds a line to our draft by hand between a crashed run and its re-run.
    hook, _ = crash_once_at("INV-202601-late", "item", "recorded")
    with pytest.raises(Crash):
        publish(paths, local_stripe, hook=hook)
    draft = stripe_view(sdk).only_invoice("INV-202601-late")
    sdk.v1.invoice_items.create({"customer": draft.customer, "invoice": draft.id, "amount": 999,
                                 "description": "added by hand"})

    result = run_publish(paths, local_stripe)

    evaluation = check_evaluation(result)
    assert not evaluation.passed
    assert evaluation.description == "1 of 4 invoices differ in Stripe: INV-202601-late (Stripe total 4799, issued 3800)"
    assert "| INV-202601-late |" in evaluation.metadata["mismatches"].value
    assert stripe.Invoice.construct_from(sdk.v1.invoices.retrieve(draft.id), None).amount_due == 3800 + 999


def test_the_periods_left_to_publish_are_the_issued_ones_not_settled_in_their_publications(paths, local_stripe):
    from billing_pipeline.lib.publish.publications import period_counts, periods_to_publish

    with connect(paths.warehouse, read_only=True) as con:
        assert periods_to_publish(con) == ["2026-01"]
    set_stripe_customer_id(paths, "dora", "cus_DoesNotExist")
    run_publish(paths, local_stripe)
    with connect(paths.warehouse, read_only=True) as con:
        assert periods_to_publish(con) == ["2026-01"]  # dora failed: a later run retries it
        assert period_counts(con, "2026-01") == {"finalized": 3, "skipped_zero": 1, "failed": 1}
    set_stripe_customer_id(paths, "dora", "")
    assert run_publish(paths, local_stripe).success
    with connect(paths.warehouse, read_only=True) as con:
        assert periods_to_publish(con) == []


def test_issued_content_that_changed_after_publication_is_an_integrity_error_and_is_not_republished(
        paths, local_stripe, controls, sdk):
    assert run_publish(paths, local_stripe).success
    writes_before = [r for r in controls.requests() if r["method"] == "POST"]
    with connect(paths.warehouse) as con:  # the issued invoices rebuilt with other amounts
        con.execute("UPDATE fct_issued_invoice_lines SET amount_cents = amount_cents + 100 "
                    "WHERE line_id LIKE 'INV-202601-dora/base_fee%'").fetchall()

    result = run_publish(paths, local_stripe)

    assert not result.success
    assert "INV-202601-dora: issued content changed after publication" in failure_message(result)
    assert publications(paths)["INV-202601-dora"][0] == "integrity_error"
    assert [r for r in controls.requests() if r["method"] == "POST"] == writes_before
    assert stripe_view(sdk).amounts_due() == PUBLISHED
