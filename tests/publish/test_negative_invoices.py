"""A negative invoice (a late re-rating that made an issued month cheaper) is published as Stripe
represents it, a credit to the customer's balance, and reconciled with that balance."""

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.report.queries import load_period
from billing_pipeline.lib.report.statements import statements
from billing_pipeline.lib.warehouse import connect
from tests.publish.issued_world import PUBLISHED, issue_a_negative_invoice
from tests.publish.runs import check_evaluation, materialization_metadata, run_publish, run_stripe_events
from tests.publish.stripe_view import stripe_view


def publications(paths: DataDir) -> dict[str, tuple]:
    with connect(paths.warehouse, read_only=True) as con:
        rows = con.execute("""SELECT p.invoice_id, p.status, p.total_cents, p.amount_due_cents, p.balance_applied_cents,
                                     s.payment_status
                              FROM publish.invoice_publications AS p JOIN publish.invoice_payment_status AS s
                              USING (invoice_id)""").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_a_negative_invoice_credits_the_customers_stripe_balance_and_passes_the_check(paths, local_stripe, sdk):
    total = issue_a_negative_invoice(paths, "INV-202601-late", -5000)  # 38.00 this month, 50.00 back for December

    result = run_publish(paths, local_stripe)
    run_stripe_events(paths, local_stripe)

    assert total == -1200
    assert result.success and check_evaluation(result).passed
    late = stripe_view(sdk).only_invoice("INV-202601-late")
    assert (late.total, late.amount_due, late.status, late.ending_balance) == (-1200, 0, "paid", -1200)
    assert sorted(item.amount for item in stripe_view(sdk).items_by_invoice[late.id]) == [-5000, 0, 700, 3100]
    assert sdk.v1.customers.retrieve(late.customer).balance == -1200  # taken off the customer's next invoice
    assert publications(paths)["INV-202601-late"] == ("finalized", -1200, 0, -1200, "credited")
    assert publications(paths)["INV-202601-beta"] == ("finalized", 10717, 10717, 0, "open")
    metadata = materialization_metadata(result)
    assert metadata["credited_to_balances_cents"] == -1200
    assert metadata["published_total_cents"] == sum(PUBLISHED.values()) - 3800 - 1200
    with connect(paths.warehouse, read_only=True) as con:
        [statement] = [s for s in statements(load_period(con, "2026-01")) if s.account_id == "late"]
    assert statement.context["stripe"]["status"] == "published as a credit to the customer's balance in Stripe"
    assert statement.rows.filter(row_kind="total")["amount_cents"].to_list() == [-1200]


def test_credit_already_on_a_customers_balance_lowers_what_is_due_and_still_reconciles(paths, local_stripe, sdk):
    # Dora's customer holds 25.00 of credit from an earlier negative invoice.
    dora = sdk.v1.customers.create({"name": "Dora", "metadata": {"account_id": "dora"}})
    earlier = sdk.v1.invoices.create({"customer": dora.id})
    sdk.v1.invoice_items.create({"customer": dora.id, "invoice": earlier.id, "amount": -2500})
    sdk.v1.invoices.finalize_invoice(earlier.id)

    result = run_publish(paths, local_stripe)

    assert result.success and check_evaluation(result).passed
    invoice = stripe_view(sdk).only_invoice("INV-202601-dora")
    assert (invoice.total, invoice.amount_due, invoice.starting_balance, invoice.ending_balance) == (7100, 4600, -2500, 0)
    assert publications(paths)["INV-202601-dora"][:4] == ("finalized", 7100, 4600, 2500)
    assert check_evaluation(result).metadata["balance_applied"].value == 1
