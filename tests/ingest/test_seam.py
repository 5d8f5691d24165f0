"""The Parquet seam a rating engine other than DuckDB reads: the same rows as the warehouse, written
again only where they changed."""

import os
from pathlib import Path

import duckdb

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.seam import EVENTS, publish_seam
from billing_pipeline.lib.warehouse import connect
from tests.conftest import sample_days
from tests.ingest.landed import event, ingest


def publish(paths: DataDir):
    with connect(paths.warehouse) as con:
        return publish_seam(con, paths.seam)


def seam_rows(paths: DataDir, folder: str) -> list[tuple]:
    hive = folder == EVENTS
    return duckdb.sql(f"SELECT * FROM read_parquet('{paths.seam / folder}/**/*.parquet', hive_partitioning = {hive}) "
                      f"ORDER BY ALL").fetchall()


def warehouse_rows(paths: DataDir, sql: str) -> list[tuple]:
    with connect(paths.warehouse, read_only=True) as con:
        return con.execute(f"{sql} ORDER BY ALL").fetchall()


def modified(paths: DataDir) -> dict[str, int]:
    return {str(p.relative_to(paths.seam)): p.stat().st_mtime_ns for p in paths.seam.rglob("data.parquet")}


def test_the_seam_holds_the_loaded_events_and_the_catalog_as_the_warehouse_does(data_dir: DataDir):
    ingest(data_dir, *sample_days())
    publication = publish(data_dir)

    assert seam_rows(data_dir, EVENTS) == warehouse_rows(data_dir, """
        SELECT * EXCLUDE (landing_date) REPLACE (properties::VARCHAR AS properties), landing_date FROM raw.usage_events_loaded""")
    assert seam_rows(data_dir, "catalog/plan_tiers") == warehouse_rows(data_dir, "SELECT * FROM catalog.plan_tiers")
    assert seam_rows(data_dir, "raw/usage_changes") == warehouse_rows(data_dir, "SELECT * FROM raw.usage_changes")
    assert publication.folders_written == len(sample_days()) + 13 and publication.folders_unchanged == 0
    # Decimals stay decimals: Parquet's DECIMAL(38, 9), not a float
    assert duckdb.sql(f"DESCRIBE SELECT quantity FROM '{data_dir.seam / EVENTS}/*/data.parquet'").fetchall()[0][1] == "DECIMAL(38,9)"


def test_a_publication_rewrites_only_the_landing_days_that_changed(data_dir: DataDir):
    days = sample_days()
    ingest(data_dir, *days)
    publish(data_dir)
    before = modified(data_dir)

    assert publish(data_dir).folders_written == 0  # nothing new: nothing written
    day = days[-1].isoformat()
    (data_dir.day_folder(day) / "late.ndjson").write_text(event("seam-new-1", f"{day}T08:00:00Z") + "\n")
    ingest(data_dir, days[-1])
    publication = publish(data_dir)

    after = modified(data_dir)
    rewritten = {folder for folder in after if after[folder] != before.get(folder)}
    assert rewritten == {f"{EVENTS}/landing_date={day}/data.parquet", "raw/usage_changes/data.parquet"}
    assert publication.folders_written == 2
    assert ("seam-new-1",) in duckdb.sql(f"SELECT event_id FROM '{data_dir.seam / EVENTS}/landing_date={day}/data.parquet'").fetchall()


def test_a_landing_day_left_without_events_leaves_the_seam_and_the_events_stay_readable(data_dir: DataDir):
    day = sample_days()[0]
    ingest(data_dir, day)
    publish(data_dir)
    for landed in data_dir.day_folder(day.isoformat()).iterdir():
        os.remove(landed)
    ingest(data_dir, day)

    assert publish(data_dir).folders_removed == 1
    assert not (data_dir.seam / EVENTS / f"landing_date={day}").exists()
    # no loaded event left: one file of no rows keeps the events' columns readable
    events = duckdb.sql(f"SELECT * FROM '{data_dir.seam / EVENTS}/**/*.parquet'")
    assert events.fetchall() == [] and {"event_id", "quantity", "landing_date"} <= set(events.columns)

    ingest(data_dir, sample_days()[1])
    publish(data_dir)
    assert not (data_dir.seam / EVENTS / "data.parquet").exists()  # days again: hive folders only


def test_a_publication_interrupted_between_its_swaps_is_completed_by_the_next(data_dir: DataDir):
    ingest(data_dir, *sample_days())
    publish(data_dir)
    folder: Path = data_dir.seam / "catalog" / "plans"
    # as a crash leaves it: the old folder moved aside, the new one not yet in place, manifest unchanged
    folder.rename(folder.with_name(".plans.old"))

    assert publish(data_dir).folders_written == 1
    assert seam_rows(data_dir, "catalog/plans") == warehouse_rows(data_dir, "SELECT * FROM catalog.plans")
    assert sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(".")) == []
