"""The operator's view of ingestion: `billing-pipeline quarantine`, `acknowledge`, and `run` end to end
on a data folder holding every fault."""

import re
from datetime import date, timedelta

import pytest

from billing_pipeline.cli import main
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.reasons import REASONS
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files
from tests.ingest.landed import ingest

from tests.cli.commands import cli


@pytest.fixture
def hostile(tmp_path) -> DataDir:
    paths = DataDir(tmp_path / "data")
    accounts = write_catalog_files(paths.catalog, 12, date(2026, 8, 30), 3, seed=5)
    write_usage_files(paths.landing_usage, accounts, UsageSpec(date(2026, 8, 30), 3, 300, seed=5, hostile=True))
    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))
    ingest(paths, *(date(2026, 8, 30) + timedelta(days=i) for i in range(3)))
    return paths


def test_quarantine_counts_by_reason_then_shows_the_first_file_line_of_each_reason_with_its_label(hostile, capsys):
    assert main(["--data-dir", str(hostile.root), "quarantine"]) == 0
    out = capsys.readouterr().out
    counts, firsts = out.split("first one of each reason")
    reasons = re.findall(r"^ +\d+  (\w+) +(line|file|landing) +(.+)$", counts, re.M)
    for reason, scope, label in reasons:
        assert (scope, label) == (REASONS[reason].scope, REASONS[reason].label)
    assert {r for r, _, _ in reasons} >= {"not_utf8", "ragged_row", "no_header", "nested_folder", "not_a_day_folder",
                                          "outside_partitions", "unreadable_gzip", "occurred_after_landing", "duplicate_key"}
    shown = re.findall(r"^  (\S+):(\d+|-)  (\w+): ", firsts, re.M)
    assert sorted(reason for _, _, reason in shown) == sorted(r for r, _, _ in reasons)  # one of each
    assert ("2026-08-31/mixed-encoding.ndjson", "2", "not_utf8") in shown or ("2026-08-31/latin1.ndjson", "1", "not_utf8") in shown
    assert ("20260831/usage.ndjson", "-", "not_a_day_folder") in shown
    assert "CSV Error" not in out


def test_quarantine_of_one_day_leaves_out_other_days_and_the_landing_folder(hostile, capsys):
    assert main(["--data-dir", str(hostile.root), "quarantine", "--day", "2026-08-30"]) == 0
    out = capsys.readouterr().out
    assert "set aside on 2026-08-30" in out and "not_a_day_folder" not in out and "2026-08-31/" not in out


def test_quarantine_on_a_folder_without_a_warehouse_says_so_in_one_line_and_creates_nothing(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nowhere"), "quarantine"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no warehouse at" in err and "Traceback" not in err
    assert not (tmp_path / "nowhere").exists()


def test_acknowledging_a_file_with_no_open_change_names_what_is_open(hostile, capsys):
    assert main(["--data-dir", str(hostile.root), "acknowledge", "2026-08-30/nope.ndjson"]) == 1
    assert capsys.readouterr().err == "no open change for 2026-08-30/nope.ndjson; nothing is waiting to be acknowledged\n"


def test_run_on_a_folder_holding_every_fault_rates_every_month_and_a_changed_issued_file_holds_only_the_next_close(tmp_path):
    data = tmp_path / "data"
    cli(data, "generate", "--accounts", "12", "--start", "2026-08-30", "--days", "4", "--events-per-day", "200",
        "--hostile").check_returncode()
    first = cli(data, "run", "--as-of", "2026-09-10", stripe=True)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "ingested 4/4 landing days" in first.stdout
    for reason in ("not_a_day_folder", "outside_partitions", "not_in_a_day_folder", "nested_folder", "no_header", "ragged_row"):
        assert re.search(rf"^ +\d+  {reason} ", first.stdout, re.M), reason
    assert re.search(r"^2026-08 +\d+ invoices .* issued$", first.stdout, re.M), first.stdout[-2000:]
    assert re.search(r"^2026-09 +\d+ invoices .* draft$", first.stdout, re.M)
    with connect(data / "warehouse" / "billing.duckdb", read_only=True) as con:
        [(period,)] = con.execute("""SELECT line.period FROM fct_invoice_lines line JOIN raw.usage_events_loaded e
                                     ON e.account_id = line.account_id AND e.metric = line.metric
                                     AND e.occurred_at >= line.usage_start AND e.occurred_at < line.usage_end
                                     WHERE e.event_id = 'tz-edge-1' AND line.line_type = 'usage'""").fetchall()
    assert period == "2026-09"

    (data / "landing" / "usage" / "2026-08-30" / "usage-2026-08-30-a.ndjson").unlink()
    second = cli(data, "run", "--as-of", "2026-10-10", stripe=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert re.search(r"^2026-09 +\d+ invoices .* held$", second.stdout, re.M), second.stdout[-3000:]
    assert re.search(r"^2026-10 +\d+ invoices .* draft$", second.stdout, re.M)
    assert re.search(r"^  2026-09  held \(issued_file_changed\): 2026-08-30/usage-2026-08-30-a\.ndjson:-  ", second.stdout, re.M)
    assert "2026-08  stripe:" not in second.stdout  # August was published by the first run and stays as issued
