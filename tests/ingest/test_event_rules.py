"""The event rules judge any relation of raw JSON lines, not only landed files: events posted over
HTTP (issue 15) will go through the same SQL."""

from datetime import datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from billing_pipeline.lib.ingest.event_rules import judge_json_lines


@pytest.fixture
def con():
    """An in-memory DuckDB in a time zone far from UTC, with a two-row catalog."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Pacific/Kiritimati'")  # +14:00: UTC normalisation must not depend on it
    con.execute("CREATE SCHEMA catalog")
    con.execute("CREATE TABLE catalog.accounts AS SELECT 'acct_1' AS account_id")
    con.execute("CREATE TABLE catalog.metrics AS SELECT 'gb_hours' AS metric_code")
    yield con
    con.close()


def judge(con, *texts: str) -> list[tuple]:
    posted = pa.table({"line_number": pa.array(range(1, len(texts) + 1), pa.int64()), "raw_text": list(texts),
                       "line_error": pa.array([None] * len(texts), pa.string())})
    con.register("posted_events", posted)
    return judge_json_lines(con, "posted_events", latest_allowed=datetime(2026, 9, 11, 14)).order("line_number").select(
        "event_id, quantity, occurred_at, reason").fetchall()


def posted(event_id: str, quantity: str = "1", occurred_at: str = "2026-09-10T10:00:00Z") -> str:
    return (f'{{"event_id":"{event_id}","account_id":"acct_1","metric":"gb_hours","quantity":{quantity},'
            f'"occurred_at":"{occurred_at}"}}')


def test_posted_events_held_in_memory_are_judged_by_the_same_rules_as_landed_lines(con):
    got = judge(con, posted("ok", "0.000000001"), posted("late", occurred_at="2026-09-11T14:00:01Z"),
                posted("far-offset", occurred_at="2026-09-10T23:30:00-10:00"), "not json",
                '{"event_id":"x","account_id":"acct_9","metric":"gb_hours","occurred_at":"2026-09-10T10:00:00Z"}')
    assert got == [
        ("ok", Decimal("0.000000001"), datetime(2026, 9, 10, 10), None),
        ("late", Decimal(1), datetime(2026, 9, 11, 14, 0, 1), "occurred_after_landing"),
        ("far-offset", Decimal(1), datetime(2026, 9, 11, 9, 30), None),
        (None, Decimal(1), None, "malformed_json"),
        ("x", Decimal(1), datetime(2026, 9, 10, 10), "unknown_account"),
    ]


@pytest.mark.parametrize("text,expected", [
    ("0", Decimal(0)), ("-0", Decimal(0)), ("1e-7", Decimal("0.0000001")), ("2.5E3", Decimal(2500)),
    ("100e-11", Decimal("0.000000001")), ("1.500000000000000000000000", Decimal("1.5")),
    ("12345678901234567890.123456789", Decimal("12345678901234567890.123456789")),
    ("1234567890123456789012345678900000e-14", Decimal("12345678901234567890.123456789")),
])
def test_a_quantity_that_can_be_kept_exactly_is_kept_exactly(con, text, expected):
    [(_, quantity, _, reason)] = judge(con, posted("q", text))
    assert (quantity, reason) == (expected, None)


@pytest.mark.parametrize("text", ["-1e-7", "1e-10", "0.1234567891", "1e20", "100000000000000000000", "1e999999999999999999999",
                                  '"5"', "true", "[1]", "0.10000000000000000001"])
def test_a_quantity_that_cannot_be_kept_exactly_or_is_negative_is_refused(con, text):
    [(_, _, _, reason)] = judge(con, posted("q", text))
    assert reason == "invalid_quantity"


def test_the_quantitys_own_text_counts_even_when_properties_holds_a_quantity_too(con):
    text = ('{"event_id":"q","account_id":"acct_1","metric":"gb_hours","properties":{"quantity":0.1},'
            '"quantity":0.10000000000000000001,"occurred_at":"2026-09-10T10:00:00Z"}')
    assert judge(con, text)[0][3] == "invalid_quantity"
    assert judge(con, text.replace("0.10000000000000000001", "0.25"))[0][1:] == (Decimal("0.25"), datetime(2026, 9, 10, 10), None)


@pytest.mark.parametrize("stamp,utc", [
    ("2026-09-10T10:00:00Z", datetime(2026, 9, 10, 10)), ("2026-09-10t10:00:00z", datetime(2026, 9, 10, 10)),
    ("2026-09-10 10:00:00+02:00", datetime(2026, 9, 10, 8)), ("2026-09-10T10:00:00-00:00", datetime(2026, 9, 10, 10)),
    ("2026-06-30T23:59:60Z", datetime(2026, 6, 30, 23, 59, 59, 999999)),
    ("2026-06-30T13:59:60.5-10:00", datetime(2026, 6, 30, 23, 59, 59, 999999)),
])
def test_rfc3339_timestamps_are_normalised_to_utc(con, stamp, utc):
    [(_, _, occurred, reason)] = judge(con, posted("t", occurred_at=stamp))
    assert (occurred, reason) == (utc, None)


@pytest.mark.parametrize("stamp", ["2026-09-10T24:00:00Z", "2026-09-10T10:00:60Z", "2026-09-10T10:00:00", "2026-02-30T10:00:00Z",
                                   "2026-09-10T10:00:00+0200", "2026-09-10T10:00:00+24:00", "2026-09-10T10:60:00Z", "10/09/2026"])
def test_anything_else_is_an_invalid_timestamp(con, stamp):
    [(_, _, _, reason)] = judge(con, posted("t", occurred_at=stamp))
    assert reason == "invalid_timestamp"
