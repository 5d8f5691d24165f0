"""Which engine the rating models build on: DuckDB (the warehouse file, the default) or Spark.

On Spark, dbt reads the Parquet seam ingestion publishes (lib/ingest/seam.py) and writes its tables
as Parquet folders under `<data>/warehouse/spark/`; the DuckDB warehouse then shows them as views
(spark_tables.py), so publishing, reports, alerts and the quota snapshot read the same relations
whichever engine rated.

A data folder keeps the engine it was first rated on: its issued ledger lives there, and rating on
the other would issue every month again from an empty ledger.
"""

from typing import Literal

import dagster as dg
import duckdb
from pydantic import Field

from billing_pipeline.exchange.data_dir import DataDir

ENGINES = ("duckdb", "spark")
DBT_TARGETS = {"duckdb": "warehouse", "spark": "spark"}


class EngineMismatch(Exception):
    """The data folder was rated on the other engine."""


class RatingEngine(dg.ConfigurableResource):
    """Where `dbt build` rates: `duckdb` or `spark` (dbt-spark, `pip install billing-pipeline[spark]`)."""

    engine: Literal["", "duckdb", "spark"] = Field(
        default="", description="duckdb or spark; empty = the BILLING_ENGINE environment variable, else duckdb.")

    @property
    def name(self) -> str:
        chosen = self.engine or (dg.EnvVar("BILLING_ENGINE").get_value() or "duckdb").strip().lower()
        if chosen not in ENGINES:
            raise ValueError(f"BILLING_ENGINE={chosen!r} is not an engine: use one of {', '.join(ENGINES)}")
        return chosen

    @property
    def dbt_target(self) -> str:
        return DBT_TARGETS[self.name]

    def dbt_env(self, paths: DataDir) -> dict[str, str]:
        """Where the Spark target reads its sources and writes its tables (dbt_project/profiles.yml)."""
        return {"BILLING_SEAM_DIR": str(paths.seam), "BILLING_SPARK_DIR": str(paths.spark)} if self.name == "spark" else {}


def rated_on(con: duckdb.DuckDBPyConnection) -> str | None:
    """The engine this warehouse's marts come from, or None before the first rating: dbt-duckdb
    builds fct_invoices as a table, a Spark rating shows it as a view."""
    rows = con.execute("SELECT table_type FROM information_schema.tables "
                       "WHERE table_schema = 'main' AND table_name = 'fct_invoices'").fetchall()
    if not rows:
        return None
    return "spark" if rows[0][0] == "VIEW" else "duckdb"


def check_engine(con: duckdb.DuckDBPyConnection, engine: str) -> None:
    """Raise EngineMismatch, in one line, when the folder was rated on another engine."""
    earlier = rated_on(con)
    if earlier is not None and earlier != engine:
        raise EngineMismatch(
            f"this data folder is rated on {earlier} (its issued invoices are there), not {engine}: set "
            f"BILLING_ENGINE={earlier}, or rate on {engine} in a new data folder (docs/rating.md, Moving to Spark)")
