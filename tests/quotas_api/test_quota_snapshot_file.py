import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_pipeline.exchange.quota_snapshot import (
    SNAPSHOT_FILENAME,
    SnapshotError,
    json_number,
    read_quota_snapshot,
    write_quota_snapshot,
)
from quota_rows import frame_of, quota_row, synthetic_quota_rows

GENERATED_AT = datetime(2026, 5, 20, 10, 30, tzinfo=UTC)


def test_a_written_snapshot_reads_back_with_the_same_rows_in_key_order_and_its_generation_time(tmp_path: Path):
    rows = synthetic_quota_rows(accounts=50, metrics=3).reverse()

    path = write_quota_snapshot(rows, tmp_path, GENERATED_AT)
    snapshot = read_quota_snapshot(path)

    assert path == tmp_path / SNAPSHOT_FILENAME
    assert snapshot.generated_at == GENERATED_AT
    assert snapshot.rows.equals(rows.sort("account_id", "metric"))
    assert snapshot.serving.height == 150


def test_generated_at_in_another_timezone_is_stored_as_the_same_instant_in_utc(tmp_path: Path):
    local = datetime(2026, 5, 20, 12, 30, tzinfo=timezone(timedelta(hours=2)))

    snapshot = read_quota_snapshot(write_quota_snapshot(frame_of(quota_row()), tmp_path, local))

    assert snapshot.generated_at == GENERATED_AT
    assert snapshot.generated_at.tzinfo == UTC


def test_a_naive_generated_at_is_refused(tmp_path: Path):
    with pytest.raises(SnapshotError, match="timezone-aware"):
        write_quota_snapshot(frame_of(quota_row()), tmp_path, datetime(2026, 5, 20))


def test_writing_leaves_no_temporary_file_and_replaces_the_previous_snapshot(tmp_path: Path):
    write_quota_snapshot(frame_of(quota_row(used=Decimal(1))), tmp_path, GENERATED_AT)
    write_quota_snapshot(frame_of(quota_row(used=Decimal(2))), tmp_path, GENERATED_AT + timedelta(hours=1))

    assert [p.name for p in tmp_path.iterdir()] == [SNAPSHOT_FILENAME]
    snapshot = read_quota_snapshot(tmp_path / SNAPSHOT_FILENAME)
    assert snapshot.rows["used"].to_list() == [Decimal(2)]
    assert snapshot.generated_at == GENERATED_AT + timedelta(hours=1)


def test_invalid_rows_are_refused_and_the_published_snapshot_stays(tmp_path: Path):
    write_quota_snapshot(frame_of(quota_row()), tmp_path, GENERATED_AT)

    with pytest.raises(SnapshotError, match="status outside"):
        write_quota_snapshot(frame_of(quota_row(status="fine")), tmp_path, GENERATED_AT + timedelta(hours=1))

    assert [p.name for p in tmp_path.iterdir()] == [SNAPSHOT_FILENAME]
    assert read_quota_snapshot(tmp_path / SNAPSHOT_FILENAME).generated_at == GENERATED_AT


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (frame_of(quota_row()).drop("currency"), "missing column(s) currency"),
        (frame_of(quota_row()).with_columns(note=pl.lit("x")), "unexpected column(s) note"),
        (frame_of(quota_row()).with_columns(pl.col("used").cast(pl.Float64)), "column used is Float64, expected Decimal(precision=18, scale=6)"),
        (frame_of(quota_row()).with_columns(pl.col("used").cast(pl.Decimal(38, 6))), "column used is Decimal(precision=38, scale=6)"),
        (frame_of(quota_row(plan_code=None)), "null in a required column"),
        (frame_of(quota_row(account_id="")), "empty account_id or metric"),
        (frame_of(quota_row(enforcement="strict")), "enforcement outside hard|soft"),
        (frame_of(quota_row(period="2026-13")), "period not YYYY-MM"),
        (frame_of(quota_row(period_end=datetime(2026, 5, 1).date())), "period_start not before period_end"),
        (frame_of(quota_row(used=Decimal(-1))), "negative quantity"),
        (frame_of(quota_row(credits_remaining_cents=-5)), "negative quantity or credit balance"),
        (frame_of(quota_row(limit=None)), "not all null exactly when status is unlimited"),
        (frame_of(quota_row(status="unlimited")), "not all null exactly when status is unlimited"),
        (frame_of(quota_row(), quota_row()), "1 row(s) with duplicate account_id x metric"),
        (frame_of(quota_row(), quota_row(metric="seats", plan_code="team")), "differing between an account's"),
    ],
)
def test_rows_that_break_the_contract_are_refused_with_the_reason(tmp_path: Path, rows: pl.DataFrame, reason: str):
    with pytest.raises(SnapshotError) as refused:
        write_quota_snapshot(rows, tmp_path, GENERATED_AT)

    assert reason in str(refused.value)
    assert not (tmp_path / SNAPSHOT_FILENAME).exists()


