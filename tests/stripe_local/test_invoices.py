"""One-off invoices through the official SDK: items, totals, finalization, payment, voiding."""

from __future__ import annotations

import pytest
import stripe

from stripe_local import LocalStripeControls


def _customer(client: stripe.StripeClient) -> str:
    return client.v1.customers.create({"email": "finance@acme.test", "name": "Acme"}).id


def _draft(client: stripe.StripeClient, customer: str, **params: object) -> stripe.Invoice:
    return client.v1.invoices.create({"customer": customer, "auto_advance": False, **params})  # type: ignore[arg-type]


def test_invoice_totals_are_computed_from_its_items(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer, metadata={"period": "2026-01"})
    for amount in (4900, 1234, -500):
        client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": amount})

    invoice = client.v1.invoices.retrieve(invoice.id)

    assert invoice.status == "draft" and invoice.number is None
    assert (invoice.subtotal, invoice.total, invoice.amount_due, invoice.amount_remaining) == (5634, 5634, 5634, 5634)
    assert invoice.amount_paid == 0
    assert sorted(line.amount for line in invoice.lines.data) == [-500, 1234, 4900]
    assert all(line.id.startswith("il_") and line.invoice == invoice.id for line in invoice.lines.data)


def test_pending_items_are_excluded_by_default_and_pulled_in_with_include(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    pending = client.v1.invoice_items.create({"customer": customer, "amount": 700, "description": "carry-over"})

    excluded = _draft(client, customer)
    included = _draft(client, customer, pending_invoice_items_behavior="include")

    assert excluded.total == 0 and excluded.lines.data == []
    assert included.total == 700
    assert client.v1.invoice_items.retrieve(pending.id).invoice == included.id
    assert client.v1.invoice_items.list({"customer": customer, "pending": True}).data == []


def test_add_lines_creates_items_with_period_and_metadata_on_the_draft(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    period = {"start": 1767225600, "end": 1769903999}

    invoice = client.v1.invoices.add_lines(
        invoice.id,
        {
            "lines": [
                {"amount": 4900, "description": "Pro plan", "period": period, "metadata": {"line_id": "l1"}},
                {"amount": 250, "description": "API calls overage"},
            ],
            "invoice_metadata": {"period": "2026-01"},
        },
    )

    first = invoice.lines.data[0]
    assert invoice.total == 5150 and invoice.metadata.to_dict() == {"period": "2026-01"}
    assert (first.period.start, first.period.end) == (period["start"], period["end"])
    assert first.metadata.to_dict() == {"line_id": "l1"}
    items = client.v1.invoice_items.list({"invoice": invoice.id}).data
    assert sorted(i.amount for i in items) == [250, 4900]


def test_finalizing_assigns_a_number_and_makes_the_invoice_immutable(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    item = client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 1000})

    finalized = client.v1.invoices.finalize_invoice(invoice.id)

    prefix = client.v1.customers.retrieve(customer).invoice_prefix
    assert finalized.status == "open" and finalized.number == f"{prefix}-0001"
    assert finalized.status_transitions.finalized_at is not None
    edits = [
        lambda: client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 1}),
        lambda: client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": 1}]}),
        lambda: client.v1.invoices.update(invoice.id, {"metadata": {"x": "y"}}),
        lambda: client.v1.invoice_items.delete(item.id),
        lambda: client.v1.invoices.finalize_invoice(invoice.id),
    ]
    for edit in edits:
        with pytest.raises(stripe.InvalidRequestError) as error:
            edit()
        assert error.value.http_status == 400 and error.value.code == "invoice_not_editable"
    assert client.v1.invoices.retrieve(invoice.id).total == 1000


def test_a_zero_amount_invoice_finalizes_and_is_paid_at_once(client: stripe.StripeClient) -> None:
    invoice = _draft(client, _customer(client))

    finalized = client.v1.invoices.finalize_invoice(invoice.id)

    assert finalized.status == "paid" and finalized.amount_due == 0 and finalized.number is not None
    assert finalized.status_transitions.paid_at is not None


def test_deleting_an_item_of_a_draft_removes_its_line(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    keep = client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 300})
    drop = client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 200})

    deleted = client.v1.invoice_items.delete(drop.id)

    assert deleted.deleted is True
    after = client.v1.invoices.retrieve(invoice.id)
    assert after.total == 300
    assert [line.parent.invoice_item_details.invoice_item for line in after.lines.data] == [keep.id]


def test_invoices_are_listed_by_customer_and_status(client: stripe.StripeClient) -> None:
    acme, globex = _customer(client), _customer(client)
    open_invoice = _draft(client, acme)
    client.v1.invoice_items.create({"customer": acme, "invoice": open_invoice.id, "amount": 100})
    client.v1.invoices.finalize_invoice(open_invoice.id)
    acme_draft = _draft(client, acme)
    _draft(client, globex)

    drafts = client.v1.invoices.list({"customer": acme, "status": "draft"}).data
    opened = client.v1.invoices.list({"status": "open"}).data

    assert [i.id for i in drafts] == [acme_draft.id]
    assert [i.id for i in opened] == [open_invoice.id]


