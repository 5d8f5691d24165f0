"""Opening the DuckDB warehouse. Only pipeline runs call this; serving reads published files."""

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from billing_pipeline.exchange.data_dir import DataDir


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    if not read_only:  # a reader must not leave an empty folder behind (it fails on a missing file anyway)
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        yield con
    finally:
        con.close()


def warehouse_holder(path: Path) -> int | None:
    """The pid of another process holding the warehouse's write lock, or None when it is free.

    A run killed while dbt builds leaves its dbt process running to the end of the build, still
    writing the warehouse: the next run waits for it rather than failing on DuckDB's lock.
    """
    if not path.exists():
        return None
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        held = re.search(r"Conflicting lock is held in .* \(PID (\d+)\)", str(error))
        if held is None:
            raise
        return int(held[1])
    return None


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether a table or view exists (dbt builds some relations only once a month closes)."""
    # fetchall, not fetchone: DuckDB 2.0 keeps a connection busy until its result is read to the end
    [(count,)] = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                             [schema, name]).fetchall()
    return count > 0


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
