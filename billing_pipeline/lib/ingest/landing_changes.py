"""Which landing days have something new to ingest, from the folder listing and the warehouse alone:
no file is read or hashed. A day is due when a file appeared, went away, or has another size or
modification time than when it was read, or when one of its files must be judged again
(usage_events.files_to_reread: the catalog changed what it decided). A day whose files
only look different (touched, same bytes) is due too; its ingest then hashes them and reads nothing.
"""

from datetime import date
from pathlib import Path

import duckdb

from billing_pipeline.lib.ingest.issued_files import ROWS_KEPT
from billing_pipeline.lib.ingest.landing_inventory import day_folder_entries, outside_day_folders
from billing_pipeline.lib.ingest.usage_events import ensure_schema, files_to_reread


def _listing(landing_usage: Path, day: date) -> set[tuple[str, int, int | None]]:
    return {(e.rel, e.size, None if e.is_folder else e.path.stat().st_mtime_ns)
            for e in day_folder_entries(landing_usage, day)}


def days_due(con: duckdb.DuckDBPyConnection, landing_usage: Path, days: list[date], first: date, last: date) -> list[date]:
    """The days among `days` (the landed day folders) with something new, oldest first; the latest
    of them when only what lies outside the day folders changed (its ingest records that)."""
    ensure_schema(con)
    recorded: dict[date, set] = {}
    for day, rel, size, modified, status in con.execute(
            "SELECT landing_date, source_file, bytes, modified_ns, file_status FROM raw.ingest_files").fetchall():
        if status not in ROWS_KEPT:  # a billed file kept after it changed or went away is not in the listing
            recorded.setdefault(day, set()).add((rel, size, modified))
    stale = {day for day, _ in files_to_reread(con)}
    due = [day for day in days if day in stale or _listing(landing_usage, day) != recorded.pop(day, set())]
    due += [day for day in recorded if first <= day <= last and day not in due]  # day folders removed
    outside = {(e.rel, e.size) for e in outside_day_folders(landing_usage, first, last)}
    if not due and days and outside != set(con.execute("SELECT path, bytes FROM raw.landing_problems").fetchall()):
        due = [days[-1]]
    return sorted(due)