def test_an_invoice_embeds_ten_lines_and_the_lines_endpoint_pages_the_rest(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    client.v1.invoices.add_lines(invoice.id, {"lines": [{"amount": 100 + i} for i in range(12)]})

    embedded = client.v1.invoices.retrieve(invoice.id).lines
    every_line = list(client.v1.invoices.line_items.list(invoice.id, {"limit": 5}).auto_paging_iter())

    assert len(embedded.data) == 10 and embedded.has_more is True
    assert [line.amount for line in every_line] == [100 + i for i in range(12)]


def test_paying_an_open_invoice_marks_it_paid(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 2500})
    client.v1.invoices.finalize_invoice(invoice.id)

    paid = client.v1.invoices.pay(invoice.id)

    assert paid.status == "paid" and paid.amount_paid == 2500 and paid.amount_remaining == 0
    assert paid.status_transitions.paid_at is not None
    types = [e.type for e in client.v1.events.list({"limit": 100}).data]
    assert "invoice.paid" in types and "invoice.finalized" in types


def test_a_declined_payment_leaves_the_invoice_open_and_emits_payment_failed(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 2500})
    client.v1.invoices.finalize_invoice(invoice.id)
    controls.decline_next_payments(1)

    with pytest.raises(stripe.CardError) as error:
        client.v1.invoices.pay(invoice.id)
    retried = client.v1.invoices.pay(invoice.id)

    assert error.value.http_status == 402 and error.value.code == "card_declined"
    failed = client.v1.events.list({"type": "invoice.payment_failed"}).data
    assert len(failed) == 1 and failed[0].data.object.id == invoice.id
    assert failed[0].data.object.status == "open" and failed[0].data.object.attempt_count == 1
    assert retried.status == "paid" and retried.attempt_count == 2


def test_only_an_open_invoice_can_be_voided(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 100})

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(invoice.id)
    client.v1.invoices.finalize_invoice(invoice.id)
    voided = client.v1.invoices.void_invoice(invoice.id)

    assert voided.status == "void" and voided.status_transitions.voided_at is not None
    assert [e.type for e in client.v1.events.list({"type": "invoice.voided"}).data] == ["invoice.voided"]


def test_send_invoice_needs_days_until_due_and_gets_a_due_date_on_finalization(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    with pytest.raises(stripe.InvalidRequestError) as error:
        _draft(client, customer, collection_method="send_invoice")
    invoice = _draft(client, customer, collection_method="send_invoice", days_until_due=30)
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 100})

    finalized = client.v1.invoices.finalize_invoice(invoice.id)

    assert error.value.param == "days_until_due"
    assert finalized.due_date == finalized.status_transitions.finalized_at + 30 * 86400


def test_an_auto_advance_draft_finalizes_itself_an_hour_after_creation(
    client: stripe.StripeClient, controls: LocalStripeControls
) -> None:
    customer = _customer(client)
    auto = client.v1.invoices.create({"customer": customer, "auto_advance": True})
    manual = _draft(client, customer)

    controls.advance_clock(3601)

    assert client.v1.invoices.retrieve(auto.id).status == "paid"  # zero amount: finalized, then settled
    assert client.v1.invoices.retrieve(manual.id).status == "draft"


def test_expand_replaces_the_customer_id_with_the_customer(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)

    single = client.v1.invoices.retrieve(invoice.id, {"expand": ["customer"]})
    listed = client.v1.invoices.list({"expand": ["data.customer"]})

    assert single.customer.id == customer and single.customer.email == "finance@acme.test"
    assert listed.data[0].customer.id == customer


def test_a_customer_finalized_on_an_invoice_keeps_its_name_when_the_customer_changes(
    client: stripe.StripeClient,
) -> None:
    customer = _customer(client)
    invoice = _draft(client, customer)
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": 100})
    client.v1.invoices.finalize_invoice(invoice.id)

    client.v1.customers.update(customer, {"name": "Acme Renamed"})

    assert client.v1.invoices.retrieve(invoice.id).customer_name == "Acme"


def test_invoices_are_listed_by_created_time(client: stripe.StripeClient, controls: LocalStripeControls) -> None:
    customer = _customer(client)
    older = _draft(client, customer)
    controls.advance_clock(600)
    newer = _draft(client, customer)

    after = client.v1.invoices.list({"created": {"gt": older.created}}).data
    up_to = client.v1.invoices.list({"created": {"lte": older.created}}).data

    assert [i.id for i in after] == [newer.id]
    assert [i.id for i in up_to] == [older.id]


def test_expanding_a_field_that_holds_no_object_is_refused_before_anything_is_created(
    client: stripe.StripeClient,
) -> None:
    customer = _customer(client)

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.invoices.create({"customer": customer, "expand": ["total"]})

    assert error.value.param == "expand"
    assert client.v1.invoices.list().data == []
