"""Events posted over HTTP judged by the raw event contract: the ingestion's own rules
(billing_pipeline/lib/ingest/event_rules.py) on an in-memory DuckDB holding the catalog.

An event accepted here therefore passes ingestion when its intake file lands (same rules, same
catalog, same landing day: the API writes each event to today's UTC folder and judges it with that
day's latest allowed occurred_at).
"""

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from billing_pipeline.lib.ingest.catalog import CatalogError, read_catalog, write_catalog
from billing_pipeline.lib.ingest.event_rules import judge_json_lines, prepare
from billing_pipeline.lib.ingest.usage_events import DEFAULT_LATE_TOLERANCE_HOURS, latest_allowed

log = logging.getLogger(__name__)

LINES_SCHEMA = pa.schema([("line_number", pa.int64()), ("raw_text", pa.string()), ("line_error", pa.string())])


@dataclass(frozen=True)
class Judged:
    """One posted event: typed when valid (reason None), else the rule it breaks."""

    index: int
    event_id: str | None
    account_id: str | None
    metric: str | None
    quantity: Decimal
    occurred_at: datetime | None  # UTC
    reason: str | None
    detail: str | None


class CatalogUnavailable(Exception):
    """No catalog to judge events against yet: the message says why."""


class EventJudge:
    def __init__(self, catalog_dir: Path, late_tolerance_hours: int = DEFAULT_LATE_TOLERANCE_HOURS) -> None:
        self.catalog_dir = catalog_dir
        self.late_tolerance_hours = late_tolerance_hours
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        # Once, before any request: the rules' helper function is shared by every cursor, and
        # registering it from concurrent cursors races.
        prepare(self._db)
        self._seen: tuple | None = None
        self.loaded = False
        self.problem: str | None = None
        self._loading = threading.Lock()

    def refresh(self) -> bool:
        """(Re)load the catalog when its files changed; True when loaded. A catalog that is missing or
        refused leaves the last good one in force (and until there is one, events are refused with
        503: lookups go on). Blocking: run in a thread."""
        with self._loading:
            signature = _signature(self.catalog_dir)
            if signature == self._seen:
                return False
            self._seen = signature
            try:
                catalog = read_catalog(self.catalog_dir)
            except CatalogError as exc:
                self.problem = str(exc)
                log.error("cannot judge events against the catalog in %s: %s", self.catalog_dir, exc)
                return False
            write_catalog(self._db, catalog)
            self.loaded = True
            self.problem = None
            log.info("judging events against the catalog in %s (%d accounts)", self.catalog_dir,
                     len(catalog.account_ids))
            return True

    def judge(self, texts: list[str], landing_day: date) -> list[Judged]:
        """Judge each JSON text (one event each) as a line of a file landed on `landing_day`."""
        if not self.loaded:
            raise CatalogUnavailable(self.problem or f"no catalog in {self.catalog_dir}")
        con = self._db.cursor()
        try:
            lines = pa.table([pa.array(range(len(texts)), pa.int64()), pa.array(texts, pa.string()),
                              pa.nulls(len(texts), pa.string())], schema=LINES_SCHEMA)
            con.register("posted_lines", lines)
            latest = latest_allowed(landing_day, self.late_tolerance_hours)
            rows = judge_json_lines(con, "posted_lines", latest).select(
                "line_number, event_id, account_id, metric, quantity, occurred_at, reason, detail"
            ).order("line_number").fetchall()
        finally:
            con.close()
        return [Judged(index, event_id, account_id, metric, quantity,
                       occurred_at.replace(tzinfo=UTC) if occurred_at else None, reason, detail)
                for index, event_id, account_id, metric, quantity, occurred_at, reason, detail in rows]


def _signature(folder: Path) -> tuple:
    if not folder.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir() if p.is_file()))
