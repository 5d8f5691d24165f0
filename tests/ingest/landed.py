"""Helpers for ingestion tests: land lines in a day folder, ingest, and see where every line went."""

import json
from datetime import date

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.usage_events import ingest_day, record_landing_problems
from billing_pipeline.lib.warehouse import connect

ACCOUNT, METRIC = "acct_0001", "api_calls"


def event(event_id: str, occurred_at: str = "2026-09-10T10:00:00Z", **extra) -> str:
    return json.dumps({"event_id": event_id, "account_id": ACCOUNT, "metric": METRIC, "occurred_at": occurred_at, **extra})


def ingest(paths: DataDir, *days: date) -> None:
    with connect(paths.warehouse) as con:
        for day in days:
            ingest_day(con, paths.landing_usage, day)
        record_landing_problems(con, paths.landing_usage, date(2026, 1, 1), date(2026, 12, 31))


def rows(paths: DataDir, sql: str, *params) -> list[tuple]:
    with connect(paths.warehouse, read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def fates(paths: DataDir, source_file: str) -> dict[int, str]:
    """Line number -> where that line went: loaded, duplicate, or its quarantine reason."""
    return dict(rows(paths, """
        SELECT line_number, 'loaded' FROM raw.usage_events_loaded WHERE source_file = $1
        UNION ALL SELECT line_number, 'duplicate' FROM raw.usage_event_status WHERE source_file = $1 AND status = 'duplicate'
        UNION ALL SELECT line_number, reason FROM raw.quarantine WHERE source_file = $1 AND line_number IS NOT NULL
        ORDER BY 1""", source_file))


def accounting(paths: DataDir, source_file: str) -> tuple:
    """(status, lines read, loaded, duplicates, quarantined) of one landed file."""
    [row] = rows(paths, """SELECT file_status, lines_read, loaded, duplicates, quarantined FROM raw.ingest_accounting
                           WHERE source_file = ?""", source_file)
    return row
