import csv
import json
from decimal import Decimal
import re

from starlette.testclient import TestClient

from quotas_api.api_keys import add_key_to_file, key_entry, new_api_key
from quotas_api.app import create_app
from quotas_api.settings import Settings
from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_FILENAME, read_quota_snapshot
from billing_pipeline.lib.warehouse import connect

from tests.cli.commands import cli


def test_billing_pipeline_run_ingests_a_small_generated_folder_end_to_end(tmp_path):
    data = tmp_path / "data"
    cli(data, "generate", "--accounts", "12", "--start", "2026-08-30", "--days", "4", "--events-per-day", "200"
        ).check_returncode()
    done = cli(data, "run", "--as-of", "2026-09-10", stripe=True)  # as `make demo` runs it
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ingested 4/4 landing days" in done.stdout
    # August closed on September 4 (3 grace days) and is issued; September is the open month.
    assert re.search(r"^2026-08 +\d+ invoices .* issued$", done.stdout, re.M), done.stdout[-2000:]
    assert re.search(r"^2026-09 +\d+ invoices .* draft$", done.stdout, re.M)
    manifest = json.loads((data / "sample_manifest.json").read_text())
    with connect(data / "warehouse" / "billing.duckdb", read_only=True) as con:
        read, loaded, dups, quarantined = con.execute(
            "SELECT sum(lines_read), sum(loaded), sum(duplicates), sum(quarantined) FROM raw.ingest_accounting").fetchone()
    assert read == loaded + dups + quarantined
    assert dups == manifest["faults"]["redelivery"]
    assert f"lines read {read:,}" in done.stdout
    assert_august_was_published_reported_and_paid(done.stdout, data)
    snapshot = read_quota_snapshot(data / "serving" / SNAPSHOT_FILENAME)
    assert set(snapshot.rows["period"]) == {"2026-09"} and snapshot.rows.height > 0
    assert_the_quota_api_serves(snapshot, data, tmp_path)
    report = cli(data, "quarantine", "--limit", "3")
    assert report.returncode == 0, report.stderr
    assert "unreadable_gzip" in report.stdout
    assert_a_second_run_with_nothing_new_says_so_and_a_new_file_is_all_it_ingests(data)


def assert_a_second_run_with_nothing_new_says_so_and_a_new_file_is_all_it_ingests(data):
    again = cli(data, "run", "--as-of", "2026-09-10", stripe=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(r"^nothing new since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", again.stdout, re.M), again.stdout
    assert "loading the pipeline's definitions" not in again.stdout  # decided before Dagster loads
    (data / "landing" / "usage" / "2026-09-02" / "more.ndjson").write_text(
        '{"event_id":"more-1","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-09-02T10:00:00Z"}\n')
    pack = data / "reports" / "2026-08" / "revenue_pack.pdf"
    written = pack.stat().st_ino, pack.stat().st_mtime_ns
    more = cli(data, "run", "--as-of", "2026-09-10", stripe=True)
    assert more.returncode == 0, more.stderr[-3000:]
    assert "ingested 1/1 landing days" in more.stdout and "nothing new" not in more.stdout
    # a day of the open month changes nothing August's reports are built from: they are not rewritten
    assert "finance reports: nothing due" in more.stdout, more.stdout[-2000:]
    assert (pack.stat().st_ino, pack.stat().st_mtime_ns) == written


def assert_august_was_published_reported_and_paid(stdout, data):
    """The run publishes to the local Stripe test server it was given, the demo customers pay,
    finance gets August's reports, and alerts go to the default JSONL sink."""
    published = re.search(r"^2026-08  stripe: (\d+) published, (\d+) skipped \(zero total\), 0 failed$", stdout, re.M)
    assert published, stdout[-2000:]
    with connect(data / "warehouse" / "billing.duckdb", read_only=True) as con:
        [(issued, total)] = con.execute("SELECT count(*), sum(total_cents) FROM fct_issued_invoices WHERE period = '2026-08'").fetchall()
        [(nonzero,)] = con.execute("SELECT count(*) FROM fct_issued_invoices WHERE period = '2026-08' AND total_cents > 0").fetchall()
        statuses = dict(con.execute("SELECT payment_status, count(*) FROM publish.invoice_payment_status GROUP BY ALL").fetchall())
        [(alerts_sent,)] = con.execute("SELECT count(*) FROM alerts.deliveries WHERE status = 'sent'").fetchall()
    assert int(published[1]) == nonzero and int(published[1]) + int(published[2]) == issued
    assert statuses.get("paid", 0) + statuses.get("payment_failed", 0) == nonzero
    with open(data / "reports" / "2026-08" / "journal.csv", newline="") as journal:
        assert sum(int(row["amount_cents"]) for row in csv.DictReader(journal)) == total
    assert (data / "reports" / "2026-08" / "revenue_pack.pdf").read_bytes().startswith(b"%PDF")
    jsonl = data / "alerts" / "alerts.jsonl"
    assert (len(jsonl.read_text().splitlines()) if jsonl.exists() else 0) == alerts_sent


def assert_the_quota_api_serves(snapshot, data, tmp_path):
    """The file the pipeline published is what the quota API answers from, figure for figure."""
    key, keys_file = new_api_key(), tmp_path / "keys.yaml"
    add_key_to_file(keys_file, key_entry("test", key, None))
    app = create_app(Settings(snapshot_path=data / "serving" / SNAPSHOT_FILENAME, api_keys_file=keys_file))
    row = snapshot.rows.row(0, named=True)
    with TestClient(app) as client:
        answer = client.get(f"/v1/accounts/{row['account_id']}/quotas/{row['metric']}",
                            headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["period"], body["plan"], body["status"]) == ("2026-09", row["plan_code"], row["status"])
    assert Decimal(str(body["used"])) == row["used"]
