"""The same month rated on DuckDB and on Spark (`local[2]`), in the same run.

    python tests/benchmarks/bench_spark.py [events=10_000_000] [runs=2] [accounts=2000]

The month is generated as the rating benchmark does (bench_rating.py). Then, `runs` times each,
medians reported:
- DuckDB: `dbt build --full-refresh` of the month as the Dagster asset invokes it;
- Spark: publishing the Parquet seam (lib/ingest/seam.py, timed on its own: the first publication
  writes every landing day, later ones nothing) and `dbt build --full-refresh --target spark`, the
  Spark session's start included (each dbt invocation starts one).
Both engines' invoice totals are compared account by account; the benchmark fails unless they agree.
Peak RSS and CPU time are the dbt child's (the Spark JVM runs inside it).
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from bench_rating import AS_OF, generate_events, run_dbt_build, write_catalog_folder

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.seam import publish_seam
from billing_pipeline.lib.ingest.usage_events import ensure_schema
from billing_pipeline.lib.rating.project import prepare_manifest
from billing_pipeline.lib.rating.spark_tables import table_folders
from billing_pipeline.lib.warehouse import connect


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    accounts = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    prepare_manifest()
    with tempfile.TemporaryDirectory(prefix="bench_spark_") as tmp:
        paths = DataDir(Path(tmp))
        write_catalog_folder(paths.catalog, accounts)
        with connect(paths.warehouse) as con:
            write_catalog(con, read_catalog(paths.catalog))
            ensure_schema(con)
            generate_events(con, events, accounts)
        print(f"generated {events:,} events for {accounts:,} accounts")

        duckdb_runs, spark_runs, seam_runs = [], [], []
        for _ in range(runs):
            duckdb_runs.append(run_dbt_build(paths.root, AS_OF))
            started = time.perf_counter()
            with connect(paths.warehouse) as con:
                publish_seam(con, paths.seam)
            seam_runs.append(time.perf_counter() - started)
            spark_runs.append(run_dbt_build(paths.root, AS_OF, engine="spark"))

        with connect(paths.warehouse, read_only=True) as con:
            on_duckdb = dict(con.execute("select account_id, total_cents from fct_invoices").fetchall())
        invoices = table_folders(paths.spark)["fct_invoices"]
        on_spark = dict(duckdb.sql(f"select account_id, total_cents from read_parquet('{invoices}/**/*.parquet', "
                                   "hive_partitioning = true)").fetchall())
        mismatched = sorted(a for a in on_duckdb.keys() | on_spark.keys() if on_duckdb.get(a) != on_spark.get(a))

        duck = statistics.median(r["wall"] for r in duckdb_runs)
        spark = statistics.median(r["wall"] for r in spark_runs)
        print(f"DuckDB dbt build: {duck:.1f} s wall (runs {[round(r['wall'], 1) for r in duckdb_runs]}), "
              f"peak RSS {max(r['rss_kb'] for r in duckdb_runs) / 1e6:.2f} GB")
        print(f"Spark local[2] dbt build: {spark:.1f} s wall (runs {[round(r['wall'], 1) for r in spark_runs]}), "
              f"{spark / duck:.1f}x DuckDB; peak RSS {max(r['rss_kb'] for r in spark_runs) / 1e6:.2f} GB; "
              f"slowest nodes {spark_runs[-1]['slowest']}")
        print(f"seam publication: first {seam_runs[0]:.1f} s, then {[round(s, 2) for s in seam_runs[1:]]} s (nothing new)")
        print(f"invoices: {len(on_duckdb)} on DuckDB, {len(on_spark)} on Spark, {len(mismatched)} differ")
        if mismatched:
            raise SystemExit(f"engines disagree on {mismatched[:10]}")


if __name__ == "__main__":
    main()
