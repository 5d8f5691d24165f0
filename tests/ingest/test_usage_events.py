import gzip
import json
import shutil
from datetime import date, datetime

import polars as pl
import pytest

from billing_pipeline.lib.ingest.usage_events import ensure_schema, ingest_day
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.usage_files import LINE_FAULTS
from tests.conftest import manifest, sample_days

DAY = date(2026, 8, 30)


def ingest_all(paths, days):
    with connect(paths.warehouse) as con:
        for day in days:
            ingest_day(con, paths.landing_usage, day)


def frame(paths, sql: str) -> pl.DataFrame:
    with connect(paths.warehouse, read_only=True) as con:
        return pl.from_arrow(con.sql(sql).to_arrow_table())


def test_every_injected_fault_ends_where_the_generator_says(data_dir):
    ingest_all(data_dir, sample_days())
    injected = manifest(data_dir)
    reasons = dict(frame(data_dir, "SELECT reason, count(*) AS n FROM raw.quarantine WHERE line_number IS NOT NULL GROUP BY ALL").iter_rows())
    expected: dict[str, int] = {}
    for kind, outcome in LINE_FAULTS.items():
        if outcome != "duplicate":
            expected[outcome] = expected.get(outcome, 0) + injected["faults"][kind]
    assert reasons == expected
    totals = frame(data_dir, "SELECT sum(lines_read) AS r, sum(loaded) AS l, sum(duplicates) AS d, sum(quarantined) AS q FROM raw.ingest_accounting").row(0)
    assert totals[2] == injected["faults"]["redelivery"]
    assert totals[0] == totals[1] + totals[2] + totals[3]
    file_faults = dict(frame(data_dir, "SELECT source_file, reason FROM raw.quarantine WHERE line_number IS NULL").iter_rows())
    assert file_faults == injected["file_faults"]


def test_every_landed_file_adds_up_read_equals_loaded_plus_duplicates_plus_quarantined(data_dir):
    ingest_all(data_dir, sample_days())
    files = frame(data_dir, "SELECT * FROM raw.ingest_accounting")
    assert files.height == sum(len(list(data_dir.day_folder(d.isoformat()).iterdir())) for d in sample_days())
    assert files.filter(pl.col("lines_read") != pl.col("loaded") + pl.col("duplicates") + pl.col("quarantined")).height == 0


def test_deduplication_does_not_depend_on_the_order_days_are_ingested(data_dir, tmp_path):
    reverse = type(data_dir)(tmp_path / "reverse")
    shutil.copytree(data_dir.root, reverse.root)
    ingest_all(data_dir, sample_days())
    ingest_all(reverse, list(reversed(sample_days())))
    loaded = "SELECT event_id, quantity, occurred_at, landing_date, source_file, line_number FROM raw.usage_events_loaded ORDER BY ALL"
    quarantined = "SELECT source_file, line_number, reason FROM raw.quarantine ORDER BY ALL"
    assert frame(data_dir, loaded).equals(frame(reverse, loaded))
    assert frame(data_dir, quarantined).equals(frame(reverse, quarantined))
    assert frame(data_dir, "SELECT count(*) FROM raw.usage_events_loaded GROUP BY event_id HAVING count(*) > 1").height == 0


def test_first_landing_wins_a_conflict_even_when_the_later_day_was_ingested_first(data_dir):
    first, second = data_dir.day_folder("2026-08-28"), data_dir.day_folder("2026-08-29")
    (first / "extra.ndjson").write_text('{"event_id":"dup1","account_id":"acct_0001","metric":"api_calls","quantity":3,"occurred_at":"2026-08-28T10:00:00Z"}\n')
    (second / "extra.ndjson").write_text('{"event_id":"dup1","account_id":"acct_0001","metric":"api_calls","quantity":9,"occurred_at":"2026-08-28T10:00:00Z"}\n')
    ingest_all(data_dir, [date(2026, 8, 29), date(2026, 8, 28)])
    assert frame(data_dir, "SELECT quantity::INTEGER AS q FROM raw.usage_events_loaded WHERE event_id = 'dup1'")["q"].to_list() == [3]
    conflict = frame(data_dir, "SELECT source_file, reason, detail FROM raw.quarantine WHERE event_id = 'dup1'").row(0)
    assert conflict[:2] == ("2026-08-29/extra.ndjson", "conflicting_event_id")
    assert "2026-08-28/extra.ndjson:1" in conflict[2]


