"""Spark's tables shown in the DuckDB warehouse, so everything after rating reads one place.

Each table Spark wrote under `<data>/warehouse/spark/` (a folder of Parquet files, partition folders
such as `period=2026-10` included) becomes a view of the same name in DuckDB's `main` schema, over
its files as they stand: a later Spark rating swaps files, never the view. Spark stores timestamps
as instants; the views give them back as DuckDB's TIMESTAMP (UTC), the type the DuckDB models give.
"""

from pathlib import Path

import duckdb


def table_folders(spark_dir: Path) -> dict[str, Path]:
    """Spark's table folders by name: directly under the warehouse folder (schema `default`) or in a
    schema's `<schema>.db` folder. Hidden and underscore folders (Spark's staging, the metastore)
    are not tables."""
    folders: dict[str, Path] = {}
    if not spark_dir.is_dir():
        return folders
    for entry in sorted(spark_dir.iterdir()):
        if not entry.is_dir() or entry.name.startswith((".", "_")) or entry.name.startswith("metastore"):
            continue
        if entry.name.endswith(".db"):
            folders.update({table.name: table for table in sorted(entry.iterdir())
                            if table.is_dir() and not table.name.startswith((".", "_"))})
        else:
            folders[entry.name] = entry
    return folders


def _files(folder: Path) -> str:
    return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true, union_by_name = true)"


def expose_spark_tables(con: duckdb.DuckDBPyConnection, spark_dir: Path) -> list[str]:
    """Create or replace a view per Spark table holding files; drop the view of a table holding none
    (Spark writes no file for an empty partitioned table). Returns the names shown."""
    shown = []
    for name, folder in table_folders(spark_dir).items():
        if not any(folder.rglob("*.parquet")):
            con.execute(f'DROP VIEW IF EXISTS main."{name}"')
            continue
        columns = con.execute(f"DESCRIBE SELECT * FROM {_files(folder)}").fetchall()
        select = ", ".join(f'CAST("{column}" AS TIMESTAMP) AS "{column}"' if kind == "TIMESTAMP WITH TIME ZONE" else f'"{column}"'
                           for column, kind, *_ in columns)
        con.execute(f'CREATE OR REPLACE VIEW main."{name}" AS SELECT {select} FROM {_files(folder)}')
        shown.append(name)
    return shown
