"""The same rating on Spark: the sample rated by the dbt project on DuckDB and on Spark (dbt-spark's
`session` method, local[2]) gives identical invoices, lines, credit ledger and quota status, row for
row and cent for cent, and the dbt unit tests pass on Spark too.

One rating, as the pipeline runs it: August closes (and is issued) while September is open, with
every data test, the reconciliation and every unit test. A second rating on top of the issued
August, which exercises Spark's side of the incremental strategies, was checked when they were
written but is left out of the suite: it costs about two more minutes of its 15 (docs/spark.md). Each engine reads what ingestion left: DuckDB its own tables, Spark the Parquet
seam ingestion publishes from them (lib/ingest/seam.py, docs/spark.md). Spark's tables are read back from
their Parquet files, as downstream readers do. One Spark session serves every invocation.
"""

from datetime import date
from pathlib import Path

import pytest

from billing_pipeline.defs.rating.assets import dbt_build_args
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.seam import publish_seam
from billing_pipeline.lib.ingest.usage_events import ensure_schema, ingest_day
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.warehouse import BillingData, connect
from tests.conftest import sample_days
from tests.dbt.rating_warehouse import DbtRun, run_dbt

pytestmark = pytest.mark.spark

COMPARED = ["fct_invoices", "fct_invoice_lines", "fct_credit_ledger", "fct_quota_status", "fct_issued_invoice_lines"]
# August closes on September 4 (3 grace days): rated on September 5, it is issued and September is open.
WINDOW = RatingWindow(date(2026, 8, 1), date(2026, 10, 1), date(2026, 9, 5))


def _spark_table(spark_dir: Path, table: str) -> str:
    """A Spark table of the target schema as DuckDB reads its Parquet files (none when it is empty)."""
    return (f"read_parquet('{spark_dir}/billing.db/{table}/**/*.parquet', hive_partitioning = true, "
            "hive_types = {'period': VARCHAR}, union_by_name = true)")


def _differences(paths: DataDir, spark_dir: Path, table: str) -> tuple[int, list, list]:
    """Row count on DuckDB, rows only DuckDB has, rows only Spark has (as multisets, every column)."""
    with connect(paths.warehouse) as con:  # read-write, like dbt: one DuckDB instance per process
        columns = ", ".join(f'"{name}"' for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
            "order by ordinal_position", [table]).fetchall())
        spark = _spark_table(spark_dir, table)
        if not list((spark_dir / "billing.db" / table).rglob("*.parquet")):
            spark = f"(select {columns} from main.{table} where false)"
        [(count,)] = con.execute(f"select count(*) from main.{table}").fetchall()
        only_duckdb = con.execute(f"select {columns} from main.{table} except all select {columns} from {spark}").fetchall()
        only_spark = con.execute(f"select {columns} from {spark} except all select {columns} from main.{table}").fetchall()
    return count, only_duckdb, only_spark


def _failed(run: DbtRun) -> list[str]:
    return run.with_status("fail", "error", "skipped")


@pytest.fixture
def spark_session_closed():
    """The test's Spark session (dbt-spark's, shared by its invocations) is stopped afterwards."""
    yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if session is not None:
        session.stop()


def test_the_sample_rates_on_spark_into_the_same_invoices_as_on_duckdb(data_dir, spark_session_closed):
    seam, spark_dir = data_dir.seam, data_dir.spark
    spark_env = {"BILLING_SEAM_DIR": str(seam), "BILLING_SPARK_DIR": str(spark_dir), "BILLING_SPARK_MASTER": "local[2]",
                 # a short-lived JVM running many small queries: C1 only, about half the CPU per statement
                 "BILLING_SPARK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
    with connect(data_dir.warehouse) as con:
        ensure_schema(con)
    with connect(data_dir.warehouse) as con:
        for day in sample_days():
            ingest_day(con, data_dir.landing_usage, day)
        publish_seam(con, seam)
    duckdb_run = run_dbt(dbt_build_args(BillingData(data_dir=str(data_dir.root))), WINDOW.dbt_env())
    assert duckdb_run.success, _failed(duckdb_run)
    # One `dbt build` on Spark (every statement is a Spark job of 0.1-0.5 s: the test costs what its
    # nodes do), then the dbt unit tests, which read the columns of the tables the build made.
    spark_run = run_dbt(["build", "--exclude-resource-type", "unit_test"], {**WINDOW.dbt_env(), **spark_env}, target="spark")
    assert spark_run.success, _failed(spark_run)
    unit_run = run_dbt(["test", "--select", "test_type:unit"], {**WINDOW.dbt_env(), **spark_env}, target="spark")
    assert unit_run.success, _failed(unit_run)

    for table in COMPARED:
        count, only_duckdb, only_spark = _differences(data_dir, spark_dir, table)
        assert (only_duckdb, only_spark) == ([], []), table
        assert count > 0, table

    # every blocking check and the reconciliation ran on Spark, as on DuckDB, and every unit test passed
    assert spark_run.statuses == duckdb_run.statuses
    unit_tests = {node: status for node, status in unit_run.statuses.items() if node.startswith("unit_test.")}
    assert len(unit_tests) >= 21 and set(unit_tests.values()) == {"pass"}
