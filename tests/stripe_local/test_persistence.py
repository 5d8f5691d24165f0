"""With a state folder, a restarted server (in-thread or `python -m`) still knows its objects."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

from billing_pipeline.stripe_local import LocalStripeControls, serve

from .conftest import sdk_clients, wait_for


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
    assert [p.name for p in tmp_path.iterdir()] == ["stripe_local_state.json"]  # no temp files left


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_the_module_entry_point_serves_and_saves_its_state(tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "billing_pipeline.stripe_local", "--port", str(port), "--state-dir",
               str(tmp_path), "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _accepting(port), timeout=20)
        with sdk_clients(f"http://127.0.0.1:{port}") as make_client:
            customer = make_client().v1.customers.create({"name": "Acme"})
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)

    saved = json.loads((tmp_path / "stripe_local_state.json").read_text())
    assert f"http://127.0.0.1:{port}" in out
    assert list(saved["tables"]["customers"]) == [customer.id]
