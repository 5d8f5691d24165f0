"""With a state folder, a restarted server still knows everything it confirmed: after a clean stop,
and after a kill -9 of a real server process right after its last answer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from stripe_local import LocalStripeControls, serve
from stripe_local.store import JOURNAL_FILE, STATE_FILE, StateInUse, Store

from .conftest import API_KEY, sdk_clients
from .server_process import server_process

LISTS = ("/v1/customers", "/v1/invoices", "/v1/invoiceitems", "/v1/events", "/v1/webhook_endpoints")


def test_a_restarted_server_keeps_objects_idempotency_keys_clock_and_numbering(tmp_path: Path) -> None:
    with serve(state_dir=tmp_path) as url, sdk_clients(url) as make_client, LocalStripeControls(url) as controls:
        client = make_client()
        customer = client.v1.customers.create({"email": "a@acme.test"}, {"idempotency_key": "cus-acme"})
        invoice = client.v1.invoices.create({"customer": customer.id})
        client.v1.invoice_items.create({"customer": customer.id, "invoice": invoice.id, "amount": 4200})
        first = client.v1.invoices.finalize_invoice(invoice.id)
        now_before = controls.advance_clock(3600)

    with serve(state_dir=tmp_path) as url, sdk_clients(url) as make_client, LocalStripeControls(url) as controls:
        client = make_client()
        replayed = client.v1.customers.create({"email": "a@acme.test"}, {"idempotency_key": "cus-acme"})
        kept = client.v1.invoices.retrieve(invoice.id)
        second = client.v1.invoices.create({"customer": customer.id})
        client.v1.invoice_items.create({"customer": customer.id, "invoice": second.id, "amount": 1})
        second = client.v1.invoices.finalize_invoice(second.id)
        now_after = controls.now()

    assert replayed.id == customer.id and replayed.last_response.headers["Idempotent-Replayed"] == "true"
    assert (kept.status, kept.total, kept.number) == ("open", 4200, first.number)
    assert second.number.endswith("-0002")
    assert now_after >= now_before
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE]  # compacted on stop, no journal or temp files


def _every_write_kind(client: stripe.StripeClient, controls: LocalStripeControls) -> None:
    """One of each kind of change the server journals, ending with a write whose answer is the last thing seen."""
    acme = client.v1.customers.create({"name": "Acme", "email": "a@acme.test"}, {"idempotency_key": "cus-acme"})
    client.v1.customers.update(acme.id, {"metadata": {"crm": "42"}})
    late = client.v1.customers.create({"name": "Late Co"})
    client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/hook", "enabled_events": ["invoice.paid"]})
    paid = client.v1.invoices.create({"customer": acme.id})
    client.v1.invoices.add_lines(paid.id, {"lines": [{"amount": 4200, "metadata": {"line_id": "l1"}}, {"amount": 800}]})
    client.v1.invoices.finalize_invoice(paid.id)
    client.v1.invoices.pay(paid.id)
    declined = client.v1.invoices.create({"customer": acme.id})
    client.v1.invoice_items.create({"customer": acme.id, "invoice": declined.id, "amount": 999})
    client.v1.invoices.finalize_invoice(declined.id)
    controls.decline_next_payments(1)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(declined.id)
    credit = client.v1.invoices.create({"customer": late.id})  # a negative invoice: a credit on the balance
    client.v1.invoice_items.create({"customer": late.id, "invoice": credit.id, "amount": -700})
    client.v1.invoices.finalize_invoice(credit.id)
    deleted = client.v1.invoices.create({"customer": late.id})
    item = client.v1.invoice_items.create({"customer": late.id, "invoice": deleted.id, "amount": 5})
    client.v1.invoice_items.delete(item.id)
    client.v1.invoices.delete(deleted.id)
    controls.advance_clock(120)
    voided = client.v1.invoices.create({"customer": late.id}, {"idempotency_key": "last-draft"})
    client.v1.invoice_items.create({"customer": late.id, "invoice": voided.id, "amount": 1500})
    client.v1.invoices.finalize_invoice(voided.id)  # uses the credit
    client.v1.invoices.void_invoice(voided.id)  # gives it back


def _everything(url: str) -> dict[str, Any]:
    """Every object the server shows, as raw JSON, read without the SDK."""
    seen: dict[str, Any] = {}
    with httpx.Client(base_url=url, auth=(API_KEY, ""), timeout=10) as http:
        seen["account"] = http.get("/v1/account").json()
        for path in LISTS:
            seen[path] = http.get(path, params={"limit": 100}).json()["data"]
        for customer in seen["/v1/customers"]:
            seen[customer["id"]] = http.get(f"/v1/customers/{customer['id']}/balance_transactions").json()["data"]
        seen["clock offset minutes"] = round((http.get("/_test/clock").json()["now"] - time.time()) / 60)
    return seen


def test_a_server_killed_with_sigkill_keeps_every_write_it_confirmed(tmp_path: Path) -> None:
    state = tmp_path / "stripe"
    with server_process(state) as server:
        url = server.start()
        with sdk_clients(url) as make_client, LocalStripeControls(url) as controls:
            _every_write_kind(make_client(retries=0), controls)
            server.kill()  # the moment the last answer arrived
        journal_lines = len((state / JOURNAL_FILE).read_bytes().splitlines())

        url = server.start()
        after = _everything(url)
        with sdk_clients(url) as make_client:
            replayed = make_client().v1.invoices.create({"customer": after["/v1/customers"][0]["id"]},
                                                        {"idempotency_key": "last-draft"})
        server.stop()

    with serve(state_dir=state) as url:  # the same state, read back by another start
        again = _everything(url)
    assert journal_lines > 20  # the writes were journaled, not saved as a snapshot at shutdown
    assert after == again
    invoices = {inv["id"]: inv for inv in after["/v1/invoices"]}
    assert sorted((inv["status"], inv["total"]) for inv in invoices.values()) == [
        ("open", 999), ("paid", -700), ("paid", 5000), ("void", 1500)]
    assert replayed.last_response.headers["Idempotent-Replayed"] == "true" and invoices[replayed.id]["status"] == "void"
    late = next(c for c in after["/v1/customers"] if c["name"] == "Late Co")
    assert late["balance"] == -700
    assert [t["type"] for t in after[late["id"]]] == ["unapplied_from_invoice", "applied_to_invoice",
                                                      "applied_to_invoice"]
    assert {e["type"] for e in after["/v1/events"]} >= {"invoice.paid", "invoice.payment_failed", "invoice.deleted",
                                                        "invoice.voided", "customer.updated"}
    assert after["clock offset minutes"] == 2 and len(after["/v1/webhook_endpoints"]) == 1


def test_a_journal_line_cut_short_by_a_kill_is_ignored_and_the_rest_is_kept(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.insert("customers", {"id": "cus_kept", "name": "Acme"})
    store.commit()
    with open(tmp_path / JOURNAL_FILE, "ab") as journal:  # a write the kill interrupted: never answered
        journal.write(b'{"reset":false,"clock_offset":0,"seq":9,"changes":[["customers","cus_lost",{"id":')

    with pytest.raises(StateInUse):
        Store(tmp_path)  # one server per state folder
    store._journal.close()  # the killed server's lock goes with its process
    reopened = Store(tmp_path)

    assert [c["id"] for c in reopened.rows("customers")] == ["cus_kept"]
    assert reopened.account() == store.account()


def test_the_module_entry_point_serves_and_saves_its_state(tmp_path: Path) -> None:
    with server_process(tmp_path / "stripe") as server:
        url = server.start()
        with sdk_clients(url) as make_client:
            customer = make_client().v1.customers.create({"name": "Acme"})
        printed = server.stop()

    with serve(state_dir=tmp_path / "stripe") as url, sdk_clients(url) as make_client:
        kept = make_client().v1.customers.retrieve(customer.id)
    assert f"local Stripe API on {server.url}" in printed
    assert kept.name == "Acme"
