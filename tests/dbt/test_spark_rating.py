"""The same rating on Spark: the sample rated by the dbt project on DuckDB and on Spark (dbt-spark's
`session` method, local[2]) gives identical invoices, lines, credit ledger and quota status, row for
row and cent for cent, and the dbt unit tests pass on Spark too.

Two ratings, as the pipeline runs them: August closes while September is open, then a landing
day later September is rated again on top of the issued August. The second exercises Spark's
side of the incremental strategies (partitions of changed usage days replaced, issued periods
never touched) and runs every data test and unit test. Each engine reads what ingestion left: DuckDB its own tables, Spark the Parquet
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
# August closes on September 4 (3 grace days); the last landing day is rated on September 5.
RATINGS = [(sample_days()[:-1], RatingWindow(date(2026, 8, 1), date(2026, 10, 1), date(2026, 9, 4))),
           (sample_days()[-1:], RatingWindow(date(2026, 9, 1), date(2026, 10, 1), date(2026, 9, 5)))]
# On Spark every statement costs a Spark job (about 0.3 s warm, more on a loaded machine): the first
# rating only builds the tables the second one updates incrementally, and the second is one `dbt build`
# with everything, the dbt unit tests included (they need the models' tables, built by then).
SPARK_ARGS = [["run"], ["build"]]


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
    for (days, window), spark_args in zip(RATINGS, SPARK_ARGS):
        with connect(data_dir.warehouse) as con:
            for day in days:
                ingest_day(con, data_dir.landing_usage, day)
        duckdb_run = run_dbt(dbt_build_args(BillingData(data_dir=str(data_dir.root))), window.dbt_env())
        assert duckdb_run.success, _failed(duckdb_run)
        with connect(data_dir.warehouse) as con:
            publish_seam(con, seam)
        spark_run = run_dbt(spark_args, {**window.dbt_env(), **spark_env}, target="spark")
        assert spark_run.success, _failed(spark_run)

        for table in COMPARED:
            count, only_duckdb, only_spark = _differences(data_dir, spark_dir, table)
            assert (only_duckdb, only_spark) == ([], []), (window, table)
            assert count > 0, (window, table)

    # every blocking check and the reconciliation ran on Spark, as on DuckDB, and every unit test passed
    unit_tests = {node: status for node, status in spark_run.statuses.items() if node.startswith("unit_test.")}
    assert {node: status for node, status in spark_run.statuses.items() if node not in unit_tests} == duckdb_run.statuses
    assert len(unit_tests) >= 21 and set(unit_tests.values()) == {"pass"}
