"""A generated hostile day: every fault kind ingestion must survive, with valid events mixed in."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files
from tests.ingest.landed import ingest, rows

START, DAYS = date(2026, 8, 30), 3


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    paths = DataDir(tmp_path_factory.mktemp("hostile"))
    accounts = write_catalog_files(paths.catalog, 12, START, DAYS, seed=5)
    manifest = write_usage_files(paths.landing_usage, accounts, UsageSpec(START, DAYS, 200, seed=5, hostile=True))
    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))
    ingest(paths, *(START + timedelta(days=i) for i in range(DAYS)))
    return paths, manifest.hostile


def test_the_hostile_day_is_the_month_end_so_an_event_crosses_into_the_next_month(hostile):
    _, manifest = hostile
    assert manifest.day == "2026-08-31"


def test_every_valid_event_of_the_hostile_day_loads_with_its_exact_quantity(hostile):
    paths, manifest = hostile
    loaded = dict(rows(paths, "SELECT event_id, quantity FROM raw.usage_events_loaded WHERE event_id = ANY(?)", list(manifest.loaded)))
    assert loaded == {event_id: Decimal(quantity) for event_id, quantity in manifest.loaded.items()}
    [(occurred,)] = rows(paths, "SELECT strftime(occurred_at, '%Y-%m-%d %H:%M') FROM raw.usage_events WHERE event_id = 'tz-edge-1'")
    assert occurred == "2026-09-01 09:30"


def test_every_bad_line_is_quarantined_at_its_file_and_line_with_its_reason(hostile):
    paths, manifest = hostile
    files = sorted({rel for rel, _, _ in manifest.lines})
    got = rows(paths, "SELECT source_file, line_number, reason FROM raw.quarantine WHERE source_file = ANY(?) AND line_number IS NOT NULL "
                      "ORDER BY ALL", files)
    assert got == sorted(tuple(line) for line in manifest.lines)


def test_every_file_set_aside_and_everything_outside_the_day_folders_is_listed_with_its_reason(hostile):
    paths, manifest = hostile
    statuses = dict(rows(paths, "SELECT source_file, file_status FROM raw.ingest_files WHERE source_file = ANY(?)", list(manifest.files)))
    assert statuses == manifest.files
    assert dict(rows(paths, "SELECT path, reason FROM raw.landing_problems")) == manifest.outside


def test_every_file_of_the_hostile_day_adds_up_and_each_that_holds_lines_counts_them(hostile):
    paths, manifest = hostile
    files = rows(paths, "SELECT source_file, file_status, bytes, lines_read, loaded, duplicates, quarantined "
                        "FROM raw.ingest_accounting WHERE landing_date = ?", date.fromisoformat(manifest.day))
    on_disk = [p for p in paths.day_folder(manifest.day).rglob("*") if p.is_file()]
    assert len(files) == len(on_disk)
    for source_file, status, size, read, loaded, duplicates, quarantined in files:
        assert read == loaded + duplicates + quarantined, source_file
        if size > 0 and status != "unknown_extension":
            assert read > 0, source_file