def test_a_refusal_names_the_first_offending_account_and_metric(tmp_path: Path):
    rows = frame_of(quota_row(), quota_row(account_id="zeta", metric="exports", status="bad"))

    with pytest.raises(SnapshotError, match=r"1 row\(s\) with status outside .*account 'zeta', metric 'exports'"):
        write_quota_snapshot(rows, tmp_path, GENERATED_AT)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a readable Parquet file"),
        (b"PAR1 this is not parquet at all PAR1", "not a readable Parquet file"),
    ],
)
def test_a_file_that_is_not_parquet_is_rejected_as_unreadable(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / SNAPSHOT_FILENAME
    path.write_bytes(content)

    with pytest.raises(SnapshotError, match=reason):
        read_quota_snapshot(path)


def test_a_truncated_snapshot_is_rejected_as_unreadable(tmp_path: Path):
    path = write_quota_snapshot(synthetic_quota_rows(accounts=200), tmp_path, GENERATED_AT)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(SnapshotError, match="not a readable Parquet file"):
        read_quota_snapshot(path)


def test_a_parquet_file_not_written_by_the_writer_is_rejected_for_its_missing_metadata(tmp_path: Path):
    path = tmp_path / SNAPSHOT_FILENAME
    frame_of(quota_row()).write_parquet(path)

    with pytest.raises(SnapshotError, match="no quota snapshot metadata"):
        read_quota_snapshot(path)


def test_a_snapshot_of_another_format_version_is_rejected(tmp_path: Path):
    path = write_quota_snapshot(frame_of(quota_row()), tmp_path, GENERATED_AT)
    table = pq.read_table(path)
    metadata = {b"billing_pipeline.quota_snapshot": b'{"format_version": 1, "generated_at": "2026-05-20T10:30:00+00:00"}'}
    pq.write_table(table.replace_schema_metadata(metadata), path)

    with pytest.raises(SnapshotError, match="format version 1"):
        read_quota_snapshot(path)


def test_a_snapshot_whose_columns_were_changed_after_writing_is_rejected(tmp_path: Path):
    path = write_quota_snapshot(frame_of(quota_row()), tmp_path, GENERATED_AT)
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["serving_quota"]).replace_schema_metadata(table.schema.metadata), path)

    with pytest.raises(SnapshotError, match="missing column.*serving_quota"):
        read_quota_snapshot(path)


def test_a_missing_snapshot_file_is_reported_as_missing(tmp_path: Path):
    with pytest.raises(SnapshotError, match="no snapshot file at"):
        read_quota_snapshot(tmp_path / SNAPSHOT_FILENAME)


def test_an_empty_snapshot_is_valid(tmp_path: Path):
    snapshot = read_quota_snapshot(write_quota_snapshot(frame_of(), tmp_path, GENERATED_AT))

    assert snapshot.rows.height == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("50000.000000"), "50000"),
        (Decimal("0.000000"), "0"),
        (Decimal("10.500000"), "10.5"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.00"), "0"),
        (None, "null"),
    ],
)
def test_decimals_become_json_numbers_integral_when_whole(value, text):
    assert json_number(value) == text


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=0, max_value=Decimal("999999999999.999999"), places=6, allow_nan=False),
        min_size=1,
        max_size=20,
    )
)
def test_the_pre_rendered_json_numbers_match_the_python_rendering_exactly(values):
    rows = frame_of(
        *(
            quota_row(metric=f"m{i:02}", used=value, limit=None, remaining=None, percent_used=None, status="unlimited")
            for i, value in enumerate(values)
        )
    )
    with tempfile.TemporaryDirectory() as folder:
        snapshot = read_quota_snapshot(write_quota_snapshot(rows, Path(folder), GENERATED_AT))

    for value, quota in zip(values, snapshot.serving["serving_quota"].to_list()):
        assert json.loads("{" + quota + "}", parse_float=Decimal)["used"] == value
        assert f'"used":{json_number(value)},' in quota
