"""The seam between ingestion and a rating engine other than DuckDB: what dbt's sources read, as
Parquet any engine reads (`<data>/warehouse/seam/`).

    seam/raw/usage_events_loaded/landing_date=YYYY-MM-DD/data.parquet   one folder per landing day
    seam/raw/usage_changes/data.parquet, seam/raw/period_holds/data.parquet
    seam/catalog/<table>/data.parquet                                   one folder per catalog table

Columns and types are DuckDB's (DECIMAL(38, 12) prices, DECIMAL(38, 9) quantities, TIMESTAMP, DATE),
except JSON, written as text. A folder is written beside its place under a dot-name (which readers
skip as hidden) and swapped in, so a reader sees a whole folder or none; `_manifest.json`, written
last, holds each folder's fingerprint, and a publication rewrites only the folders whose fingerprint
changed: a new landing day writes that day, and a run with nothing new writes nothing. A crash at
any point leaves folders the next publication finds stale or complete, never half-read.

Deduplication is global (the first landing of an event_id is the loaded one), so removing a file can
move an event to another landing day: fingerprints come from the loaded view, not from the files.
"""

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from billing_pipeline.lib.ingest.catalog import SCHEMAS as CATALOG_SCHEMAS

MANIFEST = "_manifest.json"
EVENTS = "raw/usage_events_loaded"
# Small tables, written whole when they change.
WHOLE_TABLES = {"raw/usage_changes": "raw.usage_changes", "raw/period_holds": "raw.period_holds",
                **{f"catalog/{table}": f"catalog.{table}" for table in CATALOG_SCHEMAS}}


@dataclass(frozen=True)
class SeamPublication:
    folders_written: int
    folders_removed: int
    folders_unchanged: int


def _fingerprint_sql(relation: str, group_by: str | None = None) -> str:
    # Row count and an order-independent sum of row hashes: any added, removed or changed row moves it.
    key = f"{group_by}, " if group_by else ""
    grouping = f" GROUP BY {group_by}" if group_by else ""
    return f"SELECT {key}count(*)::VARCHAR || ':' || coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM {relation} AS t{grouping}"


def _events(where: str, landing_day_column: bool = False) -> str:
    # JSON as text: engines without DuckDB's JSON type read it as a string, as the models do. The
    # landing day is a day folder's name, as hive partitioning has it, not a column of its file.
    exclude = "" if landing_day_column else "EXCLUDE (landing_date) "
    return (f"SELECT * {exclude}REPLACE (CAST(properties AS VARCHAR) AS properties) "
            f"FROM raw.usage_events_loaded WHERE {where}")


def _write_folder(con: duckdb.DuckDBPyConnection, query: str, folder: Path) -> None:
    """Write `query` as folder/data.parquet, swapped in whole."""
    new = folder.with_name(f".{folder.name}.new")
    old = folder.with_name(f".{folder.name}.old")
    for leftover in (new, old):
        shutil.rmtree(leftover, ignore_errors=True)
    new.mkdir(parents=True)
    con.execute(f"COPY ({query}) TO '{new / 'data.parquet'}' (FORMAT parquet)")
    if folder.exists():
        folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _keep_events_readable(con: duckdb.DuckDBPyConnection, events: Path, has_days: bool) -> None:
    """A reader infers the events' columns from their files: before the first loaded event (or after
    the last is removed) the folder holds one file of no rows, with the landing day as a column."""
    placeholder = events / "data.parquet"
    if has_days:
        placeholder.unlink(missing_ok=True)
    elif not placeholder.exists():
        events.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY ({_events('false', landing_day_column=True)}) TO '{placeholder}' (FORMAT parquet)")


def _write_manifest(seam: Path, fingerprints: dict[str, str]) -> None:
    tmp = seam / f".{MANIFEST}.tmp"
    with tmp.open("w") as out:
        json.dump(fingerprints, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, seam / MANIFEST)


def current_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each seam folder's fingerprint as the warehouse stands."""
    fingerprints = {f"{EVENTS}/landing_date={day}": print_
                    for day, print_ in con.execute(_fingerprint_sql("raw.usage_events_loaded", "landing_date")).fetchall()}
    for folder, relation in WHOLE_TABLES.items():
        [(fingerprints[folder],)] = con.execute(_fingerprint_sql(relation)).fetchall()
    return fingerprints


def publish_seam(con: duckdb.DuckDBPyConnection, seam: Path) -> SeamPublication:
    """Bring `seam` up to the warehouse: write the folders whose content changed, remove the landing
    days that no longer hold a loaded event."""
    manifest = seam / MANIFEST
    published: dict[str, str] = json.loads(manifest.read_text()) if manifest.exists() else {}
    wanted = current_fingerprints(con)
    written = 0
    for folder, print_ in sorted(wanted.items()):
        if published.get(folder) == print_ and (seam / folder).exists():
            continue
        query = _events(f"landing_date = DATE '{folder.rsplit('=', 1)[1]}'") if folder.startswith(EVENTS) else f"SELECT * FROM {WHOLE_TABLES[folder]}"
        _write_folder(con, query, seam / folder)
        written += 1
    gone = [folder for folder in published if folder not in wanted]
    for folder in gone:
        shutil.rmtree(seam / folder, ignore_errors=True)
    _keep_events_readable(con, seam / EVENTS, any(folder.startswith(EVENTS) for folder in wanted))
    _write_manifest(seam, wanted)
    return SeamPublication(folders_written=written, folders_removed=len(gone), folders_unchanged=len(wanted) - written)
