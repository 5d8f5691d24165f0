"""A whole `billing-pipeline run` killed (SIGKILL: no cleanup runs) in each phase, then run again, bills
exactly what an uninterrupted run bills: one Stripe invoice per account and period, the same totals,
the same finance reports."""

import csv
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import stripe

from billing_pipeline.lib.warehouse import connect
from tests.cli.commands import CLI, cli_env
from tests.stripe_local.server_process import ServerProcess, server_process

AS_OF = "2026-09-10"
LOCAL_KEY = "sk_test_local"


def _copy(landed: Path, to: Path) -> Path:
    subprocess.run(["cp", "-r", str(landed), str(to)], check=True)
    return to


def _env(data: Path, server: ServerProcess) -> dict[str, str]:
    return {**cli_env(data), "STRIPE_API_KEY": LOCAL_KEY, "STRIPE_API_BASE": server.url}


def _run(data: Path, server: ServerProcess) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "run", "--as-of", AS_OF], env=_env(data, server), capture_output=True, text=True,
                          timeout=900)


def _latest_log(data: Path) -> str:
    """The run log of the latest run (one file per run)."""
    logs = sorted((data / "logs").glob("run-*.log")) if (data / "logs").is_dir() else []
    return logs[-1].read_text() if logs else ""


def _kill_when(data: Path, server: ServerProcess, reached: Callable[[], bool]) -> None:
    """Start a run, SIGKILL it the moment `reached` says its phase is under way."""
    for log in (data / "logs").glob("run-*.log") if (data / "logs").is_dir() else []:
        log.rename(log.with_suffix(".done"))  # so the latest log is this run's
    output = data.parent / f"{data.name}.out"
    with open(output, "w") as out:
        process = subprocess.Popen([CLI, "run", "--as-of", AS_OF], env=_env(data, server), stdout=out, stderr=out)
    deadline = time.monotonic() + 600
    while not reached():
        assert process.poll() is None, f"the run ended before the phase it was to be killed in:\n{output.read_text()}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _stripe_invoices(server: ServerProcess) -> list[stripe.Invoice]:
    client = stripe.StripeClient(LOCAL_KEY, base_addresses={"api": server.url})
    return list(client.v1.invoices.list({"limit": 100}).auto_paging_iter())


def _billed(data: Path, server: ServerProcess) -> dict:
    """What the run left behind: Stripe's invoices by issued invoice id, the warehouse's issued totals,
    and the month's journal."""
    invoices = _stripe_invoices(server)
    per_invoice = Counter(invoice.metadata["invoice_id"] for invoice in invoices)
    assert max(per_invoice.values()) == 1, [i for i, n in per_invoice.items() if n > 1]  # never twice
    with connect(data / "warehouse" / "billing.duckdb", read_only=True) as con:
        issued = dict(con.execute("SELECT invoice_id, total_cents FROM fct_issued_invoices").fetchall())
    with open(data / "reports" / "2026-08" / "journal.csv", newline="") as file:
        journal = list(csv.DictReader(file))
    # Stripe's ids differ between two servers; each must name an invoice this server holds.
    assert {row["stripe_invoice_id"] for row in journal if row["stripe_invoice_id"]} <= {i.id for i in invoices}
    return {
        "stripe": {invoice.metadata["invoice_id"]: invoice.total for invoice in invoices},
        "issued": issued,
        "journal": sorted(tuple((k, v) for k, v in row.items() if not k.startswith("stripe_")) for row in journal),
    }


def test_a_run_killed_in_each_phase_and_run_again_bills_what_an_uninterrupted_run_bills(four_landed_days, tmp_path):
    with server_process(tmp_path / "stripe-reference") as reference_server:
        reference_server.start("--autopay")
        reference = _copy(four_landed_days, tmp_path / "reference")
        done = _run(reference, reference_server)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        expected = _billed(reference, reference_server)
    assert expected["stripe"] and expected["issued"]

    with server_process(tmp_path / "stripe-crashed") as server:
        server.start("--autopay")
        data = _copy(four_landed_days, tmp_path / "crashed")
        _kill_when(data, server, lambda: "ingest_job 2026-08-31" in _latest_log(data))  # two of four days ingested
        _kill_when(data, server, lambda: "START sql" in _latest_log(data))  # dbt building the models
        _kill_when(data, server, lambda: len(_stripe_invoices(server)) >= 2)  # mid-publishing
        _kill_when(data, server, lambda: "stripe_events_job" in _latest_log(data))  # the reports are next
        again = _run(data, server)
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        crashed = _billed(data, server)

    assert crashed["issued"] == expected["issued"]
    # An invoice id is one account's period: one Stripe invoice each, with the uninterrupted run's total.
    assert crashed["stripe"] == expected["stripe"]
    assert crashed["journal"] == expected["journal"]
