"""Typed resources. Values come from EnvVar at run time, never from the environment at import."""

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from billing_pipeline.lib.data_dir import DataDir
from billing_pipeline.lib.warehouse import connect


class BillingData(dg.ConfigurableResource):
    """The data folder (BILLING_DATA_DIR) and the DuckDB warehouse inside it."""

    data_dir: str

    @property
    def paths(self) -> DataDir:
        return DataDir(Path(self.data_dir).resolve())

    @contextmanager
    def warehouse(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.paths.warehouse, read_only=read_only) as con:
            yield con
