"""One test per fault of issue 11, each showing where every landed line went."""

import gzip
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from tests.ingest.landed import ACCOUNT, accounting, event, fates, ingest, rows

DAY = date(2026, 9, 10)
FOLDER = DAY.isoformat()


def land(data_dir, name: str, content: str | bytes):
    folder = data_dir.day_folder(FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_an_event_in_its_producers_local_date_folder_loads_in_its_utc_day_and_holds_nothing(data_dir):
    land(data_dir, "edge.ndjson", "\n".join([
        '{"event_id":"tz-edge-1","account_id":"acct_0002","metric":"api_calls","quantity":1,"occurred_at":"2026-10-31T23:30:00-10:00"}',
        event("beyond-tolerance-1", "2026-11-01T14:00:00.000001Z"),
        event("at-tolerance-1", "2026-11-01T14:00:00Z"),
    ]) + "\n")
    folder = data_dir.day_folder("2026-10-31")
    folder.mkdir()
    (data_dir.day_folder(FOLDER) / "edge.ndjson").rename(folder / "edge.ndjson")
    ingest(data_dir, date(2026, 10, 31))
    assert fates(data_dir, "2026-10-31/edge.ndjson") == {1: "loaded", 2: "occurred_after_landing", 3: "loaded"}
    assert rows(data_dir, "SELECT occurred_at FROM raw.usage_events_loaded WHERE event_id = 'tz-edge-1'") == [(datetime(2026, 11, 1, 9, 30),)]
    [(detail,)] = rows(data_dir, "SELECT detail FROM raw.quarantine WHERE event_id = 'beyond-tolerance-1'")
    assert detail == ("occurred_at 2026-11-01 14:00:00 UTC is later than 2026-11-01 14:00:00 UTC, "
                      "the end of its landing day plus the late tolerance")
    assert rows(data_dir, "SELECT * FROM raw.period_holds") == []


def test_a_line_of_tens_of_megabytes_loads_and_so_does_the_rest_of_its_file(data_dir):
    land(data_dir, "long.ndjson", "\n".join([event("short-1"), event("long-1", properties={"blob": "x" * (30 << 20)}),
                                             event("short-2")]) + "\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/long.ndjson") == {1: "loaded", 2: "loaded", 3: "loaded"}
    assert accounting(data_dir, f"{FOLDER}/long.ndjson") == ("ok", 3, 3, 0, 0)
    assert rows(data_dir, "SELECT length(properties::VARCHAR) > 30 << 20 FROM raw.usage_events WHERE event_id = 'long-1'") == [(True,)]


def test_a_csv_row_whose_properties_is_not_json_is_one_quarantined_row(data_dir):
    land(data_dir, "props.csv", "event_id,account_id,metric,quantity,occurred_at,properties\n"
                                f"c1,{ACCOUNT},api_calls,2,2026-09-10T01:00:00Z,\"{{\"\"region\"\":\"\"eu\"\"}}\"\n"
                                f"c2,{ACCOUNT},api_calls,2,2026-09-10T01:00:00Z,{{not json\n"
                                f"c3,{ACCOUNT},api_calls,2,2026-09-10T01:00:00Z,\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/props.csv") == {2: "loaded", 3: "invalid_properties", 4: "loaded"}
    assert rows(data_dir, "SELECT properties->>'region' FROM raw.usage_events WHERE event_id = 'c1'") == [("eu",)]


def test_a_parquet_row_whose_properties_is_a_struct_is_one_quarantined_row(data_dir):
    folder = data_dir.day_folder(FOLDER)
    folder.mkdir(parents=True)
    pl.DataFrame({"event_id": ["p1", "p2", "p3"], "account_id": [ACCOUNT] * 3, "metric": ["api_calls"] * 3,
                  "occurred_at": ["2026-09-10T01:00:00Z"] * 3,
                  "properties": [{"region": "eu"}, None, {"region": "us"}]}).write_parquet(folder / "typed.parquet")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/typed.parquet") == {1: "invalid_properties", 2: "loaded", 3: "invalid_properties"}
    assert accounting(data_dir, f"{FOLDER}/typed.parquet") == ("ok", 3, 1, 0, 2)


def test_a_ragged_csv_row_is_one_row_and_the_rows_around_it_load(data_dir):
    land(data_dir, "ragged.csv", "event_id,account_id,metric,quantity,occurred_at\n"
                                 f"r1,{ACCOUNT},api_calls,1,2026-09-10T01:00:00Z\n"
                                 f"r2,{ACCOUNT},api_calls,1,2026-09-10T01:00:00Z,surplus\n"
                                 f"r3,{ACCOUNT},api_calls\n"
                                 f"r4,{ACCOUNT},api_calls,1,2026-09-10T01:00:00Z\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/ragged.csv") == {2: "loaded", 3: "ragged_row", 4: "ragged_row", 5: "loaded"}
    assert rows(data_dir, "SELECT raw_text FROM raw.quarantine WHERE line_number = 4") == [(f"r3,{ACCOUNT},api_calls",)]


def test_a_csv_without_a_header_row_is_set_aside_with_its_lines_counted(data_dir):
    land(data_dir, "bare.csv", f"b1,{ACCOUNT},api_calls,1,2026-09-10T01:00:00Z\nb2,{ACCOUNT},api_calls,1,2026-09-10T01:00:00Z\n")
    ingest(data_dir, DAY)
    assert accounting(data_dir, f"{FOLDER}/bare.csv") == ("no_header", 2, 0, 0, 2)
    [(reason, detail)] = rows(data_dir, "SELECT reason, detail FROM raw.quarantine WHERE source_file = ?", f"{FOLDER}/bare.csv")
    assert reason == "no_header" and "must start with a header row" in detail
    assert rows(data_dir, "SELECT count(*) FROM raw.usage_events WHERE event_id LIKE 'b%'") == [(0,)]


def test_nested_folders_and_folders_that_are_not_landing_days_are_listed_with_their_reason(data_dir):
    land(data_dir, "fine.ndjson", event("fine-1") + "\n")
    nested = data_dir.day_folder(FOLDER) / "sub"
    nested.mkdir()
    (nested / "late.ndjson").write_text(event("nested-1") + "\n" + event("nested-2") + "\n")
    for name in ("2026-11-5", "latest", "2025-12-31"):
        (data_dir.landing_usage / name).mkdir()
        (data_dir.landing_usage / name / "usage.ndjson").write_text(event(f"stray-{name}") + "\n")
    (data_dir.landing_usage / "empty-folder").mkdir()
    ingest(data_dir, DAY)
    assert accounting(data_dir, f"{FOLDER}/sub/late.ndjson") == ("nested_folder", 2, 0, 0, 2)
    assert rows(data_dir, "SELECT path, reason FROM raw.landing_problems ORDER BY path") == [
        ("2025-12-31/usage.ndjson", "outside_partitions"), ("2026-11-5/usage.ndjson", "not_a_day_folder"),
        ("empty-folder/", "not_a_day_folder"), ("latest/usage.ndjson", "not_a_day_folder")]
    assert rows(data_dir, "SELECT count(*) FROM raw.quarantine WHERE landing_date IS NULL") == [(4,)]
    assert fates(data_dir, f"{FOLDER}/fine.ndjson") == {1: "loaded"}


def test_quantities_are_kept_exactly_or_refused_never_rounded(data_dir):
    lines = [event("tiny", quantity=1e-7), event("negative-tiny", quantity=-1e-7), event("ten-places", quantity=1e-10),
             '{"event_id":"exponent","account_id":"%s","metric":"api_calls","occurred_at":"2026-09-10T10:00:00Z","quantity":2.5E3}' % ACCOUNT,
             '{"event_id":"widest","account_id":"%s","metric":"api_calls","occurred_at":"2026-09-10T10:00:00Z",'
             '"quantity":99999999999999999999.999999999}' % ACCOUNT,
             event("too-large", quantity=1e20), event("text", quantity="12")]
    land(data_dir, "quantities.ndjson", "\n".join(lines) + "\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/quantities.ndjson") == {
        1: "loaded", 2: "invalid_quantity", 3: "invalid_quantity", 4: "loaded", 5: "loaded", 6: "invalid_quantity", 7: "invalid_quantity"}
    loaded = dict(rows(data_dir, "SELECT event_id, quantity FROM raw.usage_events WHERE source_file LIKE '%quantities%'"))
    assert loaded == {"tiny": Decimal("0.0000001"), "exponent": Decimal(2500), "widest": Decimal("99999999999999999999.999999999")}
    details = [d for (d,) in rows(data_dir, "SELECT detail FROM raw.quarantine WHERE source_file LIKE '%quantities%' ORDER BY line_number")]
    assert details == ["quantity -1e-07 is negative",
                       "quantity 1e-10 has more than 9 decimal places (kept exactly, never rounded)",
                       "quantity 1e+20 is too large (at most 20 digits before the point)",
                       'quantity "12" is not a number']


def test_timestamps_follow_rfc3339_exactly(data_dir):
    lines = [event("hour-24", "2026-09-10T24:00:00Z"), event("lowercase", "2026-09-10t10:00:00z"),
             event("leap-second", "2026-09-10T23:59:60Z"), event("not-leap", "2026-09-10T10:00:60Z"),
             event("no-colon-offset", "2026-09-10T10:00:00+0530"), event("nanoseconds", "2026-09-10T23:59:59.999999999Z")]
    land(data_dir, "stamps.ndjson", "\n".join(lines) + "\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/stamps.ndjson") == {
        1: "invalid_timestamp", 2: "loaded", 3: "loaded", 4: "invalid_timestamp", 5: "invalid_timestamp", 6: "loaded"}
    assert dict(rows(data_dir, "SELECT event_id, occurred_at FROM raw.usage_events WHERE source_file LIKE '%stamps%'")) == {
        "lowercase": datetime(2026, 9, 10, 10), "leap-second": datetime(2026, 9, 10, 23, 59, 59, 999999),
        "nanoseconds": datetime(2026, 9, 10, 23, 59, 59, 999999)}  # truncated, never rounded into the next day


def test_an_object_with_a_key_twice_is_quarantined_as_ambiguous(data_dir):
    land(data_dir, "keys.ndjson", "\n".join([
        '{"event_id":"k1","account_id":"%s","account_id":"acct_0002","metric":"api_calls","occurred_at":"2026-09-10T10:00:00Z"}' % ACCOUNT,
        event("k2", properties={"region": "eu"}).replace('"region": "eu"', '"region": "eu", "region": "us"'),
        event("k3"),
    ]) + "\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/keys.ndjson") == {1: "duplicate_key", 2: "duplicate_key", 3: "loaded"}
    assert [d for (d,) in rows(data_dir, "SELECT detail FROM raw.quarantine WHERE source_file LIKE '%keys%' ORDER BY line_number")] == [
        'key "account_id" appears more than once: which value counts is ambiguous',
        "a key appears twice in properties: which value counts is ambiguous"]


def test_a_line_that_is_not_utf8_is_one_quarantined_line(data_dir):
    land(data_dir, "mixed.ndjson", event("u1").encode() + b"\n" + event("latin", note="caf\xe9").encode("latin-1")
         .replace(b"\\u00e9", b"\xe9") + b"\n" + event("u2").encode() + b"\n")
    ingest(data_dir, DAY)
    assert fates(data_dir, f"{FOLDER}/mixed.ndjson") == {1: "loaded", 2: "not_utf8", 3: "loaded"}
    [(raw,)] = rows(data_dir, "SELECT raw_text FROM raw.quarantine WHERE source_file LIKE '%mixed%'")
    assert "caf\ufffd" in raw


def test_a_damaged_gzip_file_is_set_aside_whole_with_the_lines_it_could_read_counted(data_dir):
    content = "".join(event(f"g{i}") + "\n" for i in range(500)).encode()
    land(data_dir, "cut.ndjson.gz", gzip.compress(content, mtime=0)[:-200])
    ingest(data_dir, DAY)
    status, read, loaded, duplicates, quarantined = accounting(data_dir, f"{FOLDER}/cut.ndjson.gz")
    assert status == "unreadable_gzip" and 0 < read < 500 and (loaded, duplicates, quarantined) == (0, 0, read)


def test_hidden_and_empty_files_are_listed_not_skipped(data_dir):
    land(data_dir, ".partial.ndjson", event("h1") + "\n")
    land(data_dir, "empty.ndjson", b"")
    ingest(data_dir, DAY)
    assert rows(data_dir, "SELECT source_file, file_status, lines_read FROM raw.ingest_files ORDER BY 1") == [
        (f"{FOLDER}/.partial.ndjson", "hidden_file", 1), (f"{FOLDER}/empty.ndjson", "empty_file", 0)]