def test_re_ingesting_a_day_replaces_that_day_and_touches_no_other(data_dir):
    ingest_all(data_dir, sample_days())
    others = "SELECT * EXCLUDE (ingested_at) FROM raw.usage_events WHERE landing_date <> DATE '2026-08-30' ORDER BY ALL"
    before = frame(data_dir, others)
    for path in data_dir.day_folder(DAY.isoformat()).glob("*.ndjson.gz"):
        path.unlink()
    ingest_all(data_dir, [DAY])
    ingest_all(data_dir, [DAY])
    assert frame(data_dir, others).equals(before)
    day_files = frame(data_dir, "SELECT source_file FROM raw.ingest_files WHERE landing_date = DATE '2026-08-30'")["source_file"]
    assert not any(f.endswith(".gz") for f in day_files)
    assert frame(data_dir, "SELECT count(*) FROM raw.usage_events WHERE landing_date = DATE '2026-08-30' AND source_file LIKE '%.gz'").item() == 0


def test_each_line_fault_is_quarantined_with_its_line_number_reason_and_raw_text(data_dir):
    folder = data_dir.day_folder("2026-09-05")
    folder.mkdir(parents=True)
    good = '"account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-09-05T10:00:00Z"'
    lines = [
        '{"event_id":"a1",' + good + '}',
        '{"event_id":"a2",' + good,
        '',
        '{"event_id":"a3","metric":"api_calls","occurred_at":"2026-09-05T10:00:00Z"}',
        '{"event_id":"a4",' + good + ',"quantity":-1}',
        '{"event_id":"a5",' + good + ',"quantity":"12"}',
        '{"event_id":"a6","account_id":"acct_nope","metric":"api_calls","occurred_at":"2026-09-05T10:00:00Z"}',
        '{"event_id":"a7","account_id":"acct_0001","metric":"warp","occurred_at":"2026-09-05T10:00:00Z"}',
        '{"event_id":"a8","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-09-05T10:00:00"}',
        '{"event_id":"a9",' + good + ',"properties":[1]}',
        '[1, 2]',
        '{"event_id":"a10",' + good + ',"quantity":1e400}',
    ]
    (folder / "faults.ndjson").write_text("\n".join(lines) + "\n")
    ingest_all(data_dir, [date(2026, 9, 5)])
    got = frame(data_dir, "SELECT line_number, reason, raw_text FROM raw.quarantine WHERE landing_date = DATE '2026-09-05' ORDER BY line_number")
    assert got.select("line_number", "reason").rows() == [
        (2, "malformed_json"), (4, "missing_field"), (5, "invalid_quantity"), (6, "invalid_quantity"),
        (7, "unknown_account"), (8, "unknown_metric"), (9, "invalid_timestamp"), (10, "invalid_properties"),
        (11, "not_an_object"), (12, "invalid_quantity")]
    assert got["raw_text"][0] == lines[1]
    counts = frame(data_dir, "SELECT lines_read, blank_lines, loaded, quarantined FROM raw.ingest_accounting WHERE landing_date = DATE '2026-09-05'").row(0)
    assert counts == (11, 1, 1, 10)
    assert frame(data_dir, "SELECT quantity FROM raw.usage_events WHERE event_id = 'a1'").item() == 1  # default quantity


@pytest.mark.parametrize("name,content,reason", [pytest.param(*case, id=case[2]) for case in [
    ("broken.ndjson.gz", gzip.compress(b'{"event_id":"x"}\n' * 100, mtime=0)[:30], "unreadable_gzip"),
    ("latin.ndjson", '{"event_id":"\xe9"}\n'.encode("latin-1"), "not_utf8"),
    ("empty.csv", b"", "empty_file"),
    ("usage.txt", b"hello", "unknown_extension"),
    ("bad.parquet", b"PAR1 not really", "unreadable_parquet"),
]])
def test_an_unreadable_file_is_quarantined_whole_and_the_day_goes_on(data_dir, name, content, reason):
    folder = data_dir.day_folder("2026-09-06")
    folder.mkdir(parents=True)
    (folder / name).write_bytes(content)
    (folder / "fine.ndjson").write_text('{"event_id":"ok1","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-09-06T01:00:00Z"}\n')
    ingest_all(data_dir, [date(2026, 9, 6)])
    assert frame(data_dir, "SELECT source_file, reason FROM raw.quarantine WHERE landing_date = DATE '2026-09-06'").rows() == [(f"2026-09-06/{name}", reason)]
    assert frame(data_dir, "SELECT event_id FROM raw.usage_events_loaded WHERE landing_date = DATE '2026-09-06'").item() == "ok1"


