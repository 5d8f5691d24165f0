"""The rating engine setting, a folder keeping the engine it was rated on, and Spark's tables shown
in the DuckDB warehouse."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from billing_pipeline.lib.rating.engine import EngineMismatch, RatingEngine, check_engine, rated_on
from billing_pipeline.lib.rating.spark_tables import expose_spark_tables, table_folders


def test_the_engine_comes_from_billing_engine_and_defaults_to_duckdb(monkeypatch):
    monkeypatch.delenv("BILLING_ENGINE", raising=False)
    assert RatingEngine().name == "duckdb" and RatingEngine().dbt_target == "warehouse"
    monkeypatch.setenv("BILLING_ENGINE", "Spark")
    assert RatingEngine().name == "spark" and RatingEngine().dbt_target == "spark"
    assert RatingEngine(engine="duckdb").name == "duckdb"  # set on the resource, it wins


def test_an_unknown_engine_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("BILLING_ENGINE", "snowflake")
    with pytest.raises(ValueError, match=r"^BILLING_ENGINE='snowflake' is not an engine: use one of duckdb, spark$"):
        RatingEngine().name


def test_a_folder_rated_on_duckdb_refuses_spark_and_the_other_way_round():
    con = duckdb.connect()
    check_engine(con, "spark")  # never rated: either engine may start
    con.execute("CREATE TABLE fct_invoices (account_id VARCHAR)")
    assert rated_on(con) == "duckdb"
    check_engine(con, "duckdb")
    with pytest.raises(EngineMismatch, match="this data folder is rated on duckdb .* not spark: set BILLING_ENGINE=duckdb"):
        check_engine(con, "spark")

    con.execute("DROP TABLE fct_invoices")
    con.execute("CREATE VIEW fct_invoices AS SELECT 'a' AS account_id")
    with pytest.raises(EngineMismatch, match="rated on spark"):
        check_engine(con, "duckdb")


def spark_like_table(folder: Path, rows: str, partition_by: str | None = None) -> None:
    """Parquet laid out as Spark writes a table: part files, partition folders, a _SUCCESS marker."""
    folder.mkdir(parents=True)
    options = f", PARTITION_BY ({partition_by})" if partition_by else ""
    target = folder if partition_by else folder / "part-00000.snappy.parquet"
    duckdb.execute(f"COPY ({rows}) TO '{target}' (FORMAT parquet{options})")
    (folder / "_SUCCESS").touch()


def test_spark_tables_become_views_of_their_files_with_timestamps_in_utc(tmp_path: Path):
    spark = tmp_path / "spark"
    spark_like_table(spark / "fct_invoices", """
        SELECT * FROM (VALUES ('acct_1', '2026-10', 1250::BIGINT, TIMESTAMPTZ '2026-11-03 00:00:00+00'),
                              ('acct_2', '2026-11', 99::BIGINT, TIMESTAMPTZ '2026-12-03 00:00:00+00'))
                 AS t(account_id, period, total_cents, rated_at)""", partition_by="period")
    spark_like_table(spark / "billing.db" / "dim_plans", "SELECT 'free' AS plan_code")
    (spark / "fct_issued_periods").mkdir()  # an empty partitioned table: no file at all
    (spark / ".spark-staging-1").mkdir()
    (spark / "metastore_db").mkdir()

    assert sorted(table_folders(spark)) == ["dim_plans", "fct_invoices", "fct_issued_periods"]
    con = duckdb.connect()
    con.execute("CREATE VIEW fct_issued_periods AS SELECT 1")  # from an earlier rating, now empty
    assert sorted(expose_spark_tables(con, spark)) == ["dim_plans", "fct_invoices"]

    assert con.execute("SELECT account_id, period, total_cents, rated_at FROM fct_invoices ORDER BY 1").fetchall() == [
        ("acct_1", "2026-10", 1250, datetime(2026, 11, 3)), ("acct_2", "2026-11", 99, datetime(2026, 12, 3))]
    assert con.execute("SELECT plan_code FROM dim_plans").fetchall() == [("free",)]
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'fct_issued_periods'").fetchall() == [(0,)]
    assert rated_on(con) == "spark"
