"""A rated, issued and partly published warehouse for the report tests, built once per test session.

The January world of tests/dbt (every pricing case, a prepaid credit, a trial, a hard limit), plus two
trials around the month end. January is issued as of 2026-02-10; then late January usage lands, and
February is issued as of 2026-03-10 with an adjustment line for it. January's invoices then
carry publication ledger rows written through the ledger's DDL as the publisher writes them:
acme skipped (zero total), beta published and paid, cara published and payment failed, dora failed
to publish, late published and open. February is not published.
"""

import fcntl
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.schema import ensure_publish_schema
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import Event, january_world

JANUARY, FEBRUARY = "2026-01", "2026-02"
JANUARY_CLOSED = date(2026, 2, 10)
AS_OF = date(2026, 3, 10)
AT = datetime(2026, 3, 11, 9, tzinfo=timezone.utc)
# (invoice, status, stripe invoice, payment event type or None)
PUBLISHED = [
    ("INV-202601-acme", "skipped_zero", None, None),
    ("INV-202601-beta", "finalized", "in_beta", "invoice.paid"),
    ("INV-202601-cara", "finalized", "in_cara", "invoice.payment_failed"),
    ("INV-202601-dora", "failed", None, None),
    ("INV-202601-late", "finalized", "in_late", None),
]


def _build(root: Path) -> None:
    world = january_world(root)
    # evan: trial from Jan 25, cancelled Feb 2 before it ends (expired in February);
    # fern: trial from Jan 28 to Feb 7, still subscribed after it (converted in February).
    world.execute("""
        INSERT INTO catalog.accounts VALUES ('evan', 'Evan', 'evan@example.com', 'active', NULL),
                                            ('fern', 'Fern & Co <Ltd>', 'fern@example.com', 'active', 'cus_fern');
        INSERT INTO catalog.subscriptions VALUES ('evan:2026-01-25', 'evan', 'growth', DATE '2026-01-25', DATE '2026-02-02', 10),
                                                 ('fern:2026-01-28', 'fern', 'growth', DATE '2026-01-28', NULL, 10);
    """)
    world.land(Event("beta", "api_calls", "300", "2026-02-05 10:00:00", "2026-02-05"),
               Event("fern", "api_calls", "15000", "2026-02-20 10:00:00", "2026-02-20"))
    run = world.rate(date(2026, 1, 1), JANUARY_CLOSED, date(2026, 2, 1))
    assert run.success, run.with_status("fail", "error")
    # 100 more January API calls for acme land after January was issued: February adjusts for them
    world.land(Event("acme", "api_calls", "100", "2026-01-28 10:00:00", "2026-02-20"))
    run = world.rate(date(2026, 2, 1), AS_OF)
    assert run.success, run.with_status("fail", "error")
    with connect(world.paths.warehouse) as con:
        ensure_publish_schema(con)
        for invoice_id, status, stripe_invoice, event in PUBLISHED:
            account, total = con.execute("SELECT account_id, total_cents FROM fct_issued_invoices WHERE invoice_id = ?",
                                         [invoice_id]).fetchone()
            con.execute("""INSERT INTO publish.invoice_publications (invoice_id, account_id, period, currency, total_cents,
                               content_hash, status, stripe_customer_id, stripe_invoice_id, hosted_invoice_url, attempts,
                               last_error, first_attempt_at, updated_at)
                           VALUES (?, ?, ?, 'usd', ?, 'hash', ?, ?, ?, ?, 1, ?, ?, ?)""",
                        [invoice_id, account, JANUARY, total, status, f"cus_{account}", stripe_invoice,
                         f"https://invoice.example/{stripe_invoice}" if stripe_invoice else None,
                         "card_declined" if status == "failed" else None, AT, AT])
            if stripe_invoice:
                con.execute("""INSERT INTO publish.invoice_item_publications
                               SELECT invoice_id, line_id, 'ii_' || line_number || '_' || account_id, amount_cents, ?
                               FROM fct_issued_invoice_lines WHERE invoice_id = ?""", [AT, invoice_id])
            if event:
                con.execute("""INSERT INTO publish.stripe_events VALUES (?, ?, ?, ?, ?, ?, ?, 'usd', ?, ?, ?)""",
                            [f"evt_{account}", event, stripe_invoice, invoice_id, account, JANUARY, total,
                             "Your card was declined." if event.endswith("failed") else None, AT, AT])


def shared_world(base: Path) -> DataDir:
    """The world, built by the first test process that asks; the others wait for it and reuse it.

    It is built in a child process: in-process dbt keeps its DuckDB instance open, and DuckDB then
    refuses the read-only connections the reports open, as it would in the pipeline."""
    root = base / "report_world"
    with (base / "report_world.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "ready").exists():
            shutil.rmtree(root, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "tests.report.report_world", str(root)], check=True,
                           cwd=Path(__file__).resolve().parents[2])
            (root / "ready").touch()
    return DataDir(root)


def private_copy(world: DataDir, destination: Path) -> DataDir:
    """A copy whose reports folder and warehouse a test may change."""
    shutil.copytree(world.root, destination)
    return DataDir(destination)


if __name__ == "__main__":
    _build(Path(sys.argv[1]))