def test_occurred_at_is_normalised_to_utc_so_a_far_timezone_event_lands_in_the_utc_month(data_dir):
    folder = data_dir.day_folder("2026-09-01")
    (folder / "edge.ndjson").write_text(
        '{"event_id":"e1","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-08-31T23:59:59-12:00"}\n'
        '{"event_id":"e2","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-09-01T00:30:00+14:00"}\n')
    ingest_all(data_dir, [date(2026, 9, 1)])
    got = dict(frame(data_dir, "SELECT event_id, occurred_at FROM raw.usage_events WHERE event_id IN ('e1', 'e2')").iter_rows())
    assert got == {"e1": datetime(2026, 9, 1, 11, 59, 59), "e2": datetime(2026, 8, 31, 10, 30)}


def test_csv_and_parquet_rows_load_like_json_lines(data_dir):
    folder = data_dir.day_folder("2026-09-07")
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("event_id,account_id,metric,quantity,occurred_at\n"
                                  "c1,acct_0001,api_calls,5,2026-09-07T01:00:00+02:00\n"
                                  "c2,acct_0001,api_calls,lots,2026-09-07T01:00:00Z\n")
    pl.DataFrame({"event_id": ["p1"], "account_id": ["acct_0002"], "metric": ["exports"], "quantity": [2.5],
                  "occurred_at": ["2026-09-07T03:00:00Z"]}).write_parquet(folder / "b.parquet")
    ingest_all(data_dir, [date(2026, 9, 7)])
    loaded = frame(data_dir, "SELECT event_id, quantity::VARCHAR AS q, occurred_at::VARCHAR AS t FROM raw.usage_events_loaded "
                             "WHERE landing_date = DATE '2026-09-07' ORDER BY 1").rows()
    assert loaded == [("c1", "5.000000000", "2026-09-06 23:00:00"), ("p1", "2.500000000", "2026-09-07 03:00:00")]
    quarantined = frame(data_dir, "SELECT line_number, reason, raw_text FROM raw.quarantine WHERE landing_date = DATE '2026-09-07'")
    assert quarantined.select("line_number", "reason").rows() == [(3, "invalid_quantity")]
    assert json.loads(quarantined["raw_text"][0]) == {"event_id": "c2", "account_id": "acct_0001", "metric": "api_calls",
                                                      "quantity": "lots", "occurred_at": "2026-09-07T01:00:00Z"}


def test_a_warehouse_made_by_an_older_schema_gets_the_current_views(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        ensure_schema(con)
        con.execute("DROP VIEW raw.quarantine")
        con.execute("COMMENT ON TABLE raw.ingest_files IS 'an older schema'")
        ensure_schema(con)
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchall() == [(0,)]



def test_a_warehouse_from_before_nine_decimal_places_is_widened_and_its_events_still_deduplicate(data_dir):
    folder = data_dir.day_folder("2026-09-05")
    folder.mkdir(parents=True)
    (folder / "a.ndjson").write_text('{"event_id":"old1","account_id":"acct_0001","metric":"api_calls","quantity":2.5,'
                                     '"occurred_at":"2026-09-05T10:00:00Z"}\n')
    ingest_all(data_dir, [date(2026, 9, 5)])
    with connect(data_dir.warehouse) as con:  # as an older release left it: DECIMAL(18, 6), hashed as such
        con.execute("DROP VIEW raw.ingest_accounting; DROP VIEW raw.quarantine; DROP VIEW raw.usage_events_loaded; "
                    "DROP VIEW raw.usage_event_status; DROP VIEW raw.usage_event_deliveries")
        con.execute("ALTER TABLE raw.usage_events ALTER quantity TYPE DECIMAL(18,6)")
        con.execute("UPDATE raw.usage_events SET content_hash = hash(account_id, metric, quantity, occurred_at, user_id, "
                    "endpoint, request_id, properties::VARCHAR)")
        con.execute("COMMENT ON TABLE raw.ingest_files IS 'an older schema'")
    again = data_dir.day_folder("2026-09-06")
    again.mkdir(parents=True)
    (again / "b.ndjson").write_text((folder / "a.ndjson").read_text())
    ingest_all(data_dir, [date(2026, 9, 6)])
    assert frame(data_dir, "SELECT typeof(quantity) AS t FROM raw.usage_events LIMIT 1").item() == "DECIMAL(38,9)"
    assert frame(data_dir, "SELECT duplicates FROM raw.ingest_accounting WHERE source_file = '2026-09-06/b.ndjson'").item() == 1
